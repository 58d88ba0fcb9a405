"""Opening a page in AppTest the way a user reaches it: through app.py, with a model picked."""
from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ui.browser_decoder import IN_BROWSER_KEY

REPO = Path(__file__).resolve().parents[2]


def open_app_page(
    page: str, model: str = "digits-mlp-2d", weights: Path | None = None, in_browser: bool = False,
) -> AppTest:
    """Run app.py with a shipped (or given) model picked, then switch to `page`.

    The model is chosen through session state before the first run: after `switch_page`
    AppTest runs the page alone, without app.py's picker. AppTest has no browser to decode
    in, so pages take their server path (the reference) unless `in_browser`.
    """
    weights = weights or REPO / "checkpoints" / f"{model}.safetensors"
    if not weights.exists():
        pytest.skip(f"checkpoint {weights.name} not found")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["model_path"] = str(weights)
    at.session_state[IN_BROWSER_KEY] = in_browser
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception
    return at


def plotly_values(field: list | dict) -> np.ndarray:
    """Plotly sends NumPy arrays as base64 typed arrays ({"dtype", "bdata"}), lists as lists."""
    if isinstance(field, dict):
        return np.frombuffer(base64.b64decode(field["bdata"]), dtype=field["dtype"])
    return np.asarray(field, dtype=np.float64)
