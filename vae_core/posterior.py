"""The true posterior p(z|x) of a 2-D latent model on a grid, against the encoder's q(z|x).

Bayes: p(z|x) = p(x|z) p(z) / p(x). With two latent dimensions the decoder can be
evaluated on a whole grid of z, so p(x) = integral of p(x|z) p(z) dz becomes a Riemann
sum (a log-sum-exp times the cell area) and the posterior needs no approximation. That
makes the VAE's gap visible: log p(x) - ELBO = KL(q(z|x) || p(z|x)).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from .losses import elbo, importance_log_px, log_normal, reconstruction_loss
from .models import VAE

Extent = tuple[float, float, float, float]  # (z1 min, z1 max, z2 min, z2 max)
_BATCH = 4096  # decoder calls per chunk: bounds memory for 28x28 conv models


class GridPosterior(NamedTuple):
    xs: np.ndarray  # (n,) grid along z1
    ys: np.ndarray  # (n,) grid along z2
    posterior: np.ndarray  # (n, n) density p(z|x), rows = ys (plotly heat map order); sum * area == 1
    log_px_grid: float  # log p(x) from the grid: logsumexp(log p(x|z) + log p(z)) + log(cell area)


def _as_batch(model: VAE, x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """One image (C, H, W), (H, W) or (1, C, H, W) -> (1, C, H, W) float32."""
    return torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(1, *model.config.image_shape)


def window_around(mu2: np.ndarray, sigma2: np.ndarray, k: float = 4.0, min_half_width: float = 0.5) -> Extent:
    """mu +- k sigma per axis (at least +- min_half_width): where q puts its mass, widened
    a little because the true posterior is often broader than q."""
    half = np.maximum(k * np.asarray(sigma2, dtype=np.float64), min_half_width)
    mu2 = np.asarray(mu2, dtype=np.float64)
    return (mu2[0] - half[0], mu2[0] + half[0], mu2[1] - half[1], mu2[1] + half[1])


@torch.no_grad()
def grid_posterior(
    model: VAE, x: torch.Tensor | np.ndarray, grid_n: int = 80, extent: Extent = (-4.0, 4.0, -4.0, 4.0)
) -> GridPosterior:
    """p(z|x) proportional to p(x|z) p(z) on a grid_n x grid_n grid over `extent` (2-D models only).

    The decoder runs batched without gradients; the log joint is normalised with
    log-sum-exp, so the density integrates to one over the window.
    """
    if model.latent_dim != 2:
        raise ValueError("the grid posterior needs a model with a 2-D latent space")
    x1 = _as_batch(model, x)
    xs = np.linspace(extent[0], extent[1], grid_n)
    ys = np.linspace(extent[2], extent[3], grid_n)
    gx, gy = np.meshgrid(xs, ys)  # (n, n), rows follow ys
    z = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=torch.float32)
    log_px_z = torch.cat([
        -reconstruction_loss(model.decode_logits(chunk), x1.expand(len(chunk), -1, -1, -1), model.config.recon)
        for chunk in z.split(_BATCH)
    ]).double()
    zeros = torch.zeros(2, dtype=torch.float64)
    log_joint = log_px_z + log_normal(z.double(), zeros, zeros)
    log_area = math.log((xs[1] - xs[0]) * (ys[1] - ys[0]))
    log_px = torch.logsumexp(log_joint, dim=0) + log_area
    posterior = torch.exp(log_joint - log_px).numpy().reshape(grid_n, grid_n)
    return GridPosterior(xs, ys, posterior, float(log_px))


def posterior_moments(grid: GridPosterior) -> tuple[np.ndarray, np.ndarray]:
    """Mean (2,) and standard deviation (2,) of the grid posterior, per axis."""
    area = (grid.xs[1] - grid.xs[0]) * (grid.ys[1] - grid.ys[0])
    weights = grid.posterior * area  # sums to 1
    p1, p2 = weights.sum(axis=0), weights.sum(axis=1)  # marginals over z1 (columns), z2 (rows)
    mean = np.array([p1 @ grid.xs, p2 @ grid.ys])
    var = np.array([p1 @ (grid.xs - mean[0]) ** 2, p2 @ (grid.ys - mean[1]) ** 2])
    return mean, np.sqrt(var)


def ellipse_points(mu2: np.ndarray, sigma2: np.ndarray, k: float = 1.0, n: int = 101) -> np.ndarray:
    """(n, 2) closed curve of the k-sigma ellipse of N(mu, diag sigma^2): axis-aligned
    because q(z|x) is diagonal. It holds 1 - exp(-k^2 / 2) of the mass (39 % at k=1, 86 % at k=2)."""
    angle = np.linspace(0.0, 2.0 * np.pi, n)
    unit = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return np.asarray(mu2, dtype=np.float64) + k * np.asarray(sigma2, dtype=np.float64) * unit


class Evidence(NamedTuple):
    """ELBO against log p(x) for one image, in nats."""

    elbo: float  # mean over samples of E_q[log p(x|z)] - KL(q || p(z))
    elbo_stderr: float
    log_px: float  # importance-sampled (IWAE) log p(x), >= ELBO in expectation

    @property
    def gap(self) -> float:
        """log p(x) - ELBO: an estimate of KL(q(z|x) || p(z|x))."""
        return self.log_px - self.elbo


@torch.no_grad()
def evidence(model: VAE, x: torch.Tensor | np.ndarray, n_samples: int = 1000, seed: int = 0) -> Evidence:
    """ELBO (averaged over n_samples draws of eps) and importance-sampled log p(x)."""
    x1 = _as_batch(model, x)
    generator = torch.Generator().manual_seed(seed)
    eps = torch.randn((n_samples, model.latent_dim), generator=generator)
    per_sample = elbo(model, x1.expand(n_samples, -1, -1, -1), model.config.recon, eps).double()
    log_px = importance_log_px(model, x1, n_samples, model.config.recon, generator)
    return Evidence(
        elbo=float(per_sample.mean()),
        elbo_stderr=float(per_sample.std() / math.sqrt(n_samples)),
        log_px=float(log_px[0]),
    )
