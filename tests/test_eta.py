"""The training ETA: epochs left costed at the recent epochs' wall time, evaluation included."""
from __future__ import annotations

import pytest

from vae_core.eta import training_eta


def test_before_the_first_epoch_ends_the_steps_pace_is_extrapolated() -> None:
    # 10 of 100 steps in 5 s: 90 steps left at 0.5 s
    assert training_eta([], 5.0, 10, 50, 2) == pytest.approx(45.0)


def test_after_an_epoch_the_whole_epoch_time_counts_not_only_its_steps() -> None:
    # the first epoch took 12 s (its steps 8 s, the test evaluation 4 s); 3 s into the second of 3
    # a step pace would say 8 s/epoch; the epochs' own time says 2 * 12 - 3 = 21 s
    assert training_eta([12.0], 15.0, 60, 50, 3) == pytest.approx(21.0)


def test_the_pace_follows_the_last_epochs() -> None:
    ends = [10.0, 20.0, 40.0, 60.0, 80.0]  # slowed from 10 s to 20 s per epoch
    assert training_eta(ends, 80.0, 250, 50, 7) == pytest.approx(2 * 20.0)  # (80 - 20) / 3 per epoch, 2 left


def test_a_run_that_took_the_time_its_epochs_took_is_predicted_after_one_epoch() -> None:
    """Simulated: 20 steps of 0.1 s and a 1 s evaluation per epoch, 5 epochs: 15 s in all."""
    step_s, eval_s, steps, epochs = 0.1, 1.0, 20, 5
    epoch_s = steps * step_s + eval_s
    ends = [epoch_s]
    now = epoch_s + 3 * step_s
    eta = training_eta(ends, now, steps + 3, steps, epochs)
    assert now + eta == pytest.approx(epochs * epoch_s)
    # the steps' pace alone, at the end of the first epoch's steps, said 10 s for the 15 s run
    assert steps * step_s + training_eta([], steps * step_s, steps, steps, epochs) == pytest.approx(10.0)


def test_never_negative_and_refuses_nonsense() -> None:
    assert training_eta([10.0, 20.0], 20.0, 100, 50, 2) == 0.0
    with pytest.raises(ValueError):
        training_eta([], 1.0, 0, 50, 2)
