"""Latent map: the codes (mu) of the model's data set on a 2-D map (PCA, t-SNE or two
latent axes), coloured by label. Hovering a point shows its image; a click anywhere, on a
point or on empty space, decodes that spot.

The map's own script reads a click from the pointer (plotly reports clicks on points only,
and late: it recomputes the hover first): the spot in map units and a hit radius of a few
pixels. A code within that radius is the point clicked; else the spot itself is decoded. The
projection comes from the cache (`model_projection`: memory, then disk) and is never refitted
on a rerun.

The map is drawn once per map and never again on a hover or a click: at 100k points,
re-sending and redrawing it took seconds. It is light (WebGL markers; float32/int32 arrays
that plotly sends as base64, ~20 bytes a point; no images). A small script,
pages/js/map_events.js (an st.components.v2 component), listens to the chart's own plotly
events, mounted twice, each in a fragment of its own:
- hover: asks for the hovered point's image (~300 bytes, once per point) and floats it by
  the cursor, since plotly's hover labels cannot show images;
- click: reports the spot; its fragment decodes it beside the map, and the script marks the
  spot with an x drawn over the plot (plotly's own click handling is off: clickmode "none").
"""
from __future__ import annotations

import base64
from functools import partial

import numpy as np
import plotly.colors
import plotly.graph_objects as go
import streamlit as st

from pages.common import map_events, model_codes, model_dataset, model_or_notice, model_projection, set_latent_point
from vae_core import Checkpoint, DataError, ImageData
from vae_core.inference import decode_latents, png_bytes, to_uint8
from vae_core.latent_ops import enlarge
from vae_core.projection import Click, LinearProjection, Projection, click_at, decode_at, map_bounds

CHART_KEY = "latent_map_chart"
CLICK_KEY = "latent_map_click"  # Click: the spot decoded beside the map
CLICKS_KEY = "latent_map_clicks"  # the click component; its trigger "click" is {x, y, rx, ry}
SHOWN_KEY = "latent_map_shown"  # id of the map the click belongs to; a new map forgets the click
METHOD_KEY = "latent_map_method"
METHOD_LABELS = {"pca": "PCA", "tsne": "t-SNE", "raw": "Latent axes"}
HOVER_KEY = "latent_map_hover"  # the hover component; its trigger "hover" is a point's index
HOVERED_KEY = "latent_map_hovered"  # int: the point whose image the hover component gets next
IMAGE_PX = 168
HOVER_PX = 84
MAP_HEIGHT = 620
TSNE_K = 10
WEBGL_MIN_POINTS = 1000  # from here on, WebGL markers (plotly express's own switch); below, crisper SVG
CHART_SELECTOR = f".st-key-{CHART_KEY} .js-plotly-plot"
MAP_CONFIG = {"displaylogo": False, "doubleClick": False}

def class_names(ckpt: Checkpoint, data: ImageData | None) -> list[str]:
    names = ckpt.metadata.get("class_names") or (data.class_names if data is not None else ())
    return list(names)


def label_name(label: int, names: list[str]) -> str:
    return names[label] if 0 <= label < len(names) else ("unlabelled" if label < 0 else str(label))


def axis_titles(projection: Projection, dims: tuple[int, int]) -> tuple[str, str]:
    if projection.method == "tsne":
        return "t-SNE 1", "t-SNE 2"
    ratio = projection.explained_variance_ratio if isinstance(projection, LinearProjection) else np.zeros(2)
    names = ("PC 1", "PC 2") if projection.method == "pca" else (f"z[{dims[0]}]", f"z[{dims[1]}]")
    return f"{names[0]} ({ratio[0]:.0%} of variance)", f"{names[1]} ({ratio[1]:.0%} of variance)"


