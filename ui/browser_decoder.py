"""Decoding in the browser: the model's decoder exported for the page (once per model, kept
in static/decoders), the map's way back to z in a form the page can run, and which path a
page uses (the browser's, or the server's when the browser cannot or the user said so).

static/ is served by Streamlit at app/static/ (server.enableStaticServing): the page's
decoder module static/js/vae_decoder.mjs, onnxruntime-web under static/vendor (installed by
`make install`), the exported decoders and the codes a t-SNE map blends."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from vae_core import Checkpoint
from vae_core.checkpoints import atomic_write
from vae_core.decoder_export import DecoderExports
from vae_core.projection import LinearProjection, NeighbourMap, Projection

from .components import chart_selector, decode_path, in_page_decoder
from .loaders import REPO, load_model

STATIC = REPO / "static"
DECODER_MODULE = STATIC / "js" / "vae_decoder.mjs"
ORT_BUNDLE = STATIC / "vendor" / "onnxruntime-web" / "ort.wasm.bundle.min.mjs"  # from `make install`
IN_BROWSER_KEY = "decode_in_browser"  # the user's switch, one for every page of the session

logger = logging.getLogger(__name__)


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


def page_decoder(ckpt: Checkpoint, component_key: str) -> BrowserDecoder | str:
    """The decoder a page's component `component_key` runs in the browser, or why the server
    decodes instead: the user switched it off, the browser said it cannot, or there is none."""
    if not st.session_state.get(IN_BROWSER_KEY, True):
        return "decoding in this browser is switched off"
    said = decode_path(st.session_state.get(component_key))
    if said is not None:
        return said
    return browser_decoder(ckpt)


def in_browser_switch() -> None:
    """The user's switch between the browser's decoder and the server's, kept for the session."""
    st.session_state.setdefault(IN_BROWSER_KEY, True)
    st.toggle("Decode in this browser", key=IN_BROWSER_KEY,
              help="On: the page decodes z itself on every frame (onnxruntime-web). Off: the server decodes each "
                   "settled point, as the reference the page is tested against.")


def map_inverse(projection: Projection) -> dict[str, Any]:
    """What the page needs to turn a map position into z exactly as `projection.to_latent`
    does: a plane's origin and axes inline, or for t-SNE and UMAP a float32 file of the map positions
    and the codes (static/maps, named by its content) for the page's neighbour blend."""
    if isinstance(projection, LinearProjection):
        return {"kind": "linear", "origin": projection.origin.tolist(), "components": projection.components.tolist()}
    assert isinstance(projection, NeighbourMap)
    blob = np.concatenate([projection.embedding.ravel(), projection.codes.ravel()]).astype("<f4").tobytes()
    path = STATIC / "maps" / f"{hashlib.sha256(blob).hexdigest()[:24]}.f32"
    if not path.is_file():
        atomic_write(path, blob)
    n, d = projection.codes.shape
    return {"kind": "blend", "url": static_url(path), "n": n, "d": d, "k": projection.k}


def frames_decoder(
    ckpt: Checkpoint, key: str, frames: np.ndarray, size: int, *, chart_key: str | None = None,
    label: str = "", names: list[str] | None = None,
) -> bool:
    """Latent points `frames` (F, D) decoded in the page, one at a time: the frame a plotly
    animation (the chart with key `chart_key`) shows as it plays or is scrubbed, else the one
    a scrubber (`label`, its stops named by `names`) points at. False (after saying why) when
    the server must decode instead: the caller shows its own server-side images."""
    decoder = page_decoder(ckpt, key)
    if not isinstance(decoder, BrowserDecoder):
        st.caption(f"Decoded on the server: {decoder}.")
        return False
    data = {"role": "frames", "decoder": decoder.data(), "size": size, "frames": np.asarray(frames, float).tolist(),
            "chart": None if chart_key is None else chart_selector(chart_key), "label": label, "names": names}
    in_page_decoder(key=key, data=data, on_path_change=lambda: None)
    return True
