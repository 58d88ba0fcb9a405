"""Finding things on the Latent map: codes by label and index, a point's nearest neighbours,
and the prior's holes. Each draws below or beside the map without redrawing it."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from vae_core import Checkpoint
from vae_core.encoding import label_name, nearest_neighbours
from vae_core.inference import decode_latents
from vae_core.projection import Projection
from vae_core.selection import Holes, filter_mask, parse_indices, prior_holes

from .figures import axis_titles, codes_map_figure
from .images import crisp
from .loaders import load_model, model_id

ImageOf = Callable[[int], np.ndarray]  # code index -> its image (H, W) in [0, 1]
THUMB_PX = 56
GALLERY_MAX = 24
HOLE_SAMPLES = 1000


def _thumbnails(images: Sequence[np.ndarray], captions: Sequence[str], per_row: int = 8) -> None:
    for start in range(0, len(images), per_row):
        cols = st.columns(per_row)
        for col, image, caption in zip(cols, images[start:start + per_row], captions[start:start + per_row]):
            col.image(crisp(image, THUMB_PX), caption=caption, output_format="PNG")


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
                [f"#{i} {label_name(int(labels[i]), names)} · d={d:.2f}" for i, d in zip(index, distance)], per_row=4)


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
    shown = found[:GALLERY_MAX]
    st.caption(f"{len(found):,} codes match; the first {len(shown)} are shown. Right: the decoded mean of all "
               f"{len(found):,} matching codes (mu).")
    gallery, mean = st.columns([5, 1])
    with gallery:
        _thumbnails([image_of(int(i)) for i in shown], [f"#{i}" for i in shown])
    mean.image(crisp(decode_latents(ckpt.model, mu[found].mean(axis=0))[0], 2 * THUMB_PX),
               caption="decoded mean", output_format="PNG")


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
