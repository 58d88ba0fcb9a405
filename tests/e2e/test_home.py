"""Open the app offline: the home page and the model picker show the shipped model."""
from __future__ import annotations

import pytest

from .conftest import screenshot, start_server, wait_idle

pytestmark = pytest.mark.e2e


def test_home_shows_the_shipped_model(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url)
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    picker = sidebar.locator('[data-testid="stSelectbox"]')
    picker.wait_for()
    assert "digits-mlp-2d" in picker.locator("input").input_value()
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "home")


def test_a_deep_link_on_a_fresh_server_still_gets_the_app_frame(browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Streamlit's legacy pages/ mode could run /encode without app.py (no picker) on a new server."""
    proc, url = start_server(tmp_path)
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{url}/encode")
        wait_idle(page)
        picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')
        picker.wait_for(timeout=30_000)
        assert "digits-mlp-2d" in picker.locator("input").input_value()
        assert page.get_by_text("common", exact=True).count() == 0  # no auto-discovered helper modules
        context.close()
    finally:
        proc.kill()
        proc.wait()
