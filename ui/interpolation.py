"""Explore's Interpolation view: the two ends picked by looking (a thumbnail gallery each, or
the current point of the Sliders view), the path of the codes between them drawn on the small
map (projected as the map's codes are), the decoded filmstrip of each path under it, and a
scrubber that decodes every stop in the page."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from vae_core import Checkpoint
from vae_core.encoding import label_name
from vae_core.inference import decode_latents, to_uint8
from vae_core.latent_ops import lerp, lerp_midpoint_percentile, slerp, tile_images

from .browser_decoder import frames_decoder
from .gallery import data_gallery, data_images
from .images import enlarge_to
from .sliders import current_point
from .small_map import Codes, SmallMap
from .style import stacking

STRIP_PX = 84  # per image in the filmstrips
SCRUB_STOPS = 101  # the scrubber's stops along the path
SCRUB_PX = 168
PATH_COLOURS = {"linear": "#7f7f7f", "spherical (slerp)": "#d62728"}


def _end(ckpt: Checkpoint, codes: Codes, end: str, first: int) -> np.ndarray:
    """One end of the path: the current point, or a data point picked in a gallery (its mu)."""
    st.markdown(f"**{end.title()}**")
    if st.toggle("The current point (Sliders view)", key=f"interp_{end}_current"):
        return current_point(ckpt)
    key = f"interp_{end}_index"
    if not 0 <= st.session_state.get(key, -1) < len(codes.mu):
        st.session_state[key] = first
    index = st.session_state[key]
    st.caption(f"Data point #{index}, {label_name(int(codes.labels[index]), codes.class_names)}: press another "
               "image to move this end.")
    data_gallery(f"interp_{end}_gallery", data_images(ckpt, codes.mu), codes.labels, codes.class_names, index,
                 on_pick=lambda i: st.session_state.update({key: i}))
    return codes.mu[index]


def path_traces(small_map: SmallMap, paths: dict[str, np.ndarray]) -> list[go.Scatter]:
    """Each path's codes (steps, D) on the small map, a marker per decoded step, and its two ends named."""
    traces = []
    for name, path in paths.items():
        xy = small_map.xy(path)
        traces.append(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines+markers", name=name, hoverinfo="skip",
                                 line={"color": PATH_COLOURS[name], "width": 2}, marker={"size": 7}))
    ends = small_map.xy(next(iter(paths.values()))[[0, -1]])
    traces.append(go.Scatter(x=ends[:, 0], y=ends[:, 1], mode="markers+text", text=["from", "to"], name="ends",
                             textposition=["top center", "bottom center"], hoverinfo="skip", showlegend=False,
                             marker={"size": 12, "symbol": "circle-open", "color": "#222", "line": {"width": 2}}))
    return traces


@st.fragment
def interpolation_tab(ckpt: Checkpoint, codes: Codes | None, small_map: SmallMap | None) -> None:
    if codes is None:
        st.info("Interpolation starts from images of the model's data set, which is not on this machine.")
        return
    with stacking("explore-ends"):
        ends = []
        for col, end, first in zip(st.columns(2, gap="medium"), ("from", "to"), (0, 1)):
            with col:
                ends.append(_end(ckpt, codes, end, first))
    steps = st.slider("Steps", 3, 16, 8, key="interp_steps")
    paths = {"linear": lerp(*ends, steps), "spherical (slerp)": slerp(*ends, steps)}
    if small_map is not None:
        st.plotly_chart(small_map.figure(path_traces(small_map, paths)), key="interp_map",
                        config={"displayModeBar": False})
        pca = small_map.projection.method == "pca"
        st.caption(f"The {steps} codes of each path on the map{' (PCA plane of the codes)' if pca else ''}, "
                   "from → to; below, each decoded, in the same order.")
    images = enlarge_to(decode_latents(ckpt.model, np.concatenate(list(paths.values()))), STRIP_PX)
    for k, name in enumerate(paths):
        strip = tile_images(images[k * steps:(k + 1) * steps], steps)
        st.image(to_uint8(strip), caption=name, output_format="PNG")
    st.caption(paths_caption(ckpt.config.latent_dim))
    t = np.linspace(0.0, 1.0, SCRUB_STOPS)
    frames_decoder(ckpt, "interp_scrub", slerp(*ends, SCRUB_STOPS), SCRUB_PX, label="spherical path, t",
                   names=[f"{v:.2f}" for v in t])


def paths_caption(d: int) -> str:
    """What slerp buys in this many dimensions, computed rather than assumed."""
    middle = lerp_midpoint_percentile(d)
    paths = ("Linear: equal steps along the straight segment. Spherical: equal angles along the arc while the "
             "length changes linearly, from one end's to the other's.")
    if middle >= 0.2:
        return (f"{paths} In {d}-D the prior has no thin shell: the straight path's midpoint between two draws "
                f"from the prior sits at its {middle:.0%} radius percentile (median over pairs), no less typical "
                "than the ends, so the two paths differ little here.")
    return (f"{paths} In {d}-D a Gaussian prior keeps its mass near the shell |z| ≈ √{d}: the straight path's "
            f"midpoint between two draws from the prior sits at its {middle:.0%} radius percentile (median over "
            "pairs), in the improbable middle, while the spherical path keeps to the shell.")
