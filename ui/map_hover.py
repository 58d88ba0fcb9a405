"""A code's own image on the Latent map: shown beside a click, in the galleries, and floated
by the cursor on the server path (the `map_events` hover role; the page's decoder replaces it
when it runs)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core import Checkpoint, ImageData
from vae_core.inference import decode_latents, png_bytes, to_display

from .components import hover_data, hover_index, map_events

HOVER_KEY = "latent_map_hover"  # the hover component (role "hover")
HOVERED_KEY = "latent_map_hovered"  # int: the point whose image the hover component gets next
HOVER_PX = 84


def point_image(ckpt: Checkpoint, mu: np.ndarray, data: ImageData | None, i: int) -> np.ndarray:
    """Code i's own image (H, W) or (H, W, 3) in [0, 1]: from the data set, else decoded from its code."""
    return to_display(data.floats(slice(i, i + 1)))[0] if data is not None else decode_latents(ckpt.model, mu[i])[0]


def _remember_hover() -> None:
    """The hover component asked for a point's image: note which, for the fragment's run."""
    st.session_state[HOVERED_KEY] = hover_index(st.session_state[HOVER_KEY])


@st.fragment
def hover_panel(ckpt: Checkpoint, mu: np.ndarray, data: ImageData | None, chart_key: str) -> None:
    """The hover component in a fragment of its own: a hover reruns only this (one small
    PNG), never the map."""
    index = st.session_state.pop(HOVERED_KEY, None)
    token = f"{ckpt.path.stem}@{ckpt.path.stat().st_mtime_ns}/{'data' if data is not None else 'decoded'}"
    png = png_bytes(point_image(ckpt, mu, data, index)) if index is not None and 0 <= index < len(mu) else None
    map_events(key=HOVER_KEY, data=hover_data(chart_key, token, HOVER_PX, index, png),
               on_hover_change=_remember_hover, height=0)
