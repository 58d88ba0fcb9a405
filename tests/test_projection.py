"""vae_core.projection: the maps, and the way back from a map position to a latent point."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from vae_core import ModelConfig, build_model
from vae_core.projection import (
    Click, LinearProjection, TSNEProjection, click_at, decode_at,
    fit_projection, map_bounds,
)


def blobs(n_per: int = 80, d: int = 8, k: int = 5, seed: int = 0) -> np.ndarray:
    """k well separated Gaussian clusters in d dimensions: codes with a clear structure."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    return np.concatenate([c + rng.normal(size=(n_per, d)) for c in centres])


@pytest.fixture(scope="module")
def tsne_map() -> TSNEProjection:
    projection = fit_projection(blobs(), "tsne", perplexity=20, seed=0)
    assert isinstance(projection, TSNEProjection)
    return projection


def test_pca_round_trip_is_exact_within_its_plane() -> None:
    codes = blobs(d=6)
    pca = fit_projection(codes, "pca")
    assert isinstance(pca, LinearProjection) and pca.is_exact
    mean = codes.mean(axis=0)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(2), atol=1e-12)
    z = np.random.default_rng(1).normal(size=(20, 6)) * 3
    on_plane = mean + (z - mean) @ pca.components.T @ pca.components
    np.testing.assert_allclose(pca.to_latent(pca.transform(z)), on_plane, atol=1e-10)
    xy = np.random.default_rng(2).normal(size=(20, 2)) * 5
    np.testing.assert_allclose(pca.transform(pca.to_latent(xy)), xy, atol=1e-10)
    np.testing.assert_allclose(pca.to_latent(np.zeros(2)), mean, atol=1e-12)  # the origin is the data mean
    np.testing.assert_allclose(pca.embedding, pca.transform(codes), atol=1e-10)


def test_pca_matches_scikit_learn() -> None:
    from sklearn.decomposition import PCA

    codes = blobs(d=6)
    ours, ref = fit_projection(codes, "pca"), PCA(2).fit(codes)
    np.testing.assert_allclose(np.abs(ours.components), np.abs(ref.components_), atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_ratio, ref.explained_variance_ratio_, atol=1e-10)


def test_pca_of_2d_codes_is_exact_everywhere() -> None:
    codes = blobs(d=2)
    pca = fit_projection(codes, "pca")
    np.testing.assert_allclose(pca.to_latent(pca.embedding), codes, atol=1e-10)


def test_raw_picks_the_chosen_dims_and_holds_the_rest_at_the_mean() -> None:
    codes = blobs(d=5)
    raw = fit_projection(codes, "raw", dims=(3, 1))
    np.testing.assert_array_equal(raw.embedding, codes[:, [3, 1]])
    z = raw.to_latent(np.array([0.5, -2.0]))
    assert z.shape == (5,) and z[3] == 0.5 and z[1] == -2.0
    np.testing.assert_allclose(z[[0, 2, 4]], codes.mean(axis=0)[[0, 2, 4]])
    np.testing.assert_allclose(raw.transform(codes[:4]), codes[:4, [3, 1]])


@pytest.mark.parametrize("dims", [(1, 1), (0, 5), (-1, 0)])
def test_raw_refuses_bad_dims(dims: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="two different latent dimensions"):
        fit_projection(blobs(d=5), "raw", dims=dims)


def test_unknown_method_and_too_few_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown map method"):
        fit_projection(blobs(), "isomap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 2 codes"):
        fit_projection(np.zeros((1, 4)), "pca")


def test_tsne_map_back_lands_near_the_click(tsne_map: TSNEProjection) -> None:
    """A click between a point and its nearest map neighbour decodes a blended code that
    t-SNE places back near the click: within a small fraction of the map's extent."""
    emb = tsne_map.embedding
    extent = float(np.linalg.norm(emb.max(axis=0) - emb.min(axis=0)))
    rng = np.random.default_rng(3)
    starts = rng.choice(len(emb), size=30, replace=False)
    _, nearest = tsne_map.tree.query(emb[starts], k=2)
    clicks = (emb[starts] + emb[nearest[:, 1]]) / 2
    z = tsne_map.to_latent(clicks)
    assert z.shape == (30, 8) and not tsne_map.is_exact
    miss = np.linalg.norm(tsne_map.transform(z) - clicks, axis=1) / extent
    assert np.median(miss) < 0.01 and miss.max() < 0.05, miss


def test_tsne_transform_places_mapped_codes_on_their_spot_and_keeps_the_map(tsne_map: TSNEProjection) -> None:
    """Placing codes reads the map and never moves it."""
    before = tsne_map.embedding.copy()
    for _ in range(2):
        placed = tsne_map.transform(tsne_map.codes[:10])
        np.testing.assert_allclose(placed, before[:10], atol=0.01 * np.ptp(before))
    np.testing.assert_array_equal(tsne_map.embedding, before)


def test_tsne_click_on_a_point_returns_its_code(tsne_map: TSNEProjection) -> None:
    np.testing.assert_allclose(tsne_map.to_latent(tsne_map.embedding[7]), tsne_map.codes[7], atol=1e-6)


def test_tsne_reports_progress_up_to_one() -> None:
    seen: list[float] = []
    fit_projection(blobs(n_per=30), "tsne", perplexity=10, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 10


def test_a_click_near_a_code_hits_it_and_means_its_position() -> None:
    emb = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    assert click_at(emb, 0.9, 0.05, 0.2, 0.2) == Click((1.0, 0.0), 1)
    # the nearest code wins, and the radius is per axis: 0.3 off in x is inside rx 0.5, not rx 0.2
    assert click_at(emb, 0.3, 0.0, 0.5, 0.01) == Click((0.0, 0.0), 0)
    assert click_at(emb, 0.3, 0.0, 0.2, 0.2) == Click((0.3, 0.0), None)


def test_a_click_on_empty_space_keeps_its_exact_spot() -> None:
    emb = blobs(d=2)
    x = float(emb[:, 0].max() + 3.0)
    assert click_at(emb, x, 0.123, 0.1, 0.1) == Click((x, 0.123), None)
    assert click_at(np.zeros((0, 2)), x, 0.123, 0.1, 0.1) == Click((x, 0.123), None)


def test_decode_at_gives_an_image_that_follows_the_click() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="mlp", image_shape=(1, 8, 8), latent_dim=4, hidden_dim=16)).eval()
    pca = fit_projection(blobs(d=4), "pca")
    z, image = decode_at(model, pca, np.array([0.0, 0.0]))
    assert z.shape == (4,) and image.shape == (8, 8) and 0.0 <= image.min() and image.max() <= 1.0
    np.testing.assert_allclose(z, pca.origin)
    _, moved = decode_at(model, pca, np.array([3.0, -3.0]))
    assert np.abs(moved - image).max() > 1e-3
