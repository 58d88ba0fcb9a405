"""One flow across the pages: hand-offs that open their page on the point, Explore's small map
and gallery that move the sliders, the view in the URL (also on a fresh server), one hover
label on the map, and layouts that fit at 800 and 390 px."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page

from ui.loaders import SHIPPED_DIR
from vae_core import load_checkpoint
from vae_core.encoding import encode_uploads

from .conftest import (
    MAIN, PICKER, digit_png, go_to, no_exception, open_app, screenshot, select_model, start_server, stop_server,
    server_path_only, title, title_text, wait_idle, wait_image_change,
)

pytestmark = pytest.mark.e2e

MAP_AREA = f"{MAIN} .st-key-latent_map_chart .js-plotly-plot .nsewdrag"
SMALL_MAP_AREA = f"{MAIN} .st-key-explore_map .js-plotly-plot .nsewdrag"
# Map coordinates of a page position on the plot with this key (plotly's own axis transforms).
SPOT_XY = """([key, x, y]) => {
    const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    const fl = gd._fullLayout, r = gd.querySelector('.nsewdrag').getBoundingClientRect();
    return [fl.xaxis.p2l(x - r.left), fl.yaxis.p2l(y - r.top)];
}"""


def sliders(page: Page) -> list[float]:
    """The values of Explore's z[0] and z[1] sliders."""
    out = []
    for dim in (0, 1):
        slider = page.locator(f'{MAIN} [data-testid="stSlider"]', has_text=f"z[{dim}]").first
        out.append(float(slider.locator('input[type="range"]').input_value()))
    return out


def wait_sliders(page: Page, expected: list[float], tol: float = 0.03) -> None:
    page.wait_for_function(
        """([exp, tol]) => [0, 1].every(d => {
            const s = Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stSlider"]'))
                .find(el => el.innerText.includes(`z[${d}]`));
            return s && Math.abs(parseFloat(s.querySelector('input[type="range"]').value) - exp[d]) <= tol;
        })""", arg=[expected, tol])


# What under `scope` is cut: an element whose content is wider than its box (a button group
# scrolled to "Laten…") or that runs past the main area's right edge.
CUT_OFF_JS = """(scope) => {
    const edge = document.querySelector('[data-testid="stMain"]').getBoundingClientRect().right;
    return Array.from(document.querySelectorAll(`${scope}, ${scope} *`))
        .filter(el => el.offsetParent !== null && (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible'
                      || el.getBoundingClientRect().right > edge + 1))
        .map(el => `${el.dataset.testid || el.tagName} "${el.innerText.slice(0, 40)}": ${el.scrollWidth} in ${el.clientWidth}`);
}"""


def cut_off(page: Page, scope: str) -> list[str]:
    return page.evaluate(CUT_OFF_JS, scope)


def query(page: Page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def click_map(page: Page, area: str, fx: float, fy: float) -> tuple[float, float]:
    """Click at a fraction of the plot area; returns the spot in map units."""
    box = page.locator(area).first.bounding_box()
    x, y = box["x"] + fx * box["width"], box["y"] + fy * box["height"]
    key = "latent_map_chart" if "latent_map" in area else "explore_map"
    spot = page.evaluate(SPOT_XY, [key, x, y])
    page.mouse.click(x, y)
    return spot[0], spot[1]


def test_a_map_click_sent_to_explore_sets_its_sliders_and_the_url_keeps_them(page: Page, app_url: str) -> None:
    server_path_only(page)  # these flows check the server's hand-offs; the in-page decoder has its own tests
    open_app(page, app_url)
    go_to(page, "Latent map")  # the default model, mnist-conv-2d: its map is the latent space itself
    page.locator(MAP_AREA).wait_for()
    assert query(page).get("map") == "raw" and query(page).get("model") == "mnist-conv-2d"

    # one label at a time: the floating image names the point, plotly draws no label of its own
    box = page.locator(MAP_AREA).bounding_box()
    for fx in (0.45, 0.5, 0.55):
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + 0.5 * box["height"])
        page.wait_for_timeout(300)
    page.locator('[data-testid="vaeMapHover"]').wait_for(state="visible")
    assert page.locator(f"{MAIN} .hoverlayer .hovertext").count() == 0

    x, y = click_map(page, MAP_AREA, 0.62, 0.4)
    page.get_by_text("decoded at").first.wait_for()
    wait_idle(page)
    caption = page.locator(f'{MAIN} [data-testid="stImageCaption"]', has_text="decoded at").first.inner_text()
    z = [float(v) for v in re.findall(r"-?\d+\.\d+", caption)[:2]]  # the spot, or the code it hit
    assert "at" in query(page)
    page.get_by_role("button", name="Send to Explore").click()
    title(page, "Explore").wait_for()
    wait_idle(page)
    wait_sliders(page, z)
    assert urlparse(page.url).path.endswith("/explore")
    linked = [float(v) for v in query(page)["z"].split(",")]
    assert linked == pytest.approx(z, abs=0.01)
    assert no_exception(page)

    page.reload()  # a new session: the URL alone restores the model, the page and the point
    page.locator(PICKER).wait_for()
    title(page, "Explore").wait_for()
    wait_idle(page)
    wait_sliders(page, z)
    assert "mnist-conv-2d" in page.locator(f"{PICKER} input").input_value()


