"""vae_core.posterior: the grid posterior finds p(z|x), against a reference quadrature."""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from vae_core import MLPVAE, ModelConfig, load_checkpoint
from vae_core.posterior import ellipse_points, evidence, grid_posterior, posterior_moments

REPO = Path(__file__).resolve().parents[1]
N_SAMPLE = 25


def _bench() -> ModuleType:
    """bench/ is a folder of scripts, not a package: load the file as a module."""
    spec = importlib.util.spec_from_file_location("posterior_grid", REPO / "bench" / "posterior_grid.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def digits_2d():
    path = REPO / "checkpoints" / "digits-mlp-2d"
    if not path.with_suffix(".safetensors").exists():
        pytest.skip("shipped checkpoint digits-mlp-2d not found")
    ckpt = load_checkpoint(path)
    return ckpt.model.eval(), _bench().held_out_images(ckpt, N_SAMPLE)


def test_default_grid_meets_the_acceptance_figures_against_a_reference(digits_2d) -> None:
    """A sample of the bench's full run: the page's default window against +-6, 401 cells a side."""
    model, images = digits_2d
    figures = _bench().compare(model, images, ref_n=401)
    assert figures["mass_outside"].max() < 1e-3
    assert figures["log_px_error"].max() < 0.05
    assert figures["mean_shift_sd"].max() < 0.05
    np.testing.assert_allclose(figures["mass_outside_reported"], figures["mass_outside"], atol=1e-4)


def test_a_window_that_misses_the_posterior_says_so(digits_2d) -> None:
    """Drawn where the posterior is not, the grid reports the mass it left out and still
    counts it in log p(x)."""
    model, images = digits_2d
    found = grid_posterior(model, images[0])
    mean, sd = posterior_moments(found)
    off = (mean[0] + 4 * sd[0], mean[0] + 10 * sd[0], mean[1] - 3 * sd[1], mean[1] + 3 * sd[1])
    missed = grid_posterior(model, images[0], 40, off)
    assert missed.mass_outside > 0.9 and found.mass_outside < 1e-4
    assert missed.log_px_grid == pytest.approx(found.log_px_grid, abs=0.5)


def test_grid_posterior_is_a_normalised_density_on_its_cells(digits_2d) -> None:
    model, images = digits_2d
    grid = grid_posterior(model, images[1], grid_n=50)
    assert grid.posterior.shape == (50, 50) and np.all(grid.posterior >= 0)
    assert grid.posterior.sum() * grid.cell_area == pytest.approx(1.0, abs=1e-9)
    x0, x1, y0, y1 = grid.extent
    assert grid.xs[0] - x0 == pytest.approx((x1 - x0) / 100) and y1 - grid.ys[-1] == pytest.approx((y1 - y0) / 100)


def test_gap_from_the_grid_agrees_with_kl_on_the_grid_and_iwae_carries_its_error(digits_2d) -> None:
    """log p(x) (grid) - ELBO (many draws) and KL(q || p(z|x)) by quadrature are two routes to
    one number; the IWAE estimate sits within its error bar of the grid's log p(x)."""
    model, images = digits_2d
    for i in range(3):
        grid = grid_posterior(model, images[i])
        ev = evidence(model, images[i], grid=grid, n_samples=4000, seed=i)
        assert ev.log_px == grid.log_px_grid and ev.log_px_exact
        assert ev.gap >= -3 * ev.gap_stderr
        assert ev.kl_grid == pytest.approx(ev.gap, abs=4 * ev.gap_stderr + 1e-3)
        assert float(ev.iwae.log_px[0]) <= grid.log_px_grid + 4 * float(ev.iwae.stderr[0]) + 1e-3
        assert abs(float(ev.iwae.log_px[0]) - grid.log_px_grid) < 0.1
        assert 1 <= float(ev.iwae.ess[0]) <= 4000


def test_evidence_uses_the_q_it_is_given(digits_2d) -> None:
    """A point handed over without its image: one q everywhere, not a re-encoded one."""
    model, images = digits_2d
    mu, log_var = np.array([1.5, -0.5]), np.log(np.array([0.3, 0.2]) ** 2)
    given = evidence(model, images[0], mu, log_var, n_samples=200)
    own = evidence(model, images[0], n_samples=200)
    kl_given = 0.5 * float(np.sum(mu**2 + np.exp(log_var) - log_var - 1))
    assert given.elbo != pytest.approx(own.elbo, abs=0.5)
    recon = -given.elbo - kl_given
    assert recon > 0  # a Bernoulli -log p(x|z) on binary pixels is positive


def test_ellipse_points_lie_at_k_sigma() -> None:
    mu2, sigma2 = np.array([1.0, -2.0]), np.array([0.5, 0.2])
    ring = ellipse_points(mu2, sigma2, k=2.0, n=64)
    assert ring.shape == (64, 2)
    np.testing.assert_allclose((((ring - mu2) / sigma2) ** 2).sum(axis=1), 4.0)
    np.testing.assert_allclose(ring[0], ring[-1])  # closed curve


def test_grid_posterior_refuses_models_that_are_not_2d() -> None:
    model = MLPVAE(ModelConfig(latent_dim=3, hidden_dim=8))
    with pytest.raises(ValueError, match="2-D"):
        grid_posterior(model, torch.zeros(1, 8, 8), 10)


def test_grid_posterior_is_the_prior_when_the_decoder_ignores_z() -> None:
    """Bayes with a flat likelihood: p(z|x) = p(z) = N(0, I) and p(x) = p(x|z) for any z.
    The search then keeps the prior's whole +-5 box; the mass beyond it is the prior's."""
    torch.manual_seed(0)
    model = MLPVAE(ModelConfig(latent_dim=2, hidden_dim=8)).eval()
    with torch.no_grad():
        model.dec[0].weight.zero_()
    x = torch.rand(1, 1, 8, 8).round()
    grid = grid_posterior(model, x, grid_n=121)
    mean, sd = posterior_moments(grid)
    np.testing.assert_allclose(mean, 0.0, atol=1e-9)
    np.testing.assert_allclose(sd, 1.0, atol=2e-3)
    with torch.no_grad():
        log_px_z = -model.neg_log_likelihood(model.decode_logits(torch.zeros(1, 2)), x).item()
    prior_inside = math.erf(grid.extent[1] / math.sqrt(2)) ** 2
    assert grid.log_px_grid == pytest.approx(log_px_z + math.log(prior_inside), abs=1e-4)
