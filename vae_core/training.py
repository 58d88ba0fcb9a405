"""The training loop as a generator of metrics, so a CLI, a test or a page can drive it.

Speed comes from the data path, not from changing the maths: the whole data set is one
preloaded tensor on the training device, each batch is one `index_select`, evaluation runs
in large no-grad batches, and Adam uses its multi-tensor (foreach) kernels.
"""
from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .checkpoints import LatentCodes, save_checkpoint
from .config import ModelConfig, TrainConfig
from .data import ImageData, load_dataset, train_test_split
from .device import pick_device
from .losses import loss_parts
from .models import VAE, build_model

EVAL_BATCH = 2048


@dataclass(frozen=True)
class StepMetrics:
    """One optimisation step; losses are per image, in nats."""

    epoch: int
    step: int  # global step, from 1
    total_steps: int
    loss: float
    recon: float
    kl: float
    images_per_s: float
    elapsed_s: float


@dataclass(frozen=True)
class EpochMetrics:
    """End of an epoch: train averages and the held-out test loss, per image."""

    epoch: int  # from 1
    epochs: int
    train_loss: float
    train_recon: float
    train_kl: float
    test_loss: float
    test_recon: float
    test_kl: float
    images_per_s: float
    epoch_s: float
    elapsed_s: float
    is_best: bool


def seed_everything(seed: int) -> None:
    """Same seed, same weights, same batches, same eps: runs are reproducible on one device."""
    torch.manual_seed(seed)


@torch.inference_mode()
def evaluate(model: VAE, data: Tensor, beta: float = 1.0, kind: str = "bce") -> dict[str, float]:
    """Per-image loss parts over a whole tensor, in large batches."""
    was_training = model.training
    model.eval()
    totals = {"loss": 0.0, "recon": 0.0, "kl": 0.0}
    for start in range(0, data.shape[0], EVAL_BATCH):
        x = data[start:start + EVAL_BATCH]
        recon_logits, mu, log_var = model(x)
        parts = loss_parts(recon_logits, x, mu, log_var, beta=beta, kind=kind)
        for k in totals:
            totals[k] += float(parts[k])
    model.train(was_training)
    return {k: v / data.shape[0] for k, v in totals.items()}


@torch.inference_mode()
def encode_all(model: VAE, images: Tensor) -> tuple[Tensor, Tensor]:
    """mu, log_var (N, D) of every image, batched."""
    was_training = model.training
    model.eval()
    mus, log_vars = [], []
    for start in range(0, images.shape[0], EVAL_BATCH):
        mu, log_var = model.encode(images[start:start + EVAL_BATCH])
        mus.append(mu)
        log_vars.append(log_var)
    model.train(was_training)
    return torch.cat(mus), torch.cat(log_vars)


