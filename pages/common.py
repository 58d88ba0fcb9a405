"""Streamlit glue shared by every page: the cached model loader, the model picker, and
the latent point handed from one page to another. No VAE logic lives here."""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from vae_core import Checkpoint, CheckpointError, DataError, ImageData, list_checkpoints, load_checkpoint, load_dataset
from vae_core.checkpoints import _atomic_write
from vae_core.decoder_export import DecoderExports
from vae_core.inference import encode_images
from vae_core.map_cache import MapCache
from vae_core.projection import LinearProjection, Method, Projection, ProjectionJob, TSNEProjection

REPO = Path(__file__).resolve().parents[1]
SHIPPED_DIR = REPO / "checkpoints"
DEFAULT_MODEL = "mnist-conv-2d"  # its prior samples look like digits; the 8x8 ones read as pixel mush
MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"
STATIC = REPO / "static"  # served at app/static/ (server.enableStaticServing)
DECODER_MODULE = STATIC / "js" / "vae_decoder.mjs"
ORT_BUNDLE = STATIC / "vendor" / "onnxruntime-web" / "ort.wasm.bundle.min.mjs"  # from `make install`

logger = logging.getLogger(__name__)

CHECKPOINT_KEY = "_checkpoint"  # the Checkpoint app.py's picker loaded for this run
MODEL_KEY = "model_path"  # selectbox key: the chosen checkpoint's weights path (str)
LATENT_KEY = "latent_z"  # list[float]: the point the Explore page starts from
LATENT_SOURCE_KEY = "latent_source"  # str: where that point came from, for the caption
SELECT_NEXT_KEY = "select_model_next"  # str: a weights path the picker selects on its next draw

# Decodes z in the page and paints it (pages/js/in_page_decoder.js): Explore's sliders and small
# map, the latent map's image under the pointer, the reparameterization animations' samples.
in_page_decoder = st.components.v2.component(
    "vae_explorer.in_page_decoder", js=(Path(__file__).parent / "js" / "in_page_decoder.js").read_text(encoding="utf-8"),
)

# Draws on a plotly map in the browser (pages/js/map_events.js): a marker, the hovered point's
# image, clicks. One registration for every page that mounts it (Latent map, Explore).
map_events = st.components.v2.component(
    "vae_explorer.map_events", js=(Path(__file__).parent / "js" / "map_events.js").read_text(encoding="utf-8"),
)


def static_url(path: Path) -> str:
    """The URL of a file under static/, relative to the app's root, versioned by its
    modification time so a browser never runs a stale copy."""
    return f"app/static/{path.relative_to(STATIC).as_posix()}?v={path.stat().st_mtime_ns}"


@dataclass(frozen=True)
class BrowserDecoder:
    """What a page needs to decode z itself: static/js/vae_decoder.mjs and the model's
    exported decoder (URLs relative to the app's root), its latent size and image shape."""

    module: str
    model: str
    latent_dim: int
    shape: tuple[int, int, int]

    def data(self) -> dict[str, Any]:
        return {"module": self.module, "model": self.model, "latent_dim": self.latent_dim, "shape": list(self.shape)}


@st.cache_resource(show_spinner="Preparing the decoder for your browser (once per model)…", max_entries=16)
def _browser_decoder(path: str, mtime_ns: int) -> BrowserDecoder | str:
    if not ORT_BUNDLE.is_file():
        return "onnxruntime-web is not installed here (`make install` installs it)"
    model = load_model(path).model
    try:
        exported = DecoderExports(STATIC / "decoders").export(model)
    except Exception:  # an architecture torch.onnx cannot export: the server decodes it instead
        logger.exception("could not export the decoder of %s to ONNX", path)
        return "this model's decoder could not be exported for the browser (details in the server log)"
    return BrowserDecoder(static_url(DECODER_MODULE), static_url(exported), model.latent_dim, model.config.image_shape)


def browser_decoder(ckpt: Checkpoint) -> BrowserDecoder | str:
    """The model's decoder for the page, exported once per model and kept in static/decoders;
    or why the server must decode instead (a sentence for the user)."""
    return _browser_decoder(str(ckpt.path), ckpt.path.stat().st_mtime_ns)


