"""The sidebar's model picker and model card, drawn by app.py before every page."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from vae_core import Checkpoint, CheckpointEntry, CheckpointError
from vae_core.disentangle import Disentanglement
from vae_core.evaluation import card_lines
from vae_core.likelihoods import LEGACY_RECON

from .loaders import DEFAULT_MODEL, SHIPPED_DIR, available_models, drafts_dir, load_model, user_dir
from .plain import plain
from .state import MODEL_KEY, SELECT_NEXT_KEY
from .url_state import MODEL, first_visit, show_in_url


def likelihood_name(recon: str) -> str:
    """The decoder's p(x|z) by name, also for sidecars written before the likelihoods had names."""
    return LEGACY_RECON.get(recon, recon)


def model_label(entry: CheckpointEntry) -> str:
    """What tells two models apart: name and where it comes from (a model saved in the app under
    a shipped model's name reads differently), data, architecture, latent size, beta and
    likelihood (the stylesheet wraps it rather than cutting it off); or that it is unusable."""
    origin = {user_dir(): " (saved in the app)", drafts_dir(): " (draft)"}.get(entry.path.parent, "")
    if entry.meta is None:
        return f"{entry.path.stem}{origin} · unusable"
    m, beta = entry.meta.model, entry.meta.beta
    return " · ".join([
        f"{entry.path.stem}{origin}", entry.meta.dataset, m.arch, f"{m.latent_dim}-d",
        "β ?" if beta is None else f"β {beta:g}", likelihood_name(m.recon),
    ])


def model_picker() -> Checkpoint | None:
    """Sidebar: choose a model and show its card. Returns None (with a message) if none loads."""
    models = available_models()
    if not models:
        st.sidebar.error("No models found. Train one on the Train page.")
        return None
    paths = list(models)
    pending = st.session_state.pop(SELECT_NEXT_KEY, None)
    if pending in models:
        st.session_state[MODEL_KEY] = pending
    linked = first_visit("picker").get(MODEL)  # a reload or a shared link names its model
    by_name = {Path(p).stem: p for p in paths}
    if linked in by_name:
        st.session_state[MODEL_KEY] = by_name[linked]
    if st.session_state.get(MODEL_KEY) not in models:
        usable = [p for p in paths if models[p].usable] or paths
        shipped_default = str(SHIPPED_DIR / f"{DEFAULT_MODEL}.safetensors")
        st.session_state[MODEL_KEY] = shipped_default if shipped_default in usable else usable[0]
    path = st.sidebar.selectbox(
        "Model", paths, key=MODEL_KEY, format_func=lambda p: model_label(models[p]),
    )
    error = models[path].error
    if error is None:
        try:
            ckpt = load_model(path)
        except (CheckpointError, OSError) as err:  # changed on disk since it was listed
            error = str(err)
        else:
            st.sidebar.caption(plain(model_label(models[path])))  # in full: the box's text field cannot wrap
            show_in_url(model=Path(path).stem)
            return _with_card(ckpt)
    st.sidebar.error(f"This model cannot be used: {plain(error)}")
    return None


def _with_card(ckpt: Checkpoint) -> Checkpoint:
    """Draw the model card (every value from the file as plain text) and pass the checkpoint on."""
    meta, cfg = ckpt.metadata, ckpt.config
    lines = [
        f"**Data set**: {plain(meta.dataset)}",
        f"**Architecture**: {cfg.arch}, hidden {cfg.hidden_dim}, image {cfg.image_shape[1]}×{cfg.image_shape[2]}"
        f"{' RGB' if cfg.image_shape[0] == 3 else ''}",
        f"**Latent dim**: {cfg.latent_dim} (z[0] … z[{cfg.latent_dim - 1}])",
        f"**Epochs**: {meta.epochs_trained}",
        f"**β** (weight of the KL term): {'?' if meta.beta is None else f'{meta.beta:g}'}",
        *card_lines(meta),
        f"**Trained on**: {plain(meta.device)}",
    ]
    with st.sidebar.expander("Model card", expanded=False):
        st.markdown("\n".join(f"- {line}" for line in lines))
        if meta.disentanglement is not None:
            st.markdown(mig_text(meta.disentanglement))
    return ckpt


def mig_text(found: Disentanglement) -> str:
    """MIG with what it is and its error, for the model card and the Explore page."""
    return (
        f"**MIG** {found.mig:.3f} ± {found.mig_se:.3f} (Mutual Information Gap against the "
        f"{len(found.factor_names)} true factors, Chen et al. 2018: 0 = no factor has a dimension of its own, "
        f"1 = each has one; estimated from the encoder means of {found.n_images:,} images in 20 bins, "
        "± its bootstrap standard error)"
    )
