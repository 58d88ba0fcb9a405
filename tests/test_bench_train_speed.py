"""The training-speed benchmark's two pipelines run and agree (no timings asserted)."""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


def _bench() -> ModuleType:
    """bench/ is a folder of scripts, not a package: load the file as a module."""
    spec = importlib.util.spec_from_file_location("train_speed", REPO / "bench" / "train_speed.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_reference_and_ours_train_one_epoch_to_similar_losses(mnist_dir: Path) -> None:
    bench = _bench()
    n_train, n_test, epochs = 384, 128, 1
    train_x, train_y, test_x, test_y = bench.load_split(mnist_dir, n_train, n_test)
    train, test = bench.to_image_data(train_x, train_y), bench.to_image_data(test_x, test_y)
    length = bench.schedule_length(n_train, bench.BATCH, epochs)
    runs = [
        bench.Run("reference", bench.reference_pipeline((train_x, train_y), (test_x, test_y), 1, epochs), length),
        bench.Run("ours", bench.our_pipeline(train, test, 1, epochs), length),
    ]
    bench.interleave(runs)
    ref, ours = (r.test_loss for r in runs)
    assert len(ref) == len(ours) == epochs
    assert all(math.isfinite(loss) and 0 < loss < 784 * math.log(2) + 50 for loss in ref + ours)
    assert ours[-1] == pytest.approx(ref[-1], rel=0.1)
    assert all(r.done == r.segments and len(r.train_s) == epochs for r in runs)
