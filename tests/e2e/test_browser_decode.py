"""The page's own decode (static/js/vae_decoder.mjs running onnxruntime-web on the decoder
exported from the checkpoint, served by the app) equals torch's, for every shipped model and
for one trained right here; the page turns a map position into the server's z; and the pages
decode in the browser as the pointer or a slider moves, or on the server when the browser
cannot."""
from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from playwright.sync_api import Page

from ui.browser_decoder import DECODER_MODULE, ORT_BUNDLE, browser_decoder, map_inverse, static_url
from ui.loaders import DEFAULT_MODEL, SHIPPED_DIR
from vae_core import Checkpoint, ModelConfig, TrainConfig, load_checkpoint, load_dataset, save_checkpoint
from vae_core.projection import fit_projection, map_bounds, umap_projection
from vae_core.training import Trainer

from .conftest import MAIN, go_to, no_exception, open_app, screenshot, select_model, server_path_only, wait_idle

pytestmark = pytest.mark.e2e

N_Z = 300
TOLERANCE = 1e-4  # per pixel, images in [0, 1]

# Decodes the z (n, d) given flat with the page's decoder; returns the largest |page - torch|.
# torch's images come as base64 float32 bytes: a JSON list of millions of numbers (300 colour
# 64x64 images) took Playwright minutes to pass.
DECODE_JS = """async ([decoder, z, n, ref64]) => {
    const mod = await import(new URL(decoder.module, document.baseURI).href);
    const dec = await mod.loadDecoder(decoder.model, decoder.latent_dim, decoder.shape);
    const out = await dec.decode(Float32Array.from(z), n);
    const bytes = Uint8Array.from(atob(ref64), c => c.charCodeAt(0));
    const ref = new Float32Array(bytes.buffer);
    if (out.length !== ref.length) return `got ${out.length} pixels, expected ${ref.length}`;
    let err = 0;
    for (let i = 0; i < out.length; i++) err = Math.max(err, Math.abs(out[i] - ref[i]));
    return err;
}"""


def fresh_checkpoint(folder: Path) -> Path:
    """An MLP with a 5-d latent and a Gaussian decoder, trained for one epoch now."""
    trainer = Trainer(ModelConfig(latent_dim=5, hidden_dim=48, recon="mse"), TrainConfig(epochs=1, batch_size=64),
                      load_dataset("digits"))
    for _ in trainer.run():
        pass
    return save_checkpoint(folder / "fresh-mlp-5d", trainer.best_model(), trainer.metadata())


needs_ort = pytest.mark.skipif(not ORT_BUNDLE.is_file(), reason="onnxruntime-web is not installed (make install)")
STATUS = '[data-testid="vaeDecodePath"]'
CANVAS = '[data-testid="vaeDecodedCanvas"]'


def shipped_models() -> list[Path]:
    """Every shipped model, the default first: each is a graph the page may be asked to run."""
    return sorted(SHIPPED_DIR.glob("*.safetensors"), key=lambda p: (p.stem != DEFAULT_MODEL, p.stem))


@needs_ort
def test_page_decode_matches_torch(page: Page, app_url: str, tmp_path: Path) -> None:
    paths = shipped_models() + [fresh_checkpoint(tmp_path)]  # the fresh one: a Gaussian decoder, another latent size
    assert len(paths) >= 7
    open_app(page, app_url)
    rng = np.random.default_rng(0)
    for path in paths:
        ckpt: Checkpoint = load_checkpoint(path)
        decoder = browser_decoder(ckpt)
        assert not isinstance(decoder, str), decoder
        z = (rng.standard_normal((N_Z, ckpt.config.latent_dim)) * 1.5).astype(np.float32)
        with torch.inference_mode():
            ref = ckpt.model.decode(torch.from_numpy(z)).numpy()
        ref64 = base64.b64encode(np.ascontiguousarray(ref, dtype="<f4").tobytes()).decode("ascii")
        err = page.evaluate(DECODE_JS, [decoder.data(), z.ravel().tolist(), N_Z, ref64])
        assert isinstance(err, float | int), f"{path.stem}: {err}"
        assert err <= TOLERANCE, f"{path.stem}: the page's decode is {err:.2e} from torch's"


