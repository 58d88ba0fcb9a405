"""vae_core.compare: two shipped models on the same real images."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_core import load_checkpoint, load_dataset
from vae_core.compare import model_view, plane_grid
from vae_core.inference import decode_latents
from vae_core.projection import fit_projection

from .conftest import REPO


def test_two_models_on_the_same_digits() -> None:
    images = load_dataset("digits").floats(slice(0, 300))
    views = [model_view(load_checkpoint(REPO / "checkpoints" / f"digits-mlp-{d}d.safetensors").model, images, n_grid=4)
             for d in (2, 8)]
    for view, d in zip(views, (2, 8)):
        assert view.mu.shape == (300, d) and view.units.mean_kl.shape == (d,)
        assert view.reconstructions.shape == (8, 8, 8) and view.grid.shape == (16, 8, 8)
        assert 1 <= view.units.n_active <= d
    ckpt = load_checkpoint(REPO / "checkpoints" / "digits-mlp-8d.safetensors")
    np.testing.assert_allclose(views[1].reconstructions, decode_latents(ckpt.model, views[1].mu[:8]), atol=1e-6)
    with pytest.raises(ValueError, match="takes"):
        model_view(ckpt.model, torch.zeros(2, 1, 28, 28))


def test_the_grid_of_a_2d_model_is_its_latent_plane_over_the_codes() -> None:
    codes = np.random.default_rng(0).normal(size=(200, 2)) * [2.0, 0.5]
    pca = fit_projection(codes, "pca")
    z = plane_grid(pca, 3)
    np.testing.assert_allclose(pca.transform(z)[[0, 8]], [[pca.embedding[:, 0].min(), pca.embedding[:, 1].max()],
                                                         [pca.embedding[:, 0].max(), pca.embedding[:, 1].min()]])
    assert z.shape == (9, 2)
