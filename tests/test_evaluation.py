"""Reported figures: chosen on validation, measured once on test, checked against the grid."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core import ModelConfig, TrainConfig, load_checkpoint
from vae_core.data import load_digits_data, train_test_split
from vae_core.evaluation import reported_figures
from vae_core.posterior import grid_posterior
from vae_core.training import Trainer

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "digits-mlp-2d"


def test_reported_log_px_agrees_with_the_exact_grid_value() -> None:
    """The IWAE mean over test images against the mean of exact (grid) log p(x) of the same
    images; the ELBO sits below both."""
    if not SHIPPED.with_suffix(".safetensors").exists():
        pytest.skip("shipped checkpoint digits-mlp-2d not found")
    model = load_checkpoint(SHIPPED).model
    _, test = train_test_split(load_digits_data(), 0.2, 0)
    images = test.floats(slice(0, 40))
    figures = reported_figures(model, images, k=128)
    exact = np.mean([grid_posterior(model, x).log_px_grid for x in images])
    assert figures.n_images == 40 and figures.iwae_k == 128
    assert abs(figures.log_px_iwae - exact) < 0.1  # the per-image spread cancels: same images
    assert figures.elbo < exact and figures.elbo_se > 0 and figures.log_px_iwae_se > 0
    assert figures.recon + figures.kl == pytest.approx(-figures.elbo)
    assert "binarised" in figures.likelihood


def test_best_epoch_is_chosen_on_validation_and_test_is_read_once_at_save(tmp_path: Path) -> None:
    data = load_digits_data()
    trainer = Trainer(ModelConfig(latent_dim=2, hidden_dim=32, binarize=True), TrainConfig(epochs=3, seed=1), data)
    n_train, n_val, n_test = (len(p) for p in (trainer.train_images, trainer.val_images, trainer.test_images))
    assert n_train + n_val + n_test == len(data) and n_test == round(0.2 * len(data))
    assert n_val == round(0.1 * (len(data) - n_test))
    rows = {bytes(x.numpy()) for x in trainer.test_images}
    assert not any(bytes(x.numpy()) in rows for x in trainer.val_images[:50] if x.sum() > 0)
    for _ in trainer.run():
        pass
    best = min(trainer.history, key=lambda m: m.val_loss)
    meta = load_checkpoint(trainer.save(tmp_path / "m")).metadata
    assert meta.final is not None and meta.final["best_epoch"] == best.epoch
    assert meta.split == {"train": n_train, "val": n_val, "test": n_test}
    test = meta.test
    assert test is not None
    assert test["n_images"] == n_test and test["iwae_k"] >= 100
    assert test["elbo"] <= test["log_px_iwae"] + 3 * test["log_px_iwae_se"]
    assert math.isfinite(test["elbo_se"]) and test["elbo_se"] < 1.0


def test_model_card_lines_label_every_figure(tmp_path: Path) -> None:
    from vae_core.evaluation import card_lines

    from vae_core.metadata import CheckpointMeta

    def typed(description: dict, config: ModelConfig) -> CheckpointMeta:
        return CheckpointMeta.from_dict({"format": "vae-explorer/1", **description, "model": config.to_dict()}, "test")

    meta = {"dataset": "mnist", "split": {"train": 7200, "val": 800, "test": 2000},
            "final": {"best_epoch": 38, "val_loss": 100.0},
            "test": {"elbo": -101.0, "elbo_se": 0.4, "n_images": 2000, "iwae_k": 128, "log_px_iwae": -96.5,
                     "log_px_iwae_se": 0.4, "heavy_tailed_fraction": 0.0}}
    text = "\n".join(card_lines(typed(meta, ModelConfig(arch="conv", image_shape=(1, 28, 28), binarize=True))))
    assert "Bernoulli on binarised pixels" in text and "chosen on the validation loss" in text
    assert "-101.00 ± 0.40 nats/image" in text and "-96.50 ± 0.40 nats/image, estimated (IWAE, K = 128)" in text
    assert "published binarised-MNIST" in text
    old = "\n".join(card_lines(typed({"final": {"best_epoch": 3, "test_loss": 24.4}}, ModelConfig(recon="bce"))))
    assert "optimistic" in old and "not a log probability" in old


def test_the_loss_chart_draws_the_negative_elbo_beside_the_loss() -> None:
    from ui.figures import loss_figure

    fig = loss_figure("Loss", [0.5, 1.0], [30.0, 25.0], [1], [26.0], dashed=("−ELBO", [28.0, 24.0], [25.0]))
    assert [trace.name for trace in fig.data] == ["train", "validation", "train −ELBO", "validation −ELBO"]
    assert list(fig.data[2].y) == [28.0, 24.0] and fig.data[2].line.dash == "dash"