INVERSE_JS = """async ([module, spec, xy]) => {
    const mod = await import(new URL(module, document.baseURI).href);
    const inverse = await mod.mapInverse(spec);
    return xy.map(([x, y]) => Array.from(inverse(x, y)));
}"""


@pytest.mark.parametrize("method", ["pca", "raw", "tsne", "umap"])
def test_page_map_inverse_matches_the_server(page: Page, app_url: str, method: str) -> None:
    """A map position goes back to the same z in the page as in vae_core.projection. UMAP's way
    back uses only its layout and codes, so any layout serves (fitting one costs numba's compile)."""
    codes = load_checkpoint(SHIPPED_DIR / "digits-mlp-8d").codes.mu.astype(np.float64)[:400]
    if method == "umap":
        layout = fit_projection(codes, "pca").embedding
        projection = umap_projection(layout - (layout.max(axis=0) + layout.min(axis=0)) / 2, codes, k=10, seed=0)
    else:
        projection = fit_projection(codes, method, dims=(2, 5))
    x0, x1, y0, y1 = map_bounds(projection.embedding)
    rng = np.random.default_rng(1)
    xy = np.column_stack([rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200)])
    xy[:5] = projection.embedding[:5]  # on a code: t-SNE gives that code back
    open_app(page, app_url)
    got = np.asarray(page.evaluate(INVERSE_JS, [static_url(DECODER_MODULE), map_inverse(projection), xy.tolist()]))
    np.testing.assert_allclose(got, projection.to_latent(xy), atol=1e-4)


def canvas_png(page: Page, scope: str = MAIN) -> str:
    """What the decoder's canvas shows (Playwright's locators see into the component's shadow root)."""
    return page.locator(f"{scope} {CANVAS}").first.evaluate("c => c.toDataURL()")


