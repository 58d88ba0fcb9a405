"""A model that cannot be loaded leaves every page usable, with a notice instead of a crash."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from .helpers import REPO

PAGES = ["pages/latent_map.py", "pages/explore.py", "pages/reparameterization.py", "pages/encode.py"]


@pytest.mark.parametrize("page", PAGES)
def test_a_damaged_model_gives_a_notice_on_every_page(page: str) -> None:
    user_dir = Path(os.environ["VAE_EXPLORER_USER_DIR"])
    weights = user_dir / "damaged.safetensors"
    weights.write_bytes((REPO / "checkpoints" / "digits-mlp-2d.safetensors").read_bytes()[:100])
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["model_path"] = str(weights)
    at.run()
    assert any("cannot be used" in e.value and "damaged or truncated" in e.value for e in at.sidebar.error)
    at.switch_page(page)
    at.run()
    assert not at.exception
    assert any("Pick a model in the sidebar" in i.value for i in at.info)
