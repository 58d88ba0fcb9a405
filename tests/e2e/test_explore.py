"""Explore on the server path: dragging a latent slider with the mouse, and "Sample from the prior", change
the decoded image. (The in-page path: tests/e2e/test_browser_decode.py.)"""
from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page

from .conftest import MAIN, go_to, no_exception, open_app, screenshot, set_in_browser, wait_idle, wait_image_change

pytestmark = pytest.mark.e2e

DECODED = "decode(z)"  # the decoded image's caption


def drag(page: Page, thumb: Locator, dx: float) -> None:
    """Press on the slider's thumb, move it dx pixels in small steps, release: real mouse events."""
    box = thumb.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=8)
    page.mouse.up()


def test_slider_drag_and_prior_sample_change_the_decoded_image(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    go_to(page, "Explore")
    set_in_browser(page, False)
    before = wait_image_change(page, None, DECODED)
    slider = page.locator(f'{MAIN} [data-testid="stSlider"]', has_text="z[0]").first
    thumb = slider.locator('div:has(> div > input[type="range"])')  # the visible knob around the range input
    value = slider.locator('input[type="range"]')
    before_value = float(value.input_value())

    drag(page, thumb, 80)
    dragged = wait_image_change(page, before, DECODED)
    assert float(value.input_value()) > before_value
    wait_idle(page)

    page.get_by_role("button", name="Sample from the prior").click()
    wait_image_change(page, dragged, DECODED)
    wait_idle(page)
    assert no_exception(page)
    screenshot(page, "explore")
