"""Finding things on the Latent map: codes by label and index or inside a box or lasso drawn
on the map, a point's nearest neighbours, and the prior's holes. Each draws below or beside
the map without redrawing it.

A box or lasso is drawn with plotly's own select tools (the map's drag mode, chosen above it);
the `map_events` component reports its outline in map units, and `vae_core.selection` finds
the codes inside, so no list of points crosses the wire."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from vae_core import Checkpoint
from vae_core.encoding import label_name, nearest_neighbours
from vae_core.inference import decode_latents
from vae_core.projection import Projection
from vae_core.selection import Holes, filter_mask, in_box, in_lasso, parse_indices, prior_holes

from .components import map_events, select_data, selection_report
from .figures import axis_titles, codes_map_figure
from .images import crisp
from .loaders import load_model, model_id

ImageOf = Callable[[int], np.ndarray]  # code index -> its image (H, W) in [0, 1]
THUMB_PX = 56
GALLERY_MAX = 24
HOLE_SAMPLES = 1000
DRAG_KEY = "latent_map_drag"  # the map's plotly drag mode
DRAG_MODES = {"zoom": "Zoom", "select": "Box select", "lasso": "Lasso select"}
SELECT_KEY = "latent_map_select"  # the map_events component (role "select")
SELECTED_KEY = "latent_map_selected"  # (id of the map, indices of the codes selected on it)


def _thumbnails(images: Sequence[np.ndarray], captions: Sequence[str], px: int = THUMB_PX) -> None:
    """Small images in rows that wrap to the width (columns would stack them one per row on a phone)."""
    with st.container(horizontal=True, gap="small"):
        for image, caption in zip(images, captions):
            st.image(crisp(image, px), caption=caption, output_format="PNG", width=px)


def neighbours_gallery(
    mu: np.ndarray, labels: np.ndarray, names: Sequence[str], z: np.ndarray, image_of: ImageOf,
    exclude: int | None, k: int = 8,
) -> None:
    """The k data codes nearest to z in latent space (Euclidean distance between mu's), nearest first."""
    index, distance = nearest_neighbours(z, mu, k + (exclude is not None))
    keep = index[0] != exclude
    index, distance = index[0][keep][:k], distance[0][keep][:k]
    st.caption(f"Its {len(index)} nearest codes in the latent space (Euclidean distance d between codes, "
               f"over all {mu.shape[1]} dimensions):")
    _thumbnails([image_of(int(i)) for i in index],
                [f"#{i} {label_name(int(labels[i]), names)} · d={d:.2f}" for i, d in zip(index, distance)], px=84)


@st.fragment
def find_panel(ckpt: Checkpoint, mu: np.ndarray, labels: np.ndarray, names: Sequence[str], image_of: ImageOf) -> None:
    """Codes by label and index: a gallery of the matches and their mean code, decoded."""
    cols = st.columns([2, 2])
    present = sorted(int(v) for v in np.unique(labels))
    chosen = cols[0].multiselect("Labels", present, format_func=lambda v: label_name(v, names), key="find_labels",
                                 placeholder="all labels")
    text = cols[1].text_input("Indices", key="find_indices", placeholder="e.g. 3, 10-20",
                              help=f"Code numbers between 0 and {len(mu) - 1}, and ranges.")
    try:
        indices = parse_indices(text, len(mu)) if text.strip() else None
    except ValueError as err:
        st.warning(f"Indices: {err}.")
        return
    if not chosen and indices is None:
        st.caption("Choose labels or type indices to see the matching codes.")
        return
    found = np.flatnonzero(filter_mask(labels, chosen or None, indices))
    if not len(found):
        st.info("No code matches.")
        return
    codes_gallery(ckpt, mu, found, image_of, "match")


def codes_gallery(ckpt: Checkpoint, mu: np.ndarray, found: np.ndarray, image_of: ImageOf, verb: str) -> None:
    """How many codes were found, the first GALLERY_MAX of them, and the decoded mean of all their mu."""
    shown = found[:GALLERY_MAX]
    st.caption(f"**{len(found):,} codes {verb}**; the first {len(shown)} are shown. Right: the mean of all "
               f"{len(found):,} of their codes (mu), decoded.")
    gallery, mean = st.columns([5, 1])
    with gallery:
        _thumbnails([image_of(int(i)) for i in shown], [f"#{i}" for i in shown])
    mean.image(crisp(decode_latents(ckpt.model, mu[found].mean(axis=0))[0], 2 * THUMB_PX),
               caption="decoded mean", output_format="PNG")


def drag_mode() -> str:
    """What a drag on the map does: plotly's zoom, box select or lasso (its layout.dragmode)."""
    return st.segmented_control("Drag on the map to", list(DRAG_MODES), format_func=DRAG_MODES.get, key=DRAG_KEY,
                                default="zoom", required=True)


def _remember_selection(projection: Projection) -> None:
    report = selection_report(st.session_state[SELECT_KEY])
    if report is not None:
        kind, shape = report
        found = in_box(projection.embedding, shape[:2], shape[2:]) if kind == "box" else in_lasso(projection.embedding, shape)
        st.session_state[SELECTED_KEY] = (id(projection), found)


def _clear_selection() -> None:
    st.session_state.pop(SELECTED_KEY, None)
    st.session_state[DRAG_KEY] = "zoom"  # a new figure: plotly forgets the outline


@st.fragment
def selection_panel(ckpt: Checkpoint, projection: Projection, mu: np.ndarray, image_of: ImageOf, chart_key: str) -> None:
    """The codes inside the last box or lasso drawn on this map; a new selection reruns only this."""
    map_events(key=SELECT_KEY, data=select_data(chart_key), on_select_change=partial(_remember_selection, projection),
               height=0)
    selected = st.session_state.get(SELECTED_KEY)
    if selected is None or selected[0] != id(projection):  # the cached object names the map
        st.caption("Choose Box select or Lasso select above the map and drag on it: the codes inside are shown here.")
        return
    found = selected[1]
    if len(found):
        codes_gallery(ckpt, mu, found, image_of, "selected")
    else:
        st.info("No code inside the selection.")
    if st.button("Clear selection", key="latent_map_clear_selection", icon=":material/deselect:",
                 on_click=_clear_selection):
        st.rerun()  # the whole page: the map is drawn again without the outline


@st.cache_resource(show_spinner="Comparing the prior with the codes…", max_entries=8)
def _holes(path: str, mtime_ns: int, n: int, _mu: np.ndarray, _log_var: np.ndarray) -> Holes:
    return prior_holes(_mu, _log_var, n)


@st.fragment
def holes_panel(
    ckpt: Checkpoint, projection: Projection, mu: np.ndarray, log_var: np.ndarray, labels: np.ndarray,
    names: Sequence[str],
) -> None:
    """Prior samples on the map, those in holes in red, with a few of each decoded (on request:
    it draws a second map)."""
    if not st.toggle("Show the holes", key="latent_map_holes_on"):
        return
    holes = _holes(*model_id(ckpt), HOLE_SAMPLES, mu, log_var)
    st.markdown(
        f"**{holes.fraction:.1%} ± {holes.stderr:.1%}** of {len(holes.z):,} samples z ~ N(0, I) fall in a hole: "
        f"there the data's aggregate posterior q(z) = (1/N) Σ q(z|xₙ) (exact, over all {len(mu):,} codes) is below "
        f"{holes.ratio:g} × p(z). The share is estimated from the samples (± its standard error)."
    )
    placed = projection.transform(holes.z)
    fig = codes_map_figure(projection, labels, names, 420, hover=False)
    for mask, name, colour in ((~holes.in_hole, "prior sample, q has codes", "#333333"),
                               (holes.in_hole, "prior sample in a hole", "#d62728")):
        fig.add_trace(go.Scatter(x=placed[mask, 0], y=placed[mask, 1], mode="markers", name=name, hoverinfo="skip",
                                 marker={"size": 5, "color": colour, "symbol": "x"}))
    titles = axis_titles(projection)
    fig.update_layout(xaxis_title=titles[0], yaxis_title=titles[1])
    st.plotly_chart(fig, key="latent_map_holes", width="stretch")
    model = load_model(str(ckpt.path)).model
    for mask, caption in ((holes.in_hole, "Decoded prior samples in holes:"),
                          (~holes.in_hole, "Decoded prior samples where the codes are:")):
        picked = holes.z[mask][:8]
        if len(picked):
            st.caption(caption)
            _thumbnails(list(decode_latents(model, picked)), [""] * len(picked))
