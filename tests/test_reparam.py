"""vae_core.reparam: the worked examples, the animation's end frames, Monte Carlo KL."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vae_core import MLPVAE, ModelConfig
from vae_core.losses import kl_monte_carlo
from vae_core.reparam import (
    WORKED_KL, WORKED_Z, animation_frames_1d, cloud_frames_2d, sample_path, format_number, kl_terms, mc_kl_running, normal_pdf,
    q_of_point, reparameterize_np, sigma_from_log_var,
)


def test_worked_kl_example_is_0_16814_not_0_173() -> None:
    kl = float(kl_terms(WORKED_KL["mu"], WORKED_KL["sigma"]))
    assert round(kl, 5) == 0.16814
    assert kl == pytest.approx(0.5 * (0.5**2 + 0.8**2 - math.log(0.8**2) - 1.0), abs=1e-15)  # natural log
    assert round(kl, 3) != 0.173


def test_kl_terms_per_dimension_and_zero_at_the_prior() -> None:
    mu, sigma = np.array([0.0, 0.5, -1.0]), np.array([1.0, 0.8, 2.0])
    kl = kl_terms(mu, sigma)
    assert kl.shape == (3,)
    assert kl[0] == 0.0
    assert kl[2] == pytest.approx(0.5 * (1.0 + 4.0 - math.log(4.0) - 1.0))


def test_worked_reparameterization_example_reads_z_equals_2_5() -> None:
    z = reparameterize_np(WORKED_Z["mu"], WORKED_Z["sigma"], WORKED_Z["eps"])
    assert z == 2.5
    assert f"z = {format_number(z)}" == "z = 2.5"


def test_sigma_is_exp_of_half_the_log_variance() -> None:
    assert sigma_from_log_var(math.log(0.25)) == pytest.approx(0.5)


@pytest.mark.parametrize(("value", "text"), [(2.0, "2"), (2.5, "2.5"), (-0.00001, "0"), (0.168143, "0.1681")])
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize(("mu", "sigma", "eps"), [(2.0, 0.5, 1.0), (0.3, 0.1, 1.7), (-1.2, 2.3, -0.4)])
def test_animation_starts_at_the_prior_and_ends_exactly_at_z(mu: float, sigma: float, eps: float) -> None:
    frames = animation_frames_1d(mu, sigma, eps, n_frames=12)
    first, last = frames[0], frames[-1]
    assert len(frames) == 12
    assert (first.mean, first.std, first.point) == (0.0, 1.0, eps)
    np.testing.assert_allclose(first.density, np.exp(-0.5 * first.x**2) / math.sqrt(2 * math.pi))
    assert (last.mean, last.std) == (mu, sigma)
    assert last.point == mu + sigma * eps  # exactly, not approximately
    np.testing.assert_allclose(last.density, normal_pdf(last.x, mu, sigma))
    assert all(frame.x is first.x for frame in frames)  # one grid: the axes stay still
    assert first.x[0] <= min(eps, last.point) and first.x[-1] >= max(eps, last.point)


def test_animation_middle_frame_follows_the_stated_path() -> None:
    frames = animation_frames_1d(2.0, 0.5, 1.0, n_frames=3)
    mid = frames[1]
    assert (mid.mean, mid.std, mid.point) == pytest.approx((1.0, 0.75, 1.75))
    assert "z = 1 + 0.75 × 1 = 1.75" in mid.label
    assert frames[-1].label.endswith("= 2.5")


def test_cloud_frames_go_from_eps_to_mu_plus_sigma_eps() -> None:
    eps = np.random.default_rng(0).standard_normal((300, 2))
    mu2, sigma2 = np.array([1.5, -0.5]), np.array([0.3, 0.7])
    cloud = cloud_frames_2d(mu2, sigma2, eps, n_frames=10)
    assert cloud.shape == (10, 300, 2)
    np.testing.assert_array_equal(cloud[0], eps)
    np.testing.assert_array_equal(cloud[-1], reparameterize_np(mu2, sigma2, eps))


@pytest.mark.parametrize(("mu", "sigma"), [(0.5, 0.8), (2.0, 0.5), (-1.0, 1.7), ([0.5, 1.0, -0.3], [0.8, 0.3, 1.2])])
def test_monte_carlo_kl_agrees_with_the_closed_form(mu, sigma) -> None:
    run = mc_kl_running(mu, sigma, n_max=20_000, seed=3)
    assert run.closed_form == pytest.approx(float(np.sum(kl_terms(mu, sigma))))
    assert abs(run.running_mean[-1] - run.closed_form) < 3 * run.running_stderr[-1]
    assert run.ns[0] == 2 and run.ns[-1] == 20_000 and np.all(np.diff(run.ns) > 0)


def test_running_values_match_a_direct_estimate_over_the_same_draws() -> None:
    run = mc_kl_running([0.5, 1.0], [0.8, 0.3], n_max=5_000, seed=7)
    direct = kl_monte_carlo(
        torch.tensor([0.5, 1.0], dtype=torch.float64), 2 * torch.log(torch.tensor([0.8, 0.3], dtype=torch.float64)),
        5_000, torch.Generator().manual_seed(7),
    )
    assert run.running_mean[-1] == pytest.approx(float(direct.mean), rel=1e-12)
    assert run.running_stderr[-1] == pytest.approx(float(direct.stderr), rel=1e-9)


def test_standard_error_shrinks_like_one_over_sqrt_n() -> None:
    n = 5_000
    small = mc_kl_running(0.5, 0.8, n_max=n, seed=11).running_stderr[-1]
    large = mc_kl_running(0.5, 0.8, n_max=4 * n, seed=12).running_stderr[-1]
    assert small / large == pytest.approx(2.0, rel=0.1)


def test_q_of_point_keeps_the_point_and_fills_the_missing_spread() -> None:
    torch.manual_seed(0)
    model = MLPVAE(ModelConfig(arch="mlp", image_shape=(1, 8, 8), latent_dim=3, hidden_dim=16)).eval()
    z = np.array([0.1, -0.2, 0.3])
    mu, log_var, x_hat = q_of_point(model, z)
    np.testing.assert_allclose(mu, z, rtol=1e-6)
    assert log_var.shape == (3,) and np.all(np.isfinite(log_var))
    assert x_hat.shape == (8, 8) and 0.0 <= x_hat.min() and x_hat.max() <= 1.0
    _, given, _ = q_of_point(model, z, np.array([-1.0, -2.0, -3.0]))
    np.testing.assert_array_equal(given, [-1.0, -2.0, -3.0])


def test_a_sample_path_runs_from_eps_to_z_and_matches_the_cloud() -> None:
    rng = np.random.default_rng(0)
    mu, sigma, eps = rng.normal(size=5), rng.uniform(0.2, 2.0, 5), rng.normal(size=5)
    path = sample_path(mu, sigma, eps, n_frames=7)
    assert path.shape == (7, 5)
    np.testing.assert_array_equal(path[0], eps)
    np.testing.assert_allclose(path[-1], mu + sigma * eps, rtol=0, atol=1e-15)
    cloud = cloud_frames_2d(mu[[1, 3]], sigma[[1, 3]], eps[None, [1, 3]], n_frames=7)
    np.testing.assert_allclose(path[:, [1, 3]], cloud[:, 0], rtol=0, atol=1e-15)
