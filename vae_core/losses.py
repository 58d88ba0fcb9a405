"""The VAE objective, term by term (Kingma & Welling 2014, Appendix B).

loss = reconstruction + beta * KL, where reconstruction = -E_q[log p(x|z)] (one sample of
z, summed over pixels) and KL(q(z|x) || p(z)) has the closed form
    KL = 1/2 * sum_i (mu_i^2 + sigma_i^2 - log sigma_i^2 - 1)
for q = N(mu, diag sigma^2) and p = N(0, I). All per-image values are in nats.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

LOG_2PI = math.log(2.0 * math.pi)


class _BCEWithLogitsCPU(torch.autograd.Function):
    """Binary cross-entropy on logits, per element, for CPU tensors.

    Same values and gradients as `F.binary_cross_entropy_with_logits` (to float rounding),
    2.5x faster forward and backward on CPU, where torch's kernel spends its time in an
    unvectorised log_sigmoid: a third of a training step's non-matmul time. Stable form:
        bce(l, x) = max(l, 0) - l * x + log(1 + exp(-|l|)),  d/dl = sigmoid(l) - x.
    log(1 + e) rather than log1p(e): for e in (0, 1] they differ by under 1e-7 nats.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, logits: Tensor, target: Tensor) -> Tensor:
        ctx.save_for_backward(logits, target)
        softplus_neg_abs = logits.abs().neg_().exp_().add_(1.0).log_()
        return torch.addcmul(logits.clamp_min(0.0), logits, target, value=-1.0).add_(softplus_neg_abs)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        logits, target = ctx.saved_tensors
        grad_logits = torch.sigmoid(logits).sub_(target).mul_(grad) if ctx.needs_input_grad[0] else None
        grad_target = -logits * grad if ctx.needs_input_grad[1] else None
        return grad_logits, grad_target


def reconstruction_loss(recon_logits: Tensor, x: Tensor, kind: str = "bce") -> Tensor:
    """-log p(x|z) per image, shape (N,).

    "bce": Bernoulli decoder, binary cross-entropy on logits (stable; on CPU our faster kernel).
    "mse": Gaussian decoder with unit variance up to constants: 1/2 * squared error.
    """
    n = x.shape[0]
    if kind == "bce":
        if recon_logits.device.type == "cpu" and recon_logits.shape == x.shape:
            per_pixel = _BCEWithLogitsCPU.apply(recon_logits, x)
        else:
            per_pixel = F.binary_cross_entropy_with_logits(recon_logits, x, reduction="none")
    elif kind == "mse":
        per_pixel = 0.5 * (torch.sigmoid(recon_logits) - x) ** 2
    else:
        raise ValueError(f"unknown reconstruction kind {kind!r}")
    return per_pixel.reshape(n, -1).sum(dim=1)


def kl_per_dim(mu: Tensor, log_var: Tensor) -> Tensor:
    """Closed-form KL(N(mu, sigma^2) || N(0, 1)) of each dimension, same shape as mu."""
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1.0)


def kl_closed_form(mu: Tensor, log_var: Tensor) -> Tensor:
    """KL(q(z|x) || N(0, I)) per image, shape (N,): the sum over latent dimensions."""
    return kl_per_dim(mu, log_var).sum(dim=-1)


def log_normal(z: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """log N(z; mu, diag exp(log_var)) summed over the last dimension."""
    return -0.5 * (LOG_2PI + log_var + (z - mu).pow(2) / log_var.exp()).sum(dim=-1)


@dataclass(frozen=True)
class MonteCarloKL:
    """A Monte Carlo KL estimate with its standard error and the samples behind it."""

    mean: Tensor  # (...,) estimate per distribution
    stderr: Tensor  # (...,) standard error of that mean
    samples: Tensor  # (S, ...) one log q(z) - log p(z) per sample


def kl_monte_carlo(
    mu: Tensor, log_var: Tensor, n_samples: int, generator: torch.Generator | None = None
) -> MonteCarloKL:
    """Estimate KL(q || p) = E_{z~q}[log q(z) - log p(z)] by sampling eps ~ N(0, I).

    With z = mu + sigma * eps the expectation over z equals the expectation over eps:
    the change of variables has d eps / dz = 1 / sigma, whose Jacobian cancels against
    the density transform. The mean converges to `kl_closed_form` at rate 1/sqrt(N).
    """
    eps = torch.randn((n_samples, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device)
    z = mu + torch.exp(0.5 * log_var) * eps
    zeros = torch.zeros_like(mu)
    samples = log_normal(z, mu, log_var) - log_normal(z, zeros, zeros)
    stderr = samples.std(dim=0, unbiased=True) / math.sqrt(n_samples)
    return MonteCarloKL(mean=samples.mean(dim=0), stderr=stderr, samples=samples)


def loss_parts(
    recon_logits: Tensor, x: Tensor, mu: Tensor, log_var: Tensor, beta: float = 1.0, kind: str = "bce"
) -> dict[str, Tensor]:
    """Named parts of the batch loss, each summed over the batch.

    `loss` = recon + beta * kl is what is minimised; with beta = 1 it is the negative ELBO.
    """
    recon = reconstruction_loss(recon_logits, x, kind).sum()
    kl = kl_closed_form(mu, log_var).sum()
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


def elbo(model: torch.nn.Module, x: Tensor, kind: str = "bce", eps: Tensor | None = None) -> Tensor:
    """ELBO per image, shape (N,): E_q[log p(x|z)] - KL(q || p), one sample of z."""
    recon_logits, mu, log_var = model(x, eps)
    return -(reconstruction_loss(recon_logits, x, kind) + kl_closed_form(mu, log_var))


@torch.no_grad()
def importance_log_px(
    model: torch.nn.Module, x: Tensor, n_samples: int = 256, kind: str = "bce",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Importance-sampled log p(x) per image, shape (N,) (Burda et al. 2016, IWAE bound).

    log p(x) ~= logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K, z_k ~ q(z|x).
    It is a tighter lower bound than the ELBO and tends to log p(x) as K grows, so
    log p(x) - ELBO estimates the gap KL(q(z|x) || p(z|x)).
    """
    mu, log_var = model.encode(x)  # (N, D)
    eps = torch.randn((n_samples, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device)
    z = mu + torch.exp(0.5 * log_var) * eps  # (K, N, D)
    logits = model.decode_logits(z.reshape(-1, mu.shape[1]))  # (K*N, C, H, W)
    x_rep = x.unsqueeze(0).expand(n_samples, *x.shape).reshape(logits.shape)
    log_px_z = -reconstruction_loss(logits, x_rep, kind).view(n_samples, -1)  # (K, N)
    zeros = torch.zeros_like(mu)
    log_w = log_px_z + log_normal(z, zeros, zeros) - log_normal(z, mu, log_var)
    return torch.logsumexp(log_w, dim=0) - math.log(n_samples)
