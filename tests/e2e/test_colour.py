"""A colour model (the shipped beta = 1 shapes model) in a real browser, on the server path:
the Latent map's images are in colour, Explore decodes a colour image and labels each
traversal row with the factor its dimension explains, and Encode keeps an upload's colour
(a transparent RGBA file and a palette file). With VAE_EXPLORER_SCREENSHOTS=1 each page is
also shot at 1400, 800 and 390 px wide."""
from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page

from .conftest import (
    MAIN, go_to, image_bytes, image_srcs, no_exception, open_app, screenshot, select_model, server_path_only,
    set_in_browser, wait_idle, wait_image_change,
)
from .test_encode import upload
from .test_latent_map import POINT_XY

pytestmark = pytest.mark.e2e

MODEL = "shapes-conv-10d-beta1"
WIDTHS = (1400, 800, 390)


def shots(page: Page, name: str) -> None:
    """The page at each width (only when screenshots are asked for: resizing reruns nothing, but costs time)."""
    if os.environ.get("VAE_EXPLORER_SCREENSHOTS") != "1":
        return
    size = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": size["height"]})
        page.wait_for_timeout(500)
        screenshot(page, f"colour_{name}_{width}")
    page.set_viewport_size(size)


def colour_spread(png: bytes) -> int:
    """The largest gap between one pixel's strongest and weakest channel: 0 for a grey image."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    return int((rgb.max(axis=2) - rgb.min(axis=2)).max())


def coloured_mean(png: bytes) -> np.ndarray:
    """The mean RGB of the strongly coloured pixels (whatever the background was flattened to)."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64).reshape(-1, 3)
    return rgb[rgb.max(axis=1) - rgb.min(axis=1) > 100].mean(axis=0)


def shape_png(mode: str) -> bytes:
    """A red ellipse on a transparent background (RGBA), or a blue square in a palette image (P)."""
    if mode == "RGBA":
        image = Image.new("RGBA", (150, 110), (0, 0, 0, 0))
        ImageDraw.Draw(image).ellipse((40, 20, 110, 90), fill=(230, 20, 20, 255))
    else:
        image = Image.new("RGB", (120, 120), (0, 0, 0))
        ImageDraw.Draw(image).rectangle((35, 35, 85, 85), fill=(20, 40, 230))
        image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_colour_model_maps_explores_and_encodes_in_colour(page: Page, app_url: str) -> None:
    server_path_only(page)
    open_app(page, app_url)
    select_model(page, MODEL)

    go_to(page, "Latent map")
    page.locator(f"{MAIN} .js-plotly-plot .nsewdrag").first.wait_for()
    x, y = page.evaluate(POINT_XY, ["square", 0])
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    decoded = wait_image_change(page, None, "decoded at")
    page.get_by_text("its image").first.wait_for()
    wait_idle(page)
    own = image_srcs(page, ": its image")
    assert own and colour_spread(image_bytes(page, own[0])) > 100  # the data point's own image: a coloured shape
    assert colour_spread(image_bytes(page, decoded)) > 30  # and its decode, in colour too
    assert no_exception(page)
    shots(page, "latent_map")

    go_to(page, "Explore")
    set_in_browser(page, False)
    decoded = wait_image_change(page, None, "decode(z)")
    assert colour_spread(image_bytes(page, decoded)) > 30
    page.locator(f'{MAIN} [data-testid="stButtonGroup"]').get_by_text("Traversal", exact=True).click()
    page.locator(MAIN).get_by_text("Mutual Information Gap").first.wait_for()
    wait_idle(page)
    captions = page.locator(f'{MAIN} [data-testid="stImageCaption"]').all_inner_texts()
    rows = [c for c in captions if c.startswith("z[")]
    assert rows and all("explains" in c for c in rows)
    assert any("of its entropy" in c and "±" in c for c in rows)  # a named factor, with its error
    assert no_exception(page)
    shots(page, "explore_traversal")

    go_to(page, "Encode")
    upload(page, ("red.png", shape_png("RGBA")), ("blue.png", shape_png("P")))
    wait_image_change(page, None, "decode(mu)")
    wait_idle(page)
    look_at = page.locator(f'{MAIN} [data-testid="stSelectbox"]', has_text="Look at")
    for name, channel in (("red.png", 0), ("blue.png", 2)):
        if name not in look_at.locator("input").input_value():
            old = image_srcs(page, "input")[0]
            look_at.click()
            page.locator('[role="option"]', has_text=name).first.click()
            wait_image_change(page, old, "input")
            wait_idle(page)
        shown = coloured_mean(image_bytes(page, image_srcs(page, "input")[0]))
        assert shown.argmax() == channel and shown[channel] > 2 * np.delete(shown, channel).max()  # colour kept
    assert no_exception(page)
    shots(page, "encode")
