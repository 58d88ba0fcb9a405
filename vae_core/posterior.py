"""The true posterior p(z|x) of a 2-D latent model on a grid, against the encoder's q(z|x).

Bayes: p(z|x) = p(x|z) p(z) / p(x). With two latent dimensions the decoder can be
evaluated on a whole grid of z, so p(x) = integral of p(x|z) p(z) dz becomes a midpoint-rule
sum (a log-sum-exp times the cell area) and the posterior needs no approximation. That
makes the VAE's gap visible: log p(x) - ELBO = KL(q(z|x) || p(z|x)).

The posterior is often far narrower than the prior (sd ~0.05 on MNIST) and not where q
says (q is amortised), so the grid finds it instead of trusting a fixed window: a coarse
pass over the prior's +-5 box locates the mass, finer passes zoom on it until the cells are
small against the posterior's own width, and the mass the drawn window leaves out is
reported. `grid_posterior(model, x)` with no window is exactly what the page shows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from .losses import ImportanceEstimate, importance_log_px, log_normal
from .models import VAE

Extent = tuple[float, float, float, float]  # (z1 min, z1 max, z2 min, z2 max)
_BATCH = 4096  # decoder calls per chunk: bounds memory for 28x28 conv models
SEARCH_HALF_WIDTH = 5.0  # the first pass covers the prior's +-5 box (all but 1e-6 of p(z))
SEARCH_N = 40  # cells a side of each search pass
GRID_N = 80  # cells a side of the drawn grid: ~10 cells per posterior sd once zoomed
KEEP_NATS = 12.0  # a window keeps every cell whose log density is within this of the peak
MAX_PASSES = 4


@dataclass(frozen=True)
class GridPosterior:
    """p(z|x) on a grid of cell centres, with what the grid leaves out."""

    xs: np.ndarray  # (n,) cell centres along z1
    ys: np.ndarray  # (n,) cell centres along z2
    posterior: np.ndarray  # (n, n) density p(z|x), rows = ys (plotly heat map order)
    log_px_grid: float  # log p(x) by quadrature: the drawn cells plus the searched cells outside them
    mass_outside: float  # share of p(z|x) the search found outside the drawn window

    @property
    def cell_area(self) -> float:
        return float((self.xs[1] - self.xs[0]) * (self.ys[1] - self.ys[0]))

    @property
    def extent(self) -> Extent:
        hx, hy = (self.xs[1] - self.xs[0]) / 2, (self.ys[1] - self.ys[0]) / 2
        return (float(self.xs[0] - hx), float(self.xs[-1] + hx), float(self.ys[0] - hy), float(self.ys[-1] + hy))


def _as_batch(model: VAE, x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """One image (C, H, W), (H, W) or (1, C, H, W) -> (1, C, H, W) float32."""
    return torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(1, *model.config.image_shape)


def _centres(extent: Extent, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres of an n x n grid over extent (the midpoint rule's nodes)."""
    x0, x1, y0, y1 = extent
    return x0 + (np.arange(n) + 0.5) * (x1 - x0) / n, y0 + (np.arange(n) + 0.5) * (y1 - y0) / n


@torch.no_grad()
def log_joint(model: VAE, x1: torch.Tensor, z: np.ndarray) -> np.ndarray:
    """log p(x|z) + log p(z) in float64 for points z (M, 2), decoded in chunks."""
    z_t = torch.as_tensor(z, dtype=torch.float32)
    log_px_z = torch.cat([
        -model.neg_log_likelihood(model.decode_logits(chunk), x1.expand(len(chunk), -1, -1, -1))
        for chunk in z_t.split(_BATCH)
    ]).double()
    log_pz = -math.log(2 * math.pi) - 0.5 * (torch.as_tensor(z, dtype=torch.float64) ** 2).sum(dim=1)
    return (log_px_z + log_pz).numpy()


