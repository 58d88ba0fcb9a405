"""Train: a short run on the digits draws live curves, Stop ends it, Save puts the model in the picker."""
from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page

from .conftest import MAIN, PICKER, go_to, no_exception, open_app, screenshot, wait_idle

pytestmark = pytest.mark.e2e

# The last epoch on the train curve of the loss chart ("Loss = reconstruction + ..."; -1 while none is drawn).
CURVE_END = """() => {
    const gd = Array.from(document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot'))
        .find(g => g._fullLayout && String(g._fullLayout.title && g._fullLayout.title.text).includes('Loss = '));
    const x = gd && gd._fullData.length ? gd._fullData[0].x : [];
    return x.length ? x[x.length - 1] : -1;
}"""


def stop_button(page: Page) -> Locator:
    """The page's Stop (Streamlit's own header has a Stop button while a script runs)."""
    return page.locator(MAIN).get_by_role("button", name="Stop")


def start_training(page: Page, epochs: int) -> None:
    """On the Train page: digits, the default small MLP, `epochs` epochs; press Start."""
    epochs_input = page.locator(f'{MAIN} [data-testid="stNumberInput"]', has_text="Epochs").locator("input")
    epochs_input.fill(str(epochs))
    epochs_input.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Start training").click()
    stop_button(page).wait_for()


def test_live_curves_stop_and_save(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    go_to(page, "Train")
    start_training(page, 1000)  # the most the form allows: far longer than the test waits, so Stop must end it
    page.wait_for_function(f"() => ({CURVE_END})() > 0")
    drawn = page.evaluate(CURVE_END)
    page.wait_for_function(f"(end) => ({CURVE_END})() > end", arg=drawn)  # the curves grow while it trains
    screenshot(page, "train")

    stop_button(page).click()
    page.get_by_text("Stopped after").wait_for()
    name_input = page.locator(f'{MAIN} [data-testid="stTextInput"]', has_text="Checkpoint name").locator("input")
    name_input.fill("e2e-digits")
    name_input.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Saved as e2e-digits").first.wait_for()
    assert "e2e-digits" in page.locator(f"{PICKER} input").input_value()  # picked in the sidebar now
    page.locator(PICKER).click()
    assert page.locator('[role="option"]', has_text="e2e-digits").count() == 1  # and listed
    page.keyboard.press("Escape")
    assert no_exception(page)
