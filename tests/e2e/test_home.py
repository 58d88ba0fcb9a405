"""Open the app offline: the home page and the model picker show the shipped model, and no request leaves the machine."""
from __future__ import annotations

from urllib.parse import urlparse

import pytest

from .conftest import MAIN, go_to, screenshot, wait_idle

pytestmark = pytest.mark.e2e


def test_home_shows_the_shipped_model_and_no_page_fetches_from_outside(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname or request.url.split(":")[0]))
    page.goto(app_url)
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    picker = sidebar.locator('[data-testid="stSelectbox"]')
    picker.wait_for()
    assert "mnist-conv-2d" in picker.locator("input").input_value()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.wait_for_function("() => document.querySelector(\"link[rel='shortcut icon']\")?.href.startsWith('data:')")
    screenshot(page, "home")
    for name in ("Train", "Latent map", "Explore", "Reparameterization", "Encode", "Compare"):
        go_to(page, name)
        assert page.locator('[data-testid="stException"]').count() == 0, name
    # every request of every page went to this server, or was inline (data:, blob:): the page icon included
    assert hosts <= {"127.0.0.1", "data", "blob"}, hosts


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_theme_follows_the_system_preference(browser, app_url: str, scheme: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(app_url)
        page.locator(f'{MAIN} [data-testid="stImage"] img').first.wait_for(timeout=60_000)
        wait_idle(page)
        rgb = page.evaluate("() => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor")
        r, g, b = (int(v) for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
        assert (r + g + b) / 3 < 80 if scheme == "dark" else (r + g + b) / 3 > 200, rgb
        if scheme == "dark":
            page.locator('[data-testid="stSidebar"]').wait_for()
            screenshot(page, "home_dark")
    finally:
        context.close()
