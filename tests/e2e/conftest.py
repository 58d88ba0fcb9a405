"""A real Streamlit server and Debian's Chromium, driven by Playwright.

One server per test session: `streamlit run app.py` on a free loopback port, with user
checkpoints in a temporary folder. Chromium is launched from /usr/bin/chromium (Playwright's
own browser download is not used). Each test gets its own browser context, i.e. its own
Streamlit session. The helpers below are shared with bench/browser_latency.py.
"""
from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Locator, Page, Playwright, sync_playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("VAE_EXPLORER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SCREENSHOTS = REPO / "docs" / "screenshots"
STARTUP_TIMEOUT_S = 60.0
VIEWPORT = {"width": 1400, "height": 1000}
PICKER = '[data-testid="stSidebar"] [data-testid="stSelectbox"]'
MAIN = '[data-testid="stMain"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, timeout_s: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout_s} s")


def start_server(user_dir: Path, wait: bool = True, maps: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run app.py` headless on a free loopback port; returns (process, url).
    `maps`: a folder for the fitted maps instead of checkpoints/.cache (tests start empty, as CI does)."""
    port = free_port()
    env = {**os.environ, "VAE_EXPLORER_USER_DIR": str(user_dir), "PYTHONUNBUFFERED": "1"}
    if maps is not None:
        env["VAE_EXPLORER_MAP_CACHE"] = str(maps)
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
        "--server.address", "127.0.0.1", "--server.port", str(port),
    ]  # the rest (no usage stats, no file watcher) comes from .streamlit/config.toml, as for users
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    if wait:
        try:
            wait_healthy(url, STARTUP_TIMEOUT_S, proc)
        except BaseException:
            stop_server(proc)
            raise
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def launch_chromium(pw: Playwright) -> Browser:
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium (make browser)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def user_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where models saved in the app during the session go."""
    return tmp_path_factory.mktemp("e2e_user_checkpoints")


@pytest.fixture(scope="session")
def app_url(user_dir: Path) -> Iterator[str]:
    proc, url = start_server(user_dir, maps=user_dir / ".maps")
    try:
        yield url
    finally:
        stop_server(proc)


@pytest.fixture
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


# ---------------------------------------------------------------- helpers
IDLE_JS = """() => document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    && !document.querySelector('[data-testid="stElementContainer"][data-stale="true"]')"""


def wait_idle(page: Page, timeout_ms: int = 30_000) -> None:
    """Wait until Streamlit has finished the current run, as its own app root says
    (`data-test-script-state`), fragment runs included, with no element left over from the
    previous run. The status widget's "Running" is no sign: it shows an icon, only once a run has
    gone on for a while, so a test read a page (or a URL) that was still being drawn."""
    page.wait_for_function(IDLE_JS, timeout=timeout_ms)


def open_app(page: Page, app_url: str, timeout_ms: int = 60_000) -> None:
    """Open the home page and wait until the sidebar's model picker is drawn."""
    page.goto(app_url)
    page.locator(PICKER).wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def select_model(page: Page, name: str) -> None:
    """Pick a model by name in the sidebar picker, as a user does (open, type, choose)."""
    picker = page.locator(PICKER)
    if name in picker.locator("input").input_value():
        return
    picker.click()
    page.keyboard.type(name)
    page.locator('[role="option"]', has_text=name).first.click()
    page.wait_for_function(
        "([sel, name]) => document.querySelector(sel + ' input').value.includes(name)", arg=[PICKER, name]
    )
    wait_idle(page)


def title_text(text: str) -> re.Pattern[str]:
    """A page title that reads exactly `text`: a plain `has_text` matches any part of it,
    case-insensitively, so "Encode" and "Explore" were found in Home's "Variational
    autoencoders, explored" before the new page had been drawn."""
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def title(page: Page, text: str) -> Locator:
    """The page's title when it reads exactly `text` (see title_text)."""
    return page.locator(f"{MAIN} h1", has_text=title_text(text)).first


def go_to(page: Page, name: str, timeout_ms: int = 60_000) -> None:
    """Open a page through the sidebar navigation (same session, so the picked model stays)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=name).first.click()
    title(page, name).wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def server_path_only(page: Page) -> None:
    """Keep onnxruntime-web from this page, so it decodes on the server, as a browser that
    cannot run the decoder does (for flows whose subject is the server's hand-offs)."""
    page.route("**/ort-wasm-simd-threaded.wasm*", lambda route: route.abort())
    page.route("**/vendor/onnxruntime-web/**", lambda route: route.abort())


def set_in_browser(page: Page, on: bool) -> None:
    """Flip the page's "Decode in this browser" switch (one per session) to `on`."""
    switch = page.locator(f'{MAIN} [data-testid="stCheckbox"]', has_text="Decode in this browser")
    if switch.locator("input").is_checked() != on:
        switch.locator("label").click()
        wait_idle(page)


def no_exception(page: Page) -> bool:
    return page.locator('[data-testid="stException"]').count() == 0


IMAGES_JS = """([scope, caption]) => Array.from(document.querySelectorAll(scope + ' [data-testid="stImage"]'))
    .filter(el => caption === null || el.innerText.includes(caption)).map(el => el.querySelector('img'))"""


def image_srcs(page: Page, caption: str | None = None, scope: str = MAIN) -> list[str]:
    """The src of every st.image under `scope` whose caption holds `caption` (a media URL
    that names the image's bytes)."""
    return page.evaluate(f"(a) => ({IMAGES_JS})(a).map(img => img.src)", [scope, caption])


def wait_image_change(
    page, old: str | None, caption: str | None = None, scope: str = MAIN, timeout_ms: int = 30_000,
) -> str:
    """Wait until the first image (with `caption`) under `scope` exists, has loaded, and its
    src is not `old`; returns the new src."""
    handle = page.wait_for_function(
        f"""([scope, caption, old]) => {{
            const img = ({IMAGES_JS})([scope, caption])[0];
            return img && img.src !== old && img.complete && img.naturalWidth > 0 ? img.src : null;
        }}""",
        arg=[scope, caption, old], timeout=timeout_ms,
    )
    return str(handle.json_value())


def image_bytes(page: Page, src: str) -> bytes:
    """The bytes the browser got for an image (fetched through the page's own context)."""
    response = page.request.get(src)
    assert response.ok, f"{src}: HTTP {response.status}"
    return response.body()


def _scratch_shots() -> Path:
    """A per-run temporary folder for screenshots nobody asked to keep."""
    return Path(tempfile.gettempdir()) / f"vae-explorer-screenshots-{os.getpid()}"


def screenshot(page: Page, name: str) -> Path:
    """Save NAME.png of the whole page: into docs/screenshots (tracked) only when asked with
    VAE_EXPLORER_SCREENSHOTS=1, else into a temporary folder, so a test run leaves the tree clean.

    Streamlit scrolls inside its main element, so a full-page shot would stop at the window:
    the window is made as tall as the content for the shot, then restored.
    """
    folder = SCREENSHOTS if os.environ.get("VAE_EXPLORER_SCREENSHOTS") == "1" else _scratch_shots()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(f"() => document.querySelector('{MAIN}').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(height))})
    try:
        page.evaluate(f"() => document.querySelector('{MAIN}').scrollTo(0, 0)")
        page.wait_for_timeout(300)  # plots re-lay themselves out on resize
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    return path


def digit_png() -> bytes:
    """A hand-drawn-looking zero: dark ink on light paper, as a phone photo of a drawing would be."""
    image = Image.new("L", (120, 160), 235)
    ImageDraw.Draw(image).ellipse((25, 20, 95, 140), outline=20, width=14)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
