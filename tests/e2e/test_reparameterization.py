"""Reparameterization: Play runs the eps -> z animation in the browser; the worked example gives z = 2.5."""
from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from .conftest import MAIN, go_to, no_exception, open_app, screenshot, wait_idle

pytestmark = pytest.mark.e2e

ANIMATION = f'{MAIN} [data-testid="stPlotlyChart"] .js-plotly-plot'


def test_play_animates_and_the_worked_example_gives_z_2_5(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    go_to(page, "Reparameterization")
    title = page.locator(f"{ANIMATION} .gtitle").first
    title.wait_for()
    first = title.text_content()

    page.locator(f"{ANIMATION} .updatemenu-button", has_text="Play").first.click()
    seen = {first}
    for _ in range(40):  # 30 frames of 60 ms: the title names each frame's t
        page.wait_for_timeout(100)
        seen.add(title.text_content())
    assert len(seen) >= 4, seen  # the frames advanced in the browser, with no server round trip
    assert title.text_content().startswith("t = 1.00")  # and the animation ended on its last frame

    page.get_by_role("button", name="Sample ε").click()
    page.get_by_role("button", name="Worked example").click()
    page.get_by_text("z = 2.5", exact=False).first.wait_for()
    wait_idle(page)
    sliders = page.locator(f'{MAIN} [data-testid="stSlider"] input[type="range"]')
    assert [sliders.nth(i).input_value() for i in range(3)] == ["2", "0.5", "1"]  # mu, sigma, eps
    assert "z = 2.5" in page.locator(MAIN).inner_text()
    assert no_exception(page)
    screenshot(page, "reparameterization")


def test_on_a_phone_the_1d_animation_keeps_its_width_for_the_plot(browser: Browser, app_url: str) -> None:
    """Its legend sits above the plot, not beside it, where it took a third of a phone's width."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{app_url}/reparameterization")
        chart = page.locator(f"{MAIN} .st-key-rp_anim_1d .js-plotly-plot")
        chart.locator(".legend").wait_for()
        wait_idle(page)
        box, plot, legend = (chart.locator(part).first.bounding_box() for part in (".main-svg", ".nsewdrag", ".legend"))
        assert plot["width"] >= 0.75 * box["width"], (plot, box)
        assert legend["x"] >= box["x"] - 1 and legend["x"] + legend["width"] <= box["x"] + box["width"] + 1, legend
    finally:
        context.close()
