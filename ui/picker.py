"""The sidebar's model picker and model card, drawn by app.py before every page."""
from __future__ import annotations

import streamlit as st

from vae_core import Checkpoint, CheckpointEntry, CheckpointError
from vae_core.evaluation import card_lines

from .loaders import DEFAULT_MODEL, SHIPPED_DIR, available_models, drafts_dir, load_model, user_dir
from .plain import plain
from .state import MODEL_KEY, SELECT_NEXT_KEY


def model_label(entry: CheckpointEntry) -> str:
    """The picker's line for a checkpoint: name, data, architecture, latent size, and where it
    comes from, so a model saved in the app under a shipped model's name reads differently."""
    origin = {user_dir(): " (saved in the app)", drafts_dir(): " (draft)"}.get(entry.path.parent, "")
    if entry.meta is None:
        return f"{entry.path.stem}{origin} · unusable"
    m = entry.meta.model
    return f"{entry.path.stem}{origin} · {entry.meta.dataset} · {m.arch} · {m.latent_dim}-d"


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
            return _with_card(load_model(path))
        except (CheckpointError, OSError) as err:  # changed on disk since it was listed
            error = str(err)
    st.sidebar.error(f"This model cannot be used: {plain(error)}")
    return None


def _with_card(ckpt: Checkpoint) -> Checkpoint:
    """Draw the model card (every value from the file as plain text) and pass the checkpoint on."""
    meta, cfg = ckpt.metadata, ckpt.config
    lines = [
        f"**Data set**: {plain(meta.dataset)}",
        f"**Architecture**: {cfg.arch}, hidden {cfg.hidden_dim}, image {cfg.image_shape[1]}×{cfg.image_shape[2]}",
        f"**Latent dim**: {cfg.latent_dim} (z[0] … z[{cfg.latent_dim - 1}])",
        f"**Epochs**: {meta.epochs_trained}",
        *card_lines(meta),
        f"**Trained on**: {plain(meta.device)}",
    ]
    with st.sidebar.expander("Model card", expanded=False):
        st.markdown("\n".join(f"- {line}" for line in lines))
    return ckpt
