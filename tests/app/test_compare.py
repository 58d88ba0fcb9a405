"""Compare page: two shipped models side by side on the same digits."""
from __future__ import annotations

import numpy as np

from vae_core import load_checkpoint, load_dataset
from vae_core.inference import encode_images
from vae_core.units import unit_activity

from .helpers import REPO, open_app_page


def test_two_digit_models_side_by_side_with_their_active_units() -> None:
    at = open_app_page("pages/compare.py", model="digits-mlp-2d")
    other = str(REPO / "checkpoints" / "digits-mlp-8d.safetensors")
    at.selectbox(key="compare_other").set_value(other).run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["digits-mlp-2d", "digits-mlp-8d"]
    # the bar charts' titles count active units as the library does on the same images
    data = load_dataset("digits")
    rows = np.linspace(0, len(data) - 1, min(1000, len(data))).round().astype(np.int64)
    titles = [chart.proto.spec for chart in at.get("plotly_chart")]
    for name in ("digits-mlp-2d", "digits-mlp-8d"):
        mu, log_var = encode_images(load_checkpoint(REPO / "checkpoints" / f"{name}.safetensors").model, data.floats(rows))
        units = unit_activity(mu, log_var)
        assert any(f"{units.n_active} of {mu.shape[1]} units active" in spec for spec in titles), name


def test_only_models_of_the_same_image_size_are_offered() -> None:
    at = open_app_page("pages/compare.py", model="digits-mlp-2d")
    assert all("digits" in option for option in at.selectbox(key="compare_other").options)


def test_two_colour_models_side_by_side() -> None:
    at = open_app_page("pages/compare.py", model="shapes-conv-10d-beta1")
    assert not at.exception
    assert [s.value for s in at.subheader][0] == "shapes-conv-10d-beta1" and len(at.subheader) == 2
