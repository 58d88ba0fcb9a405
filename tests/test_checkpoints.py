from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from vae_core import CheckpointError, LatentCodes, ModelConfig, build_model, list_checkpoints, load_checkpoint, save_checkpoint
from vae_core.checkpoints import checkpoint_paths

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=3))
    codes = LatentCodes(torch.randn(10, 3), torch.randn(10, 3), torch.arange(10))
    path = save_checkpoint(tmp_path / "m", model, {"dataset": "digits"}, codes)
    return path, model


def test_round_trip_is_bit_exact(saved: tuple[Path, torch.nn.Module]) -> None:
    path, model = saved
    ckpt = load_checkpoint(path)
    for key, value in model.state_dict().items():
        assert torch.equal(ckpt.model.state_dict()[key], value)
    assert ckpt.config == model.config
    assert ckpt.metadata["dataset"] == "digits" and ckpt.metadata["n_codes"] == 10
    assert ckpt.codes is not None and ckpt.codes.labels.tolist() == list(range(10))
    assert not ckpt.model.training


def test_named_by_either_file_or_stem(saved: tuple[Path, torch.nn.Module]) -> None:
    path, _ = saved
    for name in (path, path.with_suffix(".json"), path.with_suffix("")):
        assert load_checkpoint(name).config.latent_dim == 3


def test_no_temp_files_left_and_listing_finds_it(saved: tuple[Path, torch.nn.Module]) -> None:
    path, _ = saved
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.json", "m.safetensors"]
    (path.parent / "notes.json").write_text("{}")  # not a checkpoint: skipped
    assert [p for p, _ in list_checkpoints(path.parent)] == [path]


def _corrupt(kind: str, weights: Path, sidecar: Path) -> None:
    if kind == "truncated":
        weights.write_bytes(weights.read_bytes()[:100])
    elif kind == "garbage":
        weights.write_bytes(b"\x00" * 64)
    elif kind == "pickled":
        weights.write_bytes(pickle.dumps({"w": [1, 2, 3]}))
    elif kind == "torch_save":
        torch.save({"w": torch.zeros(2)}, weights)
    elif kind == "missing_weights":
        weights.unlink()
    elif kind == "missing_sidecar":
        sidecar.unlink()
    elif kind == "sidecar_not_json":
        sidecar.write_text("{not json")
    elif kind == "sidecar_foreign":
        sidecar.write_text(json.dumps({"hello": "world"}))
    elif kind == "incompatible":
        meta = json.loads(sidecar.read_text())
        meta["model"]["latent_dim"] = 5
        sidecar.write_text(json.dumps(meta))
    elif kind == "unbuildable":
        meta = json.loads(sidecar.read_text())
        meta["model"]["arch"] = "transformer"
        sidecar.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "kind,message",
    [
        ("truncated", "damaged or truncated"), ("garbage", "damaged or truncated"), ("pickled", "pickle"),
        ("torch_save", "pickle"), ("missing_weights", "missing"), ("missing_sidecar", "missing"),
        ("sidecar_not_json", "not valid JSON"), ("sidecar_foreign", "not a vae-explorer"),
        ("incompatible", "different model"), ("unbuildable", "cannot build"),
    ],
)
def test_bad_checkpoints_raise_one_clear_error(saved: tuple[Path, torch.nn.Module], kind: str, message: str) -> None:
    weights, sidecar = checkpoint_paths(saved[0])
    _corrupt(kind, weights, sidecar)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(weights)
    assert "Traceback" not in str(info.value) and "0x" not in str(info.value)


@pytest.mark.parametrize("name", ["digits-mlp-2d", "digits-mlp-8d", "mnist-conv-2d", "mnist-conv-16d"])
def test_shipped_models_load_small_and_explorable_offline(name: str) -> None:
    weights, sidecar = checkpoint_paths(SHIPPED / name)
    if not sidecar.exists():
        pytest.skip(f"{name} is not built yet (make checkpoints)")
    assert weights.stat().st_size < 3 * 1024 * 1024
    ckpt = load_checkpoint(weights)
    assert ckpt.codes is not None and ckpt.codes.mu.shape[1] == ckpt.config.latent_dim
    assert ckpt.metadata["final"]["best_epoch"] >= 1


@pytest.mark.parametrize("name", ["digits-mlp-2d", "digits-mlp-8d", "mnist-conv-2d", "mnist-conv-16d"])
def test_shipped_models_report_figures_measured_on_test_after_choosing_on_validation(name: str) -> None:
    meta = load_checkpoint(SHIPPED / name).metadata
    assert meta["final"]["val_loss"] > 0 and meta["final"]["best_epoch"] <= meta["epochs_trained"]
    test = meta["test"]
    assert test["iwae_k"] >= 100 and test["n_images"] == meta["split"]["test"]
    assert test["elbo"] < test["log_px_iwae"] < 0 and 0 < test["elbo_se"] < 2 and 0 < test["log_px_iwae_se"] < 2
    assert test["likelihood"].startswith("Bernoulli on binarised pixels")
