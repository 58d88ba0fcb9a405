"""Open the app offline: the home page and the model picker show the shipped model."""
from __future__ import annotations

import pytest

from .conftest import screenshot, wait_idle

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
