"""UMAP as a map: fitted with exact neighbours, kept on disk like t-SNE, and placing new codes
as umap-learn's own transform does, from the arrays alone (so a map read back places too)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from vae_core.map_cache import MapCache, map_settings
from vae_core.placement import umap_place
from vae_core.map_job import ProjectionJob
from vae_core.projection import UMAPProjection, fit_projection

from .test_projection import blobs


@pytest.fixture(scope="module")
def umap_map() -> tuple[np.ndarray, UMAPProjection, list[float]]:
    codes, seen = blobs(n_per=60), []
    projection = fit_projection(codes, "umap", seed=0, progress=seen.append)
    assert isinstance(projection, UMAPProjection)
    return codes, projection, seen


def test_a_umap_map_keeps_neighbours_and_reports_its_progress(umap_map) -> None:  # type: ignore[no-untyped-def]
    codes, projection, seen = umap_map
    assert projection.embedding.shape == (len(codes), 2) and not projection.is_exact
    assert trustworthiness(codes, projection.embedding, n_neighbors=10) > 0.9
    assert seen[0] == 0.0 and seen[-1] == pytest.approx(1.0) and seen == sorted(seen) and len(seen) > 3
    # the way back: a click on a point returns its own code
    np.testing.assert_allclose(projection.to_latent(projection.embedding[7]), codes[7])


def test_new_codes_land_where_umap_learn_s_transform_puts_them(umap_map) -> None:  # type: ignore[no-untyped-def]
    from umap import UMAP

    codes, projection, _ = umap_map
    reference = UMAP(n_neighbors=15, min_dist=0.1, random_state=0, n_jobs=1).fit(codes)
    new = codes[::40] + np.random.default_rng(3).normal(scale=0.3, size=codes[::40].shape)
    ours = umap_place(codes, reference.embedding_, new, 15, 0.1)
    theirs = reference.transform(new)
    extent = np.ptp(reference.embedding_, axis=0).max()
    assert np.abs(ours - theirs).max() < 0.01 * extent
    # on our own map: each new code lands among the codes it came from
    placed = projection.transform(new)
    nearest = projection.tree.query(placed, k=5)[1]
    source = np.arange(0, len(codes), 40)
    assert np.mean([src // 60 == np.median(row // 60) for src, row in zip(source, nearest)]) == 1.0


def test_a_umap_map_is_kept_on_disk_and_read_back(tmp_path: Path) -> None:
    weights = tmp_path / "tiny.safetensors"
    weights.write_bytes(b"weights")
    codes, cache = blobs(n_per=30, d=4), MapCache(weights)
    fitted = cache.fit(codes, "umap", seed=2)
    assert cache.path(codes, "umap", seed=2).name.endswith(map_settings("umap", seed=2) + ".npz")
    read = cache.fit(codes, "umap", seed=2)
    assert isinstance(read, UMAPProjection) and read is not fitted and read.seed == 2
    np.testing.assert_array_equal(read.embedding, fitted.embedding)
    np.testing.assert_allclose(read.transform(codes[:3]), fitted.transform(codes[:3]))
    assert cache.path(codes, "umap", seed=3) != cache.path(codes, "umap", seed=2)


def test_a_umap_fit_nobody_waits_for_is_cancelled() -> None:
    job = ProjectionJob(blobs(n_per=400, d=8), "umap")
    job.hold()
    job.release()
    assert job.wait(60) and job.cancelled and job.projection is None
