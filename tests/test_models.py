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
