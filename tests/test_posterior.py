"""vae_core.posterior: the grid posterior of the shipped 2-D digits model against q(z|x)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core import MLPVAE, ModelConfig, load_checkpoint
from vae_core.data import load_digits_data
from vae_core.inference import encode_images
from vae_core.losses import reconstruction_loss
from vae_core.posterior import ellipse_points, evidence, grid_posterior, posterior_moments, window_around

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"
N_DIGITS = 20


@pytest.fixture(scope="module")
def digits_2d():
    path = SHIPPED / "digits-mlp-2d"
    if not path.with_suffix(".safetensors").exists():
        pytest.skip("shipped checkpoint digits-mlp-2d not found")
    model = load_checkpoint(path).model.eval()
    images = load_digits_data().images[:N_DIGITS]
    mu, log_var = encode_images(model, images)
    return model, images, mu, np.exp(0.5 * log_var)


def test_grid_posterior_is_a_normalised_density(digits_2d) -> None:
    model, images, mu, sigma = digits_2d
    grid = grid_posterior(model, images[0], grid_n=50, extent=window_around(mu[0], sigma[0]))
    area = (grid.xs[1] - grid.xs[0]) * (grid.ys[1] - grid.ys[0])
    assert grid.posterior.shape == (50, 50)
    assert np.all(grid.posterior >= 0)
    assert grid.posterior.sum() * area == pytest.approx(1.0, abs=1e-9)
    assert np.isfinite(grid.log_px_grid) and grid.log_px_grid < 0


def test_posterior_mean_is_near_the_encoder_mean(digits_2d) -> None:
    """The encoder is amortised and Gaussian, so q's mean is not the exact posterior mean
    (the amortisation gap; p(z|x) can be skewed). For this well-trained model the shift is a
    fraction of sigma: measured over 200 digits, the median largest per-axis shift is 0.27
    sigma and the 99th percentile 1.05 sigma. We ask: median < 0.5 sigma, every digit < 1.5 sigma."""
    model, images, mu, sigma = digits_2d
    shifts = []
    for i in range(N_DIGITS):
        grid = grid_posterior(model, images[i], grid_n=60, extent=window_around(mu[i], sigma[i]))
        mean, sd = posterior_moments(grid)
        shifts.append(np.abs(mean - mu[i]) / sigma[i])
        assert np.all(sd > 0.5 * sigma[i]) and np.all(sd < 2.0 * sigma[i])  # the same scale as q
    worst = np.max(shifts, axis=1)
    assert np.median(worst) < 0.5
    assert worst.max() < 1.5


def test_grid_log_px_does_not_depend_on_the_window_once_it_holds_the_mass(digits_2d) -> None:
    model, images, mu, sigma = digits_2d
    around_q = grid_posterior(model, images[1], 80, window_around(mu[1], sigma[1])).log_px_grid
    whole_prior = grid_posterior(model, images[1], 160, (-5.0, 5.0, -5.0, 5.0)).log_px_grid
    assert around_q == pytest.approx(whole_prior, abs=0.02)


def test_elbo_is_below_log_px_and_the_estimates_of_log_px_agree(digits_2d) -> None:
    model, images, mu, sigma = digits_2d
    for i in range(3):
        ev = evidence(model, images[i], n_samples=1000, seed=i)
        grid = grid_posterior(model, images[i], 80, window_around(mu[i], sigma[i]))
        assert ev.elbo <= ev.log_px + 3 * ev.elbo_stderr  # up to Monte Carlo noise
        assert ev.elbo <= grid.log_px_grid + 3 * ev.elbo_stderr
        assert ev.gap == pytest.approx(ev.log_px - ev.elbo)
        assert ev.log_px == pytest.approx(grid.log_px_grid, abs=0.1)  # IWAE vs Riemann sum


def test_ellipse_points_lie_at_k_sigma() -> None:
    mu2, sigma2 = np.array([1.0, -2.0]), np.array([0.5, 0.2])
    ring = ellipse_points(mu2, sigma2, k=2.0, n=64)
    assert ring.shape == (64, 2)
    np.testing.assert_allclose((((ring - mu2) / sigma2) ** 2).sum(axis=1), 4.0)
    np.testing.assert_allclose(ring[0], ring[-1])  # closed curve


def test_window_around_has_a_minimum_width() -> None:
    assert window_around(np.array([0.0, 1.0]), np.array([0.01, 1.0])) == pytest.approx((-0.5, 0.5, -3.0, 5.0))


def test_grid_posterior_refuses_models_that_are_not_2d() -> None:
    model = MLPVAE(ModelConfig(latent_dim=3, hidden_dim=8))
    with pytest.raises(ValueError, match="2-D"):
        grid_posterior(model, torch.zeros(1, 8, 8), 10)


def test_grid_posterior_is_the_prior_when_the_decoder_ignores_z() -> None:
    """Bayes with a flat likelihood: p(z|x) = p(z) = N(0, I) and p(x) = p(x|z) for any z."""
    torch.manual_seed(0)
    model = MLPVAE(ModelConfig(latent_dim=2, hidden_dim=8)).eval()
    with torch.no_grad():
        model.dec[0].weight.zero_()
    x = torch.rand(1, 1, 8, 8)
    grid = grid_posterior(model, x, grid_n=121, extent=(-6.0, 6.0, -6.0, 6.0))
    mean, sd = posterior_moments(grid)
    np.testing.assert_allclose(mean, 0.0, atol=1e-9)
    np.testing.assert_allclose(sd, 1.0, atol=1e-4)
    with torch.no_grad():
        log_px_z = -reconstruction_loss(model.decode_logits(torch.zeros(1, 2)), x).item()
    assert grid.log_px_grid == pytest.approx(log_px_z, abs=1e-4)
