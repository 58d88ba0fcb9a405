"""vae_core.map_job: a map fitted on a background thread."""
from __future__ import annotations

from vae_core.map_job import ProjectionJob
from vae_core.projection import LinearProjection

from .test_projection import blobs


def test_job_runs_the_fit_in_the_background() -> None:
    job = ProjectionJob(blobs(), "pca")
    assert job.wait(30) and job.done and job.error is None and job.fraction == 1.0
    assert isinstance(job.projection, LinearProjection)
    failed = ProjectionJob(blobs(d=3), "raw", dims=(0, 0))
    assert failed.wait(30) and failed.projection is None and "two different" in (failed.error or "")
