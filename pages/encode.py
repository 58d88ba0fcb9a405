"""Encode: upload images or draw one, see how they are brought to the model's input, what q(z|x) the encoder
gives them, the reconstruction, samples, the nearest data and the place on the latent map.

Uploads are only held in memory (this session's state): nothing is written to disk. The
numbers come from `vae_core.encoding`; this page wires widgets and draws.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
import torch

from ui.figures import codes_map_figure, placement_traces, posterior_bars
from ui.draw import draw_panel
from ui.encode_panels import STEP_PX, novelty_note, send_buttons, show_neighbours, show_steps
from ui.images import crisp, enlarge_to
from ui.loaders import class_names, model_codes, model_id, model_projection
from ui.plain import plain
from ui.state import model_or_notice, session_memo
from vae_core import Checkpoint, DataError
from vae_core.encoding import (
    MapPlacement, Neighbours, UploadBatch, encode_uploads, find_neighbours, for_display, label_name, place_on_map,
    posterior_samples, summarise,
)
from vae_core.images import MAX_UPLOAD_BYTES
from vae_core.inference import decode_latents, to_uint8
from vae_core.latent_ops import tile_images
from vae_core.likelihoods import describe_likelihood
from vae_core.uploads import UploadBudget

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]
INVERT = {"auto": None, "on": True, "off": False}  # the "Invert" control -> preprocess(invert=...)
INVERT_LABELS = {"auto": "Auto (detect the background)", "on": "Invert (dark ink on light paper)",
                 "off": "Don't invert (light ink on dark)"}
K_NEIGHBOURS = 8
N_SAMPLES = 8  # decoded samples shown as images
MAP_SAMPLES = 32  # samples placed on the map (the first N_SAMPLES are the decoded ones)
MAP_LABELS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
MAP_HEIGHT = 520
PICK_KEY = "encode_pick"
SOURCE_KEY = "encode_source"
SOURCES = {"upload": "Upload images", "draw": "Draw"}
SEED_KEY = "encode_seed"
MAP_KEY = "encode_map"
UPLOAD_BUDGET = UploadBudget()
MAP_NOTES = {
    "raw": "The latent space itself; the ellipse is q(z|x)'s 2σ contour.",
    "pca": "PCA is linear, so q(z|x) projected into the plane is exactly Gaussian with covariance "
           "W diag(σ²) Wᵀ (W: the two principal directions); the ellipse is its 2σ contour.",
    "tsne": "t-SNE is not linear, so no ellipse would be q(z|x)'s: mu and the samples are placed into the "
            "fixed map one by one (openTSNE's transform) and the cloud shows the spread. Placement is approximate.",
    "umap": "UMAP is not linear either: mu and the samples are placed into the fixed map by UMAP's own transform "
            "and the cloud shows the spread. Placement is approximate.",
}


def _encoded(ckpt: Checkpoint, uploads: Sequence[UploadedFile], invert_mode: str) -> UploadBatch:
    """Preprocess and encode the uploads once; widget reruns reuse the result (this session only)."""
    def compute() -> UploadBatch:
        with st.spinner("Encoding…"):
            batch = encode_uploads(ckpt.model, [(f.name, f.getvalue()) for f in uploads], INVERT[invert_mode])
        return for_display(batch, 2 * STEP_PX)  # sharp on dense screens; a photo kept small per session

    return session_memo("batch", (*model_id(ckpt), invert_mode, tuple(f.file_id for f in uploads)), compute)


def _next_seed() -> None:
    st.session_state[SEED_KEY] = st.session_state.get(SEED_KEY, 0) + 1


@st.fragment
def _detail(ckpt: Checkpoint, batch: UploadBatch, neighbours: Neighbours | None, names: tuple[str, ...]) -> None:
    """One encoded file in depth; choosing another file or new samples reruns only this part."""
    encoding = batch.encoding
    rows = range(len(batch.encoded))
    if st.session_state.get(PICK_KEY) not in rows:
        st.session_state[PICK_KEY] = 0
    row = st.selectbox("Look at", rows, key=PICK_KEY, format_func=lambda r: batch.items[batch.encoded[r]].name)
    item = batch.items[batch.encoded[row]]
    mu, log_var, sigma = encoding.mu[row], encoding.log_var[row], encoding.sigma[row]

    st.subheader("Preprocessing")
    show_steps(item.steps, ckpt.config.image_shape[-1])

    st.subheader("q(z|x)")
    left, right = st.columns([3, 2])
    left.plotly_chart(posterior_bars(mu, sigma), key="encode_posterior")
    right.dataframe(
        {"dim": [f"z[{d}]" for d in range(len(mu))], "mu": mu, "sigma": sigma, "KL (nats)": encoding.kl_dims[row]},
        hide_index=True,
        column_config={k: st.column_config.NumberColumn(format="%.3f") for k in ("mu", "sigma", "KL (nats)")},
    )
    a, b, c = st.columns(3)
    a.metric("KL(q ‖ p)", f"{encoding.kl[row]:.2f} nats")
    b.metric("Reconstruction error", f"{encoding.recon_error[row]:.2f} nats",
             help=f"−log p(x | z = μ), exact, under p(x|z) = {describe_likelihood(ckpt.config)}")
    if neighbours is not None:
        c.metric("Nearest data say", label_name(neighbours.majority[row], names),
                 f"{neighbours.agreement[row]:.0%} of {neighbours.index.shape[1]} agree", delta_color="off",
                 delta_arrow="off")
    novelty_note(c, ckpt, float(encoding.recon_error[row]))
    send_buttons(mu, log_var, item.steps.final, f"upload {item.name}")

    st.subheader("Reconstruction and samples from q(z|x)")
    seed = st.session_state.setdefault(SEED_KEY, 0)
    z = posterior_samples(mu, log_var, MAP_SAMPLES, torch.Generator().manual_seed(seed))
    samples = decode_latents(ckpt.model, z[:N_SAMPLES])
    col_in, col_rec, col_samples = st.columns([1, 1, 4])
    col_in.image(crisp(item.steps.final, STEP_PX), caption="input", width=STEP_PX)
    col_rec.image(crisp(encoding.recon[row], STEP_PX), caption="decode(mu)", width=STEP_PX)
    with col_samples:
        st.image(to_uint8(tile_images(enlarge_to(samples, STEP_PX // 2), len(samples))),
                 caption=f"decode(z), z = mu + σ·ε, {N_SAMPLES} draws of ε")
        st.button("Draw new samples", key="resample", icon=":material/casino:", on_click=_next_seed)

    if neighbours is None:
        st.info("Nearest neighbours and the latent map need the codes of the model's data set, "
                "which are not on this machine.")
        return
    show_neighbours(ckpt, neighbours, row, names)
    _show_on_map(ckpt, mu, log_var, z, item.name, names)


def _show_on_map(
    ckpt: Checkpoint, mu: np.ndarray, log_var: np.ndarray, samples: np.ndarray, name: str, names: tuple[str, ...],
) -> None:
    """The upload among the data on the latent map's cached projection (fitted once, shared with that page)."""
    st.subheader("On the latent map")
    method = "raw"  # a 2-D latent space is its own map
    if ckpt.config.latent_dim > 2:
        if st.session_state.get(MAP_KEY) not in MAP_LABELS:
            st.session_state[MAP_KEY] = "pca"
        method = st.segmented_control(
            "Map", list(MAP_LABELS), key=MAP_KEY, format_func=MAP_LABELS.get, required=True,
            help="The same maps as on the Latent map page. t-SNE and UMAP are fitted once per model (about a "
                 "minute for 10,000 codes) and then reused.",
        )
    try:
        projection = model_projection(ckpt, method)
    except ValueError as err:
        st.error(f"The map could not be made: {err}.")
        return

    def place() -> MapPlacement:
        with st.spinner("Placing the samples on the map…"):
            return place_on_map(projection, mu, log_var, samples)

    placed = session_memo("placement", (*model_id(ckpt), method, mu.tobytes(), samples.tobytes()), place)
    labels = model_codes(ckpt).labels
    fig = codes_map_figure(projection, labels, names, MAP_HEIGHT, hover=False)
    ink = "white" if st.context.theme.type == "dark" else "black"  # q(z|x) drawn in the page's text colour
    st.plotly_chart(fig.add_traces(placement_traces(placed, name, ink)), key="encode_map_chart",
                    config={"displaylogo": False})
    st.caption(f"{MAP_NOTES[projection.method]} {len(samples)} samples z = mu + σ·ε (the first {N_SAMPLES} "
               "are the ones decoded above).")


