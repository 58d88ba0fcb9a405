"""The page's own decode (static/js/vae_decoder.mjs running onnxruntime-web on the decoder
exported from the checkpoint, served by the app) equals torch's, for every shipped model and
for one trained right here."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from playwright.sync_api import Page

from ui.browser_decoder import ORT_BUNDLE, browser_decoder
from ui.loaders import SHIPPED_DIR
from vae_core import Checkpoint, ModelConfig, TrainConfig, load_checkpoint, load_dataset, save_checkpoint
from vae_core.training import Trainer

from .conftest import open_app

pytestmark = pytest.mark.e2e

N_Z = 300
TOLERANCE = 1e-4  # per pixel, images in [0, 1]

# Decodes the z (n, d) given flat with the page's decoder; returns the largest |page - torch|.
DECODE_JS = """async ([decoder, z, n, ref]) => {
    const mod = await import(new URL(decoder.module, document.baseURI).href);
    const dec = await mod.loadDecoder(decoder.model, decoder.latent_dim, decoder.shape);
    const out = await dec.decode(Float32Array.from(z), n);
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


@pytest.mark.skipif(not ORT_BUNDLE.is_file(), reason="onnxruntime-web is not installed (make install)")
def test_page_decode_matches_torch(page: Page, app_url: str, tmp_path: Path) -> None:
    paths = sorted(SHIPPED_DIR.glob("*.safetensors")) + [fresh_checkpoint(tmp_path)]
    open_app(page, app_url)
    rng = np.random.default_rng(0)
    for path in paths:
        ckpt: Checkpoint = load_checkpoint(path)
        decoder = browser_decoder(ckpt)
        assert not isinstance(decoder, str), decoder
        z = (rng.standard_normal((N_Z, ckpt.config.latent_dim)) * 1.5).astype(np.float32)
        with torch.inference_mode():
            ref = ckpt.model.decode(torch.from_numpy(z)).numpy()
        err = page.evaluate(DECODE_JS, [decoder.data(), z.ravel().tolist(), N_Z, ref.ravel().tolist()])
        assert isinstance(err, float | int), f"{path.stem}: {err}"
        assert err <= TOLERANCE, f"{path.stem}: the page's decode is {err:.2e} from torch's"
