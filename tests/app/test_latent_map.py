"""The Latent map page: PCA / t-SNE / latent-axes maps, click-to-decode, hover images, hand-off to
Explore; maps cached on disk; light figures at 100k points."""
from __future__ import annotations

import base64
import io
import re
import json
from pathlib import Path

import numpy as np
import plotly.io
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import ui.loaders as loaders
from ui.browser_decoder import IN_BROWSER_KEY
from ui.figures import WEBGL_MIN_POINTS, codes_map_figure, latent_bars
from ui.state import CHECKPOINT_KEY, HANDOFF_KEY
import vae_core.map_cache as map_cache_module
import vae_core.projection as projection_module
from vae_core.projection import Click, LinearProjection

REPO = Path(__file__).resolve().parents[2]
PAGE = "pages/latent_map.py"


def open_page(model: str = "digits-mlp-2d", method: str | None = None, in_browser: bool = False) -> AppTest:
    """The page on the server path (AppTest has no browser to decode in) unless `in_browser`."""
    weights = REPO / "checkpoints" / f"{model}.safetensors"
    if not weights.exists():
        pytest.skip(f"shipped checkpoint {model} not found")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.session_state["model_path"] = str(weights)
    at.session_state[IN_BROWSER_KEY] = in_browser
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
    loaders._projection_job.clear()
    calls: list[str] = []
    real = projection_module.fit_projection

    def counting(codes: np.ndarray, method: str, *args: object, **kwargs: object) -> projection_module.Projection:
        calls.append(method)
        return real(codes, method, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(map_cache_module, "fit_projection", counting)
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


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
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
    assert len(charts(at)) == 1  # the map; z is drawn as a light SVG, not a second plotly chart
    (bars,) = [m.value for m in at.markdown if m.value.startswith("<svg")]
    assert bars.count("<rect") == 2 and "<title>z[1] = " in bars  # a bar per latent dimension
    click(at, (1.5, -1.0))
    assert at.image[0].value != first


def test_a_click_on_a_point_also_shows_its_image() -> None:
    at = click(open_page(), (0.0, 0.0), index=5)
    assert len(at.image) == 2 + 8 and at.image[1].captions[0].endswith("its image")  # and its 8 nearest codes


def test_send_to_explore_hands_over_the_decoded_point() -> None:
    at = click(open_page(), (0.25, -0.5))  # latent axes of a 2-D model: the click is z itself
    at.button(key="latent_map_send").click().run()
    assert not at.exception
    point = at.session_state[HANDOFF_KEY]
    assert point.z == pytest.approx([0.25, -0.5]) and "latent map" in point.source
    assert point.image is not None and point.mu is None  # a decoded spot: no encoder q of its own
    assert at.title[0].value == "Explore"  # opened, with its sliders at the point
    assert [at.session_state["z_0"], at.session_state["z_1"]] == pytest.approx([0.25, -0.5])


def test_each_model_keeps_its_own_map_method() -> None:
    """A choice made for one model does not carry over: the next opens on its own default."""
    at = open_page("digits-mlp-2d")
    assert at.session_state["latent_map_method"] == "raw"  # a 2-D latent space is its own map
    at.session_state["latent_map_method"] = "tsne"
    at.run()
    at.session_state[CHECKPOINT_KEY] = loaders.load_model(str(REPO / "checkpoints" / "digits-mlp-8d.safetensors"))
    at.run()  # (AppTest runs the page alone after switch_page: this is what the sidebar's picker hands it)
    assert not at.exception and at.session_state["latent_map_method"] == "pca"
    at.session_state[CHECKPOINT_KEY] = loaders.load_model(str(REPO / "checkpoints" / "digits-mlp-2d.safetensors"))
    at.run()
    assert at.session_state["latent_map_method"] == "tsne"  # its own choice, kept


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
    z = at.session_state[HANDOFF_KEY].z
    assert z.shape == (8,) and z[5] == pytest.approx(1.0) and z[2] == pytest.approx(-1.0)


def test_the_same_dim_twice_is_refused_with_a_message() -> None:
    at = open_page("digits-mlp-8d", method="raw")
    at.selectbox(key="latent_map_dim_y").set_value(0).run()
    assert not at.exception and "two different" in at.warning[0].value


def test_mnist_without_its_data_uses_the_stored_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loaders, "model_dataset", lambda ckpt: None)
    at = click(open_page("mnist-conv-2d"), (0.0, 0.0), index=3)
    assert len(at.image) == 2 + 8  # the decoded spot, the point, its 8 nearest codes
    assert "not on this machine" in at.caption[0].value
    assert "decoded from its code" in at.image[1].captions[0]


