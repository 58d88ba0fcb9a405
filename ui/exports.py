"""Download buttons for what a page shows: the codes with their map positions, and the map.

Files are made only when a button is clicked (deferred callables), so a page pays nothing
for the buttons it draws; `on_click="ignore"` keeps the page from rerunning."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from vae_core.export import codes_array, codes_csv, codes_npy, grid_png, map_picture, map_png, map_svg
from vae_core.projection import Projection

from .figures import axis_titles, label_colour


def map_downloads(
    name: str, projection: Projection, mu: np.ndarray, log_var: np.ndarray, labels: np.ndarray,
    names: Sequence[str], key: str, marks: np.ndarray | None = None,
) -> None:
    """Four buttons: the codes (CSV, .npy: index, label, map x and y, mu, log_var) and the map (PNG, SVG)."""
    stem = f"{name}-{projection.method}"
    colours = [label_colour(k, len(names)) for k in range(max(len(names), 1))]

    def table() -> np.ndarray:
        return codes_array(mu, labels, projection.embedding, log_var)

    def picture():  # type: ignore[no-untyped-def]
        return map_picture(projection.embedding, labels, names, colours, axis_titles(projection), marks)

    cols = st.columns(4)
    buttons = (
        ("Codes (CSV)", lambda: codes_csv(table(), names), f"{stem}-codes.csv", "text/csv"),
        ("Codes (.npy)", lambda: codes_npy(table()), f"{stem}-codes.npy", "application/octet-stream"),
        ("Map (PNG)", lambda: map_png(picture()), f"{stem}-map.png", "image/png"),
        ("Map (SVG)", lambda: map_svg(picture()), f"{stem}-map.svg", "image/svg+xml"),
    )
    for col, (label, data, file_name, mime) in zip(cols, buttons):
        col.download_button(label, data, file_name=file_name, mime=mime, key=f"{key}_{file_name}",
                            on_click="ignore", icon=":material/download:")


def image_download(label: str, images: np.ndarray, file_name: str, key: str, columns: int = 10) -> None:
    """One button: an image (H, W) or (H, W, 3), or a grid of such images, as PNG, at the model's own resolution."""
    images = np.asarray(images)
    stack = images[None] if images.ndim == 2 or (images.ndim == 3 and images.shape[-1] == 3) else images
    st.download_button(label, lambda: grid_png(stack, columns, pad=0 if len(stack) == 1 else 2), file_name=file_name,
                       mime="image/png", key=key, on_click="ignore", icon=":material/download:")