def map_figure(projection: Projection, labels: np.ndarray, names: list[str], titles: tuple[str, str]) -> go.Figure:
    """One trace per label (WebGL from `WEBGL_MIN_POINTS` codes on); clicks are read by
    map_events.js, not by plotly.

    Points carry only their index (customdata); images come on hover and on a click, so the
    payload stays small: 2 MB at 100k points.
    """
    emb = projection.embedding.astype(np.float32)
    scatter = go.Scattergl if len(emb) >= WEBGL_MIN_POINTS else go.Scatter
    x0, x1, y0, y1 = map_bounds(projection.embedding)
    fig = go.Figure()
    size = 4 if len(emb) > 3000 else 6
    classes = np.unique(labels)
    palette = plotly.colors.qualitative.T10 if len(classes) <= 10 else plotly.colors.qualitative.Alphabet
    for n, label in enumerate(classes):
        index = np.flatnonzero(labels == label).astype(np.int32)
        name = label_name(int(label), names)
        fig.add_trace(scatter(
            x=emb[index, 0], y=emb[index, 1], mode="markers", name=name, customdata=index[:, None],
            hovertemplate=f"<b>{name}</b> · #%{{customdata[0]}}<extra></extra>",
            marker={"size": size, "opacity": 0.75, "color": palette[n % len(palette)]},
        ))
    fig.update_layout(
        height=MAP_HEIGHT, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"itemsizing": "constant"},
        clickmode="none",
        xaxis={"range": [x0, x1], "title": titles[0], "constrain": "domain", "zeroline": False},
        yaxis={"range": [y0, y1], "title": titles[1], "constrain": "domain", "zeroline": False,
               "scaleanchor": "x", "scaleratio": 1},
    )
    return fig


