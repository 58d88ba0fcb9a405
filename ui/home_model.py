"""The home page's model panel: the current model in words, samples from its prior decoded
by it, and a way to add a model. Apart from pages/home.py so that the page's text can be
drawn before torch has loaded on a freshly started server (ui.warmup)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core.inference import decode_latents, to_uint8
from vae_core.latent_ops import tile_images

from .images import enlarge_to
from .model_upload import checkpoint_upload
from .plain import plain
from .state import current_model

N_SAMPLES = 8
SAMPLE_PX = 56  # per decoded image, enlarged without blur
ARCH_NAMES = {"mlp": "fully connected (MLP)", "conv": "convolutional"}


def model_panel() -> None:
    """The current model and N_SAMPLES codes from the prior decoded by it (the same codes on
    every run), then the upload of another model."""
    ckpt = current_model()
    if ckpt is None:
        st.warning("No model is loaded: pick one in the sidebar or train one.")
    else:
        cfg = ckpt.config
        st.markdown(
            f"**{plain(ckpt.path.stem)}**: a {ARCH_NAMES.get(cfg.arch, cfg.arch)} VAE trained on "
            f"*{plain(ckpt.metadata.dataset)}* ({cfg.image_shape[1]}×{cfg.image_shape[2]} images) with a "
            f"{cfg.latent_dim}-dimensional latent space. Change it in the sidebar."
        )
        z = np.random.default_rng(0).standard_normal((N_SAMPLES, cfg.latent_dim))  # fixed: same pictures each run
        images = enlarge_to(decode_latents(ckpt.model, z), SAMPLE_PX)
        st.image(to_uint8(tile_images(images, ncols=N_SAMPLES // 2)))
        st.caption(f"{N_SAMPLES} codes drawn from the prior N(0, I), decoded by this model.")

    with st.expander("Add a model from its files"):
        checkpoint_upload()
