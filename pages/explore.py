"""Explore: walk through the latent space. Sliders per dimension with a live decode, plus
interpolation, traversals and (for 2-D latents) the decoded manifold of the prior.

The slider panel is an `st.fragment`: dragging a slider reruns only the panel (decode one
point, one small PNG, and the map's marker position). The small map beside it is drawn
once, outside the fragment; the `map_events` component draws the marker over it in the
browser, because a changed figure is rebuilt there from scratch (100+ ms per move). Its pieces are plain functions
so bench/slider_latency.py can time exactly that work; the page body runs under
Streamlit only (`__main__`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.colors
import plotly.graph_objects as go
import streamlit as st

from pages.common import LATENT_KEY, LATENT_SOURCE_KEY, map_events, model_codes, model_or_notice, model_projection
from vae_core import VAE, Checkpoint, DataError
from vae_core.inference import decode_latents, to_uint8
from vae_core.latent_ops import (
    enlarge, lerp, prior_grid, prior_quantiles, rank_dims, sample_prior, slerp, tile_images, traversal_rows,
)
from vae_core.projection import Method, Projection, map_bounds

SLIDER_LIMIT = 4.0  # "about +-3 sigma", widened because mnist-conv-2d's codes reach |mu| ~ 3.9
SLIDER_STEP = 0.05
TOP_DIMS = 8  # sliders / traversal rows shown for large latent dims unless "show all"
IMAGE_PX = 224  # decoded images are enlarged (nearest neighbour) to about this size
STRIP_PX = 84  # per image in interpolation and traversal strips
GRID_PX = 640  # the manifold image
MAP_POINTS = 2000  # background of the small map: shows the clusters, cheap to resend
MAP_HEIGHT = 300
TRAVERSAL_WIDTH = 3.0  # traversals span +-3 sigma

Z_KEY = "explore_z"  # the whole current point (list of floats); sliders show some dims
Z_MODEL_KEY = "explore_z_model"  # the checkpoint explore_z belongs to
MAP_KEY = "explore_map"
MAP_SELECTOR = f".st-key-{MAP_KEY} .js-plotly-plot"
MARKER_KEY = "explore_marker"  # the map_events component that draws the current point on the map
TAB_KEY = "explore_tab"
TABS = ("Sliders", "Interpolation", "Traversal", "Manifold")
RANGE_DATA, RANGE_PRIOR = "data: mean ± 3 sd of the codes' mu", "prior: ± 3 (sd 1)"


@dataclass(frozen=True)
class Codes:
    """The data's q(z|x) means and what the page derives from them once per model."""

    mu: np.ndarray  # (N, D)
    labels: np.ndarray  # (N,)
    class_names: tuple[str, ...]
    order: np.ndarray  # dims by mean KL, most informative first


# ---- pieces the slider fragment runs (no widgets: bench/slider_latency.py times them) ----


