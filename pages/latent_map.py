"""Latent map: the codes (mu) of the model's data set on a 2-D map (PCA, t-SNE or two
latent axes), coloured by label. Hovering a point shows its image; a click anywhere, on a
point or on empty space, decodes that spot.

The map is drawn once per map and never again on a hover or a click: at 100k points,
re-sending and redrawing it was slow. It is light (WebGL markers; float32/int32 arrays that
plotly sends as base64; no images; sizes and times in bench/large_map.py and docs/design-decisions.md). The `map_events` component
(ui.components) listens to the chart's own plotly events, mounted twice, each in a fragment
of its own: hover asks for the hovered point's image and floats it by the cursor; click
reports the spot (from the pointer: plotly reports clicks on points only, and late), its
fragment decodes it beside the map, and the script marks the spot with an x over the plot.
A code within a few pixels of the spot is the point clicked; else the spot itself is decoded.
The projection comes from the cache (memory, then disk) and is never refitted on a rerun.

"Decode under the pointer" (on by default) replaces the hover preview: the `in_page_decoder`
component turns the pointer's map position into z in the page (the plane exactly for PCA and
latent axes, t-SNE by the server's neighbour blend) and decodes it there at every pointer
move, with no server run while the pointer moves. A click still pins the point as above.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from ui.browser_decoder import BrowserDecoder, in_browser_switch, map_inverse, page_decoder
from ui.components import chart_selector, click_report, in_page_decoder, map_events, marker_data
from ui.exports import image_download, map_downloads
from ui.figures import codes_map_figure, latent_bars
from ui.images import crisp
from ui.loaders import class_names, model_codes, model_dataset, model_projection
from ui.map_hover import hover_panel, point_image
from ui.map_tools import drag_mode, find_panel, holes_panel, neighbours_gallery, selection_panel
from ui.replay import training_replay
from ui.state import EXPLORE, REPARAMETERIZATION, model_or_notice, send_to
from ui.style import stacking
from ui.url_state import MAP, SPOT, first_visit, format_vector, parse_vector, show_in_url
from vae_core import Checkpoint, DataError, ImageData
from vae_core.encoding import label_name
from vae_core.projection import NEIGHBOUR_MAPS, Click, LinearProjection, Projection, click_at, decode_at

CHART_KEY = "latent_map_chart"
CLICK_KEY = "latent_map_click"  # Click: the spot decoded beside the map
CLICKS_KEY = "latent_map_clicks"  # the click component (role "click")
SHOWN_KEY = "latent_map_shown"  # id of the map the click belongs to; a new map forgets the click
METHOD_KEY = "latent_map_method"
METHODS_KEY = "latent_map_methods"  # dict: model path -> the method chosen for it
METHOD_MODEL_KEY = "latent_map_method_model"  # the model METHOD_KEY was set for
LINKED_SPOT_KEY = "latent_map_linked_spot"  # str "x,y": the spot a link names, decoded on the first map
LINKED_HIT = 1e-9  # a linked spot is decoded where it is, not snapped to a code
METHOD_LABELS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP", "raw": "Latent axes"}
IMAGE_PX = 168
POINTER_PX = 112  # the image under the pointer
POINTER_KEY = "latent_map_pointer"  # the in_page_decoder component (role "pointer")
MAP_HEIGHT = 620
CONTROL_PX = 150  # each setting beside the method picker; the row wraps where they do not fit
TSNE_K = 10
# no double-click reset: plotly took every second click on the map for a double click
# and redrew the whole map (docs/design-decisions.md); the toolbar's reset button stays
# and no tips: plotly's "Double-click to zoom back out" after a zoom would name what is off
MAP_CONFIG = {"displaylogo": False, "doubleClick": False, "showTips": False}


def read_click(projection: Projection) -> Click | None:
    """The spot to decode; a new map forgets the old spot. A spot the link names (?at=x,y)
    is decoded as if clicked, on the first map of the session."""
    if st.session_state.get(SHOWN_KEY) != id(projection):  # the cached object names the map
        st.session_state[SHOWN_KEY] = id(projection)
        st.session_state.pop(CLICK_KEY, None)
    linked = parse_vector(st.session_state.pop(LINKED_SPOT_KEY, None), 2)
    if linked is not None:
        st.session_state[CLICK_KEY] = click_at(projection.embedding, *linked, LINKED_HIT, LINKED_HIT)
    return st.session_state.get(CLICK_KEY)


def _remember_click(embedding: np.ndarray) -> None:
    """The click component reports a click on the map: it is the spot to decode now."""
    report = click_report(st.session_state[CLICKS_KEY])
    if report is not None:
        st.session_state[CLICK_KEY] = click_at(embedding, *report)


@st.fragment
def decode_panel(
    ckpt: Checkpoint, projection: Projection, mu: np.ndarray, labels: np.ndarray, data: ImageData | None,
    names: tuple[str, ...],
) -> None:
    """What the last click on the map decodes; a click reruns only this fragment."""
    click = read_click(projection)
    map_events(key=CLICKS_KEY, data=marker_data(CHART_KEY, click.xy if click else None, role="click"),
               on_click_change=partial(_remember_click, projection.embedding), height=0)
    if click is None:
        st.info("Click anywhere on the map, on a point or on empty space, to decode that spot.")
        return
    x, y = click.xy
    z, image = decode_at(ckpt.model, projection, np.array(click.xy))
    exact = "exact" if projection.is_exact else "approximate"
    cols = st.columns(2)
    cols[0].image(crisp(image, IMAGE_PX), caption=f"decoded at ({x:.2f}, {y:.2f}), {exact}", output_format="PNG")
    with cols[0]:
        image_download("Decoded image (PNG)", image, f"{ckpt.path.stem}-decoded-{x:.2f}_{y:.2f}.png",
                       key="latent_map_decoded_png")
    if click.index is not None:
        i = click.index
        who = f"#{i}, {label_name(int(labels[i]), names)}"
        cols[1].image(crisp(point_image(ckpt, mu, data, i), IMAGE_PX), output_format="PNG",
                      caption=f"{who}: its image" if data is not None else
                      f"{who}: decoded from its code (the data set is not on this machine)")
    neighbours_gallery(mu, labels, names, z, partial(point_image, ckpt, mu, data), click.index)
    st.caption("The latent point z decoded here, by dimension (hover a bar for its value):")
    st.markdown(latent_bars(z), unsafe_allow_html=True)  # st.html drops SVG
    show_in_url(**{SPOT: format_vector(click.xy)})
    source = f"latent map ({METHOD_LABELS[projection.method]}) at ({x:.2f}, {y:.2f})"
    explore, reparam = st.columns(2)
    if explore.button("Send to Explore", key="latent_map_send", icon=":material/tune:", width="stretch",
                      help="Open Explore with its sliders at this point."):
        send_to(EXPLORE, z, source, image=image)
    if reparam.button("Send to Reparameterization", key="latent_map_send_reparam", icon=":material/casino:",
                      width="stretch", help="Study this point's q(z|x) on the Reparameterization page."):
        send_to(REPARAMETERIZATION, z, source, image=image)


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
    name = METHOD_LABELS[projection.method]
    return (f"{name} has no inverse, so a click decodes an **approximate** point: the distance-weighted blend of "
            f"the codes of its {TSNE_K} nearest points on the map. Empty space between clusters has no code of its own.")


def default_method(latent_dim: int) -> str:
    """A 2-D latent space is its own exact map; larger ones start on their PCA plane."""
    return "raw" if latent_dim == 2 else "pca"


def map_settings(ckpt: Checkpoint, latent_dim: int) -> tuple[str, tuple[int, int], float, int] | None:
    """The map's method and settings from the controls; None (with a warning) when they do not fit.

    Each model keeps its own method: another model opens on the one chosen for it before, else
    on its default, so a choice made for one model (a slow t-SNE, a pair of axes) never carries
    over to the next."""
    methods, model = list(METHOD_LABELS), str(ckpt.path)
    chosen = st.session_state.setdefault(METHODS_KEY, {})  # model path -> its method
    previous = st.session_state.get(METHOD_MODEL_KEY)
    if previous != model:
        st.session_state[METHOD_MODEL_KEY] = model
        if previous is not None or st.session_state.get(METHOD_KEY) not in methods:
            st.session_state[METHOD_KEY] = chosen.get(model, default_method(latent_dim))
            for key in ("latent_map_dim_x", "latent_map_dim_y"):
                st.session_state.pop(key, None)
    linked = first_visit("latent_map")
    if linked.get(MAP) in methods:
        st.session_state[METHOD_KEY] = linked[MAP]
    if SPOT in linked:
        st.session_state[LINKED_SPOT_KEY] = linked[SPOT]
    # one row that wraps: fixed columns cut the method picker at 800 px ("Laten…")
    controls = st.container(horizontal=True, key="latent_map_controls")
    method = controls.segmented_control(
        "Map", methods, format_func=METHOD_LABELS.get, key=METHOD_KEY, required=True, wrap=True,
        help="PCA and latent axes map back exactly; t-SNE and UMAP keep neighbours together but map back approximately.",
    )
    chosen[model] = method
    show_in_url(**{MAP: method})
    dims, perplexity, seed = (0, 1), 30.0, 0
    if method == "raw":
        options = list(range(latent_dim))
        for key, default in (("latent_map_dim_x", 0), ("latent_map_dim_y", 1)):
            if st.session_state.get(key) not in options:
                st.session_state[key] = default
        dims = (controls.selectbox("x axis: z[i]", options, key="latent_map_dim_x", width=CONTROL_PX),
                controls.selectbox("y axis: z[j]", options, key="latent_map_dim_y", width=CONTROL_PX))
        if dims[0] == dims[1]:
            st.warning("Choose two different dimensions for the axes.")
            return None
    elif method in NEIGHBOUR_MAPS:
        if method == "tsne":
            perplexity = controls.slider("Perplexity", 5, 50, 30, step=5, key="latent_map_perplexity", width=CONTROL_PX,
                                         help="About how many neighbours each point keeps close.")
        seed = controls.number_input("Seed", 0, 9999, 0, key="latent_map_seed", width=CONTROL_PX)
    return method, dims, perplexity, seed


st.title("Latent map")
ckpt = model_or_notice()
if ckpt is None:
    st.stop()
try:
    codes = model_codes(ckpt)
    mu, log_var, labels = codes.mu, codes.log_var, codes.labels
except DataError as err:
    st.error(f"There is no map for this model: {err}.")
    st.stop()
settings = map_settings(ckpt, mu.shape[1])
if settings is None:
    st.stop()
method, dims, perplexity, seed = settings
note = st.empty()
left, right = stacking("latent-map").columns([3, 2], gap="medium")
with left:  # a fit's progress bar takes the old map's place: no click lands on a map about to go
    try:
        projection = model_projection(ckpt, method, dims, perplexity, seed)
    except ValueError as err:
        st.error(f"The map could not be made: {err}.")
        st.stop()
data = model_dataset(ckpt)
if data is not None and len(data) != len(mu):
    data = None  # a different copy of the data than the one the codes were made from
note.caption(method_note(projection, dims, mu.shape[1]) + f" {len(mu):,} codes (mu). The image under the pointer "
             "follows it over the map (with the decoder in your browser; else hover a point to see its image "
             + ("from the data set)." if data is not None else
                "decoded from its code: the data set is not on this machine)."))
names = class_names(ckpt, labels)
with left:
    figure = codes_map_figure(projection, labels, names, MAP_HEIGHT, hover=True).update_layout(dragmode=drag_mode())
    st.plotly_chart(figure, key=CHART_KEY, width="stretch", config=MAP_CONFIG)
    selection_panel(ckpt, projection, mu, partial(point_image, ckpt, mu, data), CHART_KEY)
    map_downloads(ckpt.path.stem, projection, mu, log_var, labels, names, key="latent_map_export")
    in_browser_switch()
    decoder = page_decoder(ckpt, POINTER_KEY)
    if isinstance(decoder, BrowserDecoder):
        in_page_decoder(key=POINTER_KEY, on_path_change=lambda: None, data={
            "role": "pointer", "decoder": decoder.data(), "size": POINTER_PX, "chart": chart_selector(CHART_KEY),
            "inverse": map_inverse(projection),
        })
    else:
        st.caption(f"Decoded on the server: {decoder}. Hover a point for its image; click to decode.")
with right:
    decode_panel(ckpt, projection, mu, labels, data, names)
if not isinstance(decoder, BrowserDecoder):
    hover_panel(ckpt, mu, data, CHART_KEY)
with st.expander("Find codes by label and index"):
    find_panel(ckpt, mu, labels, names, partial(point_image, ckpt, mu, data))
with st.expander("Holes: where the prior N(0, I) has mass but the codes do not"):
    holes_panel(ckpt, projection, mu, log_var, labels, names)
training_replay(ckpt, names)
