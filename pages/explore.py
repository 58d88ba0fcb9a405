"""Explore: walk through the latent space. Sliders per dimension with a live decode, plus
interpolation, traversals and (for 2-D latents) the decoded manifold of the prior.

The Interpolation view lives in ui.interpolation; the Sliders view and the small map in
ui.sliders and ui.small_map (timed by
bench/slider_latency.py); this script lays out the views. The interpolation and traversal
scrubbers decode in the page as they move (ui.browser_decoder.frames_decoder).
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from ui.browser_decoder import frames_decoder
from ui.exports import image_download
from ui.images import enlarge_to
from ui.interpolation import SCRUB_PX, SCRUB_STOPS, STRIP_PX, interpolation_tab
from ui.picker import mig_text
from ui.small_map import Codes, load_inputs
from ui.sliders import TOP_DIMS, arrive, current_point, sliders_tab
from ui.state import model_or_notice
from vae_core import Checkpoint
from vae_core.disentangle import N_BOOTSTRAP
from vae_core.inference import decode_latents, to_uint8
from vae_core.latent_ops import prior_grid, prior_quantiles, tile_images, traversal_rows

GRID_PX = 640  # the manifold image
TRAVERSAL_WIDTH = 3.0  # traversals span +-3 sigma
TAB_KEY = "explore_tab"
TABS = ("Sliders", "Interpolation", "Traversal", "Manifold")
RANGE_DATA, RANGE_PRIOR = "data: mean ± 3 sd of the codes' mu", "prior: ± 3 (sd 1)"


@st.fragment
def traversal_tab(ckpt: Checkpoint, codes: Codes | None) -> None:
    d = ckpt.config.latent_dim
    order = codes.order if codes is not None else np.arange(d)
    cols = st.columns(3)
    n_dims = cols[0].slider("Dimensions (most informative first)", 1, d, min(d, TOP_DIMS), key="trav_dims")
    steps = cols[1].slider("Steps", 3, 15, 9, key="trav_steps")
    span = cols[2].radio("Range", [RANGE_DATA, RANGE_PRIOR] if codes is not None else [RANGE_PRIOR], key="trav_range")
    if span == RANGE_DATA:
        center, scale = codes.mu.mean(axis=0), codes.mu.std(axis=0)
    else:
        center, scale = np.zeros(d), np.ones(d)
    dims = [int(k) for k in order[:n_dims]]
    rows = traversal_rows(current_point(ckpt), dims, center, scale, steps, TRAVERSAL_WIDTH)
    images = enlarge_to(decode_latents(ckpt.model, rows), STRIP_PX)
    st.caption(
        "Each row moves one dimension over ± 3 sd and keeps the others at the current point (Sliders view). "
        + ("Data range: the sd of that dimension's mu over the data, so a dimension the model does not use "
           "barely moves." if span == RANGE_DATA else "Prior range: the prior's sd of 1 for every dimension.")
    )
    found = ckpt.metadata.disentanglement
    if found is not None:
        st.markdown(mig_text(found))
        table = {"factor": list(found.factor_names), "gap": found.gaps}
        if found.gaps_se is not None:
            table["± s.e."] = found.gaps_se
        helps = {"gap": "Best dimension's MI minus the runner-up's, as a share of the factor's entropy",
                 "± s.e.": f"Bootstrap standard error of the gap ({N_BOOTSTRAP} resamples of the images)"}
        st.dataframe(  # short headers: the table must fit a phone's width
            {**table, "best dim": [f"z[{j}]" for j in found.mi.argmax(axis=0)]}, hide_index=True,
            column_config={key: st.column_config.NumberColumn(format="%.3f", help=helps[key])
                           for key in table if key != "factor"},
        )
    for k, dim in enumerate(dims):
        lo, hi = center[dim] - TRAVERSAL_WIDTH * scale[dim], center[dim] + TRAVERSAL_WIDTH * scale[dim]
        strip = tile_images(images[k * steps:(k + 1) * steps], steps)
        explains = f" · explains {found.dim_label(dim)}" if found is not None else ""
        st.image(to_uint8(strip), caption=f"z[{dim}]: {lo:.2f} → {hi:.2f}{explains}", output_format="PNG")
    dim = st.selectbox("Scrub one dimension", dims, key="trav_scrub_dim", format_func=lambda k: f"z[{k}]", width=160)
    path = traversal_rows(current_point(ckpt), [dim], center, scale, SCRUB_STOPS, TRAVERSAL_WIDTH)
    frames_decoder(ckpt, "trav_scrub", path, SCRUB_PX, label=f"z[{dim}]", names=[f"{v:.2f}" for v in path[:, dim]])


@st.fragment
def manifold_tab(ckpt: Checkpoint) -> None:
    if ckpt.config.latent_dim != 2:
        st.info(
            f"The manifold grid needs a 2-D latent space; this model has {ckpt.config.latent_dim} dimensions. "
            "Pick a 2-D model in the sidebar, or use the Traversal view."
        )
        return
    n = st.slider("Grid size", 5, 30, 15, key="grid_n")
    decoded = decode_latents(ckpt.model, prior_grid(n))
    grid = to_uint8(tile_images(enlarge_to(decoded, GRID_PX // n), n))
    st.image(grid, caption=f"{n} × {n} decodes of the prior's quantiles", output_format="PNG")
    image_download("Grid (PNG)", decoded, f"{ckpt.path.stem}-manifold-{n}x{n}.png", key="explore_grid_png", columns=n)
    q = prior_quantiles(n)
    st.caption(
        f"Grid points sit at the N(0, 1) quantiles (k + ½)/{n}, so every row and column stands for an equal share "
        f"of the prior (Kingma & Welling 2014, Fig. 4): z[0] runs {q[0]:.2f} → {q[-1]:.2f} left to right, "
        "z[1] the same bottom to top."
    )


st.title("Explore")
ckpt = model_or_notice()
if ckpt is None:
    st.stop()
codes, small_map = load_inputs(ckpt)
if codes is None:
    st.warning(
        "This model stores no latent codes and its data set is not on this machine: "
        "the sliders work, but there is no map and no data point to start from."
    )
# A segmented control, not st.tabs: only the chosen view runs either way, but a fragment
# inside st.tabs made every slider move's rerun slower in the browser (docs/design-decisions.md).
if arrive(ckpt) is not None or st.session_state.get(TAB_KEY) not in TABS:
    st.session_state[TAB_KEY] = TABS[0]  # a point sent here opens on its sliders
view = st.segmented_control("View", TABS, key=TAB_KEY, required=True, label_visibility="collapsed")
if view == "Sliders":
    sliders_tab(ckpt, codes, small_map)
elif view == "Interpolation":
    interpolation_tab(ckpt, codes, small_map)
elif view == "Traversal":
    traversal_tab(ckpt, codes)
else:
    manifold_tab(ckpt)
