"""Decoder likelihoods: normalised, stable, labelled, and old sidecars still load."""
from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
from safetensors import safe_open
from safetensors.torch import save as save_safetensors
import torch
from scipy import integrate, stats

from vae_core import ModelConfig, TrainConfig, build_model, load_checkpoint, save_checkpoint
from vae_core.data import load_digits_data
from vae_core.likelihoods import (
    cb_log_norm, cb_mean, describe_likelihood, is_normalised, neg_log_likelihood, published_comparison,
)
from vae_core.training import Trainer

LOGITS = [0.0, 1e-9, -1e-6, 3e-4, -0.0099, 0.0101, 0.3, -1.0, 4.0, -12.0, 30.0, -80.0]


def _mp_log_norm(l: float) -> float:
    """log C = -log of the integral over [0, 1] of lam^x (1 - lam)^(1 - x), by mpmath quadrature."""
    mpmath.mp.dps = 40
    lam = 1 / (1 + mpmath.exp(-mpmath.mpf(l)))
    return float(-mpmath.log(mpmath.quad(lambda x: lam**x * (1 - lam) ** (1 - x), [0, 1])))


def _mp_mean(l: float) -> float:
    mpmath.mp.dps = 40
    lam = 1 / (1 + mpmath.exp(-mpmath.mpf(l)))
    kernel = lambda x: lam**x * (1 - lam) ** (1 - x)  # noqa: E731
    return float(mpmath.quad(lambda x: x * kernel(x), [0, 1]) / mpmath.quad(kernel, [0, 1]))


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
def test_continuous_bernoulli_normaliser_matches_mpmath_through_one_half(dtype: torch.dtype, tol: float) -> None:
    ours = cb_log_norm(torch.tensor(LOGITS, dtype=dtype)).double().numpy()
    reference = np.array([_mp_log_norm(l) for l in LOGITS])
    np.testing.assert_allclose(ours, reference, rtol=tol, atol=tol)


def test_continuous_bernoulli_gradient_is_finite_at_one_half() -> None:
    l = torch.tensor([0.0, 1e-7, -1e-3], dtype=torch.float32, requires_grad=True)
    cb_log_norm(l).sum().backward()
    np.testing.assert_allclose(l.grad.numpy(), [0.0, 1e-7 / 6, -1e-3 / 6], atol=1e-7)  # d/dl (l^2 / 12)


