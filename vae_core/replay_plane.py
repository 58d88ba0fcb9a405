"""The training replay's fixed axes: every snapshot frame drawn on one plane.

- a 2-D latent space is shown on its own axes, z[0] and z[1];
- a larger one on the plane of one PCA fitted on the saved model's frame (the best epoch,
  the codes the user's map shows) and applied to every frame. A per-epoch projection
  aligned to the next (Procrustes) would hide what the replay is for: an early frame whose
  codes spread along other directions than the final ones looks collapsed on this plane,
  and it was.

Apart from `snapshots` because it needs `projection`, which (through training) needs the
snapshot recorder: one module holding both would import itself in a circle.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .projection import fit_projection
from .snapshots import LatentSnapshots


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