class Trainer:
    """Owns one model, its optimiser and its data; `run` yields metrics as it trains."""

    def __init__(
        self, model_config: ModelConfig, train_config: TrainConfig, data: ImageData | None = None
    ) -> None:
        self.model_config = model_config
        self.train_config = train_config
        self.device = pick_device(train_config.device)
        seed_everything(train_config.seed)
        if data is None:
            data = load_dataset(train_config.dataset, train_config.data_dir, model_config.image_shape[-1])
        if data.image_shape != model_config.image_shape:
            raise ValueError(f"the data's images are {data.image_shape}, the model expects {model_config.image_shape}")
        self.data = data
        train, test = train_test_split(data, train_config.test_fraction, train_config.seed)
        self.train_images = train.images.to(self.device)
        self.test_images = test.images.to(self.device)
        self.model = build_model(model_config).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=train_config.lr, foreach=True)
        self._shuffle = torch.Generator().manual_seed(train_config.seed)
        self.best_state: dict[str, Tensor] = copy.deepcopy(self.model.state_dict())
        self.best_test_loss = math.inf
        self.history: list[EpochMetrics] = []
        self.stopped = False

    def steps_per_epoch(self) -> int:
        return math.ceil(self.train_images.shape[0] / self.train_config.batch_size)

    def run(self, stop: threading.Event | None = None, every: int = 1) -> Iterator[StepMetrics | EpochMetrics]:
        """Train for the configured epochs; yield every `every`-th step and each epoch.

        Setting `stop` ends training after the current step; the best model so far is kept.
        """
        cfg = self.train_config
        n, bs = self.train_images.shape[0], cfg.batch_size
        steps = self.steps_per_epoch()
        start = time.perf_counter()
        self.model.train()
        for epoch in range(1, cfg.epochs + 1):
            epoch_start = time.perf_counter()
            perm = torch.randperm(n, generator=self._shuffle).to(self.device)
            sums = torch.zeros(3, device=self.device)
            seen = 0
            for i in range(steps):
                if stop is not None and stop.is_set():
                    self.stopped = True
                    return
                x = self.train_images.index_select(0, perm[i * bs:(i + 1) * bs])
                recon_logits, mu, log_var = self.model(x)
                parts = loss_parts(recon_logits, x, mu, log_var, beta=cfg.beta, kind=self.model_config.recon)
                self.optimizer.zero_grad(set_to_none=True)
                parts["loss"].backward()
                self.optimizer.step()
                seen += x.shape[0]
                batch_sums = torch.stack([parts["loss"], parts["recon"], parts["kl"]]).detach()
                sums += batch_sums
                step = (epoch - 1) * steps + i + 1
                if step % every == 0:
                    now = time.perf_counter()
                    loss, recon, kl = (batch_sums / x.shape[0]).tolist()
                    yield StepMetrics(
                        epoch, step, cfg.epochs * steps, loss, recon, kl, seen / max(now - epoch_start, 1e-9), now - start,
                    )
            epoch_s = time.perf_counter() - epoch_start
            test = evaluate(self.model, self.test_images, cfg.beta, self.model_config.recon)
            is_best = test["loss"] < self.best_test_loss
            if is_best:
                self.best_test_loss = test["loss"]
                self.best_state = copy.deepcopy(self.model.state_dict())
            train_loss, train_recon, train_kl = (sums / seen).tolist()
            metrics = EpochMetrics(
                epoch, cfg.epochs, train_loss, train_recon, train_kl, test["loss"], test["recon"], test["kl"],
                seen / epoch_s, epoch_s, time.perf_counter() - start, is_best,
            )
            self.history.append(metrics)
            yield metrics

    def best_model(self) -> VAE:
        """A copy of the model at its lowest test loss, on the CPU, in eval mode."""
        model = build_model(self.model_config)
        model.load_state_dict({k: v.cpu() for k, v in self.best_state.items()})
        return model.eval()

    def metadata(self) -> dict[str, Any]:
        """What the checkpoint's sidecar says about how this model came to be."""
        last = self.history[-1] if self.history else None
        best = min(self.history, key=lambda m: m.test_loss) if self.history else None
        return {
            "dataset": self.data.name,
            "class_names": list(self.data.class_names),
            "train": self.train_config.to_dict(),
            "epochs_trained": len(self.history),
            "stopped_early": self.stopped,
            "device": str(self.device),
            "train_seconds": round(last.elapsed_s, 2) if last else 0.0,
            "final": None if best is None else {
                "best_epoch": best.epoch, "test_loss": best.test_loss, "test_recon": best.test_recon,
                "test_kl": best.test_kl, "train_loss": best.train_loss,
            },
        }

    def save(self, path: str | Path, with_codes: bool = True) -> Path:
        """Save the best model; with its codes of the whole data set for offline maps."""
        model = self.best_model()
        codes = None
        if with_codes:
            mu, log_var = encode_all(model, self.data.images)
            codes = LatentCodes(mu, log_var, self.data.labels)
        return save_checkpoint(path, model, self.metadata(), codes)