def _grid_log_joint(model: VAE, x1: torch.Tensor, extent: Extent, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, ys = _centres(extent, n)
    gx, gy = np.meshgrid(xs, ys)  # (n, n), rows follow ys
    return xs, ys, log_joint(model, x1, np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(n, n)


def _mass_box(xs: np.ndarray, ys: np.ndarray, lj: np.ndarray) -> Extent:
    """The cells within KEEP_NATS of the peak, as a box grown by one cell on every side."""
    rows, cols = np.nonzero(lj >= lj.max() - KEEP_NATS)
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    return (xs[cols.min()] - 1.5 * dx, xs[cols.max()] + 1.5 * dx, ys[rows.min()] - 1.5 * dy, ys[rows.max()] + 1.5 * dy)


def _area(extent: Extent) -> float:
    return (extent[1] - extent[0]) * (extent[3] - extent[2])


@torch.no_grad()
def grid_posterior(
    model: VAE, x: torch.Tensor | np.ndarray, grid_n: int = GRID_N, extent: Extent | None = None,
) -> GridPosterior:
    """p(z|x) proportional to p(x|z) p(z) on a grid_n x grid_n grid (2-D models only).

    With no `extent` the window is found: a pass over the prior's +-5 box, then passes over
    the box of cells within KEEP_NATS of the peak, until it stops shrinking; the drawn grid
    covers the last box. `mass_outside` and `log_px_grid` count the first pass's cells outside
    the drawn window, so a window that misses mass says so (mass beyond the +-5 box, under
    1e-6 of the prior's, is not searched). With an `extent` that window is drawn as given.
    """
    if model.latent_dim != 2:
        raise ValueError("the grid posterior needs a model with a 2-D latent space")
    x1 = _as_batch(model, x)
    h = SEARCH_HALF_WIDTH
    search = (-h, h, -h, h)
    sx, sy, s_lj = _grid_log_joint(model, x1, search, SEARCH_N)
    window = extent
    if window is None:
        window, xs, ys, lj = search, sx, sy, s_lj
        for _ in range(MAX_PASSES):
            box = _mass_box(xs, ys, lj)
            shrunk = _area(box) < 0.5 * _area(window)
            window = box
            if not shrunk:
                break
            xs, ys, lj = _grid_log_joint(model, x1, window, SEARCH_N)
    xs, ys, lj = _grid_log_joint(model, x1, window, grid_n)
    log_inside = float(torch.logsumexp(torch.from_numpy(lj).ravel(), 0)) + math.log(_area(window) / grid_n**2)
    gx, gy = np.meshgrid(sx, sy)
    outside = (gx < window[0]) | (gx > window[1]) | (gy < window[2]) | (gy > window[3])
    log_outside = -math.inf
    if outside.any():
        log_outside = float(torch.logsumexp(torch.from_numpy(s_lj[outside]), 0)) + math.log(_area(search) / SEARCH_N**2)
    log_px = float(np.logaddexp(log_inside, log_outside))
    return GridPosterior(xs, ys, np.exp(lj - log_inside), log_px, float(np.exp(log_outside - log_px)))


def posterior_moments(grid: GridPosterior) -> tuple[np.ndarray, np.ndarray]:
    """Mean (2,) and standard deviation (2,) of the grid posterior, per axis."""
    weights = grid.posterior * grid.cell_area  # sums to 1
    p1, p2 = weights.sum(axis=0), weights.sum(axis=1)  # marginals over z1 (columns), z2 (rows)
    mean = np.array([p1 @ grid.xs, p2 @ grid.ys])
    var = np.array([p1 @ (grid.xs - mean[0]) ** 2, p2 @ (grid.ys - mean[1]) ** 2])
    return mean, np.sqrt(var)


@torch.no_grad()
def kl_q_posterior_grid(
    model: VAE, x: torch.Tensor | np.ndarray, mu: np.ndarray, log_var: np.ndarray, log_px: float, n: int = 64,
) -> float:
    """KL(q(z|x) || p(z|x)) by quadrature over q's own +-6 sigma box (2-D models only).

    sum over cells of q(z) [log q(z) - log p(x|z) - log p(z) + log p(x)] times the cell area:
    computed without any sample, so it cross-checks log p(x) - ELBO.
    """
    mu, sd = np.asarray(mu, dtype=np.float64), np.exp(0.5 * np.asarray(log_var, dtype=np.float64))
    xs, ys = _centres((mu[0] - 6 * sd[0], mu[0] + 6 * sd[0], mu[1] - 6 * sd[1], mu[1] + 6 * sd[1]), n)
    gx, gy = np.meshgrid(xs, ys)
    z = np.stack([gx.ravel(), gy.ravel()], axis=1)
    z_t = torch.from_numpy(z)
    log_q = log_normal(z_t, torch.from_numpy(mu), torch.from_numpy(2 * np.log(sd))).numpy()
    q = np.exp(log_q) * (xs[1] - xs[0]) * (ys[1] - ys[0])
    return float(np.sum(q * (log_q - log_joint(model, _as_batch(model, x), z) + log_px)) / q.sum())


def ellipse_points(mu2: np.ndarray, sigma2: np.ndarray, k: float = 1.0, n: int = 101) -> np.ndarray:
    """(n, 2) closed curve of the k-sigma ellipse of N(mu, diag sigma^2): axis-aligned
    because q(z|x) is diagonal. It holds 1 - exp(-k^2 / 2) of the mass (39 % at k=1, 86 % at k=2)."""
    angle = np.linspace(0.0, 2.0 * np.pi, n)
    unit = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return np.asarray(mu2, dtype=np.float64) + k * np.asarray(sigma2, dtype=np.float64) * unit


class Evidence(NamedTuple):
    """ELBO against log p(x) for one image and one q, in nats of the model's likelihood."""

    iwae: ImportanceEstimate  # K draws of z ~ q: the ELBO (mean +- s.e.) and the IWAE estimate of log p(x)
    log_px_grid: float | None  # 2-D models: log p(x) by quadrature, exact up to the grid
    kl_grid: float | None  # 2-D models: KL(q || p(z|x)) by quadrature over q's box

    @property
    def elbo(self) -> float:
        return float(self.iwae.elbo[0])

    @property
    def elbo_stderr(self) -> float:
        return float(self.iwae.elbo_stderr[0])

    @property
    def log_px(self) -> float:
        """The one log p(x) to show: the grid's when there is one, else the IWAE estimate."""
        return self.log_px_grid if self.log_px_grid is not None else float(self.iwae.log_px[0])

    @property
    def log_px_exact(self) -> bool:
        return self.log_px_grid is not None

    @property
    def gap(self) -> float:
        """log p(x) - ELBO, which equals KL(q(z|x) || p(z|x))."""
        return self.log_px - self.elbo

    @property
    def gap_stderr(self) -> float:
        """The ELBO's Monte Carlo error, and the IWAE's too when log p(x) is estimated."""
        iwae_var = 0.0 if self.log_px_exact else float(self.iwae.stderr[0]) ** 2
        return math.sqrt(self.elbo_stderr**2 + iwae_var)


@torch.no_grad()
def evidence(
    model: VAE, x: torch.Tensor | np.ndarray, mu: np.ndarray | None = None, log_var: np.ndarray | None = None,
    grid: GridPosterior | None = None, n_samples: int = 1000, seed: int = 0,
) -> Evidence:
    """The ELBO of q = N(mu, diag exp(log_var)) (the encoder's q(z|x) unless given) and the IWAE
    estimate, both from n_samples draws of eps; with a `grid` (2-D) the exact log p(x) and
    KL(q || p(z|x)) on it."""
    x1 = _as_batch(model, x)
    if mu is None or log_var is None:
        mu_t, lv_t = model.encode(x1)
    else:
        mu_t = torch.as_tensor(np.asarray(mu, dtype=np.float32)).reshape(1, -1)
        lv_t = torch.as_tensor(np.asarray(log_var, dtype=np.float32)).reshape(1, -1)
    iwae = importance_log_px(model, x1, n_samples, torch.Generator().manual_seed(seed), q=(mu_t, lv_t))
    if grid is None:
        return Evidence(iwae, None, None)
    kl_grid = kl_q_posterior_grid(model, x1, mu_t[0].numpy(), lv_t[0].numpy(), grid.log_px_grid)
    return Evidence(iwae, grid.log_px_grid, kl_grid)