def test_explores_small_map_and_gallery_move_the_sliders(page: Page, app_url: str) -> None:
    server_path_only(page)  # these flows check the server's hand-offs; the in-page decoder has its own tests
    open_app(page, app_url)
    go_to(page, "Explore")
    page.locator(SMALL_MAP_AREA).wait_for(timeout=60_000)
    before = wait_image_change(page, None, "decode(z)")
    x, y = click_map(page, SMALL_MAP_AREA, 0.7, 0.3)
    wait_sliders(page, [x, y], tol=0.06)
    wait_image_change(page, before, "decode(z)")
    wait_idle(page)

    page.locator(f"{MAIN} [data-testid='stExpander']", has_text="chosen by looking").locator("summary").click()
    gallery = page.locator(f"{MAIN} [data-testid='vaeGallery'] button")
    gallery.first.wait_for()
    title = gallery.nth(2).get_attribute("title")  # "#2, 1": its index and label
    gallery.nth(2).click()
    page.wait_for_function("([a, b]) => { const s = Array.from(document.querySelectorAll("
                           "'[data-testid=\"stMain\"] [data-testid=\"stSlider\"] input[type=\"range\"]'));"
                           " return s.length && (Math.abs(s[0].value - a) > 0.06 || Math.abs(s[1].value - b) > 0.06); }",
                           arg=[x, y])
    assert title.startswith("#2, ")
    assert no_exception(page)
    screenshot(page, "explore")


def _upload_zero(page: Page) -> None:
    go_to(page, "Encode")
    page.locator(f'{MAIN} [data-testid="stFileUploader"] input[type="file"]').set_input_files(
        [{"name": "zero.png", "mimeType": "image/png", "buffer": digit_png()}])
    wait_image_change(page, None, "decode(mu)", timeout_ms=90_000)
    wait_idle(page, 90_000)


def test_an_upload_sent_to_explore_or_reparameterization_opens_it_on_the_upload(page: Page, app_url: str) -> None:
    server_path_only(page)  # these flows check the server's hand-offs; the in-page decoder has its own tests
    model = load_checkpoint(SHIPPED_DIR / "mnist-conv-2d").model  # the default model
    mu = encode_uploads(model, [("zero.png", digit_png())]).encoding.mu[0]  # what the page encodes
    open_app(page, app_url)
    assert title(page, "Encode").count() == 0  # Home's title, "…autoencoders, explored", is not Encode's
    _upload_zero(page)
    page.get_by_text("training data").first.wait_for()  # the novelty note beside the label guess
    page.get_by_role("button", name="Send to Explore").click()
    title(page, "Explore").wait_for()
    wait_idle(page)
    wait_sliders(page, [float(v) for v in mu])  # at the upload's mu, not at z = 0
    assert [float(v) for v in query(page)["z"].split(",")] == pytest.approx(mu, abs=0.01)

    _upload_zero(page)  # leaving Encode let its uploader go
    page.get_by_role("button", name="Send to Reparameterization").click()
    title(page, "Reparameterization").wait_for()
    wait_idle(page)
    chosen = page.locator(f'{MAIN} [data-testid="stRadio"] input[type="radio"]:checked')
    assert chosen.first.evaluate("el => el.closest('label').innerText") == "Handed-over point"
    page.get_by_text("Point from upload zero.png").first.wait_for()
    assert no_exception(page)