def test_a_restarted_server_reads_the_map_from_disk_instead_of_refitting(fits: list[str]) -> None:
    open_page(method="pca")
    loaders._projection_job.clear()  # what a restart loses: the in-memory cache
    at = open_page(method="pca")
    assert fits == ["pca"] and len(charts(at)) == 1


def synthetic_map(n: int, seed: int = 0) -> tuple[LinearProjection, np.ndarray]:
    rng = np.random.default_rng(seed)
    embedding = rng.normal(size=(n, 2)) * 5
    projection = LinearProjection("pca", embedding, np.zeros(4), np.eye(4)[:2], np.array([0.4, 0.3]))
    return projection, rng.integers(0, 10, size=n)


@pytest.mark.parametrize(("n", "kind"), [(WEBGL_MIN_POINTS - 1, "scatter"),
                                         (WEBGL_MIN_POINTS, "scattergl")])
def test_many_points_are_drawn_with_webgl_few_with_svg(n: int, kind: str) -> None:
    projection, labels = synthetic_map(n)
    fig = codes_map_figure(projection, labels, [], 600, hover=True)
    data_traces = [t for t in fig.data if t.customdata is not None]
    assert len(data_traces) == 10 and {t.type for t in data_traces} == {kind}
    assert sum(len(t.x) for t in data_traces) == n
    assert len(fig.data) == 10 and fig.layout.clickmode == "none"  # clicks are read by map_events.js


def test_a_100k_point_map_sends_under_10_mb_with_no_images() -> None:
    """The figure's JSON exactly as st.plotly_chart sends it."""
    projection, labels = synthetic_map(100_000)
    fig = codes_map_figure(projection, labels, [str(i) for i in range(10)], 600, hover=True)
    spec = plotly.io.to_json(fig, validate=False)
    assert len(spec) < 10e6, f"{len(spec) / 1e6:.1f} MB"
    assert len(spec) < 25 * 100_000  # typed arrays (base64), not lists of numbers
    assert "data:image" not in spec


def component_data(at: AppTest, key: str) -> dict:
    """The data the page sent to one of its map event components (AppTest runs no JS)."""
    (component,) = [c for c in at.get("bidi_component") if c.key == key]
    return json.loads(component.proto.json)


def hover_data(at: AppTest) -> dict:
    return component_data(at, "latent_map_hover")


def test_a_click_never_redraws_the_map_and_its_spot_is_marked_over_it() -> None:
    at = open_page(method="pca")
    (chart,) = charts(at)
    assert component_data(at, "latent_map_clicks")["marker"] is None
    click(at, (0.5, -0.25))
    assert charts(at)[0].proto.spec == chart.proto.spec  # the same figure: nothing to re-send or redraw
    config = json.loads(chart.proto.config)
    assert config["doubleClick"] is False  # nor a zoom reset on a quick second click
    assert config["showTips"] is False  # so no "Double-click to zoom back out" hint either
    assert component_data(at, "latent_map_clicks")["marker"] == [0.5, -0.25]


def test_hovering_a_point_sends_only_that_points_image() -> None:
    at = open_page()
    idle = hover_data(at)
    assert idle["index"] is None and idle["src"] is None and "latent_map_chart" in idle["chart"]
    at.session_state["latent_map_hovered"] = 7  # what the component's hover trigger stores
    at.run()
    assert not at.exception
    sent = hover_data(at)
    assert sent["index"] == 7 and sent["token"] == idle["token"]
    image = Image.open(io.BytesIO(base64.b64decode(sent["src"].removeprefix("data:image/png;base64,"))))
    assert image.size == (8, 8) and len(sent["src"]) < 1000  # the digit itself, at its own size
    at.run()  # asked once: the next run sends no image again
    assert hover_data(at)["index"] is None


