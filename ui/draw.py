"""Encode's drawing pad: draw a digit and watch q(z|x) and the reconstruction follow.

The pad (`draw_pad`, ui/js/draw_pad.js) sends its strokes while a stroke is drawn (at most
every THROTTLE_MS) and when it ends; only this fragment reruns. The strokes are drawn into a
PNG (`vae_core.drawing`) that goes through the upload's own preprocessing and encoder, and
q(z|x) is drawn on the small map Explore uses (latent axes for 2-D codes, else the PCA
plane: both linear, so the ellipse is q's exactly), a light figure that is cheap to resend.
"""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from vae_core import Checkpoint
from vae_core.drawing import PAD_PX, drawing_png
from vae_core.encoding import UploadBatch, encode_uploads, place_on_map, posterior_samples
from vae_core.likelihoods import describe_likelihood

from .components import draw_pad, drawn_strokes
from .encode_panels import STEP_PX, novelty_note, send_buttons
from .figures import placement_traces
from .images import crisp
from .small_map import load_inputs
from .state import session_memo
from .style import stacking

PAD_KEY = "encode_draw_pad"  # the draw_pad component
STROKES_KEY = "encode_strokes"  # list of (K, 2) arrays: the drawing as last sent
THROTTLE_MS = 150
MAP_SAMPLES = 32
NAME = "drawing"


def _remember_strokes() -> None:
    strokes = drawn_strokes(st.session_state[PAD_KEY])
    if strokes is not None:
        st.session_state[STROKES_KEY] = strokes


def encode_drawing(ckpt: Checkpoint, strokes: list[np.ndarray]) -> UploadBatch:
    """The drawing as a PNG, preprocessed and encoded as an uploaded file would be."""
    key = (str(ckpt.path), tuple(s.tobytes() for s in strokes))
    return session_memo("drawing", key, lambda: encode_uploads(ckpt.model, [(NAME, drawing_png(strokes))]))


@st.fragment
def draw_panel(ckpt: Checkpoint) -> None:
    """The pad, and beside it what the model makes of the drawing; a stroke reruns only this."""
    strokes = st.session_state.get(STROKES_KEY, [])
    pad, result = stacking("encode-draw").columns([2, 3], gap="medium")
    with pad:
        draw_pad(key=PAD_KEY, data={"side": PAD_PX, "throttle_ms": THROTTLE_MS,
                                    "strokes": [s.ravel().tolist() for s in strokes]},
                 on_strokes_change=_remember_strokes)
        st.caption("Draw with the mouse, a pen or a finger. The drawing goes through the same preprocessing "
                   "as an uploaded image.")
    with result:
        if not strokes:
            st.info("Draw a digit on the pad: its encoding follows your strokes.")
            return
        batch = encode_drawing(ckpt, strokes)
        if batch.encoding is None:
            st.warning(batch.items[0].error, icon=":material/draw:")
            return
        _show_encoding(ckpt, batch)


def _show_encoding(ckpt: Checkpoint, batch: UploadBatch) -> None:
    encoding, steps = batch.encoding, batch.items[0].steps
    mu, log_var = encoding.mu[0], encoding.log_var[0]
    size = ckpt.config.image_shape[-1]
    with st.container(horizontal=True):  # side by side also where the page's columns stack
        st.image(crisp(steps.final, STEP_PX), caption=f"input, {size}×{size}", width=STEP_PX)
        st.image(crisp(encoding.recon[0], STEP_PX), caption="decode(mu)", width=STEP_PX)
        st.metric("KL(q ‖ p)", f"{encoding.kl[0]:.2f} nats", help="Exact, closed form.", width="content")
        st.metric("Reconstruction error", f"{encoding.recon_error[0]:.2f} nats", width="content",
                  help=f"−log p(x | z = μ), exact, under p(x|z) = {describe_likelihood(ckpt.config)}")
    novelty_note(st, ckpt, float(encoding.recon_error[0]))
    _, small_map = load_inputs(ckpt)
    if small_map is None:
        st.caption("The map needs the codes of the model's data set, which are not on this machine.")
    else:
        samples = posterior_samples(mu, log_var, MAP_SAMPLES, torch.Generator().manual_seed(0))
        placed = place_on_map(small_map.projection, mu, log_var, samples)
        ink = "white" if st.context.theme.type == "dark" else "black"
        st.plotly_chart(small_map.figure(placement_traces(placed, NAME, ink)), key="encode_draw_map",
                        config={"displayModeBar": False})
        plane = "latent space" if small_map.projection.method == "raw" else "PCA plane of the codes"
        st.caption(f"q(z|x) of the drawing on the {plane}: mu (×), its exact 2σ ellipse and {MAP_SAMPLES} samples.")
    send_buttons(mu, log_var, steps.final, NAME)
