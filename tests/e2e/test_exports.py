"""Downloads from the Latent map: the codes with their map positions (CSV) and the map (SVG)."""
from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from ui.browser_decoder import ORT_BUNDLE
from vae_core import load_checkpoint

from .conftest import MAIN, REPO, go_to, no_exception, open_app, select_model

pytestmark = pytest.mark.e2e


def download(page: Page, label: str, folder: Path) -> Path:
    with page.expect_download(timeout=60_000) as info:
        page.locator(f"{MAIN} [data-testid='stDownloadButton'] button", has_text=label).first.click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


RUNS_JS = """() => {
    window.vaeRuns = 0;
    new MutationObserver((changes) => {
        for (const c of changes) if (c.target.getAttribute("data-test-script-state") === "running") window.vaeRuns += 1;
    }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-test-script-state"]});
}"""


def test_codes_and_map_download_as_the_page_shows_them(page: Page, app_url: str, tmp_path: Path) -> None:
    page.add_init_script(f"({RUNS_JS})()")
    open_app(page, app_url)
    select_model(page, "digits-mlp-2d")
    go_to(page, "Latent map")  # a 2-d model opens on its latent axes: map x, y are z[0], z[1]
    if ORT_BUNDLE.is_file():  # the decoder coming in reruns nothing, so no rerun replaces a button under a click
        runs = page.evaluate("window.vaeRuns")
        expect(page.locator(f"{MAIN} [data-testid='vaeDecodePath']")).to_contain_text("Decoded in this browser",
                                                                                       timeout=60_000)
        page.wait_for_timeout(1_500)
        assert page.evaluate("window.vaeRuns") == runs
    codes = load_checkpoint(REPO / "checkpoints" / "digits-mlp-2d.safetensors").codes
    assert codes is not None
    table = download(page, "Codes (CSV)", tmp_path)
    assert table.name == "digits-mlp-2d-raw-codes.csv"
    rows = list(csv.DictReader(io.StringIO(table.read_text())))
    assert len(rows) == len(codes.mu)
    np.testing.assert_allclose([[float(r["x"]), float(r["y"])] for r in rows], codes.mu, rtol=1e-5, atol=1e-6)
    assert [int(r["label"]) for r in rows] == codes.labels.tolist()
    svg = ET.parse(download(page, "Map (SVG)", tmp_path)).getroot()
    groups = svg.findall("{http://www.w3.org/2000/svg}g")
    assert sum(len(g) for g in groups) == len(codes.mu) and len(groups) == 10
    assert no_exception(page)