def test_with_the_decoder_in_the_browser_the_image_follows_the_pointer_there() -> None:
    at = open_page(method="pca", in_browser=True)
    data = component_data(at, "latent_map_pointer")
    assert data["role"] == "pointer" and "latent_map_chart" in data["chart"]
    assert data["decoder"]["model"].startswith("app/static/decoders/")
    projection = loaders.model_projection(loaders.load_model(at.session_state["model_path"]), "pca")
    np.testing.assert_allclose(data["inverse"]["origin"], projection.origin)
    np.testing.assert_allclose(data["inverse"]["components"], projection.components)
    assert not [c for c in at.get("bidi_component") if c.key == "latent_map_hover"]  # no server hover images


def test_the_latent_bars_show_each_value_and_fit_any_size() -> None:
    svg = latent_bars(np.array([0.5, -1.25, 7.0]))
    assert svg.startswith("<svg") and svg.endswith("</svg>") and svg.count("<rect") == 3
    assert "z[1] = -1.250" in svg and ">7<" in svg  # the axis grows to the largest |z|
    assert ">-1.25<" in svg and ">z[2]<" in svg  # values and full names printed
    wide = latent_bars(np.linspace(-2, 2, 64))
    # one row per dimension: every name and value printed, none overlapping (rows 15 units apart)
    assert wide.count("<rect") == 64 and ">z[63]<" in wide and ">2.00<" in wide and ">-2.00<" in wide
    ys = sorted({float(y) for y in re.findall(r'<text x="40" y="([\d.]+)"', wide)})
    assert len(ys) == 64 and min(np.diff(ys)) >= 15


def test_a_click_on_a_point_lists_its_nearest_codes_with_distances() -> None:
    from vae_core import load_checkpoint
    from vae_core.encoding import nearest_neighbours

    at = open_page("digits-mlp-2d", method="raw")
    mu = load_checkpoint(REPO / "checkpoints" / "digits-mlp-2d.safetensors").codes.mu
    at.session_state["latent_map_click"] = Click((float(mu[5, 0]), float(mu[5, 1])), 5)
    at.run()
    assert not at.exception
    index, distance = nearest_neighbours(mu[5], mu, 9)
    expected = [f"#{i} " for i in index[0] if i != 5][:8]
    captions = [c for image in at.get("image") for c in image.captions if " · d=" in c]
    assert [c.split(" ")[0] + " " for c in captions[:8]] == expected
    assert captions[0].endswith(f"d={distance[0][index[0] != 5][0]:.2f}")


def test_find_by_label_shows_a_gallery_and_holes_report_their_share() -> None:
    at = open_page("digits-mlp-2d", method="raw")
    at.multiselect(key="find_labels").set_value([3]).run()
    assert not at.exception
    assert any("codes match" in c.value for c in at.caption)
    at.text_input(key="find_indices").set_value("5-2").run()
    assert any("runs backwards" in w.value for w in at.warning) and not at.exception
    at.toggle(key="latent_map_holes_on").set_value(True).run()
    assert not at.exception
    assert any("fall in a hole" in md.value for md in at.markdown)


def test_a_box_drawn_on_the_map_shows_its_codes_and_their_decoded_mean() -> None:
    from vae_core.selection import in_box

    at = open_page("digits-mlp-2d", method="raw")
    at.segmented_control(key="latent_map_drag").set_value("select").run()
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.proto.id and "latent_map_chart" in c.proto.id).proto.spec)
    assert spec["layout"]["dragmode"] == "select"  # a drag on the map draws a box
    projection = loaders.model_projection(loaders.load_model(at.session_state["model_path"]), "raw")
    found = in_box(projection.embedding, (-0.5, 0.5), (-0.5, 0.5))  # what the select report leaves behind
    at.session_state["latent_map_selected"] = (id(projection), found)
    at.run()
    assert not at.exception
    assert any(f"{len(found):,} codes selected" in c.value for c in at.caption)
    assert "decoded mean" in [c for image in at.get("image") for c in image.captions]
    at.button(key="latent_map_clear_selection").click().run()
    assert not at.exception and "latent_map_selected" not in at.session_state
    assert at.segmented_control(key="latent_map_drag").value == "zoom"
