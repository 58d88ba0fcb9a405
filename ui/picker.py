"""The sidebar's model picker and model card, drawn by app.py before every page."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from vae_core import Checkpoint, CheckpointError
from vae_core.disentangle import Disentanglement
from vae_core.evaluation import card_lines
from vae_core.likelihoods import LEGACY_RECON

from .loaders import DEFAULT_MODEL, available_models, load_model
from .state import MODEL_KEY, SELECT_NEXT_KEY
from .url_state import MODEL, first_visit, show_in_url


def likelihood_name(recon: str) -> str:
    """The decoder's p(x|z) by name, also for sidecars written before the likelihoods had names."""
    return LEGACY_RECON.get(recon, recon)


def model_label(meta: dict[str, Any], path: str) -> str:
    """What tells two models apart: data, architecture, latent size, beta and likelihood
    (the stylesheet wraps it rather than cutting it off)."""
    m, beta = meta["model"], (meta.get("train") or {}).get("beta")
    return " · ".join([
        Path(path).stem, str(meta.get("dataset", "?")), str(m["arch"]), f"{m['latent_dim']}-d",
        f"β {beta:g}" if isinstance(beta, (int, float)) else "β ?", likelihood_name(str(m.get("recon", "?"))),
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
        default = next((p for p in paths if Path(p).stem == DEFAULT_MODEL), paths[0])
        st.session_state[MODEL_KEY] = default
    path = st.sidebar.selectbox(
        "Model", paths, key=MODEL_KEY, format_func=lambda p: model_label(models[p], p),
    )
    try:
        ckpt = load_model(path)
    except (CheckpointError, OSError) as err:
        st.sidebar.error(f"This model cannot be loaded: {err}")
        return None
    st.sidebar.caption(model_label(models[path], path))  # in full: the box's text field cannot wrap
    show_in_url(model=Path(path).stem)
    _model_card(ckpt)
    return ckpt


def _model_card(ckpt: Checkpoint) -> None:
    meta, cfg = ckpt.metadata, ckpt.config
    lines = [
        f"**Data set**: {meta.get('dataset', '?')}",
        f"**Architecture**: {cfg.arch}, hidden {cfg.hidden_dim}, image {cfg.image_shape[1]}×{cfg.image_shape[2]}"
        f"{' RGB' if cfg.image_shape[0] == 3 else ''}",
        f"**Latent dim**: {cfg.latent_dim} (z[0] … z[{cfg.latent_dim - 1}])",
        f"**Epochs**: {meta.get('epochs_trained', '?')}",
        f"**β** (weight of the KL term): {(meta.get('train') or {}).get('beta', '?')}",
        *card_lines(meta, cfg),
        f"**Trained on**: {meta.get('device', '?')}",
    ]
    with st.sidebar.expander("Model card", expanded=False):
        st.markdown("\n".join(f"- {line}" for line in lines))
        found = Disentanglement.from_metadata(meta)
        if found is not None:
            st.markdown(mig_text(found))


def mig_text(found: Disentanglement) -> str:
    """MIG with what it is and its error, for the model card and the Explore page."""
    return (
        f"**MIG** {found.mig:.3f} ± {found.mig_se:.3f} (Mutual Information Gap against the "
        f"{len(found.factor_names)} true factors, Chen et al. 2018: 0 = no factor has a dimension of its own, "
        f"1 = each has one; estimated from the encoder means of {found.n_images:,} images in 20 bins, "
        "± its bootstrap standard error)"
    )