def wait_canvas_change(page: Page, old: str, scope: str = MAIN, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while (now := canvas_png(page, scope)) == old and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    return now


@needs_ort
def test_explore_sliders_decode_in_the_page_and_the_server_learns_the_settled_point(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    select_model(page, "mnist-conv-2d")
    go_to(page, "Explore")
    page.locator(STATUS, has_text="Decoded in this browser").wait_for()
    before = canvas_png(page)
    slider = page.locator(f'{MAIN} [data-testid="vaeSlider"]').first
    box = slider.bounding_box()
    sent = page.evaluate("() => performance.getEntriesByType('resource').length")  # no image is fetched
    page.mouse.click(box["x"] + 0.9 * box["width"], box["y"] + box["height"] / 2)
    assert wait_canvas_change(page, before) != before  # painted in the page
    assert page.evaluate("() => performance.getEntriesByType('resource').length") == sent
    value = float(slider.input_value())
    page.wait_for_timeout(1500)  # the point settles (250 ms); the server hears it and reruns
    wait_idle(page)
    page.locator(f'{MAIN} [data-testid="stCheckbox"]', has_text="Decode in this browser").locator("label").click()
    server_slider = page.locator(f'{MAIN} [data-testid="stSlider"]', has_text="z[0]").first
    server_slider.wait_for()
    assert float(server_slider.locator('input[type="range"]').input_value()) == pytest.approx(value, abs=1e-6)
    assert page.locator(MAIN).get_by_text("Decoded on the server: decoding in this browser is switched off").count()
    page.locator(f'{MAIN} [data-testid="stCheckbox"]', has_text="Decode in this browser").locator("label").click()
    page.locator(STATUS, has_text="Decoded in this browser").wait_for()
    assert no_exception(page)


@needs_ort
def test_latent_map_decodes_under_the_pointer(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    select_model(page, "mnist-conv-16d")
    go_to(page, "Latent map")
    page.locator(f"{MAIN} [data-testid='stButtonGroup']").get_by_text("PCA", exact=True).click()
    wait_idle(page)
    page.locator(STATUS, has_text="Decoded in this browser").wait_for()
    area = page.locator(f"{MAIN} .js-plotly-plot .nsewdrag").first.bounding_box()
    shots = []
    for u in (0.2, 0.8):
        page.mouse.move(area["x"] + u * area["width"], area["y"] + 0.5 * area["height"])
        page.locator('[data-testid="vaePointerImage"]').wait_for(state="visible")
        shots.append(wait_canvas_change(page, shots[-1] if shots else "", "body"))
    assert shots[0] != shots[1]
    page.mouse.move(area["x"] - 30, area["y"] - 30)  # off the map: the image goes
    page.locator('[data-testid="vaePointerImage"]').wait_for(state="hidden")
    assert no_exception(page)


def test_a_browser_that_cannot_run_the_decoder_gets_the_server_path(page: Page, app_url: str) -> None:
    server_path_only(page)
    open_app(page, app_url)
    go_to(page, "Explore")
    page.locator(MAIN).get_by_text("Decoded on the server: this browser cannot run the decoder").first.wait_for()
    page.locator(f'{MAIN} [data-testid="stSlider"]').first.wait_for()  # the server's sliders
    page.locator(f'{MAIN} [data-testid="stImage"]', has_text="decode(z)").wait_for()
    assert no_exception(page)


# Every image the in-page decoder paints, as the canvas's PNG (its paint event bubbles out of
# the component's shadow root), and the resources fetched meanwhile (a server image would be one).
# Fetches the act started. Counted from a quiet page: a rerun's last images can reach the DOM
# (and start their fetches) a few frames after Streamlit reports the run finished, and a
# resource entry is written when its fetch ends, so neither may be charged to the act.
QUIET_JS = """() => new Promise(done => {
    const busy = () => Array.from(document.images).some(i => !i.complete);
    let seen = performance.getEntriesByType('resource').length, still = 0;
    const tick = () => {
        const now = performance.getEntriesByType('resource').length;
        still = (now === seen && !busy()) ? still + 1 : 0;
        seen = now;
        still >= 5 ? done(true) : setTimeout(tick, 100);
    };
    tick();
})"""
RECORD_PAINTS_JS = """() => {
    window.__paints = [];
    window.__since = performance.now();
    document.addEventListener('vae-painted', e => window.__paints.push(e.composedPath()[0].toDataURL()), true);
}"""
PAINTS_JS = """() => [new Set(window.__paints).size,
    performance.getEntriesByType('resource').filter(e => e.startTime >= window.__since).length]"""


def assert_paints_in_the_page(page: Page, act: Callable[[], None], what: str) -> None:
    """Do `act` (play an animation, move a scrubber) on the visible in-page decoder: it paints a
    new decoded image as the frames go by, and the page fetches nothing."""
    page.locator(f"{MAIN} {STATUS}:visible", has_text="Decoded in this browser").first.wait_for()
    page.evaluate(QUIET_JS)
    page.evaluate(RECORD_PAINTS_JS)
    act()
    distinct, fetched = page.evaluate(PAINTS_JS)
    assert distinct >= 5, f"{distinct} different decoded images {what}"
    assert fetched == 0


def play(page: Page) -> None:
    page.locator(f"{MAIN} .js-plotly-plot:visible .updatemenu-button", has_text="Play").first.click()
    page.wait_for_timeout(3000)  # 30 frames of 60 ms


@needs_ort
def test_reparameterization_animations_show_the_decoded_sample_of_every_frame(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    go_to(page, "Reparameterization")
    assert_paints_in_the_page(page, lambda: play(page), "while the 1-D animation played")
    page.get_by_role("tab", name="2-D cloud").click()
    wait_idle(page)
    assert_paints_in_the_page(page, lambda: play(page), "while the 2-D animation played")
    assert no_exception(page)


def scrub(page: Page) -> None:
    """Move the visible scrubber across its stops, a tenth of them at a time."""
    scrubber = page.locator(f"{MAIN} [data-testid='vaeScrubber']:visible").first
    stops = int(scrubber.get_attribute("max"))
    for stop in range(stops // 10, stops + 1, stops // 10):
        scrubber.fill(str(stop))


@needs_ort
def test_explore_scrubbers_decode_in_the_page(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    go_to(page, "Explore")
    for view in ("Traversal", "Interpolation"):
        page.locator(f"{MAIN} [data-testid='stButtonGroup']").get_by_text(view, exact=True).click()
        wait_idle(page)
        assert_paints_in_the_page(page, lambda: scrub(page), f"along the {view.lower()} scrubber")
    assert no_exception(page)