st.title("Encode")
ckpt = model_or_notice()
if ckpt is None:
    st.stop()
channels, _, size = ckpt.config.image_shape
source = st.segmented_control("Input", list(SOURCES), key=SOURCE_KEY, format_func=SOURCES.get, required=True,
                              default="upload", label_visibility="collapsed")
if source == "draw":
    st.caption(f"Draw a digit: like an upload, it is made to look like the training images (light strokes on black, "
               f"cropped, fitted and centred in {size}×{size}), then encoded." if channels == 1 else
               f"This model sees colour pictures, not digits: the drawing is taken as it is (dark ink on white, "
               f"resized to {size}×{size}), as an uploaded picture would be.")
    draw_panel(ckpt)
    st.stop()
st.caption(
    f"Upload images of digits (one or many). Each is made to look like the training images — light strokes on "
    f"black, cropped, fitted and centred in {size}×{size} — then encoded. " if channels == 1 else
    f"Upload photos or pictures (one or many). This model sees colour: each image's centred square is resized to "
    f"{size}×{size}, colours kept, then encoded. "
)
st.caption("Files stay in memory for this session only; nothing is written to disk.")
uploads = st.file_uploader(
    "Images", type=IMAGE_TYPES, accept_multiple_files=True, key="upload",
    help=f"PNG, JPEG, GIF, BMP, WebP or TIFF, up to {MAX_UPLOAD_BYTES // 2**20} MB each; "
         f"{UPLOAD_BUDGET.max_files} files and {UPLOAD_BUDGET.max_bytes // 2**20} MB in all.",
)
invert_mode = "auto" if channels > 1 else st.radio(
    "Ink colour", list(INVERT), key="invert_mode", horizontal=True, format_func=INVERT_LABELS.get,
    help="The models saw light strokes on a black background. Auto inverts images whose border is light.",
)
if not uploads:
    st.info("Upload an image to see where the encoder puts it.")
    st.stop()
