"""Encode: a PNG uploaded through the real file input gets its point, ellipse and reconstruction;
a broken file uploaded beside it gets a one-line error while the good one still encodes."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .conftest import MAIN, digit_png, go_to, no_exception, open_app, screenshot, wait_idle, wait_image_change

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
