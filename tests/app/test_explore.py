"""The Explore page: live sliders, start points, interpolation, traversal, manifold."""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from .helpers import open_app_page, plotly_values

from ui.state import HANDOFF_KEY, LatentPoint
from vae_core import ModelConfig, build_model, load_checkpoint, save_checkpoint
from vae_core.latent_ops import rank_dims

REPO = Path(__file__).resolve().parents[2]
PAGE = "pages/explore.py"


open_page = functools.partial(open_app_page, PAGE)


def open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state["explore_tab"] = tab
    at.run()
    assert not at.exception
    return at


def sliderplotly_values(at: AppTest) -> dict[str, float]:
    return {s.key: s.value for s in at.slider if s.key.startswith("z_")}


@pytest.fixture(scope="module")
def codes_2d() -> tuple[np.ndarray, np.ndarray]:
    ckpt = load_checkpoint(REPO / "checkpoints" / "digits-mlp-2d")
    return ckpt.codes.mu, ckpt.codes.labels


def test_page_renders_on_the_default_model() -> None:
    at = open_page()
    assert at.title[0].value == "Explore"
    assert list(sliderplotly_values(at)) == ["z_0", "z_1"]
    assert all(s.min == -4.0 and s.max == 4.0 and s.step == 0.05 for s in at.slider)
    assert len(at.image) == 1 and len(at.get("plotly_chart")) == 1
    assert not at.warning


def test_moving_a_slider_changes_the_decoded_image() -> None:
    at = open_page()
    before = at.image[0].value
    at.slider(key="z_0").set_value(1.5).run()
    assert not at.exception
    assert at.image[0].value != before
    assert at.session_state["explore_z"] == [1.5, 0.0]


def test_sample_from_the_prior_moves_the_sliders() -> None:
    at = open_page()
    assert sliderplotly_values(at) == {"z_0": 0.0, "z_1": 0.0}
    before = at.image[0].value
    at.button(key="sample_prior").click().run()
    assert not at.exception
    assert all(v != 0.0 for v in sliderplotly_values(at).values())
    assert at.image[0].value != before


def test_start_from_a_data_point_picked_by_label(codes_2d) -> None:
    mu, labels = codes_2d
    at = open_page()
    at.selectbox(key="start_label").set_value("3").run()
    at.number_input(key="start_index").set_value(5).run()
    at.button(key="start_data").click().run()
    assert not at.exception
    expected = mu[np.flatnonzero(labels == 3)[5]]
    np.testing.assert_allclose(list(sliderplotly_values(at).values()), expected, rtol=1e-6)


def test_start_from_a_point_handed_over_by_another_page() -> None:
    at = open_page()
    at.session_state[HANDOFF_KEY] = LatentPoint(np.array([0.5, -1.25]), "the latent map")
    at.run()
    button = at.button(key="start_handoff")
    assert button.label == "Start from the latent map"
    button.click().run()
    assert sliderplotly_values(at) == {"z_0": 0.5, "z_1": -1.25}
    at.button(key="start_zero").click().run()
    assert sliderplotly_values(at) == {"z_0": 0.0, "z_1": 0.0}


def test_a_handed_over_point_of_another_dimension_is_not_offered() -> None:
    at = open_page()
    at.session_state[HANDOFF_KEY] = LatentPoint(np.full(8, 0.5), "the latent map")
    at.run()
    assert "start_handoff" not in [b.key for b in at.button]


def test_large_latent_shows_the_most_informative_dims_and_keeps_hidden_ones() -> None:
    at = open_page("mnist-conv-16d")
    codes = load_checkpoint(REPO / "checkpoints" / "mnist-conv-16d").codes
    top = [f"z_{k}" for k in rank_dims(codes.mu, codes.log_var)[:8]]
    assert list(sliderplotly_values(at)) == top
    at.button(key="sample_prior").click().run()
    point = at.session_state["explore_z"]
    at.toggle(key="show_all_dims").set_value(True).run()
    assert not at.exception
    shown = sliderplotly_values(at)
    assert len(shown) == 16
    assert [shown[f"z_{k}"] for k in range(16)] == pytest.approx(point)  # hidden dims kept the sample
    at.toggle(key="show_all_dims").set_value(False).run()
    at.toggle(key="show_all_dims").set_value(True).run()  # sliders hidden for a run come back as they were
    assert [sliderplotly_values(at)[f"z_{k}"] for k in range(16)] == pytest.approx(point)


