"""Adding a model from its two files: an uploaded .safetensors + .json pair goes into the user
folder after the same checks a local checkpoint gets (`vae_core.convert.import_pair`)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from vae_core import CheckpointError
from vae_core.convert import import_pair

from .loaders import user_dir
from .state import select_model_next_run

FILES_KEY = "model_upload_files"
NAME_KEY = "model_upload_name"


def checkpoint_upload() -> None:
    """File picker for the pair, a name, and a button that checks and adds it."""
    files = st.file_uploader(
        "A checkpoint's two files", type=["safetensors", "json"], accept_multiple_files=True, key=FILES_KEY,
        help="NAME.safetensors (weights) and NAME.json (its description), as saved by this app or "
             "`python -m vae_core.train` / `python -m vae_core.convert`.",
    )
    by_suffix = {Path(f.name).suffix.lower(): f for f in files or []}
    if set(by_suffix) != {".safetensors", ".json"} or len(files or []) != 2:
        if files:
            st.warning("Choose exactly two files: one .safetensors and one .json.")
        return
    name = st.text_input("Name", value=Path(by_suffix[".safetensors"].name).stem, key=NAME_KEY)
    if st.button("Add model", key="model_upload_add", icon=":material/add:"):
        try:
            path = import_pair(by_suffix[".safetensors"].getvalue(), by_suffix[".json"].getvalue(), name, user_dir())
        except (CheckpointError, ValueError) as err:
            st.error(f"Not added: {err}")
            return
        except OSError as err:
            st.error(f"Not added: the user folder cannot be written ({err.strerror or err}).")
            return
        select_model_next_run(path)
        st.toast(f"Added {path.stem}; it is now the model in the sidebar.")
        st.rerun()
