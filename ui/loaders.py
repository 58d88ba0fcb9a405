"""Cached loaders: models, data sets, their codes and maps, and the training jobs. Each is
keyed on everything it depends on (a checkpoint's path and modification time) and shared by
all sessions, so callers must never mutate what they get."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

from vae_core import (
    Checkpoint, CheckpointEntry, DataError, ImageData, LatentCodes, list_checkpoints, load_checkpoint, load_dataset,
)
from vae_core.images import to_tensor
from vae_core.inference import encode_images
from vae_core.jobs import JobRegistry, data_folder
from vae_core.map_cache import MapCache
from vae_core.novelty import NoveltyThreshold, novelty_threshold
from vae_core.posterior import Evidence, GridPosterior, evidence, grid_posterior
from vae_core.map_job import ProjectionJob
from vae_core.projection import NEIGHBOUR_MAPS, Method, Projection
from vae_core.reparam import RunningKL, mc_kl_running

from .sessions import session_alive

EVIDENCE_SAMPLES = 1000  # draws of z ~ q behind the panel's ELBO and IWAE estimate

REPO = Path(__file__).resolve().parents[1]
SHIPPED_DIR = REPO / "checkpoints"
DEFAULT_MODEL = "mnist-conv-2d"  # its prior samples look like digits; the 8x8 ones read as pixel mush
MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"
HELD_MAP_KEY = "_held_map_job"  # the ProjectionJob this session shows or waits for


def user_dir() -> Path:
    """Where models trained in the app are saved (override with VAE_EXPLORER_USER_DIR)."""
    return Path(os.environ.get("VAE_EXPLORER_USER_DIR", REPO / "user_checkpoints"))


def map_cache_dir() -> Path | None:
    """Where fitted maps are kept: `.cache` beside each checkpoint, unless
    VAE_EXPLORER_MAP_CACHE names one folder for all (tests use a temporary one)."""
    folder = os.environ.get("VAE_EXPLORER_MAP_CACHE")
    return Path(folder) if folder else None


def drafts_dir() -> Path:
    """Where the models of training runs nobody saved are kept (their owner left, or started anew)."""
    return user_dir() / "drafts"


def model_folders() -> tuple[Path, ...]:
    """The folders the picker lists, in its order: shipped, saved in the app, drafts."""
    return SHIPPED_DIR, user_dir(), drafts_dir()


def _folder_version(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns  # a save (a rename into it) or a deletion changes it
    except FileNotFoundError:
        return 0


@st.cache_resource(show_spinner=False, max_entries=4)
def _listing(folders: tuple[tuple[str, int], ...]) -> dict[str, CheckpointEntry]:
    return {str(entry.path): entry for entry in list_checkpoints(*(folder for folder, _ in folders))}


def available_models() -> dict[str, CheckpointEntry]:
    """weights path -> the checkpoint's entry (its description, or why it is unusable), in
    `model_folders` order; listed again only when a folder changes."""
    return _listing(tuple((str(folder), _folder_version(folder)) for folder in model_folders()))


@st.cache_resource
def job_registry() -> JobRegistry:
    """One registry per server: jobs outlive page visits, reloads and other sessions' reruns.
    A job belongs to the session that started it (ui.sessions); a gone owner's model becomes a draft."""
    return JobRegistry(is_alive=session_alive, drafts_dir=drafts_dir())


@st.cache_resource(show_spinner="Loading model…", max_entries=8)
def _load(path: str, mtime_ns: int) -> Checkpoint:
    """Shared by all sessions: never train or mutate the returned model."""
    return load_checkpoint(path)


def load_model(path: str) -> Checkpoint:
    """The cached checkpoint, keyed on its path and modification time."""
    return _load(path, Path(path).stat().st_mtime_ns)


def model_id(ckpt: Checkpoint) -> tuple[str, int]:
    """What a per-model cache is keyed on: the weights' path and modification time."""
    return str(ckpt.path), ckpt.path.stat().st_mtime_ns


@st.cache_resource(show_spinner="Loading data…", max_entries=4)
def _dataset(name: str, data_dir: str | None, image_size: int | None = None, size: int | None = None) -> ImageData:
    return load_dataset(name, data_dir, image_size, size)


def dataset(name: str, data_dir: str | None, image_size: int | None = None, size: int | None = None) -> ImageData:
    """A data set loaded once per server, shared by all sessions: never mutate it."""
    return _dataset(name, data_dir, image_size, size)


def model_dataset(ckpt: Checkpoint) -> ImageData | None:
    """The images the model was trained on, when they are on this machine; else None.

    Shipped MNIST models stay explorable without their data through their stored codes;
    the shapes are drawn again, identically, wherever they are needed.
    """
    train = ckpt.metadata.train
    name, data_dir = (train.dataset, train.data_dir) if train is not None else ("digits", None)
    if name == "shapes":
        return _dataset(name, None, ckpt.config.image_shape[-1], train.dataset_size if train is not None else None)
    candidates = [data_dir] if name in ("idx", "folder") else [data_dir, str(MNIST_DIR)] if name == "mnist" else [data_dir]
    for directory in candidates:
        try:
            # a folder named in a checkpoint is read only under the data roots, as one typed on the Train page
            folder = None if name == "digits" else str(data_folder(directory or ""))
            return _dataset(name, folder, ckpt.config.image_shape[-1] if name == "folder" else None)
        except DataError:
            continue
    return None