def test_continuous_bernoulli_mean_matches_mpmath() -> None:
    ours = cb_mean(torch.tensor(LOGITS, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(ours, [_mp_mean(l) for l in LOGITS], atol=1e-12)


@pytest.mark.parametrize("l", [-3.0, 0.0, 1e-5, 2.5])
def test_continuous_bernoulli_is_a_density_on_the_unit_interval(l: float) -> None:
    def density(x: float) -> float:
        nll = neg_log_likelihood(torch.tensor([[l]], dtype=torch.float64), torch.tensor([[x]], dtype=torch.float64),
                                 "continuous-bernoulli")
        return math.exp(-float(nll))

    assert integrate.quad(density, 0.0, 1.0)[0] == pytest.approx(1.0, abs=1e-9)


def test_gaussian_includes_its_constant_and_matches_scipy() -> None:
    logits, x = torch.randn(3, 1, 4, 4, dtype=torch.float64), torch.rand(3, 1, 4, 4, dtype=torch.float64)
    log_sigma = torch.log(torch.rand(1, 4, 4, dtype=torch.float64) * 0.3 + 0.05)
    ours = neg_log_likelihood(logits, x, "gaussian", log_sigma).numpy()
    ref = -stats.norm.logpdf(x.numpy(), torch.sigmoid(logits).numpy(), np.exp(log_sigma.numpy())).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    one_pixel = lambda v: math.exp(-float(neg_log_likelihood(  # noqa: E731
        torch.zeros(1, 1), torch.tensor([[v]]).double(), "gaussian", torch.tensor(math.log(0.2)).double())))
    assert integrate.quad(one_pixel, -np.inf, np.inf)[0] == pytest.approx(1.0, abs=1e-7)


def test_bernoulli_on_binarised_pixels_sums_to_one() -> None:
    model = build_model(ModelConfig(binarize=True)).eval()
    logits = model.decode_logits(torch.randn(1, 2))[:, :, :1, :1].detach()
    p = [math.exp(-float(model.neg_log_likelihood(logits, torch.full((1, 1, 1, 1), v)))) for v in (0.2, 0.9)]
    assert sum(p) == pytest.approx(1.0, abs=1e-6)  # 0.2 is seen as 0, 0.9 as 1


@pytest.mark.parametrize("config", [
    ModelConfig(recon="continuous-bernoulli"), ModelConfig(recon="gaussian", sigma="pixel"),
    ModelConfig(recon="bernoulli", binarize=True),
])
def test_decode_is_the_mean_of_p_x_given_z(config: ModelConfig) -> None:
    """Monte Carlo check for one pixel: the image shown is E[x | z] under the model's likelihood."""
    model = build_model(config).eval()
    z = torch.randn(1, 2)
    with torch.no_grad():
        logits, shown = model.decode_logits(z)[0, 0, 0, 0].double(), model.decode(z)[0, 0, 0, 0].item()
    grid = torch.linspace(0, 1, 20001, dtype=torch.float64)[:, None, None, None]
    if config.recon == "continuous-bernoulli":
        density = torch.exp(-neg_log_likelihood(logits.expand(len(grid), 1, 1, 1), grid, config.recon))
        assert shown == pytest.approx(float(torch.trapezoid(density * grid[:, 0, 0, 0], grid[:, 0, 0, 0])), abs=1e-5)
    else:
        assert shown == pytest.approx(float(torch.sigmoid(logits)), abs=1e-6)
    assert 0.0 <= shown <= 1.0


def test_old_sidecars_load_with_their_likelihood_named(tmp_path) -> None:
    for old, new in (("bce", "bernoulli"), ("mse", "gaussian")):
        model = build_model(ModelConfig(recon=old))
        path = save_checkpoint(tmp_path / old, model)
        with safe_open(path, framework="pt") as f:  # rewritten as an old two-file checkpoint
            tensors, meta = {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["description"])
        meta["model"] = {k: v for k, v in meta["model"].items() if k in ("arch", "image_shape", "latent_dim",
                                                                        "hidden_dim")} | {"recon": old}
        path.write_bytes(save_safetensors(tensors, metadata={"format": "vae-explorer/1"}))
        path.with_suffix(".json").write_text(json.dumps(meta))
        config = load_checkpoint(path).config
        assert config.recon == new
    assert config.sigma == "fixed" and config.fixed_sigma == 1.0  # the old unit-variance "mse"


def test_labels_say_what_the_nats_are() -> None:
    grey = ModelConfig()
    assert not is_normalised(grey) and "not a normalised density" in describe_likelihood(grey)
    binary = ModelConfig(binarize=True)
    assert is_normalised(binary) and "binarised" in describe_likelihood(binary)
    assert published_comparison(binary, "mnist") is not None and published_comparison(grey, "mnist") is None
    assert "per pixel" in describe_likelihood(ModelConfig(recon="gaussian", sigma="pixel"))
    assert "0.05" in describe_likelihood(ModelConfig(recon="gaussian", sigma="fixed", fixed_sigma=0.05))
    colour = ModelConfig(arch="conv", image_shape=(3, 64, 64), recon="gaussian")
    assert describe_likelihood(colour).startswith("Gaussian on RGB pixel values")  # not "grey" for colour
    assert "grey" in describe_likelihood(ModelConfig(recon="gaussian"))


@pytest.mark.slow
def test_a_gaussian_digits_model_uses_its_latent() -> None:
    """With the constant and a learned sigma the Gaussian decoder does not collapse the latent
    (the old unit-variance MSE reached a KL of 0.0017 nats)."""
    config = ModelConfig(image_shape=(1, 8, 8), latent_dim=2, recon="gaussian", sigma="global")
    trainer = Trainer(config, TrainConfig(epochs=40, seed=0), load_digits_data())
    for _ in trainer.run():
        pass
    best = min(trainer.history, key=lambda m: m.val_loss)
    assert best.val_kl > 3.0
    assert math.exp(float(trainer.best_model().decoder_log_sigma())) < 0.3
