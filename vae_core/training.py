"""The training loop as a generator of metrics, so a CLI, a test or a page can drive it.

Speed comes from the data path, not from changing the maths: the whole data set is one
preloaded tensor on the training device, each batch is one `index_select`, evaluation runs
in large no-grad batches, and Adam runs as one fused kernel (cpu, cuda and mps). Image
folders too large to preload stream from disk through DataLoader workers instead.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from .checkpoints import CheckpointError, LatentCodes, save_checkpoint
from .config import ModelConfig, TrainConfig
from .data import ImageData, ImageFiles, ImageFilesDataset, as_float, load_dataset, preload, train_test_split
from .device import pick_device
from .disentangle import mutual_information_gap
from .distributed import DistInfo, all_reduce_sum, shard
from .evaluation import reported_figures
from .losses import loss_parts
from .models import VAE, build_model
from .resume import TrainingState, save_training_state
from .snapshots import SNAPSHOT_POINTS, SnapshotRecorder, frames_that_fit, snapshot_subset

EVAL_BATCH = 2048
STREAM_WORKERS = min(4, os.cpu_count() or 1)

Source = Tensor | ImageFiles  # preloaded pixels (N, C, H, W), float in [0, 1] or uint8, or files on disk


def iter_batches(source: Source, order: Tensor | None, batch_size: int, device: torch.device) -> Iterator[Tensor]:
    """Batches of `source` in `order` (all images in sequence when None).

    A preloaded tensor is indexed directly, each batch made float on `device` (uint8 pixels
    stay uint8 until then); files are decoded by DataLoader workers.
    """
    if isinstance(source, Tensor):
        n = source.shape[0] if order is None else order.shape[0]
        for start in range(0, n, batch_size):
            x = source[start:start + batch_size] if order is None else source.index_select(0, order[start:start + batch_size])
            yield as_float(x.to(device, non_blocking=True))
        return
    sampler = None if order is None else order.tolist()
    loader = DataLoader(ImageFilesDataset(source), batch_size=batch_size, sampler=sampler, num_workers=STREAM_WORKERS)
    for x in loader:
        yield x.to(device, non_blocking=True)


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
    """End of an epoch: train averages and the validation loss (which chooses the best epoch),
    per image. loss = recon + beta * KL; the negative ELBO is recon + KL."""

    epoch: int  # from 1
    epochs: int
    train_loss: float
    train_recon: float
    train_kl: float
    val_loss: float
    val_recon: float
    val_kl: float
    images_per_s: float
    epoch_s: float
    elapsed_s: float
    is_best: bool


@torch.inference_mode()
def evaluate(model: VAE, data: Source, beta: float = 1.0, generator: torch.Generator | None = None) -> dict[str, float]:
    """Per-image loss parts over a whole data set, in large batches, one z sample per image."""
    was_training = model.training
    model.eval()
    totals = {"loss": 0.0, "recon": 0.0, "kl": 0.0}
    for x in iter_batches(data, None, EVAL_BATCH, next(model.parameters()).device):
        mu, log_var = model.encode(x)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device) if generator is not None else None
        recon_logits = model.decode_logits(model.reparameterize(mu, log_var, eps))
        parts = loss_parts(model.neg_log_likelihood(recon_logits, x), mu, log_var, beta=beta)
        for k in totals:
            totals[k] += float(parts[k])
    model.train(was_training)
    return {k: v / len(data) for k, v in totals.items()}


@torch.inference_mode()
def encode_all(model: VAE, images: Source) -> tuple[Tensor, Tensor]:
    """mu, log_var (N, D) of every image, batched."""
    was_training = model.training
    model.eval()
    mus, log_vars = [], []
    for x in iter_batches(images, None, EVAL_BATCH, next(model.parameters()).device):
        mu, log_var = model.encode(x)
        mus.append(mu)
        log_vars.append(log_var)
    model.train(was_training)
    return torch.cat(mus), torch.cat(log_vars)


class Trainer:
    """Owns one model, its optimiser and its data; `run` yields metrics as it trains.

    Randomness comes from the trainer's own generators (weights, shuffling, eps), so a run
    is reproducible from its seed and never reseeds the process-wide generator that other
    sessions of the app draw from. Under torchrun (`dist` enabled) the model is wrapped in
    DistributedDataParallel, each rank trains on its shard and metrics are summed over ranks.
    """

    def __init__(
        self, model_config: ModelConfig, train_config: TrainConfig, data: ImageData | ImageFiles | None = None,
        test_data: ImageData | ImageFiles | None = None, dist: DistInfo = DistInfo(), device: torch.device | None = None,
    ) -> None:
        """`test_data`, when given, is the held-out test set; otherwise `data` is split by
        `train_config.test_fraction`. The validation set that chooses the best epoch is carved
        from the training part (`val_fraction`): the test set is only read by `test_figures`."""
        self.model_config = model_config
        self.train_config = train_config
        self.dist = dist
        self.device = device or pick_device(train_config.device)
        if data is None:
            data = load_dataset(
                train_config.dataset, train_config.data_dir, model_config.image_shape[-1], train_config.dataset_size,
            )
        for part in (data, test_data):
            if part is not None and part.image_shape != model_config.image_shape:
                raise ValueError(f"the data's images are {part.image_shape}, the model expects {model_config.image_shape}")
        self.data = data
        if test_data is None:
            train, test = train_test_split(data, train_config.test_fraction, train_config.seed)
        else:
            train, test = data, test_data
        train, val = train_test_split(train, train_config.val_fraction, train_config.seed + 1)
        self.train_images, self.val_images, self.test_images = (self._on_device(part) for part in (train, val, test))
        followed = test.subset(snapshot_subset(len(test), min(SNAPSHOT_POINTS, len(test)), train_config.seed))
        followed = followed if isinstance(followed, ImageData) else preload(followed)
        # the same test images encoded after every epoch: the replay of the space organising itself
        self.recorder = SnapshotRecorder(followed.floats().to(self.device), followed.labels,
                                         lambda x: encode_all(self.model, x)[0])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(train_config.seed)
            self.model = build_model(model_config).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=train_config.lr, fused=True)
        self._step_model: torch.nn.Module = self.model
        if dist.enabled:
            self._step_model = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
            )
        self._rng = {
            "shuffle": torch.Generator().manual_seed(train_config.seed),
            "noise": torch.Generator(self.device).manual_seed(train_config.seed + 1),
        }
        self.best_state: dict[str, Tensor] = copy.deepcopy(self.model.state_dict())
        self.best_val_loss = math.inf
        self.history: list[EpochMetrics] = []
        self.stopped = False

    def _on_device(self, part: ImageData | ImageFiles) -> Source:
        """Preloaded images move to the training device once, as one float tensor (no
        conversion per step); files stay on disk."""
        return as_float(part.pixels.to(self.device)) if isinstance(part, ImageData) else part

    def _shard_size(self) -> int:
        n = len(self.train_images)
        return n // self.dist.world_size if self.dist.enabled else n

    def steps_per_epoch(self) -> int:
        return math.ceil(self._shard_size() / self.train_config.batch_size)

    def run(
        self, stop: threading.Event | None = None, every: int = 1, resume_to: str | Path | None = None,
    ) -> Iterator[StepMetrics | EpochMetrics]:
        """Train until the configured epochs are done; yield every `every`-th step and each epoch.

        Setting `stop` ends training after the current step; the best model so far is kept.
        With `resume_to`, rank 0 writes the training state there after every epoch.
        """
        cfg = self.train_config
        n, bs = len(self.train_images), cfg.batch_size
        steps = self.steps_per_epoch()
        start = time.perf_counter() - (self.history[-1].elapsed_s if self.history else 0.0)
        if self.recorder.last_epoch is None:
            self.recorder.record(len(self.history))  # where the codes start (a resumed run: where it resumed)
        self._step_model.train()
        for epoch in range(len(self.history) + 1, cfg.epochs + 1):
            epoch_start = time.perf_counter()
            perm = shard(torch.randperm(n, generator=self._rng["shuffle"]), self.dist)
            perm = perm.to(self.device) if isinstance(self.train_images, Tensor) else perm
            sums = torch.zeros(4, device=self.device)  # loss, recon, kl sums and images seen
            seen = 0
            for i, x in enumerate(iter_batches(self.train_images, perm, bs, self.device)):
                if stop is not None and stop.is_set():
                    self.stopped = True
                    return
                eps = torch.randn((x.shape[0], self.model_config.latent_dim), generator=self._rng["noise"], device=self.device)
                recon_logits, mu, log_var = self._step_model(x, eps)
                parts = loss_parts(self.model.neg_log_likelihood(recon_logits, x), mu, log_var, beta=cfg.beta)
                self.optimizer.zero_grad(set_to_none=True)
                parts["loss"].backward()
                self.optimizer.step()
                seen += x.shape[0]
                batch_sums = torch.stack([parts["loss"], parts["recon"], parts["kl"]]).detach()
                sums[:3] += batch_sums
                step = (epoch - 1) * steps + i + 1
                if step % every == 0:
                    now = time.perf_counter()
                    loss, recon, kl = (batch_sums / x.shape[0]).tolist()
                    yield StepMetrics(
                        epoch, step, cfg.epochs * steps, loss, recon, kl,
                        seen * self.dist.world_size / max(now - epoch_start, 1e-9), now - start,
                    )
            epoch_s = time.perf_counter() - epoch_start
            sums[3] = seen
            total_loss, total_recon, total_kl, total_seen = all_reduce_sum(sums, self.dist).tolist()
            val = evaluate(self.model, self.val_images, cfg.beta, self._eval_generator(epoch))
            is_best = val["loss"] < self.best_val_loss
            if is_best:
                self.best_val_loss = val["loss"]
                self.best_state = copy.deepcopy(self.model.state_dict())
            metrics = EpochMetrics(
                epoch, cfg.epochs, total_loss / total_seen, total_recon / total_seen, total_kl / total_seen,
                val["loss"], val["recon"], val["kl"], total_seen / epoch_s, epoch_s, time.perf_counter() - start, is_best,
            )
            self.history.append(metrics)
            self.recorder.record(epoch)
            if resume_to is not None and self.dist.is_main:
                save_training_state(resume_to, self.training_state())
            yield metrics

    def _eval_generator(self, epoch: int) -> torch.Generator:
        """The validation loss's z samples: the same on every rank, fresh each epoch, reproducible."""
        return torch.Generator(self.device).manual_seed(self.train_config.seed * 1_000_003 + epoch)

    def training_state(self) -> TrainingState:
        """Everything needed to continue this run exactly where its last epoch ended."""
        return TrainingState(
            model=self.model.state_dict(), optimizer=self.optimizer.state_dict(), best=self.best_state,
            rng={name: gen.get_state() for name, gen in self._rng.items()},
            info={
                "model": self.model_config.to_dict(), "train": self.train_config.to_dict(),
                "best_val_loss": self.best_val_loss, "stopped": self.stopped,
                "history": [dataclasses.asdict(m) for m in self.history],
            },
        )

    def restore(self, state: TrainingState) -> None:
        """Continue from a saved state; the configs must describe the same run. A state that
        does not fit (crafted or from another version) raises CheckpointError, nothing else."""
        try:
            self._restore(state)
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError):
            raise CheckpointError("the saved run's state is damaged or incomplete: start afresh without --resume") from None

    def _restore(self, state: TrainingState) -> None:
        if ModelConfig.from_dict(state.info["model"]) != self.model_config:
            raise CheckpointError("the saved run trained a different model: start afresh without --resume")
        saved_train = TrainConfig.from_dict(state.info["train"])
        if dataclasses.replace(saved_train, epochs=self.train_config.epochs) != self.train_config:
            raise CheckpointError("the saved run used other training settings: only --epochs may change on resume")
        build_model(self.model_config).load_state_dict(state.best)  # checks the best weights fit, before any change
        self.model.load_state_dict(state.model)
        self.optimizer.load_state_dict(state.optimizer)
        self.best_state = {k: v.to(self.device) for k, v in state.best.items()}
        for name, gen in self._rng.items():
            gen.set_state(state.rng[name])
        self.best_val_loss = float(state.info["best_val_loss"])
        self.history = [EpochMetrics(**m) for m in state.info["history"]]

    def best_model(self) -> VAE:
        """A copy of the model at its lowest validation loss, on the CPU, in eval mode."""
        model = build_model(self.model_config)
        model.load_state_dict({k: v.cpu() for k, v in self.best_state.items()})
        return model.eval()

    def metadata(self) -> dict[str, Any]:
        """What the checkpoint's sidecar says about how this model came to be."""
        last = self.history[-1] if self.history else None
        best = min(self.history, key=lambda m: m.val_loss) if self.history else None
        return {
            "dataset": self.data.name,
            "class_names": list(self.data.class_names),
            "train": self.train_config.to_dict(),
            "epochs_trained": len(self.history),
            "stopped_early": self.stopped,
            "device": str(self.device),
            "world_size": self.dist.world_size,
            "val_loss_history": [round(m.val_loss, 4) for m in self.history],
            "train_seconds": round(last.elapsed_s, 2) if last else 0.0,
            "split": {"train": len(self.train_images), "val": len(self.val_images), "test": len(self.test_images)},
            "snapshots": {"seed": self.train_config.seed, "split": "test"},
            "final": None if best is None else {
                "best_epoch": best.epoch, "val_loss": best.val_loss, "val_recon": best.val_recon,
                "val_kl": best.val_kl, "train_loss": best.train_loss,
            },
        }

    def save(
        self, path: str | Path, with_codes: bool = True, *, overwrite: bool = False, expected_version: str | None = None,
    ) -> Path:
        """Save the best model with its figures on the test split (read here, once) and its codes of
        the whole data set for offline maps. A data set with known factors also gets the model's
        MIG against them in the sidecar. `overwrite` and `expected_version` as `save_checkpoint` takes them.
        """
        model = self.best_model()
        test_images = self.test_images if isinstance(self.test_images, Tensor) else preload(self.test_images).pixels
        metadata = {**self.metadata(), "test": reported_figures(model, test_images, seed=self.train_config.seed).to_dict()}
        factors = self.data.factors if isinstance(self.data, ImageData) else None
        codes = None
        if with_codes or factors is not None:
            mu, log_var = encode_all(model, self.data.pixels if isinstance(self.data, ImageData) else self.data)
            codes = LatentCodes(mu, log_var, self.data.labels) if with_codes else None
            if factors is not None:
                found = mutual_information_gap(mu.numpy(), factors.numpy(), self.data.factor_names)
                metadata["disentanglement"] = found.to_dict()
        snapshots = self.recorder.snapshots()
        if snapshots is not None:
            best = (metadata["final"] or {}).get("best_epoch")
            snapshots = snapshots.thinned(frames_that_fit(*snapshots.mu.shape[1:]), keep=best)
        return save_checkpoint(path, model, metadata, codes, overwrite=overwrite, expected_version=expected_version,
                               snapshots=snapshots)
