"""The model's decoder for the browser: exported to ONNX once per model into static/decoders
and served, with static/js/vae_decoder.mjs, by Streamlit's static file serving."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from vae_core import Checkpoint
from vae_core.decoder_export import DecoderExports

from .loaders import REPO, load_model

STATIC = REPO / "static"  # served at app/static/ (server.enableStaticServing)
DECODER_MODULE = STATIC / "js" / "vae_decoder.mjs"
ORT_BUNDLE = STATIC / "vendor" / "onnxruntime-web" / "ort.wasm.bundle.min.mjs"  # from `make install`

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
