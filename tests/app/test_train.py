"""The Train page: settings, a short background run, Stop, and Save into the picker.

The job trains in a thread; AppTest does not tick the live fragment, so the tests rerun the
page until the run's outcome shows (what a user's browser does once a second).
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import loaders
from ui.replay import TRAIN_CHART_KEY

REPO = Path(__file__).resolve().parents[2]
PAGE = "pages/train.py"
TIMEOUT_S = 90


def open_page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    return at


def has(widgets, key: str) -> bool:
    return any(widget.key == key for widget in widgets)


def run_until(at: AppTest, done, timeout: float = TIMEOUT_S) -> AppTest:
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, "the training run did not get there in time"
        time.sleep(0.1)
        at.run()
        assert not at.exception
    return at


def start_tiny_run(at: AppTest, epochs: int) -> AppTest:
    at.number_input(key="train_epochs").set_value(epochs)
    at.select_slider(key="train_hidden_dim").set_value(32)
    at.button(key="train_start").click().run()
    assert not at.exception and not at.error
    return at


def test_page_renders_with_digits_by_default() -> None:
    at = open_page()
    assert at.title[0].value == "Train"
    assert at.selectbox(key="train_dataset").value == "digits"
    assert not at.button(key="train_start").disabled
    assert any("Start training" in info.value for info in at.info)


def test_conv_on_8x8_digits_is_refused_before_starting() -> None:
    at = open_page()
    at.radio(key="train_arch").set_value("conv").run()
    assert not at.exception
    assert any("28x28" in error.value for error in at.error)
    assert at.button(key="train_start").disabled


def test_idx_folder_input_says_what_is_wrong_and_stays_under_the_data_roots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VAE_EXPLORER_DATA_ROOTS", str(tmp_path))
    at = open_page()
    at.selectbox(key="train_dataset").set_value("idx").run()
    assert at.button(key="train_start").disabled and any("IDX files" in info.value for info in at.info)
    (tmp_path / "notes.txt").write_text("not data")
    for typed, message in [
        (str(tmp_path / "missing"), "There is no folder"),
        (str(tmp_path / "notes.txt"), "is a file, not a folder"),
        (str(tmp_path), "no IDX image files"),
        ("/etc/shadow", "Only folders under"),
        ("/root/.ssh", "Only folders under"),
    ]:
        at.text_input(key="train_idx_dir").input(typed).run()
        assert not at.exception
        assert any(message in error.value for error in at.error), typed
        assert at.button(key="train_start").disabled


def test_a_local_idx_folder_can_be_chosen(mnist_dir: Path) -> None:
    at = open_page()
    at.selectbox(key="train_dataset").set_value("idx").run()
    at.text_input(key="train_idx_dir").input(str(mnist_dir)).run()
    assert not at.exception and not at.error
    assert any("28×28" in caption.value for caption in at.caption)
    at.radio(key="train_arch").set_value("conv").run()
    assert not at.error and not at.button(key="train_start").disabled


def test_a_short_run_saves_a_checkpoint_that_the_picker_lists() -> None:
    at = start_tiny_run(open_page(), epochs=2)
    run_until(at, lambda at: has(at.text_input, "train_save_name"))
    assert any("Finished 2 epochs" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) == 4 and len(at.get("image")) == 1
    # the map of the followed test images, replayed over epochs 0 (before the first step) to 2
    replay = json.loads(next(c for c in at.get("plotly_chart") if TRAIN_CHART_KEY in c.proto.id).proto.spec)
    assert [frame["name"] for frame in replay["frames"]] == ["0", "1", "2"]
    name = at.text_input(key="train_save_name").value
    at.button(key="train_save").click().run()
    assert not at.exception and not at.error
    saved = loaders.user_dir() / f"{name}.safetensors"
    assert saved.exists() and not list(loaders.user_dir().glob(".*.tmp"))
    assert any("Saved as" in s.value for s in at.success)
    assert str(saved) in loaders.available_models()

    # A fresh run of the app (the sidebar is drawn by app.py) lists it and picks it as asked.
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    app.session_state["select_model_next"] = at.session_state["select_model_next"]
    app.run()
    assert not app.exception
    assert app.sidebar.selectbox(key="model_path").value == str(saved)

    # The model just saved is no clash to warn about; another file under the typed name is.
    at.run()
    assert not any("already exists" in w.value for w in at.warning)
    assert any("This run is saved as" in c.value for c in at.caption) and not has(at.button, "train_save")
    shutil.copy(loaders.user_dir() / f"{name}.safetensors", loaders.user_dir() / f"{name}-other.safetensors")
    at.text_input(key="train_save_name").set_value(f"{name}-other").run()
    assert any("already exists" in w.value for w in at.warning)
    assert at.button(key="train_save").disabled
    at.checkbox(key="train_overwrite").check().run()
    assert not at.button(key="train_save").disabled
    at.button(key="train_save").click().run()
    assert not at.exception and any("Saved as" in s.value for s in at.success)


def test_stop_keeps_the_model_and_leaving_the_page_does_not_stop_the_run() -> None:
    at = start_tiny_run(open_page(), epochs=500)
    run_until(at, lambda at: any("Epoch" in (bar.proto.text or "") for bar in at.get("progress")))
    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception and has(at.button, "train_stop")  # the same job, still training
    assert at.button(key="train_start").disabled
    at.button(key="train_stop").click().run()
    run_until(at, lambda at: any("Stopped after" in info.value for info in at.info))
    assert has(at.text_input, "train_save_name") and not at.button(key="train_start").disabled


def test_a_name_taken_meanwhile_is_never_silently_replaced() -> None:
    """Another session saves under the name between this page's draw and the Save click."""
    from vae_core import ModelConfig, build_model, load_checkpoint, save_checkpoint

    def someone_else_saves(name: str) -> None:
        save_checkpoint(loaders.user_dir() / name, build_model(ModelConfig(latent_dim=7)), overwrite=True)

    at = start_tiny_run(open_page(), epochs=1)
    run_until(at, lambda at: has(at.text_input, "train_save_name"))
    at.text_input(key="train_save_name").input("contested").run()
    assert not at.button(key="train_save").disabled
    someone_else_saves("contested")
    at.button(key="train_save").click().run()
    assert not any("Saved as" in s.value for s in at.success)
    assert any("already exists" in w.value for w in [*at.error, *at.warning])  # told, and asked:
    assert has(at.checkbox, "train_overwrite")  # overwrite it, or change the name
    assert load_checkpoint(loaders.user_dir() / "contested").config.latent_dim == 7  # theirs is intact
    at.checkbox(key="train_overwrite").check().run()  # this person agrees to replace the one they see...
    someone_else_saves("contested")  # ...but it is replaced again before they click
    at.button(key="train_save").click().run()
    assert any("replaced by another save" in e.value for e in at.error)
    assert load_checkpoint(loaders.user_dir() / "contested").config.latent_dim == 7
    at.run()  # they look again (the page redraws) and save over what they now see
    at.button(key="train_save").click().run()
    assert not at.exception and any("Saved as contested" in s.value for s in at.success)
    assert load_checkpoint(loaders.user_dir() / "contested").config.latent_dim == 2


def test_only_jobs_on_this_server_are_listed_with_their_owner() -> None:
    at = start_tiny_run(open_page(), epochs=1)
    run_until(at, lambda at: has(at.text_input, "train_save_name"))
    table = next(df for df in at.dataframe if "whose" in df.value.columns)
    assert table.value["whose"].tolist()[0] == "yours"
