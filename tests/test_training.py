from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from vae_core import ModelConfig, TrainConfig, load_checkpoint
from vae_core.data import load_digits_data
from vae_core.training import EpochMetrics, StepMetrics, Trainer

DIGITS = ModelConfig(arch="mlp", image_shape=(1, 8, 8), latent_dim=2, hidden_dim=64)


def _train(epochs: int, seed: int = 0) -> Trainer:
    trainer = Trainer(DIGITS, TrainConfig(epochs=epochs, seed=seed, batch_size=64), load_digits_data())
    list(trainer.run())
    return trainer


@pytest.mark.slow
def test_training_on_digits_lowers_the_validation_loss() -> None:
    trainer = _train(epochs=8)
    losses = [m.val_loss for m in trainer.history]
    assert losses[-1] < 0.8 * losses[0]
    assert all(isinstance(m, EpochMetrics) for m in trainer.history)


@pytest.mark.slow
def test_training_is_reproducible_with_a_seed() -> None:
    a, b = _train(2, seed=5), _train(2, seed=5)
    assert [m.val_loss for m in a.history] == [m.val_loss for m in b.history]
    for key, value in a.best_state.items():
        assert torch.equal(value, b.best_state[key])


def test_uint8_pixels_train_exactly_as_their_floats() -> None:
    """Uint8 data is made float once, on the device, so training indexes one float tensor as before."""
    digits = load_digits_data()
    as_uint8 = replace(digits, pixels=(digits.floats() * 255).round().to(torch.uint8))
    as_float = replace(digits, pixels=as_uint8.floats())
    a, b = (Trainer(DIGITS, TrainConfig(epochs=1, batch_size=256), data) for data in (as_uint8, as_float))
    assert a.train_images.dtype == torch.float32 and torch.equal(a.train_images, b.train_images)
    list(a.run()), list(b.run())
    assert [m.val_loss for m in a.history] == [m.val_loss for m in b.history]


def test_metrics_stream_steps_then_epochs() -> None:
    trainer = Trainer(DIGITS, TrainConfig(epochs=1, batch_size=256), load_digits_data())
    metrics = list(trainer.run())
    steps = [m for m in metrics if isinstance(m, StepMetrics)]
    assert len(steps) == trainer.steps_per_epoch() and isinstance(metrics[-1], EpochMetrics)
    assert steps[-1].step == steps[-1].total_steps
    assert all(m.loss == m.recon + m.kl or abs(m.loss - m.recon - m.kl) < 1e-3 for m in steps)
    assert metrics[-1].images_per_s > 0


@pytest.mark.slow
def test_stop_between_steps_keeps_the_best_model(tmp_path: Path) -> None:
    trainer = Trainer(DIGITS, TrainConfig(epochs=50, batch_size=64), load_digits_data())
    stop = threading.Event()
    for m in trainer.run(stop):
        if isinstance(m, EpochMetrics) and m.epoch == 2:
            stop.set()
    assert trainer.stopped and len(trainer.history) == 2
    path = trainer.save(tmp_path / "stopped")
    ckpt = load_checkpoint(path)
    assert ckpt.metadata.stopped_early and ckpt.metadata.epochs_trained == 2
    assert ckpt.codes is not None and ckpt.codes.mu.shape == (1797, 2)


def test_cli_writes_a_checkpoint(tmp_path: Path) -> None:
    from vae_core.train import main

    assert main(["--dataset", "digits", "--epochs", "1", "--hidden-dim", "32", "--out", str(tmp_path / "cli")]) == 0
    assert load_checkpoint(tmp_path / "cli").metadata.train.epochs == 1


@pytest.mark.slow
def test_a_folder_too_big_to_preload_streams_through_dataloader_workers(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from vae_core.data import ImageFiles, list_image_folder, preload_fits

    digits = load_digits_data()
    for i in range(240):
        label = int(digits.labels[i])
        (tmp_path / str(label)).mkdir(exist_ok=True)
        Image.fromarray((digits.floats(i)[0].numpy() * 255).astype(np.uint8)).save(tmp_path / str(label) / f"{i}.png")
    assert preload_fits(240, (1, 8, 8)) and not preload_fits(10**13, (1, 28, 28))
    files = list_image_folder(tmp_path, size=8)
    assert isinstance(files, ImageFiles) and len(files) == 240
    trainer = Trainer(DIGITS, TrainConfig(dataset="folder", epochs=4, batch_size=32, lr=3e-3), files)
    assert not isinstance(trainer.train_images, torch.Tensor)  # batches come from disk
    list(trainer.run())
    losses = [m.val_loss for m in trainer.history]
    assert losses[-1] < losses[0]
    ckpt = load_checkpoint(trainer.save(tmp_path / "streamed"))
    assert ckpt.codes is not None and ckpt.codes.mu.shape == (240, 2)
