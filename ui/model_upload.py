"""Adding a model from its file: an uploaded .safetensors (with its .json when it is an older,
two-file checkpoint) goes into the user folder after the same checks a local checkpoint gets
(`vae_core.convert.import_checkpoint`)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from vae_core import CheckpointError
from vae_core.convert import import_checkpoint

from .loaders import user_dir
from .plain import plain
from .state import select_model_next_run

FILES_KEY = "model_upload_files"
NAME_KEY = "model_upload_name"


def checkpoint_upload() -> None:
    """File picker for the checkpoint, a name, and a button that checks and adds it."""
    files = st.file_uploader(
        "A checkpoint's file", type=["safetensors", "json"], accept_multiple_files=True, key=FILES_KEY,
        help="NAME.safetensors, as saved by this app or `python -m vae_core.train` / `python -m vae_core.convert`; "
             "an older checkpoint also needs its NAME.json.",
    )
    by_suffix = {Path(f.name).suffix.lower(): f for f in files or []}
    if ".safetensors" not in by_suffix or len(by_suffix) != len(files or []):
        if files:
            st.warning("Choose one .safetensors file (and, for an older checkpoint, its .json).")
        return
    name = st.text_input("Name", value=Path(by_suffix[".safetensors"].name).stem, key=NAME_KEY)
    if st.button("Add model", key="model_upload_add", icon=":material/add:"):
        sidecar = by_suffix.get(".json")
        try:
            path = import_checkpoint(by_suffix[".safetensors"].getvalue(),
                                     None if sidecar is None else sidecar.getvalue(), name, user_dir())
        except (CheckpointError, ValueError) as err:
            st.error(f"Not added: {plain(err)}")
            return
        except OSError as err:
            st.error(f"Not added: the user folder cannot be written ({err.strerror or err}).")
            return
        select_model_next_run(path)
        st.toast(f"Added {plain(path.stem)}; it is now the model in the sidebar.")
        st.rerun()
