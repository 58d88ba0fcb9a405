"""The maths we teach, pinned to exact numbers."""
from __future__ import annotations

import math

import pytest
import torch

from vae_core import build_model, ModelConfig
from vae_core.losses import (
    elbo, importance_log_px, kl_closed_form, kl_monte_carlo, kl_per_dim, loss_parts, reconstruction_loss,
)


def _log_var(sigma: float) -> torch.Tensor:
    return torch.tensor([2.0 * math.log(sigma)], dtype=torch.float64)


def test_kl_worked_example_is_0_16814_not_0_173() -> None:
    kl = kl_closed_form(torch.tensor([0.5], dtype=torch.float64), _log_var(0.8)).item()
    assert kl == pytest.approx(0.5 * (0.25 + 0.64 - math.log(0.64) - 1.0), abs=1e-12)
    assert round(kl, 5) == 0.16814
    assert abs(kl - 0.173) > 0.004  # the revision guide's rounded figure is a slip


def test_kl_is_zero_at_the_prior_and_sums_over_dims() -> None:
    mu, log_var = torch.zeros(3, 4), torch.zeros(3, 4)
    assert torch.allclose(kl_closed_form(mu, log_var), torch.zeros(3))
    mu = torch.randn(3, 4)
    log_var = torch.randn(3, 4)
    assert torch.allclose(kl_closed_form(mu, log_var), kl_per_dim(mu, log_var).sum(-1))


def test_reparameterization_worked_example() -> None:
    z = build_model(ModelConfig()).reparameterize(torch.tensor([2.0]), _log_var(0.5).float(), eps=torch.tensor([1.0]))
    assert z.item() == pytest.approx(2.5, abs=1e-6)


def test_gradients_reach_mu_and_log_var_through_the_sample() -> None:
    mu = torch.tensor([0.3, -1.0], requires_grad=True)
    log_var = torch.tensor([0.1, -0.5], requires_grad=True)
    z = build_model(ModelConfig()).reparameterize(mu, log_var)
    (z ** 2).sum().backward()
    assert mu.grad is not None and torch.all(mu.grad != 0)
    assert log_var.grad is not None and torch.all(log_var.grad != 0)


@pytest.mark.parametrize("mu,sigma", [(0.5, 0.8), (2.0, 0.5), (-1.0, 1.5), (0.0, 0.2), (3.0, 1.0)])
def test_monte_carlo_kl_converges_to_closed_form(mu: float, sigma: float) -> None:
    m, lv = torch.tensor([mu], dtype=torch.float64), _log_var(sigma)
    est = kl_monte_carlo(m, lv, 200_000, torch.Generator().manual_seed(1))
    exact = kl_closed_form(m, lv)
    assert abs(est.mean.item() - exact.item()) < 3 * est.stderr.item()


def test_monte_carlo_stderr_shrinks_like_one_over_sqrt_n() -> None:
    m, lv = torch.tensor([0.5], dtype=torch.float64), _log_var(0.8)
    small = kl_monte_carlo(m, lv, 10_000, torch.Generator().manual_seed(2)).stderr.item()
    large = kl_monte_carlo(m, lv, 160_000, torch.Generator().manual_seed(3)).stderr.item()
    assert small / large == pytest.approx(4.0, rel=0.05)


def test_reconstruction_bce_matches_torch_on_probabilities() -> None:
    logits = torch.randn(5, 1, 8, 8)
    x = torch.rand(5, 1, 8, 8)
    expected = torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").sum((1, 2, 3))
    assert torch.allclose(reconstruction_loss(logits, x, "bce"), expected, atol=1e-4)
    mse = reconstruction_loss(logits, x, "mse")
    assert torch.allclose(mse, 0.5 * ((torch.sigmoid(logits) - x) ** 2).sum((1, 2, 3)))
    with pytest.raises(ValueError):
        reconstruction_loss(logits, x, "l1")


def test_loss_parts_weigh_kl_by_beta() -> None:
    logits, x = torch.randn(4, 1, 8, 8), torch.rand(4, 1, 8, 8)
    mu, lv = torch.randn(4, 2), torch.randn(4, 2)
    p1 = loss_parts(logits, x, mu, lv, beta=1.0)
    p4 = loss_parts(logits, x, mu, lv, beta=4.0)
    assert torch.allclose(p4["loss"], p1["recon"] + 4.0 * p1["kl"])
    assert set(p1) == {"loss", "recon", "kl"}


def test_importance_sampled_log_px_bounds_the_elbo() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=2)).eval()
    x = torch.rand(6, 1, 8, 8).round()
    with torch.no_grad():
        mean_elbo = torch.stack([elbo(model, x) for _ in range(200)]).mean(0)
    log_px = importance_log_px(model, x, n_samples=2000, generator=torch.Generator().manual_seed(0))
    assert torch.all(log_px >= mean_elbo - 0.05)  # IWAE bound >= ELBO (up to Monte Carlo noise)


def test_cpu_bce_kernel_matches_torch_in_values_and_gradients() -> None:
    from vae_core.losses import _BCEWithLogitsCPU

    logits = torch.cat([torch.tensor([-200.0, -20.0, 0.0, 20.0, 200.0]), torch.randn(59) * 5]).double()
    for target in (torch.randint(0, 2, (64,)).double(), torch.rand(64).double()):
        a = logits.clone().requires_grad_(True)
        b = logits.clone().requires_grad_(True)
        ta, tb = target.clone().requires_grad_(True), target.clone().requires_grad_(True)
        ours = _BCEWithLogitsCPU.apply(a, ta)
        ref = torch.nn.functional.binary_cross_entropy_with_logits(b, tb, reduction="none")
        assert torch.allclose(ours, ref, atol=1e-6)
        ours.sum().backward()
        ref.sum().backward()
        assert torch.allclose(a.grad, b.grad, atol=1e-9) and torch.allclose(ta.grad, tb.grad, atol=1e-9)
    small = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_BCEWithLogitsCPU.apply, (small, torch.rand(6, dtype=torch.float64)))
