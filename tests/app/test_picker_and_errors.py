"""One bad file or one bug never takes the app down, and file text is shown as text."""
from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
from safetensors import safe_open
from safetensors.torch import save as save_safetensors
from streamlit.testing.v1 import AppTest

from vae_core.checkpoints import DESCRIPTION_KEY

from ..conftest import legacy_pair
from .helpers import REPO


def _user_dir() -> Path:
    return Path(os.environ["VAE_EXPLORER_USER_DIR"])


def _copy_shipped(name: str, as_name: str, edit=None) -> Path:
    """A shipped model copied into the user folder (in the one-file format), its description edited."""
    source = REPO / "checkpoints" / f"{name}.safetensors"
    with safe_open(source, framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        description = json.loads(f.metadata()[DESCRIPTION_KEY]) if DESCRIPTION_KEY in f.metadata() else \
            json.loads(source.with_suffix(".json").read_text())
    if edit is not None:
        edit(description)
    target = _user_dir() / f"{as_name}.safetensors"
    target.write_bytes(save_safetensors(tensors, metadata={"format": "vae-explorer/1",
                                                           DESCRIPTION_KEY: json.dumps(description)}))
    return target


def _app() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def test_a_crafted_description_is_listed_as_unusable_and_the_app_works() -> None:
    legacy = legacy_pair("digits-mlp-2d", _user_dir(), "crafted").with_suffix("")
    legacy.with_suffix(".json").write_text(json.dumps({"format": "vae-explorer/1", "model": {}}))
    _copy_shipped("digits-mlp-2d", "latent-text", lambda d: d["model"].update(latent_dim=2.5))
    at = _app()
    picker = at.sidebar.selectbox(key="model_path")
    labels = {label.split(" ")[0]: label for label in picker.options}  # AppTest lists the labels shown
    assert labels["crafted"].endswith("unusable") and labels["latent-text"].endswith("unusable")
    assert picker.value.endswith("mnist-conv-2d.safetensors")  # the default still opens, with its card
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)  # a session that picks it
    at.session_state["model_path"] = str(legacy.with_suffix(".safetensors"))
    at.run()
    assert not at.exception
    assert any("cannot be used" in e.value and "does not describe its model" in e.value for e in at.sidebar.error)


def test_a_user_model_named_like_a_shipped_one_reads_differently() -> None:
    _copy_shipped("digits-mlp-2d", "digits-mlp-2d")
    picker = _app().sidebar.selectbox(key="model_path")
    labels = [label for label in picker.options if label.startswith("digits-mlp-2d ")]
    assert len(labels) == 2 and len(set(labels)) == 2 and any("saved in the app" in label for label in labels)


def test_the_picker_and_the_card_name_latent_size_beta_and_likelihood() -> None:
    at = _app()
    assert "digits-mlp-2d · digits · mlp · 2-d · β 1 · bernoulli" in at.sidebar.selectbox(key="model_path").options
    card = "".join(md.value for md in at.sidebar.markdown)  # the default model's card
    assert "**Latent dim**: 2" in card and "**β** (weight of the KL term): 1" in card
    assert "Bernoulli on binarised pixels" in card


def test_file_text_is_shown_as_plain_text_never_as_markdown() -> None:
    weights = _copy_shipped("digits-mlp-2d", "sneaky", lambda d: d.update(dataset="![t](http://example.com/x.png)"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["model_path"] = str(weights)
    at.run()
    assert not at.exception
    card = "".join(md.value for md in at.sidebar.markdown)
    assert "http" in card and "![t](" not in card and r"\!\[t\]\(http" in card


def test_an_unexpected_error_shows_an_id_not_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    import ui.home_model

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a secret server path /srv/x")

    monkeypatch.setattr(ui.home_model, "tile_images", broken)  # the home page draws with it
    at = _app()
    assert not at.exception
    [notice] = [e.value for e in at.error if "error id" in e.value]
    error_id = notice.split("error id ")[1][:8]
    assert "/srv/x" not in notice and error_id in caplog.text and "/srv/x" in caplog.text


def test_streamlit_shows_visitors_no_error_details() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
