"""The app's copy of a shapes model's data: 20,000 colour images must stay small enough for a
small server (the page's process is held to 1 GB of RSS, bench/browser_latency.py)."""
from __future__ import annotations

from pathlib import Path

import torch

from vae_core import load_checkpoint

SHAPES = Path(__file__).resolve().parents[1] / "checkpoints" / "shapes-conv-10d-beta1.safetensors"


def test_the_app_keeps_a_shapes_models_images_as_uint8() -> None:
    from ui.loaders import model_dataset

    data = model_dataset(load_checkpoint(SHAPES))
    n, (c, h, w) = len(data), data.image_shape
    assert n == 20_000 and data.pixels.dtype == torch.uint8
    held = sum(t.nbytes for t in (data.pixels, data.labels, data.factors))
    assert held <= 1.05 * n * c * h * w  # 258 MB; float32 pixels were 983 MB