def map_inverse(projection: Projection) -> dict[str, Any]:
    """What the page needs to turn a map position into z exactly as `projection.to_latent`
    does: a plane's origin and axes inline, or for t-SNE a float32 file of the map positions
    and the codes (static/maps, named by its content) for the page's neighbour blend."""
    if isinstance(projection, LinearProjection):
        return {"kind": "linear", "origin": projection.origin.tolist(), "components": projection.components.tolist()}
    assert isinstance(projection, TSNEProjection)
    blob = np.concatenate([projection.embedding.ravel(), projection.codes.ravel()]).astype("<f4").tobytes()
    path = STATIC / "maps" / f"{hashlib.sha256(blob).hexdigest()[:24]}.f32"
    if not path.is_file():
        _atomic_write(path, blob)
    n, d = projection.codes.shape
    return {"kind": "blend", "url": static_url(path), "n": n, "d": d, "k": projection.k}


def user_dir() -> Path:
    """Where models trained in the app are saved (override with VAE_EXPLORER_USER_DIR)."""
    return Path(os.environ.get("VAE_EXPLORER_USER_DIR", REPO / "user_checkpoints"))


def map_cache_dir() -> Path | None:
    """Where fitted maps are kept: `.cache` beside each checkpoint, unless
    VAE_EXPLORER_MAP_CACHE names one folder for all (tests use a temporary one)."""
    folder = os.environ.get("VAE_EXPLORER_MAP_CACHE")
    return Path(folder) if folder else None


def available_models() -> dict[str, dict[str, Any]]:
    """weights path -> sidecar, shipped models first."""
    return {str(path): meta for path, meta in list_checkpoints(SHIPPED_DIR, user_dir())}


@st.cache_resource(show_spinner="Loading model…", max_entries=8)
def _load(path: str, mtime_ns: int) -> Checkpoint:
    """Shared by all sessions: never train or mutate the returned model."""
    return load_checkpoint(path)


def load_model(path: str) -> Checkpoint:
    """The cached checkpoint, keyed on its path and modification time."""
    return _load(path, Path(path).stat().st_mtime_ns)


@st.cache_resource(show_spinner="Loading data…", max_entries=4)
def _dataset(name: str, data_dir: str | None) -> ImageData:
    return load_dataset(name, data_dir)


def dataset(name: str, data_dir: str | None) -> ImageData:
    """A data set loaded once per server, shared by all sessions: never mutate it."""
    return _dataset(name, data_dir)


def model_dataset(ckpt: Checkpoint) -> ImageData | None:
    """The images the model was trained on, when they are on this machine; else None.

    Shipped MNIST models stay explorable without their data through their stored codes.
    """
    train = ckpt.metadata.get("train", {})
    name, data_dir = train.get("dataset", "digits"), train.get("data_dir")
    candidates = [data_dir] if name in ("idx", "folder") else [data_dir, str(MNIST_DIR)] if name == "mnist" else [data_dir]
    for directory in candidates:
        if name != "digits" and (directory is None or not Path(directory).is_dir()):
            continue
        try:
            return _dataset(name, directory)
        except DataError:
            continue
    return None


@st.cache_data(show_spinner="Encoding the data set…", max_entries=8)
def _codes(path: str, mtime_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ckpt = load_model(path)
    if ckpt.codes is not None:
        return ckpt.codes.mu.numpy(), ckpt.codes.log_var.numpy(), ckpt.codes.labels.numpy()
    data = model_dataset(ckpt)
    if data is None:
        raise DataError("this model stores no latent codes and its data set is not on this machine")
    mu, log_var = encode_images(ckpt.model, data.images)
    return mu, log_var, data.labels.numpy()


def model_codes(ckpt: Checkpoint) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mu, log_var, labels) of the model's data set: stored codes, else encoded once."""
    return _codes(str(ckpt.path), ckpt.path.stat().st_mtime_ns)


def model_label(meta: dict[str, Any], path: str) -> str:
    m = meta["model"]
    return f"{Path(path).stem} · {meta.get('dataset', '?')} · {m['arch']} · {m['latent_dim']}-d"