def enlarge_to(images: np.ndarray, target_px: int) -> np.ndarray:
    """Enlarge (..., H, W) by the whole factor that brings H closest to target_px from below."""
    return enlarge(images, max(1, target_px // images.shape[-2]))


def decoded_png_array(model: VAE, z: np.ndarray) -> np.ndarray:
    """The decoded point as a crisp uint8 image of about IMAGE_PX pixels, for st.image."""
    return to_uint8(enlarge_to(decode_latents(model, z)[0], IMAGE_PX))


def small_map_method(latent_dim: int) -> Method:
    """The small map's axes: the latent axes themselves for 2-D codes, else their PCA plane."""
    return "raw" if latent_dim == 2 else "pca"


def map_background(mu: np.ndarray, labels: np.ndarray, n_classes: int, projection: Projection) -> dict:
    """The small map's fixed part, a plotly trace dict: a subsample (seed 0) of the codes
    as faint dots coloured by label."""
    keep = np.random.default_rng(0).permutation(len(mu))[:MAP_POINTS]
    xy = projection.transform(mu[keep]).astype(np.float32)
    return {
        "type": "scattergl", "x": xy[:, 0], "y": xy[:, 1], "mode": "markers", "hoverinfo": "skip",
        "showlegend": False,
        "marker": {
            "size": 3, "opacity": 0.35, "color": labels[keep].astype(np.int16), "cmin": -0.5,
            "cmax": n_classes - 0.5, "colorscale": _label_colorscale(n_classes),
        },
    }


def _label_colorscale(n_classes: int) -> list[tuple[float, str]]:
    """A stepwise colour scale: one flat qualitative colour per class index."""
    palette = plotly.colors.qualitative.T10
    steps = []
    for k in range(n_classes):
        colour = palette[k % len(palette)]
        steps += [(k / n_classes, colour), ((k + 1) / n_classes, colour)]
    return steps


@dataclass(frozen=True)
class SmallMap:
    """The codes on two axes (`small_map_method`), to draw latent points on."""

    projection: Projection
    background: dict  # map_background's trace

    def xy(self, z: np.ndarray) -> np.ndarray:
        """Latents (D,) or (N, D) -> map positions (N, 2)."""
        return self.projection.transform(np.atleast_2d(z))

    def figure(self, traces: list[go.Scatter]) -> go.Figure:
        """The background dots with `traces` on top."""
        titles = ("z[0]", "z[1]") if self.projection.method == "raw" else ("PC 1", "PC 2")
        fig = go.Figure([self.background, *traces])
        fig.update_layout(
            height=MAP_HEIGHT, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=len(traces) > 1,
            legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
            xaxis_title=titles[0], yaxis_title=titles[1], uirevision="map",  # keep the user's zoom
        )
        return fig

    def bounds(self) -> tuple[float, float, float, float]:
        """The slider map's fixed axes (x0, x1, y0, y1): for raw axes every spot the sliders
        reach, else the codes' extent (the marker is drawn over the plot and cannot widen it)."""
        if self.projection.method == "raw":
            return -SLIDER_LIMIT, SLIDER_LIMIT, -SLIDER_LIMIT, SLIDER_LIMIT
        return map_bounds(np.column_stack([self.background["x"], self.background["y"]]))

    def marker_figure(self) -> go.Figure:
        """The map the sliders' point is marked on: the background alone, on fixed axes."""
        x0, x1, y0, y1 = self.bounds()
        return self.figure([]).update_layout(xaxis_range=[x0, x1], yaxis_range=[y0, y1])


# ---- per-model caches, keyed on the checkpoint's path and modification time ----


def _model_id(ckpt: Checkpoint) -> tuple[str, int]:
    return str(ckpt.path), ckpt.path.stat().st_mtime_ns


@st.cache_data(max_entries=8, show_spinner=False)
def _dim_order(path: str, mtime_ns: int, _mu: np.ndarray, _log_var: np.ndarray) -> np.ndarray:
    return rank_dims(_mu, _log_var)


@st.cache_data(max_entries=8, show_spinner=False)
def _background(path: str, mtime_ns: int, _codes: Codes, _projection: Projection) -> dict:
    return map_background(_codes.mu, _codes.labels, len(_codes.class_names), _projection)


def _load_codes(ckpt: Checkpoint) -> Codes | None:
    """The data's codes and the dim ranking, or None when neither is on this machine."""
    try:
        mu, log_var, labels = model_codes(ckpt)
    except DataError:
        return None
    names = tuple(ckpt.metadata.get("class_names") or [str(k) for k in range(int(labels.max()) + 1)])
    return Codes(mu, labels, names, _dim_order(*_model_id(ckpt), mu, log_var))


# ---- the current point: one list in session_state, mirrored into the slider keys ----


def _slider_key(dim: int) -> str:
    return f"z_{dim}"


def _set_point(z: np.ndarray) -> None:
    """Make z the current point and move every slider to it (call before the sliders exist)."""
    z = np.clip(np.asarray(z, dtype=np.float64), -SLIDER_LIMIT, SLIDER_LIMIT)
    st.session_state[Z_KEY] = [float(v) for v in z]
    for dim, value in enumerate(z):
        st.session_state[_slider_key(dim)] = float(value)


def _current_point(ckpt: Checkpoint) -> np.ndarray:
    """The current point, reset to zero when the model changed."""
    d = ckpt.config.latent_dim
    if st.session_state.get(Z_MODEL_KEY) != str(ckpt.path) or len(st.session_state.get(Z_KEY, [])) != d:
        st.session_state[Z_MODEL_KEY] = str(ckpt.path)
        _set_point(np.zeros(d))
    return np.array(st.session_state[Z_KEY])


def _start_buttons(ckpt: Checkpoint, codes: Codes | None) -> None:
    """Where to start: a data point, a point handed over by another page, zero, a prior sample."""
    d = ckpt.config.latent_dim
    with st.container(horizontal=True, vertical_alignment="bottom"):
        if codes is not None and (index := _data_point_picker(codes, "start")) is not None:
            st.button(
                "Start from this image", key="start_data", on_click=_set_point, args=(codes.mu[index],),
                help=f"Data point #{index} (label {codes.class_names[codes.labels[index]]}): its mean code mu",
            )
        handed = st.session_state.get(LATENT_KEY)
        if handed is not None and len(handed) == d:
            source = st.session_state.get(LATENT_SOURCE_KEY, "another page")
            st.button(f"Start from {source}", key="start_handoff", on_click=_set_point, args=(np.array(handed),))
        st.button("Zero", key="start_zero", on_click=_set_point, args=(np.zeros(d),), help="The prior's mean")
        st.button("Sample from the prior", key="sample_prior", on_click=_sample, args=(d,))


def _sample(d: int) -> None:
    _set_point(sample_prior(d, np.random.default_rng()))


def _data_point_picker(codes: Codes, key: str, first: int = 0) -> int | None:
    """Pick an image by label and position (widgets side by side in a horizontal container);
    returns its index into the codes, None when the label has no image. `first`: the
    initial position."""
    if f"{key}_index" not in st.session_state:
        st.session_state[f"{key}_index"] = first
    label = st.selectbox(
        "Label", ["any", *codes.class_names], key=f"{key}_label", width=110,
        on_change=lambda: st.session_state.update({f"{key}_index": 0}),
    )
    pool = np.arange(len(codes.mu))
    if label != "any":
        pool = np.flatnonzero(codes.labels == codes.class_names.index(label))
    if len(pool) == 0:
        st.caption("No image has this label.")
        return None
    position = st.number_input(f"Image (of {len(pool)})", 0, len(pool) - 1, key=f"{key}_index", step=1, width=140)
    return int(pool[position])


# ---- tabs ----


def slider_controls(ckpt: Checkpoint, codes: Codes | None) -> np.ndarray:
    """The start buttons and, for large latents, the "show all" toggle; returns the dims
    that get a slider. Outside the fragment: a click here may rerun the whole page."""
    _start_buttons(ckpt, codes)
    d = ckpt.config.latent_dim
    if d <= TOP_DIMS:
        return np.arange(d)
    dims = codes.order if codes is not None else np.arange(d)  # most informative first
    if st.toggle(f"Show all {d} dimensions", key="show_all_dims"):
        return dims
    st.caption(f"The {TOP_DIMS} most informative dimensions (highest mean KL over the data); "
               "the others keep their values.")
    return dims[:TOP_DIMS]


def sliders_tab(ckpt: Checkpoint, codes: Codes | None, small_map: SmallMap | None) -> None:
    """The slider panel and, beside it, the small map: drawn here, once per full run, so a
    slider move never re-sends it."""
    dims = slider_controls(ckpt, codes)
    panel, right = st.columns([3.3, 1.7])
    if small_map is not None:
        with right:
            st.plotly_chart(small_map.marker_figure(), key=MAP_KEY, config={"displayModeBar": False})
            pca = small_map.projection.method == "pca"
            st.caption("The current point among the data's codes" + (" (PCA plane)." if pca else "."))
    with panel:
        slider_panel(ckpt, dims, small_map)


@st.fragment
def slider_panel(ckpt: Checkpoint, dims: np.ndarray, small_map: SmallMap | None) -> None:
    """Reruns alone on every slider move: slider values -> decode -> image, the marker's place,
    then the sliders.

    The image is drawn before the sliders (each slider's value is already in session_state
    when the run starts), so it is the first thing the browser gets: the browser handles
    the run's messages one at a time, and each slider costs it a few ms to redraw."""
    z = _current_point(ckpt)
    for dim in dims:
        key = _slider_key(dim)
        if key not in st.session_state:  # a slider hidden for a while lost its state
            st.session_state[key] = float(z[dim])
        z[dim] = st.session_state[key]
    st.session_state[Z_KEY] = [float(v) for v in z]
    left, middle = st.columns([2, 1.3])
    middle.image(decoded_png_array(ckpt.model, z), caption="decode(z)", width=IMAGE_PX, output_format="PNG")
    if small_map is not None:
        x, y = (float(v) for v in small_map.xy(z)[0])
        x0, x1, y0, y1 = small_map.bounds()
        with middle:
            map_events(key=MARKER_KEY, data={"role": "marker", "chart": MAP_SELECTOR, "marker": [x, y]}, height=0)
            if not (x0 <= x <= x1 and y0 <= y <= y1):
                st.caption("The current point lies off the small map, beyond the data's codes.")
    with left:
        for dim in dims:
            st.slider(f"z[{dim}]", -SLIDER_LIMIT, SLIDER_LIMIT, step=SLIDER_STEP, key=_slider_key(dim), format="%.2f")


@st.fragment
def interpolation_tab(ckpt: Checkpoint, codes: Codes | None, small_map: SmallMap | None) -> None:
    if codes is None:
        st.info("Interpolation starts from images of the model's data set, which is not on this machine.")
        return
    ends = []
    for col, name in zip(st.columns(2), ("From", "To")):
        with col:
            st.markdown(f"**{name}**")
            if st.toggle("The current point (Sliders view)", key=f"interp_{name.lower()}_current"):
                ends.append(_current_point(ckpt))
                continue
            with st.container(horizontal=True):  # two different images to start with
                index = _data_point_picker(codes, f"interp_{name.lower()}", first=int(name == "To"))
            if index is not None:
                ends.append(codes.mu[index])
    if len(ends) < 2:
        return
    steps = st.slider("Steps", 3, 16, 8, key="interp_steps")
    paths = {"linear": lerp(*ends, steps), "spherical (slerp)": slerp(*ends, steps)}
    images = enlarge_to(decode_latents(ckpt.model, np.concatenate(list(paths.values()))), STRIP_PX)
    for k, name in enumerate(paths):
        strip = tile_images(images[k * steps:(k + 1) * steps], steps)
        st.image(to_uint8(strip), caption=name, output_format="PNG")
    st.caption(
        "Linear: equal steps along the straight segment. Spherical: equal angles along the arc while the "
        "length changes linearly, so the path keeps to the shell where a Gaussian prior has its mass "
        "instead of cutting through the middle."
    )
    if small_map is not None:
        traces = [
            go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines+markers", name=name, marker={"size": 6})
            for name, xy in ((name, small_map.xy(path)) for name, path in paths.items())
        ]
        st.plotly_chart(small_map.figure(traces), key="interp_map", config={"displayModeBar": False})


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
    rows = traversal_rows(_current_point(ckpt), dims, center, scale, steps, TRAVERSAL_WIDTH)
    images = enlarge_to(decode_latents(ckpt.model, rows), STRIP_PX)
    st.caption(
        "Each row moves one dimension over ± 3 sd and keeps the others at the current point (Sliders view). "
        + ("Data range: the sd of that dimension's mu over the data, so a dimension the model does not use "
           "barely moves." if span == RANGE_DATA else "Prior range: the prior's sd of 1 for every dimension.")
    )
    for k, dim in enumerate(dims):
        lo, hi = center[dim] - TRAVERSAL_WIDTH * scale[dim], center[dim] + TRAVERSAL_WIDTH * scale[dim]
        strip = tile_images(images[k * steps:(k + 1) * steps], steps)
        st.image(to_uint8(strip), caption=f"z[{dim}]: {lo:.2f} → {hi:.2f}", output_format="PNG")


@st.fragment
def manifold_tab(ckpt: Checkpoint) -> None:
    if ckpt.config.latent_dim != 2:
        st.info(
            f"The manifold grid needs a 2-D latent space; this model has {ckpt.config.latent_dim} dimensions. "
            "Pick a 2-D model in the sidebar, or use the Traversal view."
        )
        return
    n = st.slider("Grid size", 5, 30, 15, key="grid_n")
    images = enlarge_to(decode_latents(ckpt.model, prior_grid(n)), GRID_PX // n)
    grid = to_uint8(tile_images(images, n))
    st.image(grid, caption=f"{n} × {n} decodes of the prior's quantiles", output_format="PNG")
    q = prior_quantiles(n)
    st.caption(
        f"Grid points sit at the N(0, 1) quantiles (k + ½)/{n}, so every row and column stands for an equal share "
        f"of the prior (Kingma & Welling 2014, Fig. 4): z[0] runs {q[0]:.2f} → {q[-1]:.2f} left to right, "
        "z[1] the same bottom to top."
    )


def load_inputs(ckpt: Checkpoint) -> tuple[Codes | None, SmallMap | None]:
    """What every view needs of the model's data, from the per-model caches."""
    codes = _load_codes(ckpt)
    if codes is None:
        return None, None
    projection = model_projection(ckpt, small_map_method(ckpt.config.latent_dim))
    return codes, SmallMap(projection, _background(*_model_id(ckpt), codes, projection))


def main() -> None:
    st.title("Explore")
    ckpt = model_or_notice()
    if ckpt is None:
        return
    codes, small_map = load_inputs(ckpt)
    if codes is None:
        st.warning(
            "This model stores no latent codes and its data set is not on this machine: "
            "the sliders work, but there is no map and no data point to start from."
        )
    # A segmented control, not st.tabs: only the chosen view runs either way, but a fragment
    # inside st.tabs made every slider move's rerun ~16 ms slower in the browser.
    if st.session_state.get(TAB_KEY) not in TABS:
        st.session_state[TAB_KEY] = TABS[0]
    view = st.segmented_control("View", TABS, key=TAB_KEY, required=True, label_visibility="collapsed")
    if view == "Sliders":
        sliders_tab(ckpt, codes, small_map)
    elif view == "Interpolation":
        interpolation_tab(ckpt, codes, small_map)
    elif view == "Traversal":
        traversal_tab(ckpt, codes)
    else:
        manifold_tab(ckpt)


if __name__ == "__main__":  # run by Streamlit; importable (bench/slider_latency.py) without side effects
    main()