sizes = [f.size for f in uploads]
if (refusal := UPLOAD_BUDGET.refusal(sizes)) is not None:  # the rest are freed by ui.sessions' janitor
    st.warning(refusal)
    uploads = uploads[: UPLOAD_BUDGET.accepted(sizes)]

batch = _encoded(ckpt, uploads, invert_mode)
for item in batch.items:
    if item.error is not None:
        st.warning(f"{plain(item.name)}: {item.error}", icon=":material/broken_image:")
neighbours, names = None, ()
try:
    codes = model_codes(ckpt)
    mu_data, labels = codes.mu, codes.labels
except DataError:
    pass  # no codes here: the upload is still encoded, without neighbours or a map
else:
    if batch.encoding is not None:
        neighbours = find_neighbours(batch.encoding.mu, mu_data, labels, K_NEIGHBOURS)
        names = class_names(ckpt, labels)

st.dataframe(
    summarise(batch, neighbours, names), hide_index=True,
    column_config={
        "agreement": st.column_config.ProgressColumn(
            "agreement", help=f"Share of the {K_NEIGHBOURS} nearest data codes with that label", format="percent",
            min_value=0.0, max_value=1.0),
        "KL (nats)": st.column_config.NumberColumn(format="%.2f"),
        "recon error (nats)": st.column_config.NumberColumn(
            format="%.2f", help=f"−log p(x | z = μ) under p(x|z) = {describe_likelihood(ckpt.config)}"),
    },
)
if batch.encoding is None:
    st.error("None of the files could be encoded; the table says why for each.")
    st.stop()
_detail(ckpt, batch, neighbours, names)
