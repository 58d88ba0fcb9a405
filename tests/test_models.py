from __future__ import annotations

import pytest
import torch

from vae_core import ConvVAE, MLPVAE, ModelConfig, build_model, pick_device


@pytest.mark.parametrize(
    "config,cls",
    [
        (ModelConfig(arch="mlp", image_shape=(1, 8, 8), latent_dim=2), MLPVAE),
        (ModelConfig(arch="mlp", image_shape=(1, 28, 28), latent_dim=20, hidden_dim=400), MLPVAE),
        (ModelConfig(arch="conv", image_shape=(1, 28, 28), latent_dim=16), ConvVAE),
        (ModelConfig(arch="conv", image_shape=(1, 28, 28), latent_dim=64), ConvVAE),
    ],
)
def test_shapes_round_trip(config: ModelConfig, cls: type) -> None:
    model = build_model(config)
    assert isinstance(model, cls)
    x = torch.rand(3, *config.image_shape)
    mu, log_var = model.encode(x)
    assert mu.shape == log_var.shape == (3, config.latent_dim)
    logits, mu2, _ = model(x)
    assert logits.shape == x.shape and mu2.shape == mu.shape
    image = model.decode(torch.randn(5, config.latent_dim))
    assert image.shape == (5, *config.image_shape)
    assert image.min() >= 0 and image.max() <= 1


def test_pytorch_examples_shape_for_28x28() -> None:
    model = build_model(ModelConfig(arch="mlp", image_shape=(1, 28, 28), latent_dim=20, hidden_dim=400))
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 400), (400, 40), (20, 400), (400, 784)]


def test_chosen_eps_is_used() -> None:
    model = build_model(ModelConfig())
    x = torch.rand(2, 1, 8, 8)
    eps = torch.zeros(2, 2)
    logits, mu, _ = model(x, eps)
    assert torch.allclose(logits, model.decode_logits(mu))


@pytest.mark.parametrize(
    "kwargs",
    [dict(latent_dim=1), dict(latent_dim=65), dict(arch="gan"), dict(recon="l1"),
     dict(arch="conv", image_shape=(1, 8, 8)), dict(image_shape=(8, 8))],
)
def test_invalid_configs_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ModelConfig(**kwargs)


def test_config_json_round_trip() -> None:
    cfg = ModelConfig(arch="conv", image_shape=(1, 28, 28), latent_dim=16)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert ModelConfig.from_dict({**cfg.to_dict(), "from_the_future": 1}) == cfg


def test_device_picks_cpu_here_or_an_accelerator() -> None:
    assert pick_device().type in {"cuda", "mps", "cpu"}
    assert pick_device("cpu").type == "cpu"


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 28, 28), (1, 32, 32), (3, 32, 32), (1, 64, 64), (3, 64, 64)])
def test_conv_takes_gray_and_colour_at_every_supported_size(shape: tuple[int, int, int]) -> None:
    model = build_model(ModelConfig(arch="conv", image_shape=shape, latent_dim=10))
    x = torch.rand(2, *shape)
    logits, mu, _ = model(x)
    assert logits.shape == x.shape and mu.shape == (2, 10)
    assert model.decode(torch.zeros(1, 10)).shape == (1, *shape)
    assert sum(p.numel() for p in model.parameters()) < 500_000  # shipped models stay small


@pytest.mark.parametrize("shape", [(2, 28, 28), (3, 48, 48), (3, 64, 32), (4, 64, 64)])
def test_conv_refuses_shapes_it_cannot_halve_back(shape: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="conv architecture"):
        ModelConfig(arch="conv", image_shape=shape)


def _reference_28x28_decode(state: dict[str, torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """The 28x28 conv decoder as it was first written, layer by layer: 7x7x32 -> 14x14x16 -> 28x28x1."""
    import torch.nn.functional as F

    h = F.relu(F.linear(z, state["dec.0.weight"], state["dec.0.bias"]))
    h = F.relu(F.linear(h, state["dec.2.weight"], state["dec.2.bias"])).view(-1, 32, 7, 7)
    h = F.relu(F.conv_transpose2d(h, state["dec.5.weight"], state["dec.5.bias"], stride=2, padding=1))
    return torch.sigmoid(F.conv_transpose2d(h, state["dec.7.weight"], state["dec.7.bias"], stride=2, padding=1))


@pytest.mark.parametrize("name", ["mnist-conv-2d", "mnist-conv-16d"])
def test_shipped_28x28_conv_checkpoints_load_bit_exactly(name: str) -> None:
    from safetensors.torch import load_file

    from tests.conftest import SHIPPED
    from vae_core import load_checkpoint

    ckpt = load_checkpoint(SHIPPED / name)
    stored = {k.removeprefix("model."): v for k, v in load_file(SHIPPED / f"{name}.safetensors").items()
              if k.startswith("model.")}
    state = ckpt.model.state_dict()
    assert state.keys() == stored.keys() and all(torch.equal(state[k], stored[k]) for k in stored)
    z = torch.randn(4, ckpt.config.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.equal(ckpt.model.decode(z), _reference_28x28_decode(stored, z))
