"""The sidebar's model picker and model card, drawn by app.py before every page."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from vae_core import Checkpoint, CheckpointError
from vae_core.evaluation import card_lines

from .loaders import DEFAULT_MODEL, available_models, load_model
from .state import MODEL_KEY, SELECT_NEXT_KEY


def model_label(meta: dict[str, Any], path: str) -> str:
    m = meta["model"]
    return f"{Path(path).stem} · {meta.get('dataset', '?')} · {m['arch']} · {m['latent_dim']}-d"


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
    _model_card(ckpt)
    return ckpt


def _model_card(ckpt: Checkpoint) -> None:
    meta, cfg = ckpt.metadata, ckpt.config
    lines = [
        f"**Data set**: {meta.get('dataset', '?')}",
        f"**Architecture**: {cfg.arch}, hidden {cfg.hidden_dim}, image {cfg.image_shape[1]}×{cfg.image_shape[2]}",
        f"**Latent dim**: {cfg.latent_dim} (z[0] … z[{cfg.latent_dim - 1}])",
        f"**Epochs**: {meta.get('epochs_trained', '?')}",
        *card_lines(meta, cfg),
        f"**Trained on**: {meta.get('device', '?')}",
    ]
    with st.sidebar.expander("Model card", expanded=False):
        st.markdown("\n".join(f"- {line}" for line in lines))
