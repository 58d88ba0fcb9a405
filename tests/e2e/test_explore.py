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


PATH_END = """() => {
    const gd = document.querySelector('.st-key-interp_map .js-plotly-plot');
    const t = gd && (gd._fullData || []).find((t) => t.name === 'linear');
    return t ? [t.x.length, t.x[t.x.length - 1], t.y[t.y.length - 1]] : null;
}"""


def test_interpolation_ends_picked_by_looking_draw_a_path_and_its_filmstrip(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    go_to(page, "Explore")
    page.locator(f"{MAIN} [data-testid='stButtonGroup'] button", has_text="Interpolation").click()
    page.wait_for_function(f"() => ({PATH_END})() !== null")
    wait_idle(page)
    steps, *end = page.evaluate(PATH_END)
    strip = wait_image_change(page, None, "linear")
    assert steps == 8  # a marker per decoded frame of the filmstrip
    to_gallery = page.locator(f"{MAIN} .st-key-interp_to_gallery [data-testid='vaeGallery'] button")
    to_gallery.nth(5).click()  # another image for the "to" end, picked by looking
    page.wait_for_function(f"(old) => {{ const p = ({PATH_END})(); return p && (p[1] !== old[0] || p[2] !== old[1]); }}",
                           arg=end)
    assert wait_image_change(page, strip, "linear") != strip  # the filmstrip follows
    wait_idle(page)
    assert to_gallery.nth(5).get_attribute("aria-selected") == "true" and no_exception(page)
    for width in (1400, 800, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        wait_idle(page)
        screenshot(page, f"explore-interpolation-{width}")


def test_the_in_page_decoder_says_it_is_loading_instead_of_leaving_a_blank(page: Page, app_url: str) -> None:
    """onnxruntime-web takes seconds to load on a busy machine: until then the sliders' place
    said nothing and stayed 0 px tall, so Explore looked as if they were missing."""
    held = []  # onnxruntime-web's requests, kept unanswered: the decoder is still loading
    page.route("**/vendor/onnxruntime-web/**", lambda route: held.append(route))
    open_app(page, app_url)
    go_to(page, "Explore")
    status = page.locator(f"{MAIN} .st-key-explore_decoder [data-testid='vaeDecodePath']")
    status.wait_for(state="visible", timeout=10_000)
    assert "Loading" in status.inner_text()
    for route in held:
        route.abort()
