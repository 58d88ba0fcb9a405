"""The training-speed benchmark's two pipelines run and agree (no timings asserted)."""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

pytestmark = pytest.mark.slow  # trains models or starts processes: not in `make test-fast`

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


def test_shapes_bench_trains_the_same_conv_model_both_ways() -> None:
    _bench()  # the shapes bench imports the harness by its module name
    spec = importlib.util.spec_from_file_location("shapes_train_speed", REPO / "bench" / "shapes_train_speed.py")
    shapes_bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shapes_bench)
    train, test = shapes_bench.split(128, 64)
    ref, ours = shapes_bench.compare(train, test, seed=1, epochs=1)
    assert ref.test_loss[0] == pytest.approx(ours.test_loss[0], rel=0.05)
    assert all(r.done == r.segments and len(r.train_s) == 1 for r in (ref, ours))
    images, _ = shapes_bench.as_uint8_rows(test)
    assert images.shape == (64, 64, 64, 3) and torch.equal(images.permute(0, 3, 1, 2).float() / 255, test.floats())
