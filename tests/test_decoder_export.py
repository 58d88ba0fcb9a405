"""The decoder exported for the browser computes torch's decode, and is exported once per model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from vae_core import ModelConfig, build_model, list_checkpoints, load_checkpoint
from vae_core.decoder_export import INPUT, DecoderExports

from .conftest import SHIPPED

N_Z = 300
TOLERANCE = 1e-4  # per pixel, images in [0, 1]: the bar the page's decode is held to


@pytest.mark.slow
def test_exported_conv_decoder_matches_torch_and_is_kept(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="conv", image_shape=(3, 28, 28), latent_dim=6, hidden_dim=32)).eval()
    exports = DecoderExports(tmp_path)
    path = exports.export(model)
    z = np.random.default_rng(0).standard_normal((7, 6)).astype(np.float32) * 2
    out = onnxruntime.InferenceSession(str(path)).run(None, {INPUT: z})[0]
    with torch.inference_mode():
        ref = model.decode(torch.from_numpy(z)).numpy()
    assert out.shape == (7, 3, 28, 28)
    np.testing.assert_allclose(out, ref, atol=1e-5)

    mtime = path.stat().st_mtime_ns
    assert exports.export(model) == path and path.stat().st_mtime_ns == mtime  # kept, not exported again
    with torch.no_grad():
        model.dec[0].bias.add_(1.0)
    assert exports.path(model) != path  # new weights, new file


@pytest.mark.slow
@pytest.mark.parametrize("name", [entry.path.stem for entry in list_checkpoints(SHIPPED)])
def test_every_shipped_decoder_exports_to_a_graph_that_decodes_as_torch_does(name: str, tmp_path: Path) -> None:
    """The graph the page runs, for every shipped model, on 300 random z: the browser test checks
    the same in Chromium; this one also runs where Chromium is missing."""
    model = load_checkpoint(SHIPPED / name).model.eval()
    path = DecoderExports(tmp_path).export(model)
    z = (np.random.default_rng(0).standard_normal((N_Z, model.latent_dim)) * 1.5).astype(np.float32)
    out = onnxruntime.InferenceSession(str(path)).run(None, {INPUT: z})[0]
    with torch.inference_mode():
        ref = model.decode(torch.from_numpy(z)).numpy()
    assert out.shape == ref.shape and float(np.abs(out - ref).max()) <= TOLERANCE
