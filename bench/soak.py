"""Soak: many visitors at once against one `streamlit run app.py` on loopback.

--sessions simulated visitors (default 10), each in its own Chromium context (its own
Streamlit session), loop for --minutes (default 10) through: train a small model and save
it (names drawn from a small shared pool, so saves collide), fit t-SNE maps with a new seed
in quick succession, upload a few images (now and then more than a session may), each loop
bounded by --rounds. Meanwhile a bystander session drags Explore's sliders.

Printed at the end:
  - errors shown to the visitors (tracebacks, or "error id" notices)          bar 0
  - checkpoints lost (a confirmed save whose model is not there at the end, or
    was replaced by a save that was not told to overwrite) or unloadable       bar 0
  - server RSS over time (start, peak, end, and after every tab has closed)
  - the bystander's slider -> image p95 under load vs idle                     bar <= 2x
The refusals a visitor is meant to get (the server's training limit, a taken name, the
upload budget) are counted apart: they are answers, not errors.

    .venv/bin/python bench/soak.py                       # 10 sessions, 10 minutes
    .venv/bin/python bench/soak.py --sessions 3 --minutes 2 --rounds 2   # a smoke run
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from playwright.async_api import Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import TimeoutError as SyncTimeout
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from bench.browser_latency import percentile, random_drag, rss_mb  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    CHROMIUM, CHROMIUM_FLAGS, MAIN, PICKER, VIEWPORT, digit_png, launch_chromium, open_app, start_server, stop_server,
    title_text, wait_image_change,
)
from tests.e2e.conftest import go_to as go_to_sync  # noqa: E402
from vae_core import CheckpointError, load_checkpoint  # noqa: E402

NAME_POOL = ("soak-a", "soak-b", "soak-c")  # shared by all sessions: saves collide on purpose
SLOWDOWN_BAR = 2.0
STEP_TIMEOUT_MS = 240_000  # one step (a training run on a loaded machine) may take this long
IDLE_JS = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
           " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')")
ERRORS_JS = """() => document.querySelectorAll('[data-testid="stException"]').length
    + Array.from(document.querySelectorAll('[data-testid="stAlert"]')).filter(a => /error id/i.test(a.innerText)).length"""


@dataclass
class Tally:
    errors_shown: int = 0
    stuck: int = 0  # steps that did not finish within STEP_TIMEOUT_MS
    refused: dict[str, int] = field(default_factory=dict)  # expected answers, by kind
    steps: dict[str, int] = field(default_factory=dict)
    saves: list[tuple[float, str, bool]] = field(default_factory=list)  # (when, name, overwrite ticked)
    open_s: list[float] = field(default_factory=list)  # each visitor's wait for the app to open

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


# ---------------------------------------------------------------- one visitor (async)
async def wait_idle(page: Page, timeout_ms: int = STEP_TIMEOUT_MS) -> None:
    await page.wait_for_function(IDLE_JS, timeout=timeout_ms)


async def go_to(page: Page, title: str) -> None:
    await page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    await page.locator(f"{MAIN} h1", has_text=title_text(title)).first.wait_for(timeout=STEP_TIMEOUT_MS)
    await wait_idle(page)


async def train_and_save(page: Page, tally: Tally, rng: random.Random, who: str) -> None:
    await go_to(page, "Train")
    epochs = page.locator(f'{MAIN} [data-testid="stNumberInput"]', has_text="Epochs").locator("input")
    await epochs.fill(str(rng.randint(2, 6)))
    await epochs.press("Enter")
    await wait_idle(page)
    await page.get_by_role("button", name="Start training").click()
    outcome = page.get_by_text("Finished").or_(page.get_by_text("Stopped after")).or_(
        page.get_by_text("already training on this server"))
    await outcome.first.wait_for(timeout=STEP_TIMEOUT_MS)
    if await page.get_by_text("already training on this server").count():
        tally.count(tally.refused, "training limit reached")
        return
    name_input = page.locator(f'{MAIN} [data-testid="stTextInput"]', has_text="Checkpoint name").locator("input")
    name = rng.choice(NAME_POOL)
    await name_input.fill(name)
    await name_input.press("Enter")
    await wait_idle(page)
    overwrite = False
    if await page.get_by_text("already exists").count():
        if rng.random() < 0.5:
            await page.get_by_text("Overwrite it").click()
            await wait_idle(page)
            overwrite = True
        else:
            name = f"{name}-{who}-{rng.randrange(10**6)}"
            await name_input.fill(name)
            await name_input.press("Enter")
            await wait_idle(page)
    await page.get_by_role("button", name="Save", exact=True).click()
    told = page.get_by_text("already exists").or_(page.get_by_text("replaced by another save"))
    done = page.get_by_text(f"Saved as {name}").or_(told)
    await done.first.wait_for(timeout=STEP_TIMEOUT_MS)
    if await page.get_by_text(f"Saved as {name}").count():
        tally.saves.append((time.time(), name, overwrite))
    else:
        tally.count(tally.refused, "name taken meanwhile: asked to overwrite or rename")


async def map_tsne(page: Page, tally: Tally, rng: random.Random) -> None:
    await go_to(page, "Latent map")
    await page.locator(f"{MAIN} [data-testid='stButtonGroup']").get_by_text("t-SNE", exact=True).click()
    seed = page.locator(f'{MAIN} [data-testid="stNumberInput"]', has_text="Seed").locator("input")
    await seed.wait_for(timeout=STEP_TIMEOUT_MS)
    for _ in range(rng.randint(1, 3)):  # new seeds in quick succession: earlier fits are superseded
        await seed.fill(str(rng.randrange(1000)))
        await seed.press("Enter")
        await page.wait_for_timeout(rng.randint(100, 600))
    await wait_idle(page)
    await page.locator(f"{MAIN} .js-plotly-plot").first.wait_for(timeout=STEP_TIMEOUT_MS)


async def upload(page: Page, tally: Tally, rng: random.Random) -> None:
    await go_to(page, "Encode")
    many = rng.random() < 0.2  # now and then more than a session may upload
    n = 40 if many else rng.randint(1, 4)
    files = [{"name": f"digit-{i}.png", "mimeType": "image/png", "buffer": digit_png()} for i in range(n)]
    await page.locator(f'{MAIN} [data-testid="stFileUploader"] input[type="file"]').set_input_files(files)
    await page.locator(f'{MAIN} [data-testid="stImage"]').first.wait_for(timeout=STEP_TIMEOUT_MS)
    await wait_idle(page)
    if await page.get_by_text("a session may upload at most").count():
        tally.count(tally.refused, "upload budget")


async def visitor(browser, url: str, who: str, seconds: float, rounds: int, tally: Tally, seed: int) -> None:
    """One visitor: opens the app, then loops for `seconds` (counted from when the app opened
    for it) or `rounds` loops, whichever ends first."""
    rng = random.Random(seed)
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        t0 = time.monotonic()
        await page.goto(url)
        await page.locator(PICKER).wait_for(timeout=STEP_TIMEOUT_MS)
        await wait_idle(page)
        tally.open_s.append(time.monotonic() - t0)
        deadline = time.monotonic() + seconds
        steps = {"train+save": lambda: train_and_save(page, tally, rng, who),
                 "t-SNE map": lambda: map_tsne(page, tally, rng), "upload": lambda: upload(page, tally, rng)}
        for _ in range(rounds):
            for name in rng.sample(list(steps), len(steps)):
                if time.monotonic() > deadline:
                    return
                try:
                    await steps[name]()
                    tally.count(tally.steps, name)
                except PlaywrightTimeout:
                    tally.stuck += 1
                tally.errors_shown += await page.evaluate(ERRORS_JS)
    finally:
        await context.close()  # the tab closes: the session ends


async def visitors(n: int, url: str, seconds: float, rounds: int, tally: Tally) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            await asyncio.gather(*(visitor(browser, url, f"s{i}", seconds, rounds, tally, i) for i in range(n)))
        finally:
            await browser.close()


# ---------------------------------------------------------------- the bystander and the server's memory
class Bystander(threading.Thread):
    """Explore's sliders in a session of its own (a browser of its own, sync API in this thread):
    `moves` timed moves before the visitors arrive, then batches of moves until told to stop.
    A move's time runs from the drag to the new decoded image loaded, seen from Python (so it
    includes Playwright's round trips, the same on both sides of the ratio)."""

    def __init__(self, url: str, moves: int, seed: int) -> None:
        super().__init__(name="bystander", daemon=True)
        self.url, self.moves, self.rng = url, moves, np.random.default_rng(seed)
        self.idle_ms: list[float] = []
        self.loaded_ms: list[float] = []
        self.missed = 0  # moves whose image did not come within a minute
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_context(viewport=VIEWPORT).new_page()
                page.set_default_timeout(STEP_TIMEOUT_MS)
                open_app(page, self.url)
                go_to_sync(page, "Explore")
                src = wait_image_change(page, None, "decode(z)", timeout_ms=STEP_TIMEOUT_MS)
                self.idle_ms, src = self._moves(page, self.moves, src)
                self.ready.set()
                while not self.stop.is_set():
                    times, src = self._moves(page, 5, src)
                    self.loaded_ms += times
                browser.close()
        except BaseException as err:  # reported by main; the soak goes on without a bystander
            self.error = err
        finally:
            self.ready.set()

    def _moves(self, page, n: int, src: str) -> tuple[list[float], str]:
        sliders = page.locator(f'{MAIN} [data-testid="stSlider"]')
        sliders.first.wait_for()
        count = min(sliders.count(), 8)
        times = []
        for _ in range(n):
            drag = random_drag(page, sliders.nth(int(self.rng.integers(count))), self.rng)
            t0 = time.perf_counter()
            drag()
            try:
                src = wait_image_change(page, src, "decode(z)", timeout_ms=60_000)
                times.append(1000 * (time.perf_counter() - t0))
            except SyncTimeout:
                self.missed += 1
            page.wait_for_timeout(300)  # a person looks at the image before the next move
        return times, src


