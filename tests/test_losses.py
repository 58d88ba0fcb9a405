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


def test_reconstruction_bernoulli_matches_torch_on_probabilities() -> None:
    logits = torch.randn(5, 1, 8, 8)
    x = torch.rand(5, 1, 8, 8)
    expected = torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").sum((1, 2, 3))
    assert torch.allclose(reconstruction_loss(logits, x, "bernoulli"), expected, atol=1e-4)
    assert torch.equal(reconstruction_loss(logits, x, "bce"), reconstruction_loss(logits, x, "bernoulli"))
    with pytest.raises(ValueError):
        reconstruction_loss(logits, x, "l1")
    with pytest.raises(ValueError, match="log_sigma"):
        reconstruction_loss(logits, x, "gaussian")


def test_loss_parts_weigh_kl_by_beta() -> None:
    nll = torch.rand(4) * 50
    mu, lv = torch.randn(4, 2), torch.randn(4, 2)
    p1 = loss_parts(nll, mu, lv, beta=1.0)
    p4 = loss_parts(nll, mu, lv, beta=4.0)
    assert torch.allclose(p4["loss"], p1["recon"] + 4.0 * p1["kl"])
    assert set(p1) == {"loss", "recon", "kl"}


def test_importance_sampled_log_px_bounds_the_elbo_and_reports_its_error() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=2)).eval()
    x = torch.rand(6, 1, 8, 8).round()
    with torch.no_grad():
        mean_elbo = torch.stack([elbo(model, x) for _ in range(200)]).mean(0)
    est = importance_log_px(model, x, n_samples=2000, generator=torch.Generator().manual_seed(0))
    assert torch.all(est.log_px >= mean_elbo - 0.05)  # IWAE bound >= ELBO (up to Monte Carlo noise)
    assert torch.allclose(est.elbo, mean_elbo.double(), atol=4 * float(est.elbo_stderr.max()) + 0.05)
    assert torch.all((est.ess >= 1) & (est.ess <= 2000)) and torch.all(est.stderr > 0)


def test_iwae_standard_error_and_ess_against_a_direct_computation() -> None:
    """The delta-method error sqrt(1/ESS - 1/K) against the spread of many independent estimates."""
    torch.manual_seed(1)
    model = build_model(ModelConfig(latent_dim=2)).eval()
    x = torch.rand(1, 1, 8, 8).round()
    gen = torch.Generator().manual_seed(3)
    runs = [importance_log_px(model, x, n_samples=500, generator=gen) for _ in range(60)]
    spread = float(torch.stack([r.log_px[0] for r in runs]).std())
    typical = float(torch.stack([r.stderr[0] for r in runs]).median())
    assert typical == pytest.approx(spread, rel=0.35)


def test_cpu_bce_kernel_matches_torch_in_values_and_gradients() -> None:
    from vae_core.likelihoods import _BCEWithLogitsCPU

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