def model_picker() -> Checkpoint | None:
    """Sidebar: choose a model and show its card. Returns None (with a message) if none loads."""
    models = available_models()
    if not models:
        st.sidebar.error("No models found. Train one on the Train page.")
        return None
    paths = list(models)
    pending = st.session_state.pop(SELECT_NEXT_KEY, None)
    if pending in models:
        st.session_state[MODEL_KEY] = pending
    if st.session_state.get(MODEL_KEY) not in models:
        default = next((p for p in paths if Path(p).stem == DEFAULT_MODEL), paths[0])
        st.session_state[MODEL_KEY] = default
    path = st.sidebar.selectbox(
        "Model", paths, key=MODEL_KEY, format_func=lambda p: model_label(models[p], p),
    )
    try:
        ckpt = load_model(path)
    except (CheckpointError, OSError) as err:
        st.sidebar.error(f"This model cannot be loaded: {err}")
        return None
    _model_card(ckpt)
    return ckpt


def _model_card(ckpt: Checkpoint) -> None:
    meta, cfg = ckpt.metadata, ckpt.config
    final = meta.get("final") or {}
    with st.sidebar.expander("Model card", expanded=False):
        st.markdown(
            f"- **Data set**: {meta.get('dataset', '?')}\n"
            f"- **Architecture**: {cfg.arch}, hidden {cfg.hidden_dim}, image {cfg.image_shape[1]}×{cfg.image_shape[2]}\n"
            f"- **Latent dim**: {cfg.latent_dim}\n"
            f"- **Reconstruction**: {cfg.recon.upper()}\n"
            f"- **Epochs**: {meta.get('epochs_trained', '?')} (best at {final.get('best_epoch', '?')})\n"
            f"- **Test loss**: {final.get('test_loss', float('nan')):.2f} nats/image "
            f"(recon {final.get('test_recon', float('nan')):.2f}, KL {final.get('test_kl', float('nan')):.2f})\n"
            f"- **Trained on**: {meta.get('device', '?')}"
        )


def set_latent_point(z: np.ndarray, source: str) -> None:
    """Hand a latent point to the Explore and Reparameterization pages."""
    st.session_state[LATENT_KEY] = [float(v) for v in np.asarray(z).ravel()]
    st.session_state[LATENT_SOURCE_KEY] = source


def select_model_next_run(path: str | Path) -> None:
    """Have the picker choose `path` on the next run: it is drawn before the page, so a page
    cannot change its value in the same run (call st.rerun() after this)."""
    st.session_state[SELECT_NEXT_KEY] = str(path)


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
    mu, _, _ = model_codes(ckpt)
    # settings a method ignores are left out of the key, so they cannot refit it
    key = (
        str(ckpt.path), ckpt.path.stat().st_mtime_ns, method,
        tuple(dims) if method == "raw" else (0, 1),
        float(perplexity) if method == "tsne" else 0.0, int(seed) if method == "tsne" else 0,
    )
    job = _projection_job(*key, mu)
    if not job.wait(0.5):  # a PCA or a map read from disk is done by now, even at 100k codes: no bar flashes up
        bar = st.progress(0.0)
        while not job.wait(0.2):
            bar.progress(job.fraction, text=f"Fitting the map of {len(mu):,} codes… {job.fraction:.0%}")
        bar.empty()
    if job.projection is None:
        _projection_job.clear(*key, mu)  # let the next try start afresh
        raise ValueError(job.error)
    return job.projection


def model_or_notice() -> Checkpoint | None:
    """The picked checkpoint; when none loads, a notice saying what to do, and None."""
    ckpt = current_model()
    if ckpt is None:
        st.info("Pick a model in the sidebar (or train one on the Train page).")
    return ckpt


def current_model() -> Checkpoint | None:
    """The checkpoint chosen in the sidebar (app.py draws the picker before each page).

    On a freshly started server, Streamlit's legacy `pages/` mode can run a deep-linked page
    on its own, before any run of app.py has switched that mode off; such a run has no
    picker, so it is sent through app.py first.
    """
    if CHECKPOINT_KEY not in st.session_state:
        st.switch_page("app.py")
    return st.session_state[CHECKPOINT_KEY]
