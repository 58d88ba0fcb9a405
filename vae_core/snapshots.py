"""Watching a model learn: the codes of one fixed set of test images after every epoch.

The trainer encodes the same `SNAPSHOT_POINTS` test images (drawn once by the run's seed;
the test split never chooses the model) before the first step and after every epoch. The
frames are stored with the checkpoint as float16 tensors, thinned to `MAX_SNAPSHOT_BYTES`,
and replayed on a map whose axes stay fixed over the epochs (`vae_core.replay_plane`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .data import even_rows
from .metadata import MAX_SNAPSHOT_BYTES

SNAPSHOT_POINTS = 1000  # test images followed through training (all of them when the split is smaller)
BYTES_PER_VALUE = 2  # float16


def snapshot_subset(n: int, n_points: int, seed: int) -> torch.Tensor:
    """Indices (sorted) of `n_points` of `n` images, the same for the same seed."""
    picked = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:n_points]
    return picked.sort().values


def stored_bytes(n_frames: int, n_points: int, latent_dim: int) -> int:
    """What the frames weigh in a checkpoint (float16 codes)."""
    return n_frames * n_points * latent_dim * BYTES_PER_VALUE


def frames_that_fit(n_points: int, latent_dim: int, max_bytes: int = MAX_SNAPSHOT_BYTES) -> int:
    """How many frames of n codes of `latent_dim` dims a checkpoint keeps."""
    return max(2, max_bytes // max(1, stored_bytes(1, n_points, latent_dim)))


@dataclass(frozen=True, eq=False)
class LatentSnapshots:
    """mu (E, n, D) of the same n images after each of `epochs` (E,), 0 meaning before the first
    step, strictly increasing; `labels` (n,) are the images' labels (-1 unlabelled)."""

    epochs: np.ndarray
    mu: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        epochs = np.asarray(self.epochs, dtype=np.int64)
        mu, labels = np.asarray(self.mu, dtype=np.float32), np.asarray(self.labels, dtype=np.int64)
        if mu.ndim != 3 or mu.shape[0] != len(epochs) or mu.shape[1] != len(labels) or labels.ndim != 1:
            raise ValueError(f"snapshots of shape {mu.shape} for {len(epochs)} epochs and {labels.shape} labels")
        if len(epochs) and (epochs[0] < 0 or np.any(np.diff(epochs) <= 0)):
            raise ValueError("snapshot epochs must be increasing numbers from 0")
        for name, value in (("epochs", epochs), ("mu", mu), ("labels", labels)):
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.epochs)

    def thinned(self, room: int, keep: int | None = None) -> LatentSnapshots:
        """At most `room` (>= 2) frames, evenly spread; the first, the last and epoch `keep` (the best) stay."""
        room = max(2, room)
        if len(self) <= room:
            return self
        order = even_rows(len(self), room)  # distinct: more frames than room
        if keep is not None and keep in self.epochs and room > 2:
            k = int(np.searchsorted(self.epochs, keep))
            if k not in order:  # it takes the place of the nearest spread frame, never the first or last
                nearest = 1 + int(np.argmin(np.abs(order[1:-1] - k)))
                order = np.sort(np.concatenate([np.delete(order, nearest), [k]]))
        return LatentSnapshots(self.epochs[order], self.mu[order], self.labels)


class SnapshotRecorder:
    """Encodes `images` (n, C, H, W) with the current weights after each epoch (mu only, no
    sampling: it draws nothing from the run's generators, so a seeded run trains the same)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, encode: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.images = images
        self.labels = labels.cpu().numpy()
        self._encode = encode  # images -> mu (n, D), batched, in eval mode
        self._epochs: list[int] = []
        self._mu: list[np.ndarray] = []

    def record(self, epoch: int) -> None:
        """The frame after `epoch` (0: before training); an epoch recorded before is replaced."""
        mu = self._encode(self.images).detach().cpu().numpy().astype(np.float32)
        while self._epochs and self._epochs[-1] >= epoch:  # a resumed run starts over from its epoch
            self._epochs.pop()
            self._mu.pop()
        self._epochs.append(epoch)
        self._mu.append(mu)

    @property
    def last_epoch(self) -> int | None:
        return self._epochs[-1] if self._epochs else None

    def snapshots(self) -> LatentSnapshots | None:
        """Every frame so far; None before the first."""
        if not self._mu:
            return None
        return LatentSnapshots(np.array(self._epochs), np.stack(self._mu), self.labels)

    def latest(self) -> tuple[int, np.ndarray] | None:
        """(epoch, mu (n, D)) of the newest frame."""
        return (self._epochs[-1], self._mu[-1]) if self._mu else None
