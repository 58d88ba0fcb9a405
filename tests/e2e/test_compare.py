"""Compare and adding a model from its files, in Chromium, at three widths."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from .conftest import MAIN, PICKER, REPO, go_to, no_exception, open_app, screenshot, select_model, wait_idle

pytestmark = pytest.mark.e2e


def test_compare_two_models_at_three_widths(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    select_model(page, "digits-mlp-2d")
    go_to(page, "Compare")
    titles = page.locator(f"{MAIN} .js-plotly-plot .gtitle", has_text="units active")
    titles.nth(1).wait_for(timeout=120_000)  # both models' unit charts drawn
    wait_idle(page, 120_000)
    assert titles.count() == 2 and no_exception(page)
    for width in (1400, 800, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        wait_idle(page)
        screenshot(page, f"compare-{width}")


def test_a_checkpoint_pair_uploaded_on_home_becomes_the_model(page: Page, app_url: str, user_dir: Path) -> None:
    open_app(page, app_url)
    page.get_by_text("Add a model from its files").click()
    pair = [str(REPO / "checkpoints" / f"digits-mlp-8d{s}") for s in (".safetensors", ".json")]
    page.locator(f"{MAIN} [data-testid='stFileUploader'] input[type=file]").set_input_files(pair)
    name = page.locator(f"{MAIN} [data-testid='stTextInput'] input")
    name.wait_for()
    name.fill("uploaded 8d")
    name.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Add model").click()
    page.wait_for_function("(sel) => document.querySelector(sel + ' input').value.includes('uploaded-8d')", arg=PICKER,
                           timeout=60_000)
    assert (user_dir / "uploaded-8d.safetensors").exists() and no_exception(page)
    select_model(page, "digits-mlp-2d")  # leave the session's other tests their model
