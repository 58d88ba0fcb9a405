"""A freshly started server's first visit: the home page is drawn before torch has loaded.

Importing torch and the app's modules takes seconds (most of a cold start, measured in
bench/browser_latency.py). On a server process's first run, app.py draws the home page's text
and its navigation at once, with a note where the model goes, and this module loads the
modules in a background thread (one per process); a fragment then reruns the app as soon as
they are in, and that run draws the model picker and the home page's decoded samples as
usual. The default model's decoder is exported for the browser afterwards, on the same
thread, so the first visit to Explore does not wait for it. This module imports nothing heavy.
"""
from __future__ import annotations

import importlib
import logging
import sys
import threading

import streamlit as st

# What the picker and the home page import (torch first: it is most of the time).
MODULES = ("torch", "ui.picker", "ui.state", "ui.home_model", "ui.sessions", "ui.browser_decoder")
POLL_S = 0.25  # how often the waiting page looks whether the modules are in

logger = logging.getLogger(__name__)


class WarmUp:
    """The background loading of `MODULES`, started at most once per server process."""

    def __init__(self) -> None:
        self.loaded = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> bool:
        """True while a run must not import the heavy modules itself: they are loading, or (on
        a process that has not imported torch yet) about to be loaded in the background."""
        if self.loaded.is_set():
            return False
        with self._lock:
            return self._thread is not None or "torch" not in sys.modules

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self.loaded.is_set():
                self._thread = threading.Thread(target=self._run, name="vae-explorer-warm-up", daemon=True)
                self._thread.start()

    def wait(self) -> None:
        self.start()
        self.loaded.wait()

    def _run(self) -> None:
        try:
            for name in MODULES:
                importlib.import_module(name)
        except Exception:  # a broken install: the next run imports the module itself and shows the error
            logger.exception("loading the app's modules in the background failed")
        finally:
            self.loaded.set()
        _export_default_decoder()


def _export_default_decoder() -> None:
    """Export the shipped default model's decoder for the page now, unless it is kept already."""
    from ui.browser_decoder import STATIC, ORT_BUNDLE
    from ui.loaders import DEFAULT_MODEL, SHIPPED_DIR
    from vae_core import CheckpointError, load_checkpoint
    from vae_core.decoder_export import DecoderExports

    if not ORT_BUNDLE.is_file():
        return
    try:
        DecoderExports(STATIC / "decoders").export(load_checkpoint(SHIPPED_DIR / DEFAULT_MODEL).model)
    except (CheckpointError, OSError):
        logger.warning("the default model's decoder was not exported ahead: the first page that needs it will")
    except Exception:  # torch.onnx failing on a model: the page that needs it says so and decodes on the server
        logger.exception("exporting the default model's decoder ahead failed")


@st.cache_resource(show_spinner=False)
def warm_up() -> WarmUp:
    """The server process's one WarmUp."""
    return WarmUp()


@st.fragment(run_every=POLL_S)
def rerun_when_loaded() -> None:
    """Say that the model is on its way; rerun the whole app once the modules are in."""
    if warm_up().loaded.is_set():
        st.rerun()
    st.caption("Loading the models (the server has just started)…")