@pytest.mark.parametrize("model", ["digits-mlp-2d", "mnist-conv-16d"])
def test_interpolation_draws_both_strips_and_their_paths(model: str) -> None:
    at = open_tab(open_page(model), "Interpolation")
    assert [img.captions[0] for img in at.image] == ["linear", "spherical (slerp)"]
    assert len(at.get("plotly_chart")) == 1
    shell = " ".join(caption.value for caption in at.caption)  # what slerp buys, computed for this D
    assert ("29% radius percentile" in shell and "no thin shell" in shell) if model.endswith("2d") else (
        "4% radius percentile" in shell and "keeps to the shell" in shell)
    at.toggle(key="interp_to_current").set_value(True).run()
    at.slider(key="interp_steps").set_value(5).run()
    assert not at.exception and len(at.image) == 2


def test_interpolation_ends_are_picked_in_galleries_and_its_path_is_drawn_on_the_map(codes_2d) -> None:
    mu, labels = codes_2d
    at = open_tab(open_page(), "Interpolation")
    galleries = {c.key: c for c in at.get("bidi_component") if c.key and c.key.endswith("_gallery")}
    assert set(galleries) == {"interp_from_gallery", "interp_to_gallery"}
    at.session_state["interp_to_index"] = 7  # what a press on a thumbnail of the "to" gallery stores
    at.slider(key="interp_steps").set_value(6).run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    paths = {t["name"]: t for t in spec["data"] if t.get("name") in ("linear", "spherical (slerp)")}
    linear = np.column_stack([plotly_values(paths["linear"]["x"]), plotly_values(paths["linear"]["y"])])
    # a 2-D model's map is its latent space: the straight path from code #0 to code #7, in 6 steps
    np.testing.assert_allclose(linear, np.linspace(mu[0], mu[7], 6), rtol=1e-5, atol=1e-6)
    assert len(plotly_values(paths["spherical (slerp)"]["x"])) == 6
    assert any("Data point #7" in c.value for c in at.caption)
    assert at.image[0].captions[0] == "linear"  # the filmstrip under the map


@pytest.mark.parametrize(("model", "rows"), [("digits-mlp-2d", 2), ("mnist-conv-16d", 8)])
def test_traversal_draws_a_row_per_top_dim(model: str, rows: int) -> None:
    at = open_tab(open_page(model), "Traversal")
    assert len(at.image) == rows
    at.radio(key="trav_range").set_value("prior: ± 3 (sd 1)").run()
    assert not at.exception
    assert at.image[0].captions[0].endswith("-3.00 → 3.00")


def test_manifold_grid_on_2d_and_an_explanation_otherwise() -> None:
    at = open_tab(open_page(), "Manifold")
    assert len(at.image) == 1
    at.slider(key="grid_n").set_value(6).run()
    assert not at.exception and "6 × 6" in at.image[0].captions[0]
    at = open_tab(open_page("mnist-conv-16d"), "Manifold")
    assert not at.image and "2-D latent space" in at.info[0].value


def test_a_model_without_codes_or_data_still_has_sliders() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=3, hidden_dim=16))
    meta = {"dataset": "idx", "train": {"dataset": "idx", "data_dir": "/nonexistent"}}
    weights = save_checkpoint(Path(os.environ["VAE_EXPLORER_USER_DIR"]) / "no-codes", model, meta)
    at = open_page(weights=weights)
    assert "no latent codes" in at.warning[0].value
    assert list(sliderplotly_values(at)) == ["z_0", "z_1", "z_2"] and not at.get("plotly_chart")
    before = at.image[0].value
    at.slider(key="z_2").set_value(-2.0).run()
    assert not at.exception and at.image[0].value != before
    assert "Interpolation starts from images" in open_tab(at, "Interpolation").info[0].value
    assert len(open_tab(at, "Traversal").image) == 3


def decoder_data(at: AppTest) -> dict:
    """The data the page sent its in-page decoder (AppTest runs no JS)."""
    (decoder,) = [c for c in at.get("bidi_component") if c.key == "explore_decoder"]
    return json.loads(decoder.proto.json)


def test_with_the_decoder_in_the_browser_the_page_draws_the_sliders_there() -> None:
    at = open_page(in_browser=True)
    assert not sliderplotly_values(at)  # no server sliders: the component draws them
    data = decoder_data(at)
    assert data["role"] == "sliders" and data["z"] == [0.0, 0.0] and data["dims"] == [[0, "z[0]"], [1, "z[1]"]]
    assert data["decoder"]["model"].startswith("app/static/decoders/") and data["decoder"]["shape"] == [1, 8, 8]
    assert data["map"]["inverse"]["kind"] == "linear"
    at.button(key="sample_prior").click().run()
    assert decoder_data(at)["z"] == at.session_state["explore_z"] != [0.0, 0.0]
