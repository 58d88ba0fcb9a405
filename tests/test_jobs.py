"""Background training jobs: they finish, report, stop, save and fail with a message."""
from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import vae_core.jobs as jobs_module
from vae_core import DataError, ImageData, ModelConfig, TrainConfig, load_checkpoint
from vae_core.data import load_digits_data
from vae_core.jobs import (
    TRAIN_THREADS, JobLimitError, JobRegistry, JobState, StopReason, TrainingJob, data_folder, data_roots,
    limit_this_thread,
)
from vae_core.training import Trainer

TINY = ModelConfig(arch="mlp", latent_dim=2, hidden_dim=16)
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def digits() -> ImageData:
    return load_digits_data()


def _noise(n: int) -> ImageData:
    """A data set big enough that one epoch takes seconds, so a stop lands mid-epoch."""
    images = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    return ImageData(images, torch.zeros(n, dtype=torch.long), "noise", ("0",))


def _wait_until(condition, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _finished(job: TrainingJob) -> TrainingJob:
    assert job.wait(TIMEOUT_S), "the job did not end"
    return job


def test_a_short_digits_job_finishes_and_reports_everything(digits: ImageData) -> None:
    job = _finished(TrainingJob(TINY, TrainConfig(epochs=2, batch_size=128), digits))
    assert job.state is JobState.FINISHED and not job.running and job.error is None
    epochs = job.epochs()
    assert [m.epoch for m in epochs] == [1, 2] and all(math.isfinite(m.val_loss) for m in epochs)
    curve = job.curve()
    assert curve and curve[-1].epoch == pytest.approx(2.0)
    assert all(abs(p.loss - p.recon - p.kl) < 1e-3 * max(1.0, p.loss) for p in curve)
    progress = job.progress()
    assert progress.fraction == 1.0 and progress.eta_s == 0.0 and progress.epoch == 2 and progress.images_per_s > 0


def test_reconstructions_are_of_fixed_validation_images(digits: ImageData) -> None:
    job = _finished(TrainingJob(TINY, TrainConfig(epochs=1), digits))
    first, again = job.latest_reconstructions(4), job.latest_reconstructions(4)
    assert first.shape == (2, 4, 8, 8) and first.min() >= 0.0 and first.max() <= 1.0
    np.testing.assert_array_equal(first, again)
    originals = Trainer(TINY, TrainConfig(epochs=1), digits).val_images[:4, 0].numpy()
    np.testing.assert_array_equal(first[0], originals)  # the same seeded split as the trainer's


def test_metrics_and_reconstructions_arrive_while_training(digits: ImageData) -> None:
    job = TrainingJob(TINY, TrainConfig(epochs=400, batch_size=32), digits)
    _wait_until(lambda: len(job.epochs()) >= 2)
    assert job.running and 0.0 < job.progress().fraction < 1.0 and job.progress().eta_s > 0
    assert job.latest_reconstructions(3).shape == (2, 3, 8, 8)  # while the optimiser runs
    job.stop()
    _finished(job)


def test_stop_keeps_the_best_model_and_saves_it_with_codes(digits: ImageData, tmp_path: Path) -> None:
    job = TrainingJob(TINY, TrainConfig(epochs=1000, batch_size=64), digits)
    _wait_until(lambda: len(job.epochs()) >= 2)
    job.stop()
    _finished(job)
    assert job.state is JobState.STOPPED and job.error is None
    assert job.progress().fraction < 1.0
    path = job.save("stopped run", tmp_path)
    assert path == tmp_path / "stopped-run.safetensors"
    ckpt = load_checkpoint(path)
    assert ckpt.metadata.stopped_early and ckpt.metadata.epochs_trained == len(job.epochs())
    assert ckpt.codes is not None and ckpt.codes.mu.shape == (len(digits), 2)
    assert ckpt.metadata.final is not None
    assert ckpt.metadata.final["val_loss"] == pytest.approx(min(m.val_loss for m in job.epochs()))


def test_a_stop_in_the_first_epoch_keeps_the_weights_trained_so_far(tmp_path: Path) -> None:
    job = TrainingJob(TINY, TrainConfig(epochs=1, batch_size=8), _noise(40_000))
    _wait_until(lambda: job.progress().fraction > 0)
    job.stop()
    _finished(job)
    assert job.state is JobState.STOPPED and job.epochs() == []
    ckpt = load_checkpoint(job.save("early", tmp_path))
    untrained = Trainer(TINY, TrainConfig(epochs=1, batch_size=8), _noise(100)).best_model()
    assert any(not torch.equal(a, b) for a, b in zip(ckpt.model.state_dict().values(), untrained.state_dict().values()))


def test_a_job_stopped_before_its_first_step_has_nothing_to_save(
    digits: ImageData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    loading = threading.Event()  # the job's data arrives only once the stop is in: no race

    def held_load(*args: object, **kwargs: object) -> ImageData:
        assert loading.wait(TIMEOUT_S)
        return digits

    monkeypatch.setattr(jobs_module, "load_dataset", held_load)
    job = TrainingJob(TINY, TrainConfig(epochs=5))
    job.stop()
    loading.set()
    _finished(job)
    assert job.state is JobState.STOPPED and job.progress().fraction == 0.0
    with pytest.raises(ValueError, match="no model to save"):
        job.save("nothing", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_save_never_overwrites_without_the_flag(digits: ImageData, tmp_path: Path) -> None:
    job = _finished(TrainingJob(TINY, TrainConfig(epochs=1), digits))
    first = job.save("model", tmp_path)
    mtime = first.stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="already exists"):
        job.save("model", tmp_path)
    with pytest.raises(FileExistsError):
        job.save("model.json", tmp_path)  # the same checkpoint, named by its sidecar
    assert first.stat().st_mtime_ns == mtime
    assert job.save("model", tmp_path, overwrite=True) == first
    assert load_checkpoint(first).config == job.model_config


def test_save_sanitises_the_name_and_stays_in_the_folder(digits: ImageData, tmp_path: Path) -> None:
    job = _finished(TrainingJob(TINY, TrainConfig(epochs=1), digits))
    folder = tmp_path / "user"
    path = job.save("../../escape me", folder)
    assert path.parent == folder and path.name == "escape-me.safetensors"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user"]
    with pytest.raises(ValueError, match="Enter a name"):
        job.save("", folder)


@pytest.mark.parametrize(
    ("model_cfg", "train_cfg", "message"),
    [
        (ModelConfig(arch="conv", image_shape=(1, 28, 28)), TrainConfig(epochs=1), "The conv architecture"),
        (TINY, TrainConfig(dataset="idx", data_dir="/no/such/folder"), "needs an existing folder"),
    ],
)
def test_bad_settings_fail_with_a_sentence_for_the_user(
    model_cfg: ModelConfig, train_cfg: TrainConfig, message: str,
) -> None:
    job = _finished(TrainingJob(model_cfg, train_cfg))
    assert job.state is JobState.FAILED and not job.running
    assert message in job.error and job.error.endswith(".")
    assert job.latest_reconstructions() is None and job.progress().fraction == 0.0


def test_an_internal_error_is_logged_not_shown(digits: ImageData, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    def broken_run(self: Trainer, stop=None, every: int = 1):
        raise RuntimeError("shape mismatch in layer enc.1 (internal detail)")
        yield

    monkeypatch.setattr(Trainer, "run", broken_run)
    job = _finished(TrainingJob(TINY, TrainConfig(epochs=1), digits))
    assert job.state is JobState.FAILED
    assert "internal error" in job.error and "shape mismatch" not in job.error and "Traceback" not in job.error
    assert "shape mismatch" in caplog.text


def test_registry_finds_jobs_limits_concurrency_and_forgets_only_what_is_safe(digits: ImageData, tmp_path: Path) -> None:
    jobs = JobRegistry(max_running=1, max_kept=1)
    long = jobs.start(TINY, TrainConfig(epochs=1000), digits, owner="a")
    assert jobs.get(long.id) is long and jobs.get("nope") is None and jobs.get(None) is None
    with pytest.raises(JobLimitError, match="already training"):
        jobs.start(TINY, TrainConfig(epochs=1), digits, owner="b")
    jobs.discard(long.id, "a")
    assert jobs.get(long.id) is None
    _finished(long)
    assert long.state is JobState.STOPPED  # discarding stops it
    unsaved = _finished(jobs.start(TINY, TrainConfig(epochs=1), digits, owner="a"))
    for owner in "bcd":  # other sessions' jobs end, are saved, and come and go
        job = _finished(jobs.start(TINY, TrainConfig(epochs=1), digits, owner=owner))
        job.save(owner, tmp_path)
    assert jobs.get(unsaved.id) is unsaved and unsaved.unsaved  # never pushed out while unsaved
    assert {s.owner for s in jobs.summaries()} == {"a", "c", "d"}  # saved ones beyond max_kept go, oldest first


def test_a_job_stops_at_its_time_limit_and_keeps_its_model(tmp_path: Path) -> None:
    jobs = JobRegistry(time_limit_s=1.0)
    job = _finished(jobs.start(TINY, TrainConfig(epochs=1000), _noise(4000), owner="a"))
    assert job.state is JobState.STOPPED and job.stop_reason is StopReason.TIME_LIMIT
    assert job.unsaved and load_checkpoint(job.save("limited", tmp_path)).config == job.model_config


def test_only_the_owner_stops_and_everyone_sees_progress(digits: ImageData) -> None:
    jobs = JobRegistry()
    job = jobs.start(TINY, TrainConfig(epochs=1000), digits, owner="a")
    _wait_until(lambda: job.progress().fraction > 0)
    [summary] = jobs.summaries()
    assert summary.owner == "a" and summary.state is JobState.RUNNING and summary.progress.fraction > 0
    assert summary.label == "digits · MLP · latent 2"
    with pytest.raises(PermissionError):
        jobs.stop(job.id, "b")
    with pytest.raises(PermissionError):
        jobs.discard(job.id, "b")
    assert job.running
    jobs.stop(job.id, "a")
    assert _finished(job).stop_reason is StopReason.OWNER and jobs.get(job.id) is job


def test_jobs_of_a_gone_owner_are_stopped_after_the_grace_period_and_kept_as_drafts(
    digits: ImageData, tmp_path: Path,
) -> None:
    alive = {"a", "b"}
    jobs = JobRegistry(grace_s=0.5, check_every_s=0.1, is_alive=alive.__contains__, drafts_dir=tmp_path / "drafts")
    running = jobs.start(TINY, TrainConfig(epochs=1000), digits, owner="a")
    ended = _finished(jobs.start(TINY, TrainConfig(epochs=1), digits, owner="b"))
    _wait_until(lambda: running.progress().fraction > 0)
    alive.clear()  # both tabs closed
    time.sleep(0.2)
    assert running.running, "a short absence (a reconnect) stops nothing"
    _finished(running)
    assert running.stop_reason is StopReason.OWNER_GONE
    _wait_until(lambda: jobs.get(running.id) is None and jobs.get(ended.id) is None)
    drafts = sorted(p.name for p in (tmp_path / "drafts").glob("*.safetensors"))
    assert drafts == sorted(f"draft-digits-2d-{j.id[:8]}.safetensors" for j in (running, ended))
    assert all(load_checkpoint(tmp_path / "drafts" / name).config == TINY for name in drafts)


def test_a_new_run_keeps_the_owners_unsaved_model_as_a_draft(digits: ImageData, tmp_path: Path) -> None:
    jobs = JobRegistry(drafts_dir=tmp_path)
    first = _finished(jobs.start(TINY, TrainConfig(epochs=1), digits, owner="a"))
    second = jobs.start(TINY, TrainConfig(epochs=1), digits, owner="a")
    assert jobs.get(first.id) is None and first.saved_as == tmp_path / f"draft-digits-2d-{first.id[:8]}.safetensors"
    assert load_checkpoint(first.saved_as).config == TINY
    _finished(second)


def test_data_folder_accepts_only_folders_under_the_data_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    (root / "file.gz").write_bytes(b"x")
    (root / "escape").symlink_to(tmp_path)
    monkeypatch.setenv("VAE_EXPLORER_DATA_ROOTS", f"{root}{os.pathsep}{tmp_path / 'other'}")
    assert data_roots() == (root.resolve(), (tmp_path / "other").resolve())
    with pytest.raises(DataError, match="Enter the path of a folder under"):
        data_folder("  ")
    with pytest.raises(DataError, match="There is no folder"):
        data_folder(str(root / "missing"))
    with pytest.raises(DataError, match="is a file"):
        data_folder(str(root / "file.gz"))
    assert data_folder(f"  {root / 'mnist'}  ") == (root / "mnist").resolve()
    assert data_folder("mnist") == (root / "mnist").resolve()  # relative: under a root
    outside = ["/etc/shadow", "/root/.ssh", "/nonexistent", str(root / ".." / ".."), str(root / "escape"), "../.."]
    for text in outside:  # one answer whether it exists or not: nothing is learnt about the file system
        with pytest.raises(DataError, match=r"^Only folders under .* can be used here\.$"):
            data_folder(text)


def test_limiting_a_thread_leaves_the_other_threads_alone() -> None:
    default = torch.get_num_threads()
    seen: list[int] = []

    def in_thread(fn) -> None:
        worker = threading.Thread(target=fn)
        worker.start()
        worker.join()

    def limited() -> None:
        limit_this_thread(1)
        torch.randn(64, 64) @ torch.randn(64, 64)  # a first parallel op must not undo it
        seen.append(torch.get_num_threads())

    # what a fresh thread gets depends on what ran before in this process (app.py's own
    # setting, under AppTest): compare with a thread started before the limit, not a constant
    before: list[int] = []
    in_thread(lambda: before.append(torch.get_num_threads()))
    in_thread(limited)
    in_thread(lambda: seen.append(torch.get_num_threads()))  # a thread started afterwards
    assert seen == [1, before[0]] and torch.get_num_threads() == default


def test_a_job_trains_with_its_own_thread_count(digits: ImageData, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    original = Trainer.run

    def recording_run(self: Trainer, stop=None, every: int = 1):
        seen.append(torch.get_num_threads())
        yield from original(self, stop, every)

    monkeypatch.setattr(Trainer, "run", recording_run)
    _finished(TrainingJob(TINY, TrainConfig(epochs=1), digits))
    assert seen == [TRAIN_THREADS]


def test_a_colour_job_shows_colour_reconstructions_and_saves_its_mig(tmp_path: Path) -> None:
    from vae_core.data import load_shapes

    shapes = load_shapes(48, side=32)
    model = ModelConfig(arch="conv", image_shape=(3, 32, 32), latent_dim=3, hidden_dim=32)
    job = _finished(TrainingJob(model, TrainConfig(dataset="shapes", dataset_size=48, epochs=1, batch_size=16), shapes))
    pairs = job.latest_reconstructions(4)
    assert pairs.shape == (2, 4, 32, 32, 3) and 0.0 <= pairs.min() and pairs.max() <= 1.0
    ckpt = load_checkpoint(job.save("shapes-tiny", tmp_path))
    found = ckpt.metadata.disentanglement
    assert found is not None and found.factor_names == tuple(shapes.factor_names) and 0.0 <= found.mig <= 1.0
