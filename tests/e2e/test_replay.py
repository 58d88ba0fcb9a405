"""Latent map: the training replay plays in the page; Play moves the points through the epochs."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from vae_core import ModelConfig, TrainConfig
from vae_core.training import Trainer

from .conftest import MAIN, go_to, no_exception, open_app, select_model, wait_idle

pytestmark = pytest.mark.e2e

CHART = ".st-key-latent_map_replay .js-plotly-plot"
# Records the frames plotly animates, and reads the slider's epoch and the first points' x.
RECORD_JS = """(sel) => { const gd = document.querySelector(sel); window.__frames = [];
    gd.on('plotly_animatingframe', (e) => window.__frames.push(e.name)); }"""
STATE_JS = """(sel) => { const gd = document.querySelector(sel);
    return [gd._fullLayout.sliders[0].active, Array.from(gd._fullData[0].x.slice(0, 5))]; }"""

# The parts of the player (buttons, slider, its labels, the legend) that run past the chart's edges.
OUTSIDE_JS = """(sel) => { const gd = document.querySelector(sel), box = gd.getBoundingClientRect();
    return Array.from(gd.querySelectorAll('.updatemenu-button, .slider-label, .slider-rail-rect, .legendtext'))
        .map(el => [el.textContent, el.getBoundingClientRect()])
        .filter(([, r]) => r.left < box.left - 1 || r.right > box.right + 1)
        .map(([text, r]) => `${text}: ${Math.round(r.left - box.left)}-${Math.round(r.right - box.left)} of ${Math.round(box.width)}`); }"""


def test_play_moves_the_same_points_through_the_epochs(page: Page, app_url: str, user_dir: Path) -> None:
    trainer = Trainer(ModelConfig(latent_dim=2, hidden_dim=16), TrainConfig(dataset="digits", epochs=4, batch_size=256))
    for _ in trainer.run():
        pass
    trainer.save(user_dir / "replay-e2e")
    open_app(page, app_url)
    select_model(page, "replay-e2e")
    go_to(page, "Latent map")
    wait_idle(page)
    page.locator(MAIN).get_by_text("Watch it learn: replay").click()
    page.locator(CHART).wait_for(timeout=60_000)
    wait_idle(page)
    epoch, before = page.evaluate(STATE_JS, CHART)
    assert epoch == 0
    page.evaluate(RECORD_JS, CHART)
    page.locator(f"{CHART} .updatemenu-button", has_text="Play").click()
    page.wait_for_function("() => window.__frames.length >= 5", timeout=20_000)  # from the current, epoch 0, to 4
    page.wait_for_function("(sel) => document.querySelector(sel)._fullLayout.sliders[0].active === 4", arg=CHART)
    epoch, after = page.evaluate(STATE_JS, CHART)
    assert page.evaluate("() => window.__frames") == ["0", "1", "2", "3", "4"]
    assert after != before and len(after) == len(before)  # the same points, elsewhere
    assert no_exception(page)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: every part of the player on the chart
    page.wait_for_timeout(500)  # plotly re-lays itself out on resize
    outside = page.evaluate(OUTSIDE_JS, CHART)
    assert outside == [], outside