def sample_rss(pid: int, every_s: float, out: list[tuple[float, float]], stop: threading.Event) -> None:
    t0 = time.monotonic()
    while not stop.wait(every_s):
        try:
            out.append((time.monotonic() - t0, rss_mb(pid)[0]))
        except (FileNotFoundError, KeyError):
            return


# ---------------------------------------------------------------- the verdict on the checkpoints
def checkpoints_lost(user_dir: Path, saves: list[tuple[float, str, bool]]) -> tuple[int, int, int]:
    """(confirmed saves, lost, unloadable): a name confirmed saved must load at the end, and a
    confirmed save without 'overwrite' must never have replaced an earlier confirmed one."""
    lost = unloadable = 0
    seen: set[str] = set()
    for _, name, overwrite in sorted(saves):
        if name in seen and not overwrite:
            lost += 1  # it replaced someone's model without asking
        seen.add(name)
    for name in seen:
        try:
            load_checkpoint(user_dir / name)
        except CheckpointError as err:
            unloadable += 1
            print(f"  {name}: {err}")
    return len(saves), lost, unloadable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=50, help="at most this many loops per session")
    parser.add_argument("--moves", type=int, default=20, help="bystander slider moves timed while idle")
    parser.add_argument("--settle-s", type=float, default=150.0,
                        help="after the tabs close, wait this long before the last RSS reading")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        user_dir = Path(tmp) / "user"
        os.environ["VAE_EXPLORER_MAP_CACHE"] = str(Path(tmp) / "maps")
        proc, url = start_server(user_dir)
        rss: list[tuple[float, float]] = []
        stop_sampling = threading.Event()
        sampler = threading.Thread(target=sample_rss, args=(proc.pid, 5.0, rss, stop_sampling), daemon=True)
        try:
            sampler.start()
            bystander = Bystander(url, args.moves, seed=0)
            bystander.start()
            bystander.ready.wait()
            tally = Tally()
            t0 = time.monotonic()
            asyncio.run(visitors(args.sessions, url, 60 * args.minutes, args.rounds, tally))
            soak_s = time.monotonic() - t0
            bystander.stop.set()
            bystander.join(timeout=STEP_TIMEOUT_MS / 1000)
            closed_rss = rss_mb(proc.pid)[0]
            time.sleep(args.settle_s)
            settled_rss, peak = rss_mb(proc.pid)
        finally:
            stop_sampling.set()
            stop_server(proc)
        saved, lost, unloadable = checkpoints_lost(user_dir, tally.saves)

    load = os.getloadavg()
    print(f"soak: {args.sessions} sessions for {soak_s / 60:.1f} min (asked {args.minutes:g}), "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    opened = f"{len(tally.open_s)} opened the app in {min(tally.open_s):.0f}-{max(tally.open_s):.0f} s" \
        if tally.open_s else "none opened the app"
    print(f"  visitors: {opened}; steps done: {dict(sorted(tally.steps.items()))}; "
          f"stuck past {STEP_TIMEOUT_MS // 1000} s: {tally.stuck}")
    print(f"  refusals meant for the visitor: {dict(sorted(tally.refused.items())) or 'none'}")
    print(f"  errors shown: {tally.errors_shown}  |  bar 0: {'ok' if tally.errors_shown == 0 else 'OVER THE BAR'}")
    print(f"  checkpoints: {saved} saves confirmed, {lost} lost, {unloadable} unloadable  |  bar 0: "
          f"{'ok' if lost == unloadable == 0 else 'OVER THE BAR'}")
    series = ", ".join(f"{t / 60:.1f} min {mb:.0f}" for t, mb in rss[:: max(1, len(rss) // 12)])
    print(f"  server RSS (MB): start {rss[0][1] if rss else float('nan'):.0f}, peak {peak:.0f}, at the end "
          f"{closed_rss:.0f}, {args.settle_s:.0f} s after every tab closed {settled_rss:.0f}; over time: {series}")
    if bystander.error is not None or not bystander.idle_ms or not bystander.loaded_ms:
        print(f"  bystander: no figures ({bystander.error!r})")
        return
    idle, loaded = percentile(bystander.idle_ms, 95), percentile(bystander.loaded_ms, 95)
    print(f"  bystander moves without an image within 60 s: {bystander.missed}")
    print(f"  bystander slider -> image (seen from Python): idle p50 {statistics.median(bystander.idle_ms):.0f} ms p95 {idle:.0f} ms "
          f"(n={len(bystander.idle_ms)}); under load p50 {statistics.median(bystander.loaded_ms):.0f} ms p95 "
          f"{loaded:.0f} ms (n={len(bystander.loaded_ms)}); ratio {loaded / idle:.2f}  |  bar <= {SLOWDOWN_BAR:g}x: "
          f"{'ok' if loaded <= SLOWDOWN_BAR * idle else 'OVER THE BAR'}")


if __name__ == "__main__":
    main()
