"""The Reparameterization page on the default shipped model (digits-mlp-2d)."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ui.state import HANDOFF_KEY, LatentPoint

from .helpers import open_app_page

REPO = Path(__file__).resolve().parents[2]
PAGE = "pages/reparameterization.py"


open_page = functools.partial(open_app_page, PAGE)


@pytest.fixture
def page() -> AppTest:
    return open_page()


def _texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown] + [m.value for m in at.latex] + [str(m.value) for m in at.metric]


def _open_tab(at: AppTest, label: str) -> AppTest:
    """Tabs are lazy (only the open one runs); AppTest opens one through its keyed state."""
    at.session_state["rp_tab"] = label
    at.run()
    assert not at.exception
    return at


def test_page_renders_every_tab_on_the_default_model(page: AppTest) -> None:
    assert page.title[0].value == "Reparameterization"
    assert page.session_state["rp_tab"] == "1-D animation"
    assert len(page.get("plotly_chart")) == 1
    assert len(_open_tab(page, "2-D cloud").get("plotly_chart")) == 1
    assert len(page.get("image")) == 2  # the input digit, and the row of decoded samples
    assert len(_open_tab(page, "KL term").get("plotly_chart")) == 2  # bars, Monte Carlo
    assert len(_open_tab(page, "Bayes: p(z|x) vs q(z|x)").get("plotly_chart")) == 1
    metrics = {metric.label: metric.value for metric in page.metric}
    assert list(metrics) == ["ELBO", "log p(x), exact (grid)", "Gap log p(x) − ELBO", "KL(q ‖ p(z|x)), grid"]
    elbo, elbo_se = (float(v) for v in metrics["ELBO"].split(" ± "))
    gap, gap_se = (float(v) for v in metrics["Gap log p(x) − ELBO"].split(" ± "))
    assert gap == pytest.approx(float(metrics["log p(x), exact (grid)"]) - elbo, abs=0.011) and gap_se == elbo_se
    assert float(metrics["KL(q ‖ p(z|x)), grid"]) == pytest.approx(gap, abs=4 * gap_se + 0.02)
    captions = " ".join(caption.value for caption in page.caption)
    assert "Nats per image of p(x|z) = Bernoulli on binarised pixels" in captions
    assert "IWAE estimate of log p(x) (K = 1,000)" in captions and "lies outside it" in captions


def test_worked_example_preset_shows_z_2_5_and_kl_0_16814(page: AppTest) -> None:
    page.button(key="preset_worked_example").click().run()
    assert not page.exception
    assert (page.slider(key="rp_mu").value, page.slider(key="rp_sigma").value, page.slider(key="rp_eps").value) == (
        2.0, 0.5, 1.0)
    assert any("z = 2.5" in text for text in _texts(page))
    _open_tab(page, "KL term")
    assert any("0.16814" in text for text in _texts(page))
    assert any("0.173" in caption.value and "slip" in caption.value for caption in page.caption)


def test_handed_over_point_with_its_log_variance_is_used(page: AppTest) -> None:
    page.session_state[HANDOFF_KEY] = LatentPoint(
        np.array([0.5, -1.0]), "an upload on the Encode page", mu=np.array([0.5, -1.0]), log_var=np.array([-2.0, -3.0]))
    page.run()
    page.radio(key="rp_input_source").set_value("Handed-over point").run()
    assert not page.exception
    mu_sigma = page.dataframe[0].value
    assert list(mu_sigma["μ"]) == pytest.approx([0.5, -1.0])
    assert list(mu_sigma["log σ²"]) == pytest.approx([-2.0, -3.0])


def test_a_model_that_is_not_2d_explains_the_bayes_panel() -> None:
    page = open_page("digits-mlp-8d")
    page.session_state[HANDOFF_KEY] = LatentPoint(np.zeros(2), "the latent map")  # a 2-D point: not offered to an 8-D model
    page.run()
    assert not page.exception
    assert len(page.dataframe[0].value) == 8
    assert len(_open_tab(page, "2-D cloud").get("plotly_chart")) == 1  # two of the eight dimensions
    assert any("Pick a 2-D model" in info.value for info in _open_tab(page, "Bayes: p(z|x) vs q(z|x)").info)
    assert [metric.label for metric in page.metric] == [
        "ELBO", "log p(x), estimated (IWAE)", "Gap, estimated", "Effective sample size"]
    assert all("±" in metric.value for metric in page.metric[:3])
    assert not page.radio  # the 2-D point is not offered to an 8-D model
    assert any("has 2 dimensions; this model has 8" in caption.value for caption in page.caption)


def test_without_the_data_set_the_stored_codes_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.loaders as loaders

    monkeypatch.setattr(loaders, "model_dataset", lambda ckpt: None)
    page = open_page()
    page.number_input(key="rp_index").set_value(3).run()
    assert not page.exception
    mu = loaders.model_codes(loaders.load_model(str(REPO / "checkpoints" / "digits-mlp-2d.safetensors"))).mu
    assert list(page.dataframe[0].value["μ"]) == pytest.approx(list(mu[3]))
    assert any("Stored code #3" in caption.value for caption in page.caption)


def test_handed_over_point_without_log_variance_borrows_the_encoders_spread(page: AppTest) -> None:
    page.session_state[HANDOFF_KEY] = LatentPoint(np.ones(2), "the latent map")
    page.run()
    page.radio(key="rp_input_source").set_value("Handed-over point").run()
    assert not page.exception
    assert list(page.dataframe[0].value["μ"]) == pytest.approx([1.0, 1.0])
    assert any("decoded image" in caption.value for caption in page.caption)


def test_a_point_handed_over_without_its_image_has_one_q_on_every_tab(page: AppTest) -> None:
    """The KL table and the Bayes panel use the same q(z|x) = N(z, sigma(decode(z))^2)."""
    page.session_state[HANDOFF_KEY] = LatentPoint(np.array([-3.0, 0.5]), "the latent map")
    page.run()
    page.radio(key="rp_input_source").set_value("Handed-over point").run()
    table = page.dataframe[0].value
    assert list(table["μ"]) == pytest.approx([-3.0, 0.5])
    _open_tab(page, "Bayes: p(z|x) vs q(z|x)")
    sigma = np.exp(0.5 * np.asarray(table["log σ²"]))
    caption = next(c.value for c in page.caption if "q's μ" in c.value)
    assert "q's μ (-3.000, 0.500)" in caption and f"σ ({sigma[0]:.3f}, {sigma[1]:.3f})" in caption


def test_the_decoded_frames_name_their_dimension_as_the_picker_does() -> None:
    """Latent dimensions are z[0], z[1], ... on every page, here too (it said "dimension 2" for z[1])."""
    at = open_page(in_browser=True)
    at.selectbox(key="rp_dim_1d").select(1).run()
    assert not at.exception
    assert any("z[1] follows the animation" in c.value for c in at.caption)
