"""Training in the background: a job runs `Trainer.run` in a daemon thread and keeps what a
page needs to draw (metrics, progress, reconstructions) behind a lock, so a web page can
poll it once a second, be closed and reopened, and never blocks other users.

Threads and the CPU. The training thread runs torch with one intra-op thread
(`TRAIN_THREADS`): on a busy 2-core machine two OpenMP threads per op made training 10-50x
slower than one (every op waits for its descheduled partner), and one thread leaves a core
to the web server. `torch.set_num_threads` is not per thread, so `limit_this_thread` works
around it (see there). The loop also yields the GIL after every step (`time.sleep(0)`), so a
page decoding a point in another thread waits for at most one step;
bench/training_responsiveness.py measures both.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import numpy as np
import torch

from .config import ModelConfig, TrainConfig
from .data import DataError, ImageData, load_dataset
from .eta import training_eta
from .inference import decode_latents, encode_images, to_display
from .models import build_model
from .naming import sanitize_checkpoint_name
from .snapshots import LatentSnapshots
from .training import EpochMetrics, StepMetrics, Trainer, evaluate

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
DATA_ROOTS_ENV = "VAE_EXPLORER_DATA_ROOTS"
MAX_CURVE_POINTS = 400  # per-step points kept for the curves; steps are averaged in windows
TRAIN_THREADS = 1  # intra-op threads of a training thread (see the module docstring)


class JobState(StrEnum):
    RUNNING = "running"  # loading data or training
    STOPPED = "stopped"  # stopped by the user; the model so far is kept
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True)
class CurvePoint:
    """Mean training losses (per image, nats) over a window of steps, at a fractional epoch."""

    epoch: float
    loss: float
    recon: float
    kl: float


@dataclass(frozen=True)
class Progress:
    fraction: float  # of all optimisation steps, 0..1
    eta_s: float | None  # None until the first step gives a pace
    images_per_s: float
    epoch: int  # the epoch being trained (or last trained), from 1; 0 while loading data
    epochs: int


def data_roots() -> tuple[Path, ...]:
    """The folders whose subfolders a visitor may name as data: VAE_EXPLORER_DATA_ROOTS (paths
    separated by the OS's path separator, ':' on Linux), else the repository's data/ and ../shared/data."""
    text = os.environ.get(DATA_ROOTS_ENV, "")
    roots = [Path(p) for p in text.split(os.pathsep) if p.strip()] or [REPO / "data", REPO.parent / "shared" / "data"]
    return tuple(root.expanduser().resolve() for root in roots)


def data_folder(text: str, roots: tuple[Path, ...] | None = None) -> Path:
    """The folder a user typed for their IDX files, or DataError saying what is wrong with it.

    Only folders under `roots` (default `data_roots()`) are accepted, checked on the real path
    (links and '..' followed) before anything else, so the answer says nothing about the rest of
    the file system. A relative path is taken under each root in turn.
    """
    text = text.strip()
    roots = data_roots() if roots is None else roots
    where = ", ".join(str(root) for root in roots)
    if not text:
        raise DataError(f"Enter the path of a folder under {where} that holds IDX files "
                        "(e.g. train-images-idx3-ubyte.gz).")
    typed = Path(text).expanduser()
    candidates = [typed] if typed.is_absolute() else [root / typed for root in roots]
    for candidate in candidates:
        try:
            path = candidate.resolve()
        except (OSError, RuntimeError):  # a link loop, an unreadable part of the path
            continue
        if not any(path.is_relative_to(root) for root in roots):
            continue
        if path.is_dir():
            return path
        if path.exists():
            raise DataError(f"{text} is a file, not a folder: enter the folder that holds the IDX files.")
        raise DataError(f"There is no folder {text} under {where}: check the path.")
    raise DataError(f"Only folders under {where} can be used here.")


def limit_this_thread(n_threads: int) -> None:
    """Give the calling thread `n_threads` intra-op threads and leave every other thread alone.

    `torch.set_num_threads` sets the calling thread's OpenMP and MKL counts *and* a
    process-wide default that every thread adopts on its first parallel op; that first op
    also re-applies the default over an earlier set in the same thread. So: let torch
    initialise this thread first, set our count, then put the default back from a helper
    thread (which changes only itself and the default). Streamlit runs each script run in a
    fresh thread, so without the restore every later page would run single-threaded.
    """
    default = torch.get_num_threads()  # runs torch's lazy per-thread initialisation here
    if default == n_threads:
        return
    torch.set_num_threads(n_threads)
    helper = threading.Thread(target=torch.set_num_threads, args=(default,), name="restore-torch-threads")
    helper.start()
    helper.join()


def _sentence(message: str) -> str:
    """'the conv architecture is built for 28x28 images' -> 'The conv ... images.'"""
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith((".", "!", "?")) else ".")


class JobLimitError(RuntimeError):
    """Too many jobs are training at once on this server; the message says so."""


class StopReason(StrEnum):
    OWNER = "stopped by its owner"
    TIME_LIMIT = "stopped at the time limit"
    OWNER_GONE = "stopped because its owner left"


class TrainingJob:
    """One training run in a daemon thread. Every public method may be called from any thread.

    `data=None` loads `train_config.dataset` inside the thread (a download must not block a
    page). The model's `image_shape` is taken from the data, so a caller only picks the
    architecture; a conv model on images that are not 28x28 fails with a message.
    """

    def __init__(
        self, model_config: ModelConfig, train_config: TrainConfig, data: ImageData | None = None,
        owner: str = "", time_limit_s: float | None = None,
    ) -> None:
        self.model_config = model_config
        self.train_config = train_config
        self.owner = owner  # who may stop, save or discard it (a browser session's id)
        self.time_limit_s = time_limit_s
        self.id = uuid.uuid4().hex
        self.created = time.time()
        self.saved_as: Path | None = None  # where its model was last saved (by its owner, or as a draft)
        self.stop_reason: StopReason | None = None
        self._data = data
        self._stop = threading.Event()
        self._lock = threading.Lock()  # held while the trainer takes a step, and by readers of the model
        self._state = JobState.RUNNING
        self._error: str | None = None
        self._trainer: Trainer | None = None
        self._curve: list[CurvePoint] = []
        self._epochs: list[EpochMetrics] = []
        self._last_step: StepMetrics | None = None
        self._thread = threading.Thread(target=self._run, name=f"vae-train-{self.id[:8]}", daemon=True)
        self._thread.start()

    # --- the thread -------------------------------------------------------------------
    def _run(self) -> None:
        limit_this_thread(TRAIN_THREADS)
        try:
            try:
                trainer = self._prepare()
            except ValueError as err:  # DataError included: bad data or settings, in the user's terms
                self._fail(_sentence(str(err)))
                return
            self._train(trainer)
        except torch.OutOfMemoryError:
            self._fail("Training ran out of memory: try a smaller batch size, model or data set.")
        except Exception:  # a bug: the details go to the server log, not to the page
            logger.exception("training job %s failed", self.id)
            self._fail("Training stopped because of an internal error; the details are in the server log.")

    def _prepare(self) -> Trainer:
        cfg = self.train_config
        data = self._data if self._data is not None else load_dataset(cfg.dataset, cfg.data_dir, size=cfg.dataset_size)
        trainer = Trainer(replace(self.model_config, image_shape=data.image_shape), cfg, data)
        with self._lock:
            self._trainer = trainer
        return trainer

    def _train(self, trainer: Trainer) -> None:
        window = max(1, trainer.steps_per_epoch() * self.train_config.epochs // MAX_CURVE_POINTS)
        sums = np.zeros(3)
        steps = trainer.run(self._stop)
        deadline = None if self.time_limit_s is None else time.monotonic() + self.time_limit_s
        while True:
            if deadline is not None and time.monotonic() > deadline and not self._stop.is_set():
                self.stop(StopReason.TIME_LIMIT)
            with self._lock:  # the step mutates the model: readers wait for it to finish
                metrics = next(steps, None)
            if metrics is None:
                break
            if isinstance(metrics, StepMetrics):
                sums += (metrics.loss, metrics.recon, metrics.kl)
                if metrics.step % window == 0:
                    loss, recon, kl = sums / window
                    point = CurvePoint(metrics.step / trainer.steps_per_epoch(), loss, recon, kl)
                    sums[:] = 0
                    with self._lock:
                        self._curve.append(point)
                self._last_step = metrics  # one reference: readers see the old or the new one
            else:
                with self._lock:
                    self._epochs.append(metrics)
            time.sleep(0)  # let other threads (the web server, other sessions) take the GIL
        if trainer.stopped and self._last_step is not None:
            with self._lock:
                self._keep_current_if_better(trainer)
        self._state = JobState.STOPPED if trainer.stopped else JobState.FINISHED

    @staticmethod
    def _keep_current_if_better(trainer: Trainer) -> None:
        """A stop mid-epoch must not lose the steps since the last validation: keep them if they do better there."""
        val = evaluate(trainer.model, trainer.val_images, trainer.train_config.beta)
        if val["loss"] < trainer.best_val_loss:
            trainer.best_val_loss = val["loss"]
            trainer.best_state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}

    def _fail(self, message: str) -> None:
        self._error = message
        self._state = JobState.FAILED

    # --- what a page reads --------------------------------------------------------------
    @property
    def state(self) -> JobState:
        return self._state

    @property
    def error(self) -> str | None:
        """Why the job failed, in the user's terms; None unless it failed."""
        return self._error

    @property
    def running(self) -> bool:
        return self._state is JobState.RUNNING

    def stop(self, reason: StopReason = StopReason.OWNER) -> None:
        """Ask the trainer to stop after the current step; the best model so far is kept.
        The first reason given is the one reported."""
        if self.stop_reason is None and self.running:
            self.stop_reason = reason
        self._stop.set()

    @property
    def has_model(self) -> bool:
        """Whether there are trained weights to save (a run stopped before its first step has none)."""
        with self._lock:
            return self._trainer is not None and math.isfinite(self._trainer.best_val_loss)

    @property
    def unsaved(self) -> bool:
        """A model that ended and was never saved: it must not be dropped without its owner's word."""
        return not self.running and self.saved_as is None and self.has_model

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (tests, scripts); True if it did within `timeout`."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def curve(self) -> list[CurvePoint]:
        with self._lock:
            return list(self._curve)

    def epochs(self) -> list[EpochMetrics]:
        with self._lock:
            return list(self._epochs)

    def snapshots(self) -> LatentSnapshots | None:
        """The followed test images' codes after each epoch so far (the training replay); None before any."""
        with self._lock:
            return None if self._trainer is None else self._trainer.recorder.snapshots()

    @property
    def class_names(self) -> tuple[str, ...]:
        """The names of the data's classes (empty until the data is loaded, or when it names none)."""
        with self._lock:
            return () if self._trainer is None else tuple(self._trainer.data.class_names)

    def progress(self) -> Progress:
        """How far, how fast, how long still (the ETA costs each epoch left at the recent epochs' wall time)."""
        last, trainer = self._last_step, self._trainer
        epochs = self.train_config.epochs
        if last is None or trainer is None:
            return Progress(0.0, None, 0.0, 0, epochs)
        if self._state is not JobState.RUNNING:
            fraction = 1.0 if self._state is JobState.FINISHED else last.step / last.total_steps
            return Progress(fraction, 0.0, last.images_per_s, last.epoch, epochs)
        epoch_ends = [m.elapsed_s for m in self.epochs()]
        eta = training_eta(epoch_ends, last.elapsed_s, last.step, trainer.steps_per_epoch(), epochs)
        return Progress(last.step / last.total_steps, eta, last.images_per_s, last.epoch, epochs)

    def latest_reconstructions(self, n: int = 8) -> np.ndarray | None:
        """(2, n, H, W) or, in colour, (2, n, H, W, 3) floats in [0, 1]: the same first n validation images and
        their reconstructions
        (decoded from mu) by the current weights; None until the data is loaded.

        The weights are copied under the lock, so the copy never sees a half-applied step.
        """
        with self._lock:
            trainer = self._trainer
            if trainer is None:
                return None
            model = build_model(trainer.model_config)
            model.load_state_dict(trainer.model.state_dict())
            images = model.observe(trainer.val_images[:n].cpu())
        mu, _ = encode_images(model.eval(), images)
        return np.stack([to_display(images), decode_latents(model, mu)])

    def save(self, name: str, folder: str | Path, overwrite: bool = False, expected_version: str | None = None) -> Path:
        """Save the best model so far (with its codes) as folder/NAME; returns the weights path.

        `name` is sanitised (ValueError if nothing usable is left); an existing checkpoint of
        that name raises CheckpointExistsError unless `overwrite` (and, with `expected_version`,
        unless it is still the one of that version: see `save_checkpoint`).
        """
        path = Path(folder) / sanitize_checkpoint_name(name)
        with self._lock:
            if self._trainer is None or not math.isfinite(self._trainer.best_val_loss):
                raise ValueError("There is no model to save yet: let the training run for a moment first.")
            saved = self._trainer.save(path, overwrite=overwrite, expected_version=expected_version)
            self.saved_as = saved
            return saved


@dataclass(frozen=True)
class JobSummary:
    """What anyone on the server may see of a job: what trains, how far, whose."""

    id: str
    owner: str
    label: str  # "digits · MLP · latent 2"
    state: JobState
    progress: Progress
    started: float  # time.time()
    stop_reason: StopReason | None


class JobRegistry:
    """All jobs of one server, by id: a page keeps one registry (st.cache_resource) and its
    session keeps a job id, so leaving the page and coming back finds the job again.

    At most `max_running` jobs train at once (the CPU is shared), each for at most
    `time_limit_s`. A job's owner is a session; `is_alive(owner)` says whether it is still
    connected. A job whose owner has been gone for `grace_s` is stopped, and an ended model
    nobody saved is then written to `drafts_dir` (when given) before it is forgotten: a model
    leaves memory only once it is saved, discarded by its owner, or kept as a draft. Ended
    jobs beyond `max_kept` that are saved or failed are forgotten, oldest first.
    """

    def __init__(
        self, max_running: int = 2, max_kept: int = 8, time_limit_s: float | None = 30 * 60.0,
        grace_s: float = 120.0, is_alive: Callable[[str], bool] | None = None, drafts_dir: Path | None = None,
        check_every_s: float = 5.0,
    ) -> None:
        self.max_running = max_running
        self.max_kept = max_kept
        self.time_limit_s = time_limit_s
        self.grace_s = grace_s
        self.drafts_dir = drafts_dir
        self._is_alive = is_alive or (lambda owner: True)
        self._jobs: dict[str, TrainingJob] = {}
        self._gone_since: dict[str, float] = {}  # owner -> when first seen gone
        self._lock = threading.Lock()
        self._check_every_s = check_every_s
        self._reaper = threading.Thread(target=self._reap_forever, name="vae-job-reaper", daemon=True)
        self._reaper.start()

    def start(
        self, model_config: ModelConfig, train_config: TrainConfig, data: ImageData | None = None, owner: str = "",
    ) -> TrainingJob:
        """Start a job for `owner`. Their earlier job, if it ended, is kept as a draft when unsaved, then forgotten."""
        with self._lock:
            if sum(job.running for job in self._jobs.values()) >= self.max_running:
                raise JobLimitError(
                    f"{self.max_running} models are already training on this server; try again when one finishes."
                )
            earlier = [j for j in self._jobs.values() if j.owner == owner and not j.running]
            job = TrainingJob(model_config, train_config, data, owner, self.time_limit_s)
            self._jobs[job.id] = job
        for old in earlier:
            self._retire(old)
        self._forget_oldest()
        return job

    def get(self, job_id: str | None) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(job_id) if job_id else None

    def summaries(self) -> list[JobSummary]:
        """Every job on the server, running ones first, then newest first."""
        with self._lock:
            jobs = list(self._jobs.values())
        jobs.sort(key=lambda j: (not j.running, -j.created))
        return [
            JobSummary(j.id, j.owner, f"{j.train_config.dataset} · {j.model_config.arch.upper()} · latent "
                       f"{j.model_config.latent_dim}", j.state, j.progress(), j.created, j.stop_reason)
            for j in jobs
        ]

    def _owned(self, job_id: str, owner: str, action: str) -> TrainingJob | None:
        """The job, if `owner` owns it (PermissionError naming `action` if not); None if it is gone."""
        job = self.get(job_id)
        if job is not None and job.owner != owner:
            raise PermissionError(f"Only the session that started this training can {action} it.")
        return job

    def stop(self, job_id: str, owner: str) -> None:
        """Stop a job for its owner; PermissionError for anyone else."""
        if (job := self._owned(job_id, owner, "stop")) is not None:
            job.stop(StopReason.OWNER)

    def discard(self, job_id: str, owner: str) -> None:
        """The owner's word that the model is not wanted: stop the job and forget it (its model is freed)."""
        if (job := self._owned(job_id, owner, "discard")) is not None:
            job.stop(StopReason.OWNER)
            with self._lock:
                self._jobs.pop(job_id, None)

    def reap(self) -> None:
        """Stop jobs whose owner has been gone for the grace period; keep their models as drafts."""
        now = time.monotonic()
        with self._lock:
            owners = {j.owner for j in self._jobs.values()}
        gone = set()
        for owner in owners:
            if self._is_alive(owner):
                self._gone_since.pop(owner, None)
            elif now - self._gone_since.setdefault(owner, now) >= self.grace_s:
                gone.add(owner)
        with self._lock:
            abandoned = [j for j in self._jobs.values() if j.owner in gone]
        for job in abandoned:
            if job.running:
                job.stop(StopReason.OWNER_GONE)  # the next check, once it has ended, keeps it as a draft
            else:
                self._retire(job)
                self._gone_since.pop(job.owner, None)

    def _retire(self, job: TrainingJob) -> None:
        """Forget an ended job; an unsaved model is written as a draft first (kept in memory if that fails)."""
        if job.unsaved:
            if self.drafts_dir is None:
                return
            try:
                job.save(f"draft-{job.train_config.dataset}-{job.model_config.latent_dim}d-{job.id[:8]}",
                         self.drafts_dir)
            except (OSError, ValueError) as err:  # CheckpointError included; a later check tries again
                logger.warning("could not keep the model of job %s as a draft: %s", job.id, err)
                return
        with self._lock:
            self._jobs.pop(job.id, None)

    def _forget_oldest(self) -> None:
        with self._lock:
            done = sorted((j for j in self._jobs.values() if not j.running and not j.unsaved), key=lambda j: j.created)
            for old in done[: max(0, len(done) - self.max_kept)]:
                del self._jobs[old.id]

    def _reap_forever(self) -> None:
        while True:
            time.sleep(self._check_every_s)
            try:
                self.reap()
            except Exception:  # a bug must not end the checks for every later job
                logger.exception("checking the training jobs failed")
