"""The training replay: codes of a fixed test subset recorded after every epoch, saved with the
checkpoint within its size bound, loaded back, and laid on fixed axes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from vae_core import CheckpointError, ModelConfig, TrainConfig, load_checkpoint, save_checkpoint
from vae_core.checkpoints import DESCRIPTION_KEY, inspect_checkpoint
from vae_core.metadata import MAX_SNAPSHOT_BYTES
from vae_core.models import build_model
from vae_core.projection import fit_projection
from vae_core.replay_plane import frame_bounds, replay_plane
from vae_core.snapshots import (
    LatentSnapshots, frames_that_fit, snapshot_subset, stored_bytes,
)
from vae_core.training import Trainer, encode_all

TINY = ModelConfig(latent_dim=2, hidden_dim=16)


@pytest.fixture(scope="module")
def trained() -> Trainer:
    trainer = Trainer(TINY, TrainConfig(dataset="digits", epochs=2, batch_size=256))
    for _ in trainer.run():
        pass
    return trainer


def test_the_followed_images_are_fixed_by_the_seed() -> None:
    a, b, c = snapshot_subset(500, 100, 0), snapshot_subset(500, 100, 0), snapshot_subset(500, 100, 1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert len(set(a.tolist())) == 100 and bool((a[1:] > a[:-1]).all())


def test_a_frame_is_recorded_before_training_and_after_every_epoch(trained: Trainer) -> None:
    snapshots = trained.recorder.snapshots()
    assert snapshots is not None
    n_test = len(trained.test_images)
    assert snapshots.epochs.tolist() == [0, 1, 2]
    assert snapshots.mu.shape == (3, min(1000, n_test), 2)
    assert not np.allclose(snapshots.mu[0], snapshots.mu[2])  # the space moved while it learned
    # the last frame is the current model's mu of the followed test images, in the subset's order
    expected = encode_all(trained.model, trained.recorder.images)[0].numpy()
    np.testing.assert_allclose(snapshots.mu[-1], expected, atol=1e-5)


def test_recording_draws_nothing_from_the_run_so_a_seeded_run_trains_the_same(trained: Trainer) -> None:
    again = Trainer(TINY, TrainConfig(dataset="digits", epochs=2, batch_size=256))
    for _ in again.run():
        pass
    np.testing.assert_array_equal(again.recorder.snapshots().mu, trained.recorder.snapshots().mu)
    assert all(torch.equal(again.model.state_dict()[k], v) for k, v in trained.model.state_dict().items())


def test_save_and_load_round_trip(trained: Trainer, tmp_path: Path) -> None:
    path = trained.save(tmp_path / "replayed")
    ckpt = load_checkpoint(path)
    facts, recorded = ckpt.metadata.snapshots, trained.recorder.snapshots()
    assert facts is not None and ckpt.snapshots is not None
    assert facts.epochs == (0, 1, 2) and facts.n_points == len(recorded.labels) and facts.split == "test"
    np.testing.assert_array_equal(ckpt.snapshots.labels, recorded.labels)
    np.testing.assert_allclose(ckpt.snapshots.mu, recorded.mu, rtol=2e-3, atol=2e-3)  # float16 on disk


def test_old_checkpoints_without_a_replay_still_load(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "old", build_model(TINY), {"dataset": "digits"})
    header = json.loads(load_file_header(path))
    assert header["snapshots"] is None
    ckpt = load_checkpoint(path)
    assert ckpt.snapshots is None and ckpt.metadata.snapshots is None
    del header["snapshots"]  # a description written before the field existed
    save_file(load_file(path), path, metadata={"format": "vae-explorer/1", DESCRIPTION_KEY: json.dumps(header)})
    assert load_checkpoint(path).snapshots is None


def load_file_header(path: Path) -> str:
    from safetensors import safe_open

    with safe_open(path, framework="pt") as f:
        return f.metadata()[DESCRIPTION_KEY]


def test_many_epochs_are_thinned_to_the_size_bound_keeping_first_last_and_best(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n, d, epochs = 1000, 16, 400
    big = LatentSnapshots(np.arange(epochs + 1), rng.normal(size=(epochs + 1, n, d)), rng.integers(0, 10, n))
    room = frames_that_fit(n, d)
    kept = big.thinned(room, keep=157)
    assert len(kept) == room < len(big) and stored_bytes(len(kept), n, d) <= MAX_SNAPSHOT_BYTES
    assert {0, 157, epochs} <= set(kept.epochs.tolist())
    gaps = np.diff(kept.epochs)
    assert gaps.max() <= 2 * gaps.min() + 2  # evenly spread
    np.testing.assert_array_equal(kept.mu[kept.epochs.tolist().index(157)], big.mu[157].astype(np.float32))
    path = save_checkpoint(tmp_path / "big", build_model(ModelConfig(latent_dim=d, hidden_dim=16)), snapshots=kept)
    assert path.stat().st_size < MAX_SNAPSHOT_BYTES + 200_000
    with pytest.raises(ValueError, match="more than 4 MB"):  # a description may not declare more
        save_checkpoint(tmp_path / "bigger", build_model(ModelConfig(latent_dim=d, hidden_dim=16)), snapshots=big)


def test_a_replay_that_does_not_match_its_description_is_refused(trained: Trainer, tmp_path: Path) -> None:
    path = trained.save(tmp_path / "damaged")
    tensors = load_file(path)
    description = json.loads(load_file_header(path))
    del tensors["snapshots.labels"]
    save_file(tensors, path, metadata={"format": "vae-explorer/1", DESCRIPTION_KEY: json.dumps(description)})
    with pytest.raises(CheckpointError, match="damaged training replay"):
        inspect_checkpoint(path)
    tensors = load_file(trained.save(tmp_path / "more", overwrite=True))
    description["snapshots"]["epochs"] = [0, 1]  # three frames stored, two declared
    save_file(tensors, path, metadata={"format": "vae-explorer/1", DESCRIPTION_KEY: json.dumps(description)})
    with pytest.raises(CheckpointError, match="damaged training replay"):
        load_checkpoint(path)


def test_the_replay_keeps_its_axes_and_its_points() -> None:
    rng = np.random.default_rng(1)
    two = LatentSnapshots(np.arange(3), rng.normal(size=(3, 50, 2)), rng.integers(0, 3, 50))
    plane = replay_plane(two)
    np.testing.assert_array_equal(plane.xy, two.mu)  # a 2-D space is shown on its own axes
    assert plane.axis_titles == ("z[0]", "z[1]")
    many = LatentSnapshots(np.array([0, 5, 9]), rng.normal(size=(3, 50, 6)), rng.integers(0, 3, 50))
    plane = replay_plane(many, reference_epoch=5)
    pca = fit_projection(many.mu[1].astype(np.float64), "pca")
    np.testing.assert_allclose(plane.xy[1], pca.embedding, atol=1e-9)  # one PCA, fitted on the saved epoch
    np.testing.assert_allclose(plane.xy[0], pca.transform(many.mu[0].astype(np.float64)), atol=1e-9)
    assert "epoch 5" in plane.axis_titles[0]
    x0, x1, y0, y1 = frame_bounds(plane.xy)
    inside = (plane.xy[..., 0] >= x0) & (plane.xy[..., 0] <= x1) & (plane.xy[..., 1] >= y0) & (plane.xy[..., 1] <= y1)
    assert inside.mean() > 0.98  # one frame of axes holds (nearly) every point of every epoch


def test_snapshots_must_be_in_epoch_order() -> None:
    with pytest.raises(ValueError):
        LatentSnapshots(np.array([0, 2, 1]), np.zeros((3, 4, 2)), np.zeros(4))
    with pytest.raises(ValueError):
        LatentSnapshots(np.array([0, 1]), np.zeros((3, 4, 2)), np.zeros(4))
