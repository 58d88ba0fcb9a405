"""vae_core.map_job: maps fitted on a background thread, taking turns, cancelled when nobody waits."""
from __future__ import annotations

import time

from vae_core import map_job
from vae_core.map_job import ProjectionJob
from vae_core.projection import LinearProjection

from .test_projection import blobs


def test_job_runs_the_fit_in_the_background() -> None:
    job = ProjectionJob(blobs(), "pca")
    assert job.wait(30) and job.done and job.error is None and job.fraction == 1.0
    assert isinstance(job.projection, LinearProjection)
    failed = ProjectionJob(blobs(d=3), "raw", dims=(0, 0))
    assert failed.wait(30) and failed.projection is None and "two different" in (failed.error or "")


def _fitting(job: ProjectionJob, timeout_s: float = 120.0) -> None:
    """Wait until `job` has its turn and its fit reports progress (openTSNE's first import is slow
    on a busy machine, so a fixed delay would race it)."""
    deadline = time.monotonic() + timeout_s
    while job.fraction == 0.0 and not job.done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert 0.0 < job.fraction < 1.0, "the fit did not start"


def test_a_running_fit_nobody_holds_any_more_is_cancelled() -> None:
    job = ProjectionJob(blobs(n_per=400, d=8), "tsne", perplexity=30)
    job.hold()
    _fitting(job)
    job.release()
    assert job.wait(10) and job.cancelled and job.projection is None and "cancelled" in (job.error or "")


def test_t_sne_fits_take_turns_and_a_queued_one_is_cancelled_without_running() -> None:
    codes = blobs(n_per=200, d=8)
    first = ProjectionJob(codes, "tsne", perplexity=20, seed=0)
    first.hold()
    _fitting(first)  # it has the one turn; the next two queue behind it
    queued, dropped = (ProjectionJob(codes, "tsne", perplexity=20, seed=s) for s in (1, 2))
    queued.hold()
    dropped.hold()
    dropped.release()  # superseded while it waits for its turn
    jobs, overlapping, dropped_ran = (first, queued, dropped), 0, False
    while not (first.done and queued.done):
        overlapping = max(overlapping, sum(0 < j.fraction < 1 for j in jobs))
        dropped_ran |= 0 < dropped.fraction < 1
        time.sleep(0.005)
    assert overlapping <= map_job.MAX_CONCURRENT_FITS
    assert dropped.wait(10) and dropped.cancelled and not dropped_ran and dropped.fraction == 1.0
    assert first.projection is not None and queued.projection is not None
    for job in (first, queued):  # their placement fields are built on threads of their own: let them end
        deadline = time.monotonic() + 60
        while "field" not in job.projection.placer.__dict__ and time.monotonic() < deadline:
            time.sleep(0.05)
