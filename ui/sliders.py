"""Explore's Sliders view and its current point: the pieces a slider move runs are plain
functions and one fragment, so bench/slider_latency.py can time exactly that work.

With the decoder in the browser (the default), the `in_page_decoder` component draws the
sliders, decodes and paints on every slider move, moves the point when the small map is
pressed or dragged, and tells the server the settled point (debounced): no server run while
a slider moves. On the server path (the user's switch, or a browser that cannot run it) the
slider panel is an `st.fragment`: a slider move reruns only the panel (decode one point, one
small PNG, and the map's marker position). Either way the small map beside it is drawn once,
outside the panel, and its marker is drawn over it in the browser, because a changed figure
is rebuilt there from scratch, which is slower than the whole rest of a move
(docs/design-decisions.md).
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core import VAE, Checkpoint
from vae_core.encoding import label_name
from vae_core.inference import decode_latents
from vae_core.latent_ops import sample_prior

from .browser_decoder import BrowserDecoder, in_browser_switch, map_inverse, page_decoder
from .components import chart_selector, click_report, in_page_decoder, map_events, marker_data, settled_z
from .gallery import data_gallery, data_images
from .images import crisp
from .small_map import SLIDER_LIMIT, Codes, SmallMap
from .style import stacking
from .state import EXPLORE, LatentPoint, arrived, handed_point
from .url_state import POINT, first_visit, format_vector, parse_vector, show_in_url

SLIDER_STEP = 0.05
TOP_DIMS = 8  # sliders / traversal rows shown for large latent dims unless "show all"
IMAGE_PX = 224  # the decoded image is enlarged (nearest neighbour) to about this size
Z_KEY = "explore_z"  # the whole current point (list of floats); sliders show some dims
Z_MODEL_KEY = "explore_z_model"  # the checkpoint explore_z belongs to
MAP_KEY = "explore_map"
DECODER_KEY = "explore_decoder"  # the in_page_decoder component (role "sliders")
MARKER_KEY = "explore_marker"  # the map_events component that draws the current point on the map


def decoded_png_array(model: VAE, z: np.ndarray) -> np.ndarray:
    """The decoded point as a crisp uint8 image of about IMAGE_PX pixels, for st.image."""
    return crisp(decode_latents(model, z)[0], IMAGE_PX)


# ---- the current point: one list in session_state, mirrored into the slider keys ----


def _slider_key(dim: int) -> str:
    return f"z_{dim}"


def set_point(z: np.ndarray) -> None:
    """Make z the current point and move every slider to it (call before the sliders exist)."""
    z = np.clip(np.asarray(z, dtype=np.float64), -SLIDER_LIMIT, SLIDER_LIMIT)
    st.session_state[Z_KEY] = [float(v) for v in z]
    for dim, value in enumerate(z):
        st.session_state[_slider_key(dim)] = float(value)


def current_point(ckpt: Checkpoint) -> np.ndarray:
    """The current point, reset to zero when the model changed."""
    d = ckpt.config.latent_dim
    if st.session_state.get(Z_MODEL_KEY) != str(ckpt.path) or len(st.session_state.get(Z_KEY, [])) != d:
        st.session_state[Z_MODEL_KEY] = str(ckpt.path)
        set_point(np.zeros(d))
    return np.array(st.session_state[Z_KEY])


def arrive(ckpt: Checkpoint) -> LatentPoint | None:
    """Move the sliders to a point just sent here ("Send to Explore"), or, on the first visit
    of a session, to the point the link names (?z=...). Returns the point sent, if any."""
    d = ckpt.config.latent_dim
    current_point(ckpt)  # the point belongs to this model from here on
    linked = parse_vector(first_visit("explore").get(POINT), d, SLIDER_LIMIT)
    sent = arrived(EXPLORE)
    if sent is not None and sent.latent_dim == d:
        set_point(sent.z)
        return sent
    if linked is not None:
        set_point(linked)
    return None


def _map_clicked(small_map: SmallMap) -> None:
    """A click on the small map: its spot, taken back to latent space, is the new point."""
    report = click_report(st.session_state[MARKER_KEY])
    if report is not None:
        set_point(small_map.projection.to_latent(np.array(report[:2])))


def _sample(d: int) -> None:
    set_point(sample_prior(d, np.random.default_rng()))


def data_point_picker(codes: Codes, key: str, first: int = 0) -> int | None:
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


def _start_buttons(ckpt: Checkpoint, codes: Codes | None) -> None:
    """Where to start: a data point, a point handed over by another page, zero, a prior sample."""
    d = ckpt.config.latent_dim
    with st.container(horizontal=True, vertical_alignment="bottom"):
        if codes is not None and (index := data_point_picker(codes, "start")) is not None:
            st.button(
                "Start from this image", key="start_data", on_click=set_point, args=(codes.mu[index],),
                help=f"Data point #{index} (label {label_name(codes.labels[index], codes.class_names)}): its mean code mu",
            )
        handed = handed_point()
        if handed is not None and handed.latent_dim == d:
            st.button(f"Start from {handed.source}", key="start_handoff", on_click=set_point, args=(handed.z,))
        st.button("Zero", key="start_zero", on_click=set_point, args=(np.zeros(d),), help="The prior's mean")
        st.button("Sample from the prior", key="sample_prior", on_click=_sample, args=(d,))


def slider_controls(ckpt: Checkpoint, codes: Codes | None) -> np.ndarray:
    """The start buttons and, for large latents, the "show all" toggle; returns the dims
    that get a slider. Outside the fragment: a click here may rerun the whole page."""
    _start_buttons(ckpt, codes)
    if codes is not None:
        with st.expander("Start from an image chosen by looking"):
            data_gallery("start_gallery", data_images(ckpt, codes.mu), codes.labels, codes.class_names, None,
                         on_pick=lambda i: set_point(codes.mu[i]))
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
    in_browser_switch()
    decoder = page_decoder(ckpt, DECODER_KEY)
    panel, right = stacking("explore-sliders").columns([3.3, 1.7])
    if small_map is not None:
        with right:
            st.plotly_chart(small_map.marker_figure(), key=MAP_KEY, config={"displayModeBar": False})
            pca = small_map.projection.method == "pca"
            st.caption("The current point among the data's codes" + (" (PCA plane)" if pca else "")
                       + (". Press or drag on the map to move the point." if isinstance(decoder, BrowserDecoder)
                          else ". Click the map to move the sliders there."))
    with panel:
        if isinstance(decoder, BrowserDecoder):
            in_page_slider_panel(ckpt, dims, small_map, decoder)
        else:
            slider_panel(ckpt, dims, small_map)
            st.caption(f"Decoded on the server: {decoder}.")


def _settled(latent_dim: int) -> None:
    """The page's sliders came to rest: their point is the current point (hand-offs, the URL,
    the other views read it)."""
    z = settled_z(st.session_state[DECODER_KEY], latent_dim)
    if z is not None:
        set_point(np.array(z))


@st.fragment
def in_page_slider_panel(ckpt: Checkpoint, dims: np.ndarray, small_map: SmallMap | None, decoder: BrowserDecoder) -> None:
    """The sliders, the image and the small map's point, all in the page. Reruns (alone) when
    the sliders settle, and switches the page to the server path if the browser says it cannot
    decode."""
    if st.session_state.get(DECODER_KEY) is not None and page_decoder(ckpt, DECODER_KEY) != decoder:
        st.rerun()  # the browser cannot: draw the server's panel instead
    z = current_point(ckpt)
    show_in_url(**{POINT: format_vector(z)})
    data = {
        "role": "sliders", "decoder": decoder.data(), "size": IMAGE_PX, "z": [float(v) for v in z],
        "dims": [[int(dim), f"z[{dim}]"] for dim in dims], "limit": SLIDER_LIMIT, "step": SLIDER_STEP,
    }
    if small_map is not None:
        data["map"] = {"chart": chart_selector(MAP_KEY), "inverse": map_inverse(small_map.projection)}
    in_page_decoder(key=DECODER_KEY, data=data, on_z_change=lambda: _settled(ckpt.config.latent_dim),
                    on_path_change=lambda: None)


@st.fragment
def slider_panel(ckpt: Checkpoint, dims: np.ndarray, small_map: SmallMap | None) -> None:
    """Reruns alone on every slider move: slider values -> decode -> image, the marker's place,
    then the sliders.

    The image is drawn before the sliders (each slider's value is already in session_state
    when the run starts), so it is the first thing the browser gets: the browser handles
    the run's messages one at a time, and each slider costs it a few ms to redraw."""
    z = current_point(ckpt)
    for dim in dims:
        key = _slider_key(dim)
        if key not in st.session_state:  # a slider hidden for a while lost its state
            st.session_state[key] = float(z[dim])
        z[dim] = st.session_state[key]
    st.session_state[Z_KEY] = [float(v) for v in z]
    show_in_url(**{POINT: format_vector(z)})
    left, middle = st.columns([2, 1.3])
    middle.image(decoded_png_array(ckpt.model, z), caption="decode(z)", width=IMAGE_PX, output_format="PNG")
    if small_map is not None:
        x, y = (float(v) for v in small_map.xy(z)[0])
        x0, x1, y0, y1 = small_map.bounds()
        with middle:
            map_events(key=MARKER_KEY, data=marker_data(MAP_KEY, (x, y), role="click"), height=0,
                       on_click_change=lambda: _map_clicked(small_map))
            if not (x0 <= x <= x1 and y0 <= y <= y1):
                st.caption("The current point lies off the small map, beyond the data's codes.")
    with left:
        for dim in dims:
            st.slider(f"z[{dim}]", -SLIDER_LIMIT, SLIDER_LIMIT, step=SLIDER_STEP, key=_slider_key(dim), format="%.2f")
