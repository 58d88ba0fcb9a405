"""vae_core.placement: new codes placed into a fixed t-SNE map, against openTSNE's transform."""
from __future__ import annotations

import numpy as np
import pytest

from vae_core.placement import MapPlacer, repulsion_field
from vae_core.projection import TSNEProjection, fit_projection

from .test_projection import blobs


@pytest.fixture(scope="module")
def fitted() -> tuple[np.ndarray, TSNEProjection]:
    codes = blobs(n_per=150, d=8, k=5)
    projection = fit_projection(codes, "tsne", perplexity=20, seed=0)
    assert isinstance(projection, TSNEProjection)
    return codes, projection


def test_the_field_matches_the_sums_over_every_mapped_point() -> None:
    embedding = np.random.default_rng(0).normal(scale=8.0, size=(2000, 2))
    field = repulsion_field(embedding, grid=256)
    y = np.random.default_rng(1).uniform(-15, 15, size=(50, 2))
    diff = y[:, None, :] - embedding[None]
    q = 1.0 / (1.0 + (diff**2).sum(axis=2))
    z, f = field.at(y)
    np.testing.assert_allclose(z, q.sum(axis=1), rtol=0.01)
    exact = np.einsum("mn,mnd->md", q**2, diff)
    assert np.linalg.norm(f - exact) < 0.05 * np.linalg.norm(exact)  # cells of 0.35 map units here


def test_new_codes_land_where_opentsne_places_them(fitted: tuple[np.ndarray, TSNEProjection]) -> None:
    from openTSNE import TSNE

    codes, projection = fitted
    new = codes[::15] + np.random.default_rng(2).normal(scale=0.3, size=(50, codes.shape[1]))
    reference = TSNE(perplexity=20, random_state=0).prepare_initial(codes, initialization=projection.embedding.copy())
    expected = np.asarray(reference.transform(new))
    placed = projection.transform(new)
    error = np.linalg.norm(placed - expected, axis=1)
    extent = np.ptp(projection.embedding, axis=0).max()
    assert np.median(error) < 0.01 * extent and error.max() < 0.05 * extent, (np.median(error), error.max(), extent)
    # the optimisation does work: the neighbours' median alone is further from openTSNE's answer
    start = MapPlacer(codes, projection.embedding).place(new, n_iter=0)
    assert np.median(error) < np.median(np.linalg.norm(start - expected, axis=1))


def test_codes_far_from_the_data_stay_inside_the_field(fitted: tuple[np.ndarray, TSNEProjection]) -> None:
    codes, projection = fitted
    far = np.full((3, codes.shape[1]), 1e3)  # far from every code
    placed = projection.transform(far)
    lo, hi = projection.placer.field.bounds
    assert placed.shape == (3, 2) and np.isfinite(placed).all() and (placed >= lo).all() and (placed <= hi).all()
    assert projection.transform(codes[0]).shape == (1, 2)  # one code (D,) is one row


def test_a_fitted_map_builds_its_placement_field_in_the_background() -> None:
    import time

    from vae_core.map_job import ProjectionJob

    job = ProjectionJob(blobs(n_per=40), "tsne", perplexity=10)
    assert job.wait(120) and isinstance(job.projection, TSNEProjection)
    deadline = time.monotonic() + 30
    while "field" not in job.projection.placer.__dict__ and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "field" in job.projection.placer.__dict__
