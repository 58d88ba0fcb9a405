"""Encode: a PNG uploaded through the real file input gets its point, ellipse and reconstruction;
a broken file uploaded beside it gets a one-line error while the good one still encodes."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .conftest import (
    MAIN, digit_png, go_to, image_srcs, no_exception, open_app, screenshot, wait_idle, wait_image_change,
)

pytestmark = pytest.mark.e2e

TRACE_NAMES = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot'))
    .flatMap(gd => (gd._fullData || []).map(t => t.name))"""


def upload(page: Page, *files: tuple[str, bytes]) -> None:
    page.locator(f'{MAIN} [data-testid="stFileUploader"] input[type="file"]').set_input_files(
        [{"name": name, "mimeType": "image/png", "buffer": data} for name, data in files]
    )


def test_upload_encodes_and_a_broken_file_is_refused(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    go_to(page, "Encode")
    upload(page, ("zero.png", digit_png()))
    recon = wait_image_change(page, None, "decode(mu)")
    page.wait_for_function(f"() => ({TRACE_NAMES})().includes('q(z|x), 2σ')")
    wait_idle(page)
    names = page.evaluate(TRACE_NAMES)
    assert "mu of zero.png" in names and "q(z|x), 2σ" in names  # the point and its ellipse on the map
    assert no_exception(page)
    screenshot(page, "encode")

    upload(page, ("broken.png", b"this is not an image"))
    warning = page.locator(f'{MAIN} [data-testid="stAlert"]', has_text="broken.png")
    warning.wait_for()
    wait_idle(page)
    assert "Traceback" not in warning.inner_text()
    assert page.locator(f'{MAIN} [data-testid="stFileChip"]').count() == 2
    look_at = page.locator(f'{MAIN} [data-testid="stSelectbox"]', has_text="Look at").locator("input")
    assert look_at.input_value() == "zero.png"  # the encoded files: the broken one is not among them
    page.wait_for_function(f"() => ({TRACE_NAMES})().includes('mu of zero.png')")  # still on the map
    assert wait_image_change(page, None, "decode(mu)") == recon
    assert no_exception(page)


def settle(page: Page) -> None:
    """The last message of a stroke (on release) has been answered."""
    page.wait_for_timeout(400)
    wait_idle(page)


def stroke(page: Page, pad, points: list[tuple[float, float]]) -> None:
    """Draw one stroke through `points` (fractions of the pad) with the mouse."""
    box = pad.bounding_box()
    at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


MU_JS = """() => {
    for (const gd of document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot'))
        for (const t of gd._fullData || []) if (t.name === 'mu of drawing') return [t.x[0], t.y[0]];
    return null;
}"""


def mu_on_map(page: Page) -> list[float] | None:
    return page.evaluate(MU_JS)


def test_drawing_moves_q_and_the_reconstruction(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    go_to(page, "Encode")
    page.locator(f"{MAIN} [data-testid='stButtonGroup'] button", has_text="Draw").click()
    pad = page.locator(f"{MAIN} [data-testid='vaeDrawPad']")
    pad.wait_for()
    stroke(page, pad, [(0.5, 0.1), (0.5, 0.9)])  # a one
    wait_image_change(page, None, "decode(mu)")  # already while drawing (throttled), then on release
    page.wait_for_function(f"() => ({TRACE_NAMES})().includes('q(z|x), 2σ')")
    settle(page)
    first, one = image_srcs(page, "decode(mu)")[0], mu_on_map(page)
    stroke(page, pad, [(0.25, 0.15), (0.75, 0.15), (0.35, 0.9)])  # a second stroke: now a seven-ish
    wait_image_change(page, first, "decode(mu)")
    moved = "(old) => { const m = (" + MU_JS + ")(); return m && (m[0] !== old[0] || m[1] !== old[1]); }"
    page.wait_for_function(moved, arg=one)  # q(z|x) moved on the map
    settle(page)
    second = mu_on_map(page)
    page.locator(f"{MAIN} [data-testid='vaeDrawUndo']").click()  # back to the one
    page.wait_for_function(moved, arg=second)
    settle(page)
    assert mu_on_map(page) == pytest.approx(one) and image_srcs(page, "decode(mu)")[0] == first
    for width in (1400, 800, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        wait_idle(page)
        screenshot(page, f"encode-draw-{width}")
    page.locator(f"{MAIN} [data-testid='vaeDrawClear']").click()
    page.locator(f"{MAIN} [data-testid='stAlert']", has_text="Draw a digit on the pad").wait_for()
    assert no_exception(page)
