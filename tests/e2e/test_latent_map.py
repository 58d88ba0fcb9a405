"""Latent map: a click on empty space, then on a data point, each decodes a new image."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .conftest import (
    MAIN, go_to, image_bytes, image_srcs, no_exception, open_app, screenshot, wait_idle, wait_image_change,
)

pytestmark = pytest.mark.e2e

# Page coordinates of the idx-th code of trace `name` on the map (plotly's own axis transforms).
POINT_XY = """([name, idx]) => {
    const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
    const fl = gd._fullLayout, trace = gd._fullData.find(t => t.name === name), r = gd.getBoundingClientRect();
    return [r.left + fl.xaxis._offset + fl.xaxis.l2p(trace.x[idx]),
            r.top + fl.yaxis._offset + fl.yaxis.l2p(trace.y[idx])];
}"""


# Map coordinates of a page position on the map (plotly's own axis transforms).
SPOT_XY = """([x, y]) => {
    const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
    const fl = gd._fullLayout, r = gd.querySelector('.nsewdrag').getBoundingClientRect();
    return [fl.xaxis.p2l(x - r.left), fl.yaxis.p2l(y - r.top)];
}"""


def test_click_empty_space_then_a_point_decodes_each_time(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    go_to(page, "Latent map")
    plot_area = page.locator(f"{MAIN} .js-plotly-plot .nsewdrag").first
    plot_area.wait_for()
    assert image_srcs(page) == []  # nothing decoded before a click

    # plotly redraws the whole map on a relayout (a double click resets the zoom): clicks must not cause one
    page.evaluate("""() => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
        window.__relayouts = 0;
        gd.on('plotly_relayout', (change) => { if (Object.keys(change || {}).length) window.__relayouts += 1; }); }""")
    box = plot_area.bounding_box()
    corner = (box["x"] + 0.95 * box["width"], box["y"] + 0.05 * box["height"])  # no data there
    page.mouse.click(*corner)
    empty = wait_image_change(page, None, "decoded at")
    empty_png = image_bytes(page, empty)  # now: the server forgets an image once a rerun replaces it
    page.get_by_text("decoded at").first.wait_for()
    wait_idle(page)
    # one decoded spot, and no data point was hit (the thumbnails beside it are its nearest codes)
    assert len(image_srcs(page, "decoded at")) == 1 and image_srcs(page, ": its image") == []
    spot = page.evaluate(SPOT_XY, list(corner))
    caption = page.locator(f'{MAIN} [data-testid="stImageCaption"]', has_text="decoded at").first.inner_text()
    decoded = [float(v) for v in re.findall(r"-?\d+\.\d+", caption)[:2]]
    assert decoded == pytest.approx(spot, abs=0.006)  # the exact spot, not a grid cell's centre

    x, y = page.evaluate(POINT_XY, ["3", 5])
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    on_point = wait_image_change(page, empty, "decoded at")
    page.get_by_text("its image").first.wait_for()  # the clicked code's own image is shown beside it
    bars = page.locator(f'{MAIN} svg[aria-label="the latent point z"]')
    bars.locator("rect").nth(1).wait_for()  # drawn after the neighbours, in the same run
    assert bars.locator("rect").count() == 2 and bars.bounding_box()["height"] > 30  # z, drawn: a row per dimension
    assert image_bytes(page, on_point) != empty_png
    wait_idle(page)
    assert no_exception(page)
    assert page.evaluate("() => window.__relayouts") == 0
    page.mouse.move(box["x"] + 2, box["y"] + 2)  # no hover label in the picture
    screenshot(page, "latent_map")

    # a drag is plotly's box zoom, not a click: the map zooms and nothing new is decoded
    page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.6 * box["height"], steps=5)
    page.mouse.up()
    page.wait_for_function("() => window.__relayouts === 1")
    page.wait_for_timeout(500)
    wait_idle(page)
    assert image_srcs(page, "decoded at") == [on_point]


DRAG_MODE = """(mode) => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
    return gd && gd._fullLayout && gd._fullLayout.dragmode === mode; }"""
# How many codes plotly itself shows as selected.
SELECTED = """() => { const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
    return gd._fullData.reduce((n, t) => n + (t.customdata && t.selectedpoints ? t.selectedpoints.length : 0), 0); }"""


def drag_to(page: Page, label: str, mode: str) -> None:
    """Choose what a drag on the map does; the map comes back with that plotly drag mode.
    (A press while the page's first run is still drawing can be lost: then it is pressed again.)"""
    button = page.locator(f"{MAIN} [data-testid='stButtonGroup'] button", has_text=label)
    for attempt in range(2):
        button.click()
        try:
            page.wait_for_function(DRAG_MODE, arg=mode, timeout=30_000)
            break
        except PlaywrightTimeoutError:
            if attempt:
                raise
    wait_idle(page)


def test_a_box_or_lasso_drawn_on_the_map_shows_the_codes_inside(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    go_to(page, "Latent map")
    drag_to(page, "Box select", "select")
    plot_area = page.locator(f"{MAIN} .js-plotly-plot .nsewdrag").first
    box = plot_area.bounding_box()
    start, end = (box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"]), \
        (box["x"] + 0.7 * box["width"], box["y"] + 0.7 * box["height"])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()
    mean = wait_image_change(page, None, "decoded mean")
    wait_idle(page)
    inside = page.evaluate(SELECTED)
    caption = page.locator(f"{MAIN} [data-testid='stCaptionContainer']", has_text="codes selected").first.inner_text()
    assert inside > 0 and caption.startswith(f"{inside:,} codes selected"), (inside, caption)  # as the browser shows them
    assert len(image_srcs(page, "#")) == min(inside, 24) and mean
    assert no_exception(page)
    for width in (1400, 800, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        wait_idle(page)
        screenshot(page, f"latent_map-select-{width}")
    page.set_viewport_size({"width": 1400, "height": 1000})
    wait_idle(page)
    drag_to(page, "Lasso select", "lasso")
    box = plot_area.bounding_box()
    corners = [(0.2, 0.2), (0.8, 0.3), (0.5, 0.8), (0.2, 0.2)]  # a triangle
    page.mouse.move(box["x"] + corners[0][0] * box["width"], box["y"] + corners[0][1] * box["height"])
    page.mouse.down()
    for fx, fy in corners[1:]:
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=10)
    page.mouse.up()
    page.wait_for_function("(n) => Array.from(document.querySelectorAll('[data-testid=\"stCaptionContainer\"]'))"
                           ".some(c => c.innerText.includes('codes selected') && !c.innerText.startsWith(n))",
                           arg=f"{inside:,} codes selected")
    wait_idle(page)
    caption = page.locator(f"{MAIN} [data-testid='stCaptionContainer']", has_text="codes selected").first.inner_text()
    inside = page.evaluate(SELECTED)
    assert inside > 0 and caption.startswith(f"{inside:,} codes selected"), (inside, caption)
    page.get_by_role("button", name="Clear selection").click()
    page.get_by_text("Choose Box select or Lasso select").wait_for()
    assert image_srcs(page, "decoded mean") == [] and no_exception(page)
