"""Reparameterization: the VAE maths, live on the chosen model.

eps ~ N(0, I) becomes z = mu + sigma * eps (animated in 1-D and 2-D), the KL term in closed
form against its Monte Carlo estimate, the evidence (ELBO, IWAE log p(x)) and, for 2-D models,
the true posterior p(z|x) on a grid against the encoder's q(z|x). This script picks the input and
shows its encoder numbers; the panels are ui.reparam_panels, the numbers vae_core's.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import streamlit as st

from ui.gallery import data_gallery
from ui.images import crisp
from ui.loaders import class_names, model_codes, model_dataset
from ui.plain import plain
from ui.reparam_figures import kl_latex, latex_number
from ui.reparam_panels import panel_1d, panel_2d, panel_bayes, panel_kl
from ui.state import REPARAMETERIZATION, arrived, handed_point, model_or_notice
from ui.url_state import INDEX, first_visit, parse_index, show_in_url
from vae_core import Checkpoint, DataError
from vae_core.encoding import label_name
from vae_core.inference import decode_latents, encode_images, to_display
from vae_core.reparam import format_number, kl_terms, sigma_from_log_var

TABS = ("1-D animation", "2-D cloud", "KL term", "Bayes: p(z|x) vs q(z|x)")  # labels double as tab state
SOURCE_KEY, HANDED = "rp_input_source", "Handed-over point"
INDEX_KEY = "rp_index"


# ---------------------------------------------------------------- the input: mu, log_var, image
def _pick_input(ckpt: Checkpoint) -> tuple[np.ndarray, np.ndarray, np.ndarray, str] | None:
    """(mu (D,), log_var (D,), image (H, W) for the Bayes panel, caption) of the chosen input."""
    model, d = ckpt.model, ckpt.config.latent_dim
    handed = handed_point()
    if (sent := arrived(REPARAMETERIZATION)) is not None and sent.latent_dim == d:
        st.session_state[SOURCE_KEY] = HANDED  # sent here: open on that point
    if handed is not None and handed.latent_dim == d:
        source = st.radio("Input", ["Data point", HANDED], key=SOURCE_KEY, horizontal=True)
    else:
        source = "Data point"
        st.caption("Send a point from the Latent map, Explore or Encode page to study it here." if handed is None else
                   f"The latent point from another page has {handed.latent_dim} dimensions; this model has {d}.")

    if source == HANDED:
        show_in_url(**{INDEX: None})
        mu, log_var, image = handed.q(model)
        spread = "its encoder spread" if handed.log_var is not None else "the encoder's spread for its decoded image"
        shown = "the image it was encoded from" if handed.mu is not None and handed.image is not None else (
            "its decoding x̂ = decode(μ)")
        return mu, log_var, image, f"Point from {plain(handed.source)}, with {spread}. Image: {shown}."

    data = model_dataset(ckpt)
    if data is not None:
        index = _data_point(ckpt, len(data), lambda i: data.floats(i)[0].numpy(), data.labels.numpy(), data.class_names)
        mu, log_var = encode_images(model, data.floats(slice(index, index + 1)))
        label = label_name(int(data.labels[index]), data.class_names)
        caption = f"{plain(data.name)} #{index} (label {plain(label)})"
        return mu[0], log_var[0], to_display(data.floats(slice(index, index + 1)))[0], caption
    try:
        codes = model_codes(ckpt)
    except DataError:
        st.warning("This model's data set is not on this machine and it stores no latent codes: "
                   "hand over a point from the Encode or Latent map page instead.")
        return None
    index = _data_point(ckpt, len(codes), lambda i: decode_latents(model, codes.mu[i]), codes.labels,
                        class_names(ckpt, codes.labels))
    mu, log_var = codes.mu[index], codes.log_var[index]
    x_hat = decode_latents(model, mu)[0]
    label = label_name(int(codes.labels[index]), class_names(ckpt, codes.labels))
    caption = f"Stored code #{index} (label {plain(label)}); the data set is not here, so the image is decode(μ)."
    return mu, log_var, x_hat, caption


def _data_point(
    ckpt: Checkpoint, n: int, images_of: Callable[[np.ndarray], np.ndarray], labels: np.ndarray, names: Sequence[str],
) -> int:
    """The data point studied: by number, or by looking through the gallery; kept in the URL (?i=)."""
    linked = parse_index(first_visit("reparameterization").get(INDEX), n)
    if linked is not None:
        st.session_state[INDEX_KEY] = linked
    if not 0 <= st.session_state.get(INDEX_KEY, 0) < n:  # another model's index
        st.session_state[INDEX_KEY] = 0
    index = int(st.number_input("Data point", 0, n - 1, key=INDEX_KEY))
    with st.expander("Choose a data point by looking"):
        data_gallery("rp_gallery", images_of, labels, names, index,
                     on_pick=lambda i: st.session_state.update({INDEX_KEY: i}))
    show_in_url(**{INDEX: str(index)})
    return index


def _show_encoder(mu: np.ndarray, log_var: np.ndarray, image: np.ndarray, caption: str) -> None:
    sigma = sigma_from_log_var(log_var)
    kl = kl_terms(mu, sigma)
    left, right = st.columns([1, 3])
    left.image(crisp(image, 112), width=112)
    left.caption(caption)
    with right:
        st.dataframe(
            {"dim": [f"z[{i}]" for i in range(len(mu))], "μ": mu, "log σ²": log_var, "σ": sigma, "KL (nats)": kl},
            hide_index=True, height=min(35 * (len(mu) + 1) + 3, 250),
        )
        dim = st.selectbox("Formula for dimension", range(len(mu)), format_func="z[{}]".format, key="rp_dim")
        st.latex(
            rf"\sigma_{{{dim}}} = e^{{\log\sigma^2/2}} = e^{{{latex_number(log_var[dim])}/2}} = {format_number(sigma[dim])}"
        )
        st.latex(kl_latex(float(mu[dim]), float(sigma[dim]), float(kl[dim]), sub=f"_{{{dim}}}"))
        st.latex(rf"\mathrm{{KL}}(q(z|x)\,\|\,p(z)) = \sum_i \mathrm{{KL}}_i = {kl.sum():.5f}\ \text{{nats}}")


# ---------------------------------------------------------------- page
st.title("Reparameterization")
st.markdown(
    "The encoder gives μ and log σ² for each latent dimension; a sample is **z = μ + σ·ε** "
    "with σ = exp(log σ² / 2) "
    "and ε ~ N(0, I). The randomness sits in ε, so gradients reach μ and σ."
)
ckpt = model_or_notice()
if ckpt is None:
    st.stop()
picked = _pick_input(ckpt)
if picked is None:
    st.stop()
mu, log_var, image, caption = picked
sigma = sigma_from_log_var(log_var)
_show_encoder(mu, log_var, image, caption)

# Lazy tabs: only the open one runs, so a new input costs no decoder grid until the Bayes tab is opened.
tab_1d, tab_2d, tab_kl, tab_bayes = st.tabs(list(TABS), key="rp_tab", on_change="rerun")
if tab_1d.open:
    with tab_1d:
        panel_1d(ckpt, mu, sigma)
if tab_2d.open:
    with tab_2d:
        panel_2d(ckpt, mu, sigma)
if tab_kl.open:
    with tab_kl:
        panel_kl(mu, sigma)
if tab_bayes.open:
    with tab_bayes:
        panel_bayes(ckpt, image, mu, log_var)