def show_image(image: np.ndarray, caption: str) -> None:
    st.image(to_uint8(enlarge(image, max(1, IMAGE_PX // image.shape[-1]))), caption=caption, output_format="PNG")


def point_image(ckpt: Checkpoint, mu: np.ndarray, data: ImageData | None, i: int) -> np.ndarray:
    """Code i's own image (H, W) in [0, 1]: from the data set, else decoded from its code."""
    return data.images[i, 0].numpy() if data is not None else decode_latents(ckpt.model, mu[i])[0]


def hover_payload(ckpt: Checkpoint, mu: np.ndarray, data: ImageData | None, index: int | None) -> dict:
    """What the hover component gets: where the map is, and the image of point `index` (if
    any) as a PNG data URL at its own size (the browser enlarges it, pixelated)."""
    token = f"{ckpt.path.stem}@{ckpt.path.stat().st_mtime_ns}/{'data' if data is not None else 'decoded'}"
    payload = {"role": "hover", "chart": CHART_SELECTOR, "token": token, "size": HOVER_PX, "index": None, "src": None}
    if index is not None and 0 <= index < len(mu):
        png = png_bytes(point_image(ckpt, mu, data, index))
        payload |= {"index": index, "src": "data:image/png;base64," + base64.b64encode(png).decode()}
    return payload


def _remember_hover() -> None:
    """The hover component asked for a point's image: note which, for the fragment's run."""
    hovered = st.session_state[HOVER_KEY].get("hover")
    st.session_state[HOVERED_KEY] = int(hovered) if isinstance(hovered, (int, float)) else None


@st.fragment
def hover_panel(ckpt: Checkpoint, mu: np.ndarray, data: ImageData | None) -> None:
    """The hover component in a fragment of its own: a hover reruns only this (~1 ms of
    work), never the map."""
    index = st.session_state.pop(HOVERED_KEY, None)
    map_events(key=HOVER_KEY, data=hover_payload(ckpt, mu, data, index), on_hover_change=_remember_hover, height=0)


def latent_bars(z: np.ndarray) -> str:
    """z as an inline SVG bar chart: a bar per dimension, its value printed at the bar's end
    (up to 16 dimensions) and in its tooltip.

    Plain SVG, not a plotly figure: it is redrawn on every click, and a new plotly figure
    kept the browser busy for ~50 ms before the decoded image could paint."""
    z = np.asarray(z, dtype=float).ravel()
    width, height, left, bottom, top = 400, 170, 30, 20, 14
    limit = max(3.0, float(np.ceil(np.abs(z).max()))) if len(z) else 3.0
    mid = top + (height - top - bottom) / 2
    scale = (height - top - bottom) / 2 / limit
    slot = (width - left) / max(len(z), 1)
    every = max(1, int(np.ceil(len(z) / 16)))  # dimension labels that fit
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="the latent point z" '
        'style="font: 12px sans-serif; max-height: 220px">',
        *(f'<text x="{left - 4}" y="{mid - v * scale + 4:.1f}" text-anchor="end" fill="#666">{v:g}</text>'
          for v in (limit, 0.0, -limit)),
        f'<line x1="{left}" x2="{width}" y1="{mid}" y2="{mid}" stroke="#999"/>',
    ]
    for i, v in enumerate(z):
        end = mid - v * scale
        y0, y1 = sorted((mid, end))
        colour = "#4c78a8" if v >= 0 else "#e45756"
        x, centre = left + i * slot, left + (i + 0.5) * slot
        parts.append(f'<rect x="{x + slot * 0.15:.1f}" y="{y0:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{max(y1 - y0, 0.5):.1f}" fill="{colour}"><title>z[{i}] = {v:.3f}</title></rect>')
        if len(z) <= 16:
            label_y = end - 3 if v >= 0 else end + 10
            parts.append(f'<text x="{centre:.1f}" y="{label_y:.1f}" text-anchor="middle" fill="#333" '
                         f'style="font-size: 9px">{v:.2f}</text>')
        if i % every == 0:
            name = f"z[{i}]" if len(z) <= 8 else str(i)
            parts.append(f'<text x="{centre:.1f}" y="{height - 5}" text-anchor="middle" fill="#444">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def read_click(projection: Projection) -> Click | None:
    """The spot to decode; a new map forgets the old spot."""
    if st.session_state.get(SHOWN_KEY) != id(projection):  # the cached object names the map
        st.session_state[SHOWN_KEY] = id(projection)
        st.session_state.pop(CLICK_KEY, None)
    return st.session_state.get(CLICK_KEY)


def _remember_click(embedding: np.ndarray) -> None:
    """The click component reports a click on the map: it is the spot to decode now."""
    clicked = click_at(embedding, st.session_state[CLICKS_KEY].get("click"))
    if clicked is not None:
        st.session_state[CLICK_KEY] = clicked


def map_panel(
    ckpt: Checkpoint, projection: Projection, mu: np.ndarray, labels: np.ndarray, data: ImageData | None,
    dims: tuple[int, int],
) -> None:
    """The map (drawn once per map) and, beside it, what a click on it decodes."""
    names = class_names(ckpt, data)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        fig = map_figure(projection, labels, names, axis_titles(projection, dims))
        # no double-click reset: plotly took every second click on the map for a double click
        # (even 450 ms apart) and redrew the whole map; the toolbar's reset button stays
        st.plotly_chart(fig, key=CHART_KEY, width="stretch", config=MAP_CONFIG)
    with right:
        decode_panel(ckpt, projection, mu, labels, data, names)


@st.fragment
def decode_panel(
    ckpt: Checkpoint, projection: Projection, mu: np.ndarray, labels: np.ndarray, data: ImageData | None,
    names: list[str],
) -> None:
    """What the last click on the map decodes; a click reruns only this fragment."""
    click = read_click(projection)
    map_events(key=CLICKS_KEY, data={"role": "click", "chart": CHART_SELECTOR, "marker": list(click.xy) if click else None},
               on_click_change=partial(_remember_click, projection.embedding), height=0)
    if click is None:
        st.info("Click anywhere on the map, on a point or on empty space, to decode that spot.")
        return
    x, y = click.xy
    z, image = decode_at(ckpt.model, projection, np.array(click.xy))
    exact = "exact" if projection.is_exact else "approximate"
    cols = st.columns(2)
    with cols[0]:
        show_image(image, f"decoded at ({x:.2f}, {y:.2f}), {exact}")
    if click.index is not None:
        i = click.index
        with cols[1]:
            who = f"#{i}, {label_name(int(labels[i]), names)}"
            show_image(point_image(ckpt, mu, data, i), f"{who}: its image" if data is not None else
                       f"{who}: decoded from its code (the data set is not on this machine)")
    st.caption("The latent point z decoded here, by dimension (hover a bar for its value):")
    st.markdown(latent_bars(z), unsafe_allow_html=True)  # st.html drops SVG
    if st.button("Send to Explore", key="latent_map_send", icon=":material/tune:"):
        set_latent_point(z, f"latent map ({METHOD_LABELS[projection.method]}) at ({x:.2f}, {y:.2f})")
        st.success("Sent. The Explore page starts from this point.")
        st.page_link("pages/explore.py", label="Open Explore", icon=":material/tune:")


def method_note(projection: Projection, dims: tuple[int, int], latent_dim: int) -> str:
    """How a map point goes back to a latent point, in words."""
    if isinstance(projection, LinearProjection) and projection.method == "pca":
        share = projection.explained_variance_ratio.sum()
        return (f"PCA plane of the codes ({share:.0%} of their variance). A click maps back **exactly** within "
                "this plane: every other principal component is set to zero, i.e. to the data mean along it.")
    if projection.method == "raw":
        if latent_dim == 2:
            return "The latent space itself: a click decodes **exactly** that point."
        return (f"Latent dimensions {dims[0]} and {dims[1]}. A click sets those two **exactly**; "
                "every other dimension stays at the data mean.")
    return (f"t-SNE has no inverse, so a click decodes an **approximate** point: the distance-weighted blend of "
            f"the codes of its {TSNE_K} nearest points on the map. Empty space between clusters has no code of its own.")


def main() -> None:
    st.title("Latent map")
    ckpt = model_or_notice()
    if ckpt is None:
        return
    try:
        mu, _, labels = model_codes(ckpt)
    except DataError as err:
        st.error(f"There is no map for this model: {err}.")
        return
    latent_dim = mu.shape[1]
    methods = list(METHOD_LABELS)
    if st.session_state.get(METHOD_KEY) not in methods:
        st.session_state[METHOD_KEY] = "raw" if latent_dim == 2 else "pca"
    controls = st.columns([2, 1, 1, 1])
    method = controls[0].segmented_control(
        "Map", methods, format_func=METHOD_LABELS.get, key=METHOD_KEY, required=True,
        help="PCA and latent axes map back exactly; t-SNE keeps neighbours together but maps back approximately.",
    )
    dims, perplexity, seed = (0, 1), 30.0, 0
    if method == "raw":
        options = list(range(latent_dim))
        for key, default in (("latent_map_dim_x", 0), ("latent_map_dim_y", 1)):
            if st.session_state.get(key) not in options:
                st.session_state[key] = default
        dims = (controls[1].selectbox("x axis: z[i]", options, key="latent_map_dim_x"),
                controls[2].selectbox("y axis: z[j]", options, key="latent_map_dim_y"))
        if dims[0] == dims[1]:
            st.warning("Choose two different dimensions for the axes.")
            return
    elif method == "tsne":
        perplexity = controls[1].slider("Perplexity", 5, 50, 30, step=5, key="latent_map_perplexity",
                                        help="About how many neighbours each point keeps close.")
        seed = controls[2].number_input("Seed", 0, 9999, 0, key="latent_map_seed")
    try:
        projection = model_projection(ckpt, method, dims, perplexity, seed)
    except ValueError as err:
        st.error(f"The map could not be made: {err}.")
        return
    data = model_dataset(ckpt)
    if data is not None and len(data) != len(mu):
        data = None  # a different copy of the data than the one the codes were made from
    st.caption(method_note(projection, dims, latent_dim) + f" {len(mu):,} codes (mu). Hover a point to see its image "
               + ("(from the data set)." if data is not None else
                  "(decoded from its code: the data set is not on this machine)."))
    map_panel(ckpt, projection, mu, labels, data, dims)
    hover_panel(ckpt, mu, data)


if __name__ == "__main__":  # run by Streamlit; importable (bench/map_speed.py) without side effects
    main()
