"""The training replay on the Latent map: a toggle, then one figure that plotly animates in the
page (a frame per stored epoch, Play / Pause, an epoch slider); models saved without one say so."""
from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import open_app_page
from ui.loaders import user_dir
from ui.figures import label_colour
from ui.replay import CHART_KEY, TOGGLE_KEY
from vae_core import ModelConfig, TrainConfig, save_checkpoint
from vae_core.models import build_model
from vae_core.training import Trainer

PAGE = "pages/latent_map.py"


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small digits model trained 3 epochs here, saved with its replay."""
    trainer = Trainer(ModelConfig(latent_dim=2, hidden_dim=16), TrainConfig(dataset="digits", epochs=3, batch_size=256))
    for _ in trainer.run():
        pass
    return trainer.save(tmp_path_factory.mktemp("replay") / "replayed")


def array(value: object) -> np.ndarray:
    """A figure array as plotly sends it: a list, or base64 with its dtype."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def replay_spec(at: AppTest) -> dict:
    charts = [c for c in at.get("plotly_chart") if CHART_KEY in (c.proto.id or "")]
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def in_user_dir(weights: Path) -> Path:
    """The checkpoint copied where the picker lists it (this test's user folder)."""
    user_dir().mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(weights, user_dir() / weights.name))


def test_the_replay_plays_every_epoch_on_fixed_axes(replayed: Path) -> None:
    at = open_app_page(PAGE, weights=in_user_dir(replayed))
    n_charts = len(at.get("plotly_chart"))
    assert not at.toggle(key=TOGGLE_KEY).value  # off: the page sends no frames until asked
    at.toggle(key=TOGGLE_KEY).set_value(True).run()
    assert not at.exception and len(at.get("plotly_chart")) == n_charts + 1
    spec = replay_spec(at)
    layout, frames = spec["layout"], spec["frames"]
    assert [f["name"] for f in frames] == ["0", "1", "2", "3"]
    play, pause = layout["updatemenus"][0]["buttons"]
    assert "Play" in play["label"] and play["method"] == "animate" and play["args"][1]["fromcurrent"]
    assert "Pause" in pause["label"]
    steps = layout["sliders"][0]["steps"]
    assert [s["args"][0] for s in steps] == [["0"], ["1"], ["2"], ["3"]]
    assert layout["sliders"][0]["currentvalue"]["prefix"] == "Epoch "
    assert any("saved" in s["label"] for s in steps)  # the saved (best) epoch is marked
    assert layout["xaxis"]["autorange"] is False and layout["yaxis"]["autorange"] is False  # axes fixed
    # one moving trace: the same points (ids) in the label palette; frames move them only
    points = spec["data"][0]
    assert len(points["ids"]) == len(array(frames[0]["data"][0]["x"]))
    assert all(f["traces"] == [0] and set(f["data"][0]) <= {"x", "y", "type"} for f in frames)
    assert set(points["marker"]["color"]) <= {label_colour(k, 10) for k in range(10)}
    assert not np.allclose(array(frames[0]["data"][0]["x"]), array(frames[-1]["data"][0]["x"]))
    assert any("Play" in c.value and "before the first step" in c.value for c in at.caption)
    at.toggle(key=TOGGLE_KEY).set_value(False).run()
    assert not at.exception and len(at.get("plotly_chart")) == n_charts


def test_a_model_saved_without_a_replay_says_so() -> None:
    weights = save_checkpoint(user_dir() / "plain", build_model(ModelConfig(latent_dim=2, hidden_dim=16)),
                              {"dataset": "digits"})
    at = open_app_page(PAGE, weights=weights)
    assert not at.exception
    assert any("without a replay" in c.value for c in at.caption)


def test_the_shipped_digits_model_replays_on_the_latent_map() -> None:
    """digits-mlp-2d ships with its replay: every one of its 300 epochs, and the one before training."""
    at = open_app_page(PAGE, model="digits-mlp-2d")
    at.toggle(key=TOGGLE_KEY).set_value(True).run()
    assert not at.exception
    assert [f["name"] for f in replay_spec(at)["frames"]] == [str(epoch) for epoch in range(301)]
