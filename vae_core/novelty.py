"""Does an image look like the model's training data? Its reconstruction error says.

A VAE reconstructs images like its data well and others badly; the label its nearest codes
vote for says nothing about that (a photo of a cat still lands near some digit). The
threshold is a quantile of the reconstruction error -log p(x | z = mu) over the data set,
computed once per model: an upload above it reconstructs worse than 99% of the data. Larger
data sets are measured on an even spread of MAX_IMAGES of them: the first upload waits for
this (40 s for all 20,000 shapes at one thread on a shared 2-core machine), and 5,000 images
put 50 above the 99th percentile, enough to place it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import as_float, even_rows
from .encoding import encode_batch
from .models import VAE

QUANTILE = 0.99
BATCH = 1000  # images per forward pass: bounded memory at 60k images
MAX_IMAGES = 5000


@dataclass(frozen=True)
class NoveltyThreshold:
    """The reconstruction error (nats per image, the model's likelihood) that `quantile` of `n` data images stay under."""

    value: float
    quantile: float
    n: int

    def unlike_data(self, recon_error: float) -> bool:
        return recon_error > self.value


def novelty_threshold(model: VAE, images: torch.Tensor, quantile: float = QUANTILE) -> NoveltyThreshold:
    """The `quantile` of the data's reconstruction errors, measured the way uploads are (z = mu),
    over at most `MAX_IMAGES` of them, evenly spread (`n` says how many).

    images: (N, C, H, W) in [0, 1], or uint8 pixels (`ImageData.pixels`): the model's data set.
    """
    if len(images) == 0:
        raise ValueError("the threshold needs at least one data image")
    if len(images) > MAX_IMAGES:
        images = images[even_rows(len(images), MAX_IMAGES)]
    errors = np.concatenate([encode_batch(model, as_float(images[i:i + BATCH])).recon_error for i in range(0, len(images), BATCH)])
    return NoveltyThreshold(float(np.quantile(errors, quantile)), quantile, len(errors))
