"""The VAE objective, term by term (Kingma & Welling 2014, Appendix B).

loss = reconstruction + beta * KL, where reconstruction = -E_q[log p(x|z)] (one sample of
z, summed over pixels, under the model's likelihood: vae_core.likelihoods) and
KL(q(z|x) || p(z)) has the closed form
    KL = 1/2 * sum_i (mu_i^2 + sigma_i^2 - log sigma_i^2 - 1)
for q = N(mu, diag sigma^2) and p = N(0, I). All per-image values are in nats.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .likelihoods import neg_log_likelihood as reconstruction_loss  # -log p(x|z) per image, (N,)
from .models import VAE

LOG_2PI = math.log(2.0 * math.pi)


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


def loss_parts(nll: Tensor, mu: Tensor, log_var: Tensor, beta: float = 1.0) -> dict[str, Tensor]:
    """Named parts of the batch loss, each summed over the batch; `nll` is -log p(x|z) per image.

    `loss` = recon + beta * kl is what is minimised; the negative ELBO is recon + kl, the same
    only when beta = 1.
    """
    recon = nll.sum()
    kl = kl_closed_form(mu, log_var).sum()
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


Q = tuple[Tensor, Tensor]  # (mu, log_var) of a q(z|x), (N, D) or (1, D)


def elbo(model: VAE, x: Tensor, eps: Tensor | None = None) -> Tensor:
    """ELBO per image, shape (N,): log p(x|z) - KL(q || p) for one sample z = mu + sigma * eps,
    an unbiased estimate of E_q[log p(x|z)] - KL."""
    recon_logits, mu, log_var = model(x, eps)
    return -(model.neg_log_likelihood(recon_logits, x) + kl_closed_form(mu, log_var))


@dataclass(frozen=True)
class ImportanceEstimate:
    """IWAE log p(x) per image (Burda et al. 2016) with what says how far to trust it, and the
    ELBO from the same K draws of z ~ q(z|x)."""

    log_px: Tensor  # (N,) log (1/K sum_k w_k): a lower bound in expectation, tight as K grows
    stderr: Tensor  # (N,) delta-method standard error, sqrt(1/ESS - 1/K)
    ess: Tensor  # (N,) effective sample size of the weights, (sum w)^2 / sum w^2, in [1, K]
    elbo: Tensor  # (N,) mean over the K draws of log p(x|z_k) - KL(q || p)
    elbo_stderr: Tensor  # (N,) its Monte Carlo standard error
    n_samples: int  # K

    def heavy_tailed(self) -> Tensor:
        """(N,) bool: so few effective samples that the estimate and its error bar are unreliable
        (the weights' variance may be infinite when p(z|x) is wider than q)."""
        return self.ess < max(10.0, 0.01 * self.n_samples)


@torch.no_grad()
def importance_log_px(
    model: VAE, x: Tensor, n_samples: int = 256, generator: torch.Generator | None = None, q: Q | None = None,
) -> ImportanceEstimate:
    """log p(x) ~= logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K, z_k ~ q(z|x).

    All K * N decoder calls run as one batch: chunk large N in the caller. q is the
    encoder's q(z|x) unless given.
    """
    mu, log_var = model.encode(x) if q is None else q  # (N, D)
    eps = torch.randn((n_samples, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device)
    z = mu + torch.exp(0.5 * log_var) * eps  # (K, N, D)
    logits = model.decode_logits(z.reshape(-1, mu.shape[1]))  # (K*N, C, H, W)
    x_rep = x.unsqueeze(0).expand(n_samples, *x.shape).reshape(logits.shape)
    log_px_z = -model.neg_log_likelihood(logits, x_rep).view(n_samples, -1).double()  # (K, N)
    zeros = torch.zeros_like(mu)
    log_w = log_px_z + (log_normal(z, zeros, zeros) - log_normal(z, mu, log_var)).double()
    log_sum = torch.logsumexp(log_w, dim=0)
    ess = torch.exp(2 * log_sum - torch.logsumexp(2 * log_w, dim=0))
    elbo_draws = log_px_z - kl_closed_form(mu, log_var).double()
    return ImportanceEstimate(
        log_px=log_sum - math.log(n_samples), stderr=(1.0 / ess - 1.0 / n_samples).clamp_min(0.0).sqrt(), ess=ess,
        elbo=elbo_draws.mean(dim=0), elbo_stderr=elbo_draws.std(dim=0) / math.sqrt(n_samples), n_samples=n_samples,
    )