@st.cache_resource(show_spinner="Encoding the data set…", max_entries=8)
def _codes(path: str, mtime_ns: int) -> LatentCodes:
    ckpt = load_model(path)
    if ckpt.codes is not None:
        return ckpt.codes
    data = model_dataset(ckpt)
    if data is None:
        raise DataError("this model stores no latent codes and its data set is not on this machine")
    mu, log_var = encode_images(ckpt.model, data.pixels)
    return LatentCodes(mu, log_var, data.labels)


def model_codes(ckpt: Checkpoint) -> LatentCodes:
    """The codes of the model's data set: stored ones, else encoded once (shared: never mutate)."""
    return _codes(*model_id(ckpt))


@st.cache_data(show_spinner="Measuring how well the model rebuilds its data…", max_entries=8)
def _novelty(path: str, mtime_ns: int) -> NoveltyThreshold | None:
    ckpt = load_model(path)
    data = model_dataset(ckpt)
    return None if data is None else novelty_threshold(ckpt.model, data.pixels)


def model_novelty(ckpt: Checkpoint) -> NoveltyThreshold | None:
    """The data's 99th percentile of reconstruction error, once per model; None without its data."""
    return _novelty(*model_id(ckpt))


def class_names(ckpt: Checkpoint, labels: np.ndarray) -> tuple[str, ...]:
    """The model's class names; when it stores none, the data set's, else the label numbers."""
    names = ckpt.metadata.class_names
    if not names and (data := model_dataset(ckpt)) is not None:
        names = data.class_names
    return tuple(names) if names else tuple(str(k) for k in range(int(labels.max(initial=-1)) + 1))


@st.cache_resource(show_spinner=False, max_entries=8)
def _projection_job(
    path: str, mtime_ns: int, method: Method, dims: tuple[int, int], perplexity: float, seed: int, _mu: np.ndarray,
) -> ProjectionJob:
    """One fit per (checkpoint, method, settings), shared by all sessions, and kept on disk
    beside the checkpoint, so a restarted server reads it back instead of refitting. The fit
    runs on a thread, not inside this call: a cached call must not draw (its progress bar
    would be replayed, broken, on every later hit)."""
    return ProjectionJob(_mu, method, dims, perplexity, seed, cache=MapCache(Path(path), map_cache_dir()))


def model_projection(
    ckpt: Checkpoint, method: Method, dims: tuple[int, int] = (0, 1), perplexity: float = 30.0, seed: int = 0,
) -> Projection:
    """The cached 2-D map of the model's codes (mu); draws a progress bar while it is fitted.

    Raises DataError when the model has no codes here, ValueError when the settings do not fit.
    """
    mu = model_codes(ckpt).mu
    # settings a method ignores are left out of the key, so they cannot refit it
    key = (
        *model_id(ckpt), method,
        tuple(dims) if method == "raw" else (0, 1),
        float(perplexity) if method == "tsne" else 0.0, int(seed) if method in NEIGHBOUR_MAPS else 0,
    )
    job = _projection_job(*key, mu)
    if job.cancelled:  # everyone moved on from it before, and now it is wanted again
        _projection_job.clear(*key, mu)
        job = _projection_job(*key, mu)
    _hold(job)
    if not job.wait(0.5):  # a PCA or a map read from disk is done by now, even at 100k codes: no bar flashes up
        bar = st.progress(0.0)
        while not job.wait(0.2):
            text = "Waiting for another map to finish…" if job.fraction == 0 else (
                f"Fitting the map of {len(mu):,} codes… {job.fraction:.0%}")
            bar.progress(job.fraction, text=text)
        bar.empty()
    if job.projection is None:
        _projection_job.clear(*key, mu)  # let the next try start afresh
        raise ValueError(job.error)
    return job.projection


def _hold(job: ProjectionJob) -> None:
    """This session now shows `job`: release the one it showed before, so that a fit nobody
    waits for any more (settings changed again meanwhile) is cancelled."""
    held = st.session_state.get(HELD_MAP_KEY)
    if held is job:
        return
    job.hold()
    st.session_state[HELD_MAP_KEY] = job
    if held is not None:
        held.release()


@st.cache_data(max_entries=32, show_spinner=False)
def mc_kl(mu: np.ndarray, sigma: np.ndarray, n_max: int, seed: int) -> RunningKL:
    """The running Monte Carlo estimate of KL(q ‖ p), once per input and settings."""
    return mc_kl_running(mu, sigma, n_max, seed)


@st.cache_data(max_entries=32, show_spinner="Evaluating the decoder…")
def _bayes(
    path: str, mtime_ns: int, image: np.ndarray, mu: np.ndarray, log_var: np.ndarray,
) -> tuple[GridPosterior | None, Evidence]:
    model = load_model(path).model
    x = to_tensor(image)  # (H, W) or (H, W, 3) -> (1, C, H, W)
    grid = grid_posterior(model, x) if model.latent_dim == 2 else None
    return grid, evidence(model, x, mu, log_var, grid=grid, n_samples=EVIDENCE_SAMPLES, seed=0)


def bayes_numbers(
    ckpt: Checkpoint, image: np.ndarray, mu: np.ndarray, log_var: np.ndarray,
) -> tuple[GridPosterior | None, Evidence]:
    """The evidence of image x under q = N(mu, diag exp(log_var)) (the q the page shows, so one
    q everywhere) and, for a 2-D model, its true posterior p(z|x) on the grid that finds it;
    once per checkpoint and input."""
    return _bayes(*model_id(ckpt), image, mu, log_var)
