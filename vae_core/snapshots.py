"""Watching a model learn: the codes of one fixed set of test images after every epoch.

The trainer encodes the same `SNAPSHOT_POINTS` test images (drawn once by the run's seed;
the test split never chooses the model) before the first step and after every epoch. The
frames are stored with the checkpoint as float16 tensors, thinned to `MAX_SNAPSHOT_BYTES`,
and replayed on a map whose axes stay fixed over the epochs (`replay_plane`):
- a 2-D latent space is shown on its own axes, z[0] and z[1];
- a larger one on the plane of one PCA fitted on the saved model's frame (the best epoch,
  the codes the user's map shows) and applied to every frame. A per-epoch projection
  aligned to the next (Procrustes) would hide what the replay is for: an early frame whose
  codes spread along other directions than the final ones looks collapsed on this plane,
  and it was.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

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
        order = np.unique(np.linspace(0, len(self) - 1, room).round().astype(int))
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


@dataclass(frozen=True)
class ReplayPlane:
    """Every frame on one fixed plane: xy (E, n, 2), the axes' titles and how they were made."""

    xy: np.ndarray
    axis_titles: tuple[str, str]
    note: str


def replay_plane(snapshots: LatentSnapshots, reference_epoch: int | None = None) -> ReplayPlane:
    """The frames on fixed axes: the latent axes for D = 2, else the plane of a PCA of the codes
    at `reference_epoch` (the last frame when None or not stored) applied to every frame."""
    mu = snapshots.mu.astype(np.float64)
    if mu.shape[2] == 2:
        return ReplayPlane(mu, ("z[0]", "z[1]"), "The latent space itself: the same axes z[0], z[1] in every epoch.")
    from .projection import fit_projection

    ref = len(snapshots) - 1
    if reference_epoch is not None and reference_epoch in snapshots.epochs:
        ref = int(np.searchsorted(snapshots.epochs, reference_epoch))
    pca = fit_projection(mu[ref], "pca")
    share = pca.explained_variance_ratio  # type: ignore[attr-defined]
    xy = np.stack([pca.transform(frame) for frame in mu])
    epoch = int(snapshots.epochs[ref])
    return ReplayPlane(
        xy, (f"PC 1 ({share[0]:.0%} at epoch {epoch})", f"PC 2 ({share[1]:.0%} at epoch {epoch})"),
        f"One PCA plane, fitted on the codes at epoch {epoch} (the saved model's), for every epoch: "
        "an epoch whose codes spread along other directions looks narrow here.",
    )


def frame_bounds(xy: np.ndarray, pad: float = 0.05) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) covering the frames (E, n, 2), the outer 0.5% of points aside, grown by
    `pad` per side: one frame of axes for the whole replay."""
    flat = xy.reshape(-1, 2)
    lo, hi = np.percentile(flat, 0.5, axis=0), np.percentile(flat, 99.5, axis=0)
    margin = pad * np.maximum(hi - lo, 1e-9)
    return float(lo[0] - margin[0]), float(hi[0] + margin[0]), float(lo[1] - margin[1]), float(hi[1] + margin[1])
