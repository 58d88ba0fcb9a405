"""The Home page: the VAE on one screen, on the shipped default model, offline."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def home() -> AppTest:
    if not (REPO / "checkpoints" / "mnist-conv-2d.safetensors").exists():
        pytest.skip("shipped checkpoint mnist-conv-2d not found")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    deadline = time.monotonic() + 60
    while not at.sidebar.selectbox and time.monotonic() < deadline:
        # a process that has not loaded torch yet draws the text first and the model once the
        # modules are in, as a freshly started server does (ui.warmup); the page reruns for it
        time.sleep(0.25)
        at.run()
    assert not at.exception
    return at


def test_home_is_the_default_page_and_opens_on_the_mnist_model(home: AppTest) -> None:
    assert home.title[0].value.startswith("Variational autoencoders")
    assert Path(home.sidebar.selectbox(key="model_path").value).stem == "mnist-conv-2d"
    assert any("mnist-conv-2d" in md.value for md in home.markdown)
    assert len(home.get("image")) == 1  # prior samples decoded by the current model
    assert not home.warning and not home.error


def test_home_shows_the_formulas(home: AppTest) -> None:
    latex = "\n".join(block.value for block in home.latex)
    for formula in (
        r"p(z \mid x) = \frac{p(x \mid z)\, p(z)}{p(x)}",  # Bayes
        r"p(z) = \mathcal{N}(0, I)",  # the prior
        r"q(z \mid x) = \mathcal{N}\big(\mu(x),\ \operatorname{diag} \sigma^2(x)\big)",
        r"\mathbb{E}_{q(z \mid x)}\big[\log p(x \mid z)\big]",  # reconstruction
        r"\mu_i^2 + \sigma_i^2 - \log \sigma_i^2 - 1",  # closed-form KL
        r"\sigma = \exp\!\left(\tfrac12 \log \sigma^2\right)",  # from the log variance
        r"z = \mu + \sigma \odot \varepsilon",
        r"z = 2 + 0.5 \cdot 1 = 2.5",  # the worked example
    ):
        assert formula in latex
    text = " ".join(md.value for md in home.markdown)
    assert "intractable" in text and "**log variance**" in text


def test_home_links_to_every_page(home: AppTest) -> None:
    links = {link.proto.page for link in home.get("page_link")}  # pages by their url path
    assert links == {"train", "latent_map", "explore", "reparameterization", "encode", "compare"}


def test_home_without_a_model_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.picker

    monkeypatch.setattr(ui.picker, "available_models", lambda: {})
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("No model is loaded" in w.value for w in at.warning)
