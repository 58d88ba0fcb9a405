"""Walking around a latent space: interpolation, traversals, the prior grid, tiling.

Everything here is NumPy on latents `z` of shape (D,) or (N, D); decoding is
`inference.decode_latents`. The Explore page wires these to widgets.
"""
from __future__ import annotations

import numpy as np
import torch

from .losses import kl_per_dim

_PARALLEL_SIN = 1e-6  # below this |sin(angle)| slerp's direction is undefined: use lerp


def lerp(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """n evenly spaced points on the segment a -> b, both ends included: (n, D)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1.0 - t) * a + t * b


def slerp(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """n points from a to b along the great circle, with the norm going linearly: (n, D).

    A Gaussian prior in D dimensions puts almost all its mass near the shell |z| ~ sqrt(D),
    so a straight line between two samples cuts through the improbable middle; slerp
    (White 2016, "Sampling Generative Networks") keeps to the shell. The direction moves at
    constant angular speed; the length goes linearly from |a| to |b| (the classic formula
    does the same when |a| = |b|), so every norm lies between the endpoints' norms.
    Falls back to `lerp` when a and b are (anti)parallel or one is zero: no unique arc.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a == 0.0 or norm_b == 0.0:
        return lerp(a, b, n)
    unit_a, unit_b = a / norm_a, b / norm_b
    omega = np.arccos(np.clip(unit_a @ unit_b, -1.0, 1.0))
    sin_omega = np.sin(omega)
    if sin_omega < _PARALLEL_SIN:
        return lerp(a, b, n)
    t = np.linspace(0.0, 1.0, n)[:, None]
    direction = (np.sin((1.0 - t) * omega) * unit_a + np.sin(t * omega) * unit_b) / sin_omega
    path = direction * ((1.0 - t) * norm_a + t * norm_b)
    path[0], path[-1] = a, b  # exact ends, free of rounding
    return path


def lerp_midpoint_percentile(d: int) -> float:
    """Where the straight path's midpoint between two draws from N(0, I_d) sits among the prior's
    radii: the median over pairs of P(|z| < |midpoint|), in [0, 1].

    The midpoint (a + b) / 2 is N(0, I / 2), so |mid|^2 is chi2_d / 2 and the median is
    F_chi2_d(median(chi2_d) / 2): 0.29 for d = 2 (no thin shell: the middle is not improbable),
    0.11 for d = 8, 0.04 for d = 16 (the segment cuts through the empty middle; slerp keeps
    the norm, near the 50th percentile).
    """
    from scipy.stats import chi2  # not at the top: seconds of import on every server start

    return float(chi2.cdf(chi2.median(d) / 2.0, d))


def traversal(z: np.ndarray, dim: int, values: np.ndarray) -> np.ndarray:
    """Copies of z (D,) with z[dim] set to each of `values`: (len(values), D)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.repeat(np.asarray(z, dtype=np.float64)[None, :], len(values), axis=0)
    out[:, dim] = values
    return out


def traversal_rows(
    z: np.ndarray, dims: list[int], center: np.ndarray, scale: np.ndarray, n: int, width: float = 3.0
) -> np.ndarray:
    """One `traversal` per dim, over center[dim] +- width * scale[dim]: (len(dims) * n, D).

    center/scale are the data's mean/std of mu (how the data actually spreads) or 0/1
    (the prior's); rows come in the order of `dims`, ready for `tile_images(..., n)`.
    """
    steps = np.linspace(-width, width, n)
    return np.concatenate([traversal(z, d, center[d] + steps * scale[d]) for d in dims])


def prior_quantiles(n: int) -> np.ndarray:
    """The midpoints of n equal-probability slices of N(0, 1), ascending: (n,).

    Inverse-CDF spacing (Kingma & Welling 2014, Fig. 4): each value stands for 1/n of the
    prior's mass, so the grid is dense where the prior is and never reaches +-infinity.
    """
    from scipy.stats import norm  # not at the top: seconds of import on every server start

    return norm.ppf((np.arange(n) + 0.5) / n)


def prior_grid(n: int) -> np.ndarray:
    """An n x n grid of 2-D latents covering the prior evenly, row-major: (n * n, 2).

    Row r, column c holds (q[c], q[n - 1 - r]) with q = `prior_quantiles(n)`: z[0] grows
    to the right and z[1] upwards, so the tiled decodes read like a plot of the plane.
    """
    q = prior_quantiles(n)
    z1, z0 = np.meshgrid(q[::-1], q, indexing="ij")
    return np.stack([z0.ravel(), z1.ravel()], axis=1)


def is_colour(images: np.ndarray) -> bool:
    """Whether a display image or batch ends in an RGB axis: (..., H, W, 3). Images are at
    least 8 pixels wide, so a gray (..., H, W) never ends in 3."""
    return images.ndim >= 3 and images.shape[-1] == 3


def enlarge(images: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of the pixel axes, (..., H, W) or (..., H, W, 3), so small images stay crisp."""
    rows, cols = (-3, -2) if is_colour(images) else (-2, -1)
    return np.repeat(np.repeat(images, factor, axis=rows), factor, axis=cols)


def tile_images(images: np.ndarray, ncols: int, sep_value: float = 1.0) -> np.ndarray:
    """images (N, H, W) or (N, H, W, 3) -> one image (rows*(H+1)-1, cols*(W+1)-1[, 3]) in row-major order.

    Tiles are split by 1-px lines of `sep_value`; unused slots of the last row take it too.
    """
    n, h, w = images.shape[:3]
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    canvas = np.full((nrows * (h + 1) - 1, ncols * (w + 1) - 1, *images.shape[3:]), sep_value, dtype=images.dtype)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = image
    return canvas


def rank_dims(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """Latent dims, most informative first: by mean KL(q(z_i|x) || N(0, 1)) over the data.

    A dim the encoder ignores has q = prior for every x (KL ~ 0); the decoder learns to
    ignore it too, so moving its slider changes nothing. Ties keep index order.
    """
    kl = kl_per_dim(torch.as_tensor(mu, dtype=torch.float64), torch.as_tensor(log_var, dtype=torch.float64))
    return np.argsort(-kl.mean(dim=0).numpy(), kind="stable")


def sample_prior(d: int, generator: np.random.Generator) -> np.ndarray:
    """One z ~ N(0, I_d): (d,)."""
    return generator.standard_normal(d)
