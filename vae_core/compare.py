"""Two (or more) models side by side on the same images: what the Compare page shows.

Each model encodes the same images, so its map, its reconstructions and its unit activity
are directly comparable. The manifold grid walks each model's own PCA plane of those codes
(exactly its latent plane for a 2-d model), decoded on an n x n lattice over the codes' extent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .inference import decode_latents, encode_images
from .models import VAE
from .projection import LinearProjection, fit_projection, map_bounds
from .units import UnitActivity, unit_activity


@dataclass(frozen=True, eq=False)
class ModelView:
    """One model on the shared images."""

    mu: np.ndarray  # (N, D)
    log_var: np.ndarray  # (N, D)
    pca: LinearProjection  # its map of mu
    units: UnitActivity
    reconstructions: np.ndarray  # (R, H, W): decode(mu) of the first R images
    grid: np.ndarray  # (n * n, H, W): the manifold grid, row-major, top row first


def plane_grid(projection: LinearProjection, n: int) -> np.ndarray:
    """Latent points (n * n, D) on an n x n lattice over the map's extent: x grows to the
    right, y upwards, so tiled decodes read like the map."""
    x0, x1, y0, y1 = map_bounds(projection.embedding, pad=0.0)
    ys, xs = np.meshgrid(np.linspace(y1, y0, n), np.linspace(x0, x1, n), indexing="ij")
    return projection.to_latent(np.stack([xs.ravel(), ys.ravel()], axis=1))


def model_view(model: VAE, images: torch.Tensor, n_recon: int = 8, n_grid: int = 10) -> ModelView:
    """Encode `images` (N, C, H, W) with `model`; its map, units, reconstructions and manifold grid."""
    if tuple(images.shape[1:]) != tuple(model.config.image_shape):
        raise ValueError(f"the model takes {model.config.image_shape} images, these are {tuple(images.shape[1:])}")
    mu, log_var = encode_images(model, images)
    pca = fit_projection(mu, "pca")
    assert isinstance(pca, LinearProjection)
    return ModelView(
        mu, log_var, pca, unit_activity(mu, log_var),
        decode_latents(model, mu[:n_recon]), decode_latents(model, plane_grid(pca, n_grid)),
    )
