"""The page's own decode (static/js/vae_decoder.mjs running onnxruntime-web on the decoder
exported from the checkpoint, served by the app) equals torch's, for every shipped model and
for one trained right here; and the page turns a map position into the server's z."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from playwright.sync_api import Page

from pages.common import DECODER_MODULE, ORT_BUNDLE, SHIPPED_DIR, browser_decoder, map_inverse, static_url
from vae_core import Checkpoint, ModelConfig, TrainConfig, load_checkpoint, load_dataset, save_checkpoint
from vae_core.projection import fit_projection, map_bounds
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


INVERSE_JS = """async ([module, spec, xy]) => {
    const mod = await import(new URL(module, document.baseURI).href);
    const inverse = await mod.mapInverse(spec);
    return xy.map(([x, y]) => Array.from(inverse(x, y)));
}"""


@pytest.mark.parametrize("method", ["pca", "raw", "tsne"])
def test_page_map_inverse_matches_the_server(page: Page, app_url: str, method: str) -> None:
    """A map position goes back to the same z in the page as in vae_core.projection."""
    codes = load_checkpoint(SHIPPED_DIR / "digits-mlp-8d").codes.mu.numpy().astype(np.float64)[:400]
    projection = fit_projection(codes, method, dims=(2, 5))
    x0, x1, y0, y1 = map_bounds(projection.embedding)
    rng = np.random.default_rng(1)
    xy = np.column_stack([rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200)])
    xy[:5] = projection.embedding[:5]  # on a code: t-SNE gives that code back
    open_app(page, app_url)
    got = np.asarray(page.evaluate(INVERSE_JS, [static_url(DECODER_MODULE), map_inverse(projection), xy.tolist()]))
    np.testing.assert_allclose(got, projection.to_latent(xy), atol=1e-4)
