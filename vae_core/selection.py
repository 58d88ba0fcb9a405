"""Finding codes on a map: by label and index, inside a box or a lasso, and the prior's holes.

Holes: a VAE is sampled by drawing z ~ p(z) = N(0, I) and decoding, but the decoder has
only learnt the region the data's codes occupy, the aggregate posterior
q(z) = (1/N) sum_n q(z | x_n). Where p has mass and q has next to none, a prior sample
decodes to something the model never saw. q is the exact mixture over every data code
(each a diagonal Gaussian); a prior sample is in a hole when q(z) < ratio * p(z).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from .losses import log_normal

HOLE_RATIO = 0.1  # q(z) below a tenth of p(z)
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")


def parse_indices(text: str, n: int) -> np.ndarray:
    """"3, 10-12" -> [3, 10, 11, 12] (sorted, unique, ranges inclusive); each index below n."""
    picked: set[int] = set()
    for part in filter(str.strip, text.split(",")):
        match = _RANGE.match(part)
        if match is None:
            raise ValueError(f"{part.strip()!r} is not an index or a range like 10-20")
        lo, hi = int(match[1]), int(match[2] or match[1])
        if lo > hi or hi >= n:
            raise ValueError(f"{part.strip()} is outside 0-{n - 1}" if hi >= n else f"{part.strip()} runs backwards")
        picked.update(range(lo, hi + 1))
    return np.array(sorted(picked), dtype=np.int64)


def filter_mask(labels: np.ndarray, keep: Iterable[int] | None = None, indices: np.ndarray | None = None) -> np.ndarray:
    """(N,) bool: codes whose label is in `keep` (all when None) and, given `indices`, among them."""
    labels = np.asarray(labels)
    mask = np.ones(len(labels), dtype=bool) if keep is None else np.isin(labels, list(keep))
    if indices is not None:
        chosen = np.zeros(len(labels), dtype=bool)
        chosen[indices] = True
        mask &= chosen
    return mask


def in_box(embedding: np.ndarray, x: tuple[float, float], y: tuple[float, float]) -> np.ndarray:
    """Indices of the map points inside the box x[0]..x[1] by y[0]..y[1] (either order)."""
    (x0, x1), (y0, y1) = sorted(x), sorted(y)
    e = np.asarray(embedding)
    return np.flatnonzero((e[:, 0] >= x0) & (e[:, 0] <= x1) & (e[:, 1] >= y0) & (e[:, 1] <= y1))


def in_lasso(embedding: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Indices of the map points inside the closed polygon (K, 2) (even-odd rule, edges crossed left to right)."""
    e, poly = np.asarray(embedding, dtype=np.float64), np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    inside = np.zeros(len(e), dtype=bool)
    if len(poly) < 3:
        return np.flatnonzero(inside)
    px, py = e[:, 0], e[:, 1]
    for (ax, ay), (bx, by) in zip(poly, np.roll(poly, -1, axis=0)):
        crosses = (ay > py) != (by > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            at_x = ax + (py - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (px < at_x)
    return np.flatnonzero(inside)


def aggregate_log_density(z: np.ndarray, mu: np.ndarray, log_var: np.ndarray, chunk: int = 256) -> np.ndarray:
    """log q(z) of the aggregate posterior (1/N) sum_n N(z; mu_n, diag exp(log_var_n)) at z (M, D) -> (M,)."""
    mu_t = torch.as_tensor(np.asarray(mu), dtype=torch.float64)
    log_var_t = torch.as_tensor(np.asarray(log_var), dtype=torch.float64)
    z_t = torch.as_tensor(np.asarray(z), dtype=torch.float64)
    out = [torch.logsumexp(log_normal(block[:, None, :], mu_t, log_var_t), dim=1) for block in z_t.split(chunk)]
    return (torch.cat(out) - math.log(len(mu_t))).numpy()


@dataclass(frozen=True, eq=False)
class Holes:
    """Prior samples z (M, D), log p and log q at each, and which fall in a hole."""

    z: np.ndarray
    log_p: np.ndarray
    log_q: np.ndarray
    ratio: float

    @property
    def in_hole(self) -> np.ndarray:
        return self.log_q < self.log_p + math.log(self.ratio)

    @property
    def fraction(self) -> float:
        return float(self.in_hole.mean())

    @property
    def stderr(self) -> float:
        """Standard error of `fraction`, a proportion estimated from M independent samples."""
        f = self.fraction
        return math.sqrt(f * (1 - f) / len(self.z))


def prior_holes(mu: np.ndarray, log_var: np.ndarray, n_samples: int = 2000, seed: int = 0,
                ratio: float = HOLE_RATIO) -> Holes:
    """Draw n_samples z ~ N(0, I) and compare p(z) with the data's aggregate posterior q(z) there."""
    d = np.asarray(mu).shape[1]
    z = np.random.default_rng(seed).standard_normal((n_samples, d))
    zeros = torch.zeros(d, dtype=torch.float64)
    log_p = log_normal(torch.as_tensor(z), zeros, zeros).numpy()
    return Holes(z, log_p, aggregate_log_density(z, mu, log_var), ratio)
