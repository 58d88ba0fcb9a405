"""A procedurally drawn data set whose generative factors are known (in the spirit of
dSprites, Matthey et al. 2017, and 3D Shapes, Burgess & Kim 2018).

Each image is one coloured shape on black, drawn from six independent factors, each
uniform over a few levels: shape, hue, scale, rotation, x and y. With the true factors
beside the images, one can ask whether a latent dimension found one of them (see
`vae_core.disentangle`). Images are drawn from a seed in vectorised NumPy, so any number
of them is cheap to redraw and nothing is stored on disk.

Edges are anti-aliased from a signed distance: a pixel's coverage is its distance to the
outline, clipped to one pixel's width.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SHAPE_NAMES = ("square", "ellipse", "triangle")
FACTOR_NAMES = ("shape", "hue", "scale", "rotation", "x", "y")
N_HUES = 8
SCALES = (0.12, 0.16, 0.20, 0.24)  # shape radius as a fraction of the image side
# Rotations within a quarter turn: the square repeats every 90 degrees, so larger angles
# would draw the same image for different factor values.
ROTATIONS_DEG = tuple(float(a) for a in np.arange(8) * 11.25)
POSITIONS = tuple(float(p) for p in np.linspace(0.3, 0.7, 8))  # centre, as a fraction of the side
FACTOR_SIZES = (len(SHAPE_NAMES), N_HUES, len(SCALES), len(ROTATIONS_DEG), len(POSITIONS), len(POSITIONS))
ELLIPSE_MINOR = 0.55  # the ellipse's short axis relative to its long one
DEFAULT_SEED = 0
_CHUNK = 512  # images drawn at once: bounds the float temporaries to ~10 MB per array at 64x64


@dataclass(frozen=True)
class Shapes:
    """images (N, 3, side, side) uint8 and factors (N, 6) int64: each factor's level index."""

    images: NDArray[np.uint8]
    factors: NDArray[np.int64]


def sample_factors(n: int, seed: int = DEFAULT_SEED) -> NDArray[np.int64]:
    """n independent draws of every factor's level, uniform: (n, 6)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, FACTOR_SIZES, size=(n, len(FACTOR_SIZES)), dtype=np.int64)  # row by row


def hue_to_rgb(hue: NDArray[np.floating]) -> NDArray[np.float32]:
    """Fully saturated, full-value colours of hues in [0, 1): (N,) -> (N, 3) (HSV with s = v = 1)."""
    k = (np.asarray(hue, dtype=np.float64)[:, None] * 6.0 + np.array([5.0, 3.0, 1.0])) % 6.0
    return (1.0 - np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)).astype(np.float32)


def _square(u: NDArray[np.float32], v: NDArray[np.float32]) -> NDArray[np.float32]:
    return np.maximum(np.abs(u), np.abs(v)) - np.float32(0.85)  # about the area of the others


def _ellipse(u: NDArray[np.float32], v: NDArray[np.float32]) -> NDArray[np.float32]:
    minor = np.float32(ELLIPSE_MINOR)
    return (np.sqrt(u**2 + (v / minor) ** 2) - np.float32(1.0)) * minor


_TRIANGLE_NORMALS = np.deg2rad([90.0, 210.0, 330.0])  # its edges' outward normals: apex down, flat top


def _triangle(u: NDArray[np.float32], v: NDArray[np.float32]) -> NDArray[np.float32]:
    edges = [u * np.float32(np.cos(a)) + v * np.float32(np.sin(a)) for a in _TRIANGLE_NORMALS]
    return np.maximum.reduce(edges) - np.float32(0.5)


# Distance outside each unit-radius shape (negative inside), in radius units, from pixel
# centres (u, v) in the shape's own frame. The square and triangle take the largest of their
# edges' half-plane distances (exact near the outline, where anti-aliasing needs it); the
# ellipse's is its radius function's, close enough at these sizes.
_DISTANCES = (_square, _ellipse, _triangle)


def _draw(factors: NDArray[np.int64], side: int) -> NDArray[np.uint8]:
    shape, hue, scale, rotation, x, y = factors.T
    radius = np.asarray(SCALES, dtype=np.float32)[scale] * side
    centre_x = np.asarray(POSITIONS, dtype=np.float32)[x] * side
    centre_y = np.asarray(POSITIONS, dtype=np.float32)[y] * side
    theta = np.deg2rad(np.asarray(ROTATIONS_DEG, dtype=np.float32)[rotation])
    grid = np.arange(side, dtype=np.float32) + np.float32(0.5)  # pixel centres
    dx = grid[None, None, :] - centre_x[:, None, None]  # (N, 1, W)
    dy = centre_y[:, None, None] - grid[None, :, None]  # (N, H, 1): the shape's frame points up, rows down
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    r = radius[:, None, None]
    u, v = (cos * dx + sin * dy) / r, (cos * dy - sin * dx) / r  # rotate the pixels by -theta
    distance = np.empty_like(u)
    for k, distance_to in enumerate(_DISTANCES):
        mine = shape == k
        distance[mine] = distance_to(u[mine], v[mine])
    coverage = np.clip(np.float32(0.5) - distance * r, 0.0, 1.0)  # distance in pixels
    colour = hue_to_rgb(hue / N_HUES)
    return np.round(coverage[:, None] * colour[:, :, None, None] * 255.0).astype(np.uint8)


def make_shapes(n: int, side: int = 64, seed: int = DEFAULT_SEED) -> Shapes:
    """n images of side x side pixels and their factors; the same (n, side, seed) always
    gives the same bytes, and the first k images of a larger set are the k-image set."""
    if n < 1 or side < 8:
        raise ValueError(f"need at least one image of at least 8x8 pixels, got n={n}, side={side}")
    factors = sample_factors(n, seed)
    images = np.empty((n, 3, side, side), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        images[start:start + _CHUNK] = _draw(factors[start:start + _CHUNK], side)
    return Shapes(images, factors)
