"""The "unlike the training data" flag: the data's 99th percentile of reconstruction error."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core import load_checkpoint, load_dataset, reconstruction_loss
from vae_core.novelty import novelty_threshold

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"


@pytest.fixture(scope="module")
def digits_model():
    return load_checkpoint(SHIPPED / "digits-mlp-2d").model


def test_the_threshold_is_the_quantile_of_the_data_errors_computed_directly(digits_model) -> None:
    images = load_dataset("digits").floats()
    threshold = novelty_threshold(digits_model, images)
    with torch.inference_mode():  # the reference: the whole set in one pass, errors at z = mu
        mu, _ = digits_model.encode(images)
        seen = digits_model.observe(images)  # binarised, for a model of binarised pixels
        errors = reconstruction_loss(digits_model.decode_logits(mu), seen, digits_model.config.recon).numpy()
    assert threshold.n == len(images)
    assert threshold.value == pytest.approx(float(np.quantile(errors, 0.99)), rel=1e-5)
    assert (errors > threshold.value).mean() == pytest.approx(0.01, abs=0.002)


def test_a_large_data_set_is_measured_on_an_even_spread_of_it(digits_model) -> None:
    from vae_core.novelty import MAX_IMAGES

    images = load_dataset("digits").floats().repeat(4, 1, 1, 1)  # 7,188 images: more than measured
    spread = images[np.linspace(0, len(images) - 1, MAX_IMAGES).round().astype(np.int64)]
    threshold = novelty_threshold(digits_model, images)
    assert threshold.n == MAX_IMAGES < len(images)
    assert threshold.value == pytest.approx(novelty_threshold(digits_model, spread).value, rel=1e-6)


def test_data_passes_and_noise_is_flagged(digits_model) -> None:
    images = load_dataset("digits").floats()
    threshold = novelty_threshold(digits_model, images[:1000])
    noise = torch.rand(20, *images.shape[1:], generator=torch.Generator().manual_seed(0))
    from vae_core.encoding import encode_batch

    assert all(threshold.unlike_data(e) for e in encode_batch(digits_model, noise).recon_error)
    held_out = encode_batch(digits_model, images[1000:1200]).recon_error
    assert np.mean([threshold.unlike_data(e) for e in held_out]) < 0.05


def test_no_data_no_threshold(digits_model) -> None:
    with pytest.raises(ValueError):
        novelty_threshold(digits_model, torch.zeros(0, 1, 8, 8))


def test_uint8_pixels_give_the_threshold_of_their_floats(digits_model) -> None:
    """The app passes the data's stored pixels: uint8 ones are made float batch by batch, exactly."""
    pixels = (load_dataset("digits").floats() * 255).round().to(torch.uint8)
    assert novelty_threshold(digits_model, pixels) == novelty_threshold(digits_model, pixels.float() / 255)
