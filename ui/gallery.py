"""Pick a data point by looking, not by number: thumbnails of the data set, filtered by label.

The thumbnails are drawn by a components.v2 widget (ui/js/gallery.js): one button per image,
its PNG inline (~300 bytes for 28x28), enlarged by the browser without blur. A press sends
trigger "pick" = the image's index into the data set; `on_pick(index)` runs before the
rerun, so a page can move its sliders to the picked point before drawing them.
"""
from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from vae_core import Checkpoint
from vae_core.encoding import label_name
from vae_core.inference import decode_latents, png_bytes, to_display

from .loaders import model_dataset

PER_PAGE = 24
THUMB_PX = 44
ANY = "any"

gallery = st.components.v2.component(
    "vae_explorer.gallery",
    js=(Path(__file__).parent / "js" / "gallery.js").read_text(encoding="utf-8"),
    css=(Path(__file__).parent / "js" / "gallery.css").read_text(encoding="utf-8"),
)


def data_images(ckpt: Checkpoint, mu: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """indices -> their images (N, H, W) or (N, H, W, 3) in [0, 1]: the data set's own, else decoded from their codes."""
    data = model_dataset(ckpt)
    if data is not None and len(data) == len(mu):
        return lambda indices: to_display(data.floats(indices))
    return lambda indices: decode_latents(ckpt.model, mu[indices])


def thumbnail_items(images: np.ndarray, indices: np.ndarray, labels: np.ndarray, names: Sequence[str]) -> list[dict]:
    """The widget's items: images (N, H, W) in [0, 1] of data points `indices`, as PNG data URLs."""
    return [
        {"index": int(i), "title": f"#{int(i)}, {label_name(int(labels[i]), names)}",
         "src": "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode()}
        for image, i in zip(images, indices)
    ]


def picked_index(state: Any, n: int) -> int | None:
    """The index of the widget's "pick" trigger when it names one of n data points, else None."""
    value = state.get("pick") if hasattr(state, "get") else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value) if 0 <= value < n and value == int(value) else None


def page_of(pool: np.ndarray, page: int) -> tuple[np.ndarray, int]:
    """The `page`-th run of PER_PAGE indices of pool (wrapping round), and the number of pages."""
    pages = max(1, math.ceil(len(pool) / PER_PAGE))
    start = (page % pages) * PER_PAGE
    return pool[start:start + PER_PAGE], pages


def data_gallery(
    key: str, images_of: Callable[[np.ndarray], np.ndarray], labels: np.ndarray, names: Sequence[str],
    selected: int | None, on_pick: Callable[[int], None],
) -> None:
    """Label pills, a page of thumbnails and "More"; a press on a thumbnail calls on_pick(index).

    images_of(indices) -> (N, H, W) in [0, 1]: the data's own images, or decoded from their codes.
    """
    classes = {label_name(int(k), names): int(k) for k in np.unique(labels)}
    label = st.pills("Show", [ANY, *classes], key=f"{key}_label", default=ANY, wrap=True,
                     on_change=lambda: st.session_state.update({f"{key}_page": 0}))
    pool = np.flatnonzero(labels == classes[label]) if label in classes else np.arange(len(labels))
    page = st.session_state.setdefault(f"{key}_page", 0)
    shown, pages = page_of(pool, page)
    gallery(
        key=key, data={"items": thumbnail_items(images_of(shown), shown, labels, names), "selected": selected,
                       "size": THUMB_PX},
        on_pick_change=lambda: _picked(key, len(labels), on_pick),
    )
    if pages > 1:
        st.button(f"More images ({page % pages + 1} of {pages})", key=f"{key}_more", icon=":material/refresh:",
                  on_click=lambda: st.session_state.update({f"{key}_page": page + 1}))


def _picked(key: str, n: int, on_pick: Callable[[int], None]) -> None:
    index = picked_index(st.session_state[key], n)
    if index is not None:
        on_pick(index)
