"""How long a training run has still to go, from the time its epochs really took.

A pace measured over the optimisation steps alone misses what every epoch does besides
them (the test-split evaluation, the per-epoch state written for a resume) and the slow
first steps; on a shared CPU that said 32 s for a run that took 57 s. Once an epoch has
ended, each remaining epoch is costed at the mean wall time of the recent whole epochs.
"""
from __future__ import annotations

from collections.abc import Sequence

RECENT_EPOCHS = 3  # the pace follows the load of the last few epochs, not the whole run's


def training_eta(epoch_ends_s: Sequence[float], elapsed_s: float, step: int, steps_per_epoch: int, epochs: int) -> float:
    """Seconds left: `epoch_ends_s` are the elapsed times (from the run's start) at which the
    finished epochs ended, `elapsed_s` the time now, `step` the global step reached (from 1).

    Before the first epoch ends, the steps' own pace is the only measure there is.
    """
    total_steps = steps_per_epoch * epochs
    if step <= 0 or total_steps <= 0:
        raise ValueError("the ETA needs at least one step of a run with steps")
    if not epoch_ends_s:
        return max(0.0, elapsed_s / step * (total_steps - step))
    ends = [0.0, *epoch_ends_s]
    recent = ends[-(RECENT_EPOCHS + 1):]
    epoch_s = (recent[-1] - recent[0]) / (len(recent) - 1)
    done = len(epoch_ends_s)
    in_epoch = max(0.0, elapsed_s - ends[-1])  # time spent in the epoch under way
    left = (epochs - done) * epoch_s - in_epoch
    return max(0.0, left)