# Resolves once the t-SNE map is drawn, with what was seen on the way: the progress bar, and
# whether a map (the old one, which Streamlit keeps faded until the run ends) was ever shown
# while the bar was.
WATCH_FIT_JS = """() => new Promise(resolve => {
    const main = document.querySelector('[data-testid="stMain"]');
    let sawBar = false, mapWithBar = false;
    const look = () => {
        const bar = main.querySelector('[data-testid="stProgress"]');
        const map = Array.from(main.querySelectorAll('.st-key-latent_map_chart .js-plotly-plot'))
            .find(el => el.offsetParent !== null);  // one that is shown
        sawBar ||= !!bar;
        mapWithBar ||= !!(bar && map);
        if (sawBar && map && !bar) resolve({sawBar, mapWithBar});
        else requestAnimationFrame(look);
    };
    look();
})"""


def test_while_a_t_sne_map_fits_its_progress_bar_takes_the_old_maps_place(page: Page, app_url: str) -> None:
    """No click can land on a map that is about to be replaced: the bar stands where the map was."""
    open_app(page, app_url)
    select_model(page, "digits-mlp-8d")  # 1,797 codes: a fit of seconds, long enough to watch
    go_to(page, "Latent map")
    page.locator(MAP_AREA).wait_for()  # its default map, PCA
    page.locator(f"{MAIN} [data-testid='stButtonGroup']").get_by_text("t-SNE", exact=True).click()
    seen = page.evaluate(WATCH_FIT_JS)  # the server's map cache is a fresh folder: this fits
    assert seen == {"sawBar": True, "mapWithBar": False}
    wait_idle(page)
    assert query(page).get("map") == "tsne"
    page.get_by_text("t-SNE", exact=False).first.wait_for()
    assert no_exception(page)


