"""The Latent map page: PCA / t-SNE / latent-axes maps, click-to-decode, hand-off to Explore."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import pages.common as common
import vae_core.projection as projection_module
from vae_core.projection import Click

REPO = Path(__file__).resolve().parents[2]
PAGE = "pages/latent_map.py"


def open_page(model: str = "digits-mlp-2d", method: str | None = None) -> AppTest:
    weights = REPO / "checkpoints" / f"{model}.safetensors"
    if not weights.exists():
        pytest.skip(f"shipped checkpoint {model} not found")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.session_state["model_path"] = str(weights)
    if method is not None:
        at.session_state["latent_map_method"] = method
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, xy: tuple[float, float], index: int | None = None) -> AppTest:
    """What the page stores from the chart's selection event (AppTest cannot click a chart)."""
    at.session_state["latent_map_click"] = Click(xy, index)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the real fits behind the page's cache, starting from an empty cache."""
    common._projection_job.clear()
    calls: list[str] = []
    real = projection_module.fit_projection

    def counting(codes: np.ndarray, method: str, *args: object, **kwargs: object) -> projection_module.Projection:
        calls.append(method)
        return real(codes, method, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(projection_module, "fit_projection", counting)
    return calls


def charts(at: AppTest) -> list:
    return list(at.get("plotly_chart"))


def test_a_2d_model_opens_on_its_latent_axes_and_asks_for_a_click() -> None:
    at = open_page()
    assert at.title[0].value == "Latent map"
    assert at.session_state["latent_map_method"] == "raw"
    assert "latent space itself" in at.caption[0].value
    assert len(charts(at)) == 1 and not at.image
    assert "Click anywhere" in at.info[0].value


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_the_map_is_fitted_once_and_served_from_the_cache_on_reruns(method: str, fits: list[str]) -> None:
    at = open_page(method=method)
    assert fits == [method] and len(charts(at)) == 1
    assert ("exactly" if method == "pca" else "approximate") in at.caption[0].value
    at.run()
    click(at, (0.1, 0.2))
    assert fits == [method], "a rerun refitted the map instead of using the cache"


def test_a_click_decodes_that_spot_and_a_new_spot_gives_a_new_image() -> None:
    at = click(open_page(method="pca"), (0.0, 0.0))
    first = at.image[0].value
    assert at.image[0].captions == ["decoded at (0.00, 0.00), exact"]
    assert len(charts(at)) == 2  # the map and the latent vector
    click(at, (1.5, -1.0))
    assert at.image[0].value != first


def test_a_click_on_a_point_also_shows_its_image() -> None:
    at = click(open_page(), (0.0, 0.0), index=5)
    assert len(at.image) == 2 and at.image[1].captions[0].endswith("its image")


def test_send_to_explore_hands_over_the_decoded_point() -> None:
    at = click(open_page(), (0.25, -0.5))  # latent axes of a 2-D model: the click is z itself
    at.button(key="latent_map_send").click().run()
    assert not at.exception
    assert at.session_state["latent_z"] == pytest.approx([0.25, -0.5])
    assert "latent map" in at.session_state["latent_source"]
    assert at.success


def test_a_new_map_forgets_the_old_click() -> None:
    at = click(open_page(method="pca"), (0.0, 0.0))
    at.session_state["latent_map_method"] = "raw"
    at.run()
    assert not at.exception and not at.image


def test_raw_axes_of_an_8d_model_can_be_any_two_dims() -> None:
    at = open_page("digits-mlp-8d", method="raw")
    at.selectbox(key="latent_map_dim_x").set_value(5)
    at.selectbox(key="latent_map_dim_y").set_value(2).run()
    assert not at.exception
    click(at, (1.0, -1.0))
    assert "dimensions 5 and 2" in at.caption[0].value
    at.button(key="latent_map_send").click().run()
    z = np.array(at.session_state["latent_z"])
    assert z.shape == (8,) and z[5] == pytest.approx(1.0) and z[2] == pytest.approx(-1.0)


def test_the_same_dim_twice_is_refused_with_a_message() -> None:
    at = open_page("digits-mlp-8d", method="raw")
    at.selectbox(key="latent_map_dim_y").set_value(0).run()
    assert not at.exception and "two different" in at.warning[0].value


def test_mnist_without_its_data_uses_the_stored_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "model_dataset", lambda ckpt: None)
    at = click(open_page("mnist-conv-2d"), (0.0, 0.0), index=3)
    assert len(at.image) == 2
    assert "not on this machine" in at.caption[0].value
    assert "decoded from its code" in at.image[1].captions[0]