def test_a_link_opens_its_view_as_the_first_request_to_a_fresh_server(browser: Browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Streamlit's legacy pages/ mode runs a fresh server's first deep link without app.py (no
    sidebar, no picker): the page must still open on its model and point, with the app's frame."""
    proc, url = start_server(tmp_path)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        server_path_only(page)  # the server's sliders hold the linked point
        page.goto(f"{url}/explore?model=digits-mlp-2d&z=1.5,-0.5")
        title(page, "Explore").wait_for()
        wait_idle(page)
        wait_sliders(page, [1.5, -0.5])
        assert "digits-mlp-2d" in page.locator(f"{PICKER} input").input_value()
        assert urlparse(page.url).path.endswith("/explore") and query(page)["model"] == "digits-mlp-2d"
        assert page.get_by_text("common", exact=True).count() == 0  # pages/ lists no helper modules
        context.close()
    finally:
        stop_server(proc)


@pytest.mark.parametrize(("width", "height"), [(1400, 1000), (800, 900), (390, 844)])
def test_nothing_is_cut_off_on_a_half_screen_or_a_phone(browser: Browser, app_url: str, width: int, height: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        open_app(page, app_url)
        # formulas: each fits its column or scrolls sideways, none is clipped
        page.locator(f"{MAIN} .katex-display").first.wait_for()
        clipped = page.evaluate("""() => Array.from(document.querySelectorAll('.katex-display'))
            .filter(k => k.scrollWidth > k.clientWidth + 1 && !['auto', 'scroll'].includes(getComputedStyle(k).overflowX))
            .length""")
        assert clipped == 0
        # the picker's options (name, data, architecture, size, beta, likelihood) wrap, none is cut
        sidebar = page.locator('[data-testid="stSidebar"]').bounding_box()
        assert width >= 500 or sidebar["x"] + sidebar["width"] <= 0, sidebar  # closed on a phone: out of view
        if page.locator('[data-testid="stExpandSidebarButton"]').is_visible():
            page.locator('[data-testid="stExpandSidebarButton"]').click()
        page.wait_for_timeout(500)  # the sidebar slides in
        if width < 500:  # on a phone the sidebar's whole width holds the chosen model's label in full
            field = page.locator(f"{PICKER} input").evaluate("el => [el.value, el.scrollWidth, el.clientWidth]")
            assert field[1] <= field[2], field
        page.locator(PICKER).click()
        page.locator('[data-testid="stSelectboxVirtualDropdown"] [role="option"]').first.wait_for()
        cut = page.evaluate("""() => Array.from(document.querySelectorAll(
            '[data-testid="stSelectboxVirtualDropdown"] [role="option"], [data-testid="stSelectboxVirtualDropdown"] [role="option"] *'))
            .filter(el => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
            .map(el => `${el.innerText}: ${el.scrollWidth}x${el.scrollHeight} in ${el.clientWidth}x${el.clientHeight}`)""")
        assert cut == [], cut
        page.keyboard.press("Escape")
        page.goto(f"{app_url}/latent_map")
        page.locator(MAP_AREA).wait_for()
        wait_idle(page)
        # the map's button rows (method, drag mode) fit: none scrolls or runs past the main area
        assert cut_off(page, f"{MAIN} [data-testid='stButtonGroup']") == []
        # plotly's toolbar (shown on hover) and the legend do not overlap
        bar, legend = (page.locator(f"{MAIN} .st-key-latent_map_chart {part}").first.bounding_box()
                       for part in (".modebar", ".legend"))
        assert bar["y"] + bar["height"] <= legend["y"] or legend["x"] + legend["width"] <= bar["x"], (bar, legend)
        plot = page.locator(MAP_AREA).bounding_box()
        main = page.locator(MAIN).bounding_box()
        if width < 1000:  # a usable map where the columns stack (side by side at 1400 it has 3/5 of the row)
            assert plot["width"] >= 0.6 * min(main["width"], width) and plot["height"] >= 300, plot
        else:  # the map fills its column, with no empty band above it
            column = page.locator(f"{MAIN} [data-testid='stColumn']:has(.st-key-latent_map_chart)").first.bounding_box()
            chart = page.locator(f"{MAIN} .st-key-latent_map_chart").bounding_box()
            assert chart["width"] >= 0.95 * column["width"] and plot["height"] >= 450, (column, chart, plot)
            assert chart["y"] - column["y"] <= 120, (column, chart)  # one row of controls (76 px), no more
        screenshot(page, f"latent_map_{width}")
        # a button's label wraps in a narrow column instead of ending in "…" ("Worked exa…" at 800)
        page.goto(f"{app_url}/reparameterization")
        page.locator(f"{MAIN} .st-key-preset_worked_example button").wait_for()
        wait_idle(page)
        assert cut_off(page, f"{MAIN} [data-testid^='stBaseButton']") == []
        # the animation's Play/Pause sit below the x-axis title, not on it (they did at 800)
        chart = f"{MAIN} .st-key-rp_anim_1d"
        page.locator(f"{chart} .updatemenu-button").first.wait_for()
        play, axis_title = (page.locator(f"{chart} {part}").first.bounding_box() for part in (".updatemenu-button", ".xtitle"))
        assert play["y"] >= axis_title["y"] + axis_title["height"], (play, axis_title)
        # Home's links and Train's settings fit: in a side column at 800 px they were cut
        # ("Train: digits, MN", "Binarise th…", "Digits (scikit-")
        page.goto(app_url)
        page.locator(f"{MAIN} [data-testid='stPageLink']").last.wait_for()
        wait_idle(page)
        assert cut_off(page, f"{MAIN} [data-testid='stPageLink']") == []
        page.goto(f"{app_url}/train")
        page.locator(f"{MAIN} [data-testid='stCheckbox']").first.wait_for()
        wait_idle(page)
        for text in ("[data-testid='stMarkdownContainer']", "[data-baseweb='select']"):  # labels, a box's value
            assert cut_off(page, f"{MAIN} {text}") == [], text
        # Compare's box cuts the other model's label (a text field): each column says it in full
        page.goto(f"{app_url}/compare")
        page.locator(f"{MAIN} [data-testid='stImage']").last.wait_for()
        wait_idle(page)
        other = page.locator(f"{MAIN} [data-testid='stSelectbox'] input").input_value()
        page.locator(f"{MAIN} [data-testid='stCaptionContainer']", has_text=title_text(other)).wait_for()
    finally:
        context.close()
