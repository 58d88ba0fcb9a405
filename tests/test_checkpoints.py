from __future__ import annotations

import json
import pickle
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save as save_safetensors

from vae_core import CheckpointError, LatentCodes, ModelConfig, build_model, list_checkpoints, load_checkpoint, save_checkpoint
from vae_core.checkpoints import (
    DESCRIPTION_KEY, CheckpointExistsError, checkpoint_paths, checkpoint_version, inspect_checkpoint,
)

from vae_core.resume import TrainingState, resume_path, save_training_state

from .conftest import legacy_pair

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"
META = {"dataset": "digits", "class_names": [str(k) for k in range(10)]}


def _save(path: Path, latent_dim: int = 3, **options: Any) -> Path:
    torch.manual_seed(latent_dim)
    model = build_model(ModelConfig(latent_dim=latent_dim))
    codes = LatentCodes(torch.randn(10, latent_dim), torch.randn(10, latent_dim), torch.arange(10))
    return save_checkpoint(path, model, META, codes, **options)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return _save(tmp_path / "m")


def _tensors_and_description(weights: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    with safe_open(weights, framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()[DESCRIPTION_KEY])


def _rewrite(weights: Path, edit_description=None, edit_tensors=None) -> None:
    """Write the checkpoint back with its description or tensors changed, as a crafted file would be."""
    tensors, description = _tensors_and_description(weights)
    if edit_description is not None:
        edit_description(description)
    if edit_tensors is not None:
        edit_tensors(tensors)
    weights.write_bytes(save_safetensors(tensors, metadata={"format": "vae-explorer/1",
                                                            DESCRIPTION_KEY: json.dumps(description)}))


def test_round_trip_is_bit_exact_and_typed(saved: Path) -> None:
    ckpt = load_checkpoint(saved)
    torch.manual_seed(3)
    model = build_model(ModelConfig(latent_dim=3))
    for key, value in model.state_dict().items():
        assert torch.equal(ckpt.model.state_dict()[key], value)
    assert ckpt.config == model.config == ckpt.metadata.model
    assert ckpt.metadata.dataset == "digits" and ckpt.metadata.n_codes == 10
    assert ckpt.metadata.class_names == tuple(META["class_names"]) and ckpt.metadata.likelihood == "bernoulli"
    assert ckpt.metadata.image_shape == (1, 8, 8) and ckpt.metadata.beta is None
    assert ckpt.codes is not None and ckpt.codes.labels.tolist() == list(range(10))
    assert ckpt.codes.mu.dtype == ckpt.codes.log_var.dtype == np.float32 and ckpt.codes.labels.dtype == np.int64
    assert not ckpt.model.training


def test_named_by_either_file_or_stem(saved: Path) -> None:
    for name in (saved, saved.with_suffix(".json"), saved.with_suffix("")):
        assert load_checkpoint(name).config.latent_dim == 3


def test_one_file_no_temp_files_and_listing_finds_it(saved: Path) -> None:
    assert sorted(p.name for p in saved.parent.iterdir() if p.name != ".save.lock") == ["m.safetensors"]
    (saved.parent / "notes.json").write_text("{}")  # not a checkpoint: skipped
    save_training_state(resume_path(saved.with_suffix("")), TrainingState({}, {"state": {}, "param_groups": []}, {}, {}, {"epoch": 1}))  # a run's state: skipped
    entries = list_checkpoints(saved.parent)
    assert [(e.path, e.usable) for e in entries] == [(saved, True)]


def test_old_two_file_checkpoints_load_and_an_overwrite_makes_them_one_file(tmp_path: Path) -> None:
    weights = legacy_pair("digits-mlp-2d", tmp_path)
    assert load_checkpoint(weights).metadata.dataset == "digits"
    _save(tmp_path / "digits-mlp-2d", latent_dim=4, overwrite=True)
    assert not weights.with_suffix(".json").exists() and load_checkpoint(weights).config.latent_dim == 4


def _corrupt(kind: str, weights: Path) -> None:
    if kind == "truncated":
        weights.write_bytes(weights.read_bytes()[:100])
    elif kind == "truncated_data":
        weights.write_bytes(weights.read_bytes()[:-16])
    elif kind == "garbage":
        weights.write_bytes(b"\x00" * 64)
    elif kind == "pickled":
        weights.write_bytes(pickle.dumps({"w": [1, 2, 3]}))
    elif kind == "torch_save":
        torch.save({"w": torch.zeros(2)}, weights)
    elif kind == "missing_weights":
        weights.unlink()
    elif kind == "foreign":
        _rewrite(weights, lambda d: d.update(format="something-else/3"))
    elif kind == "empty_model":  # the issue's {"format": "vae-explorer/1", "model": {}}
        _rewrite(weights, lambda d: d.update(model={}))
    elif kind == "model_not_object":
        _rewrite(weights, lambda d: d.update(model=[1, 2]))
    elif kind == "test_loss_text":
        _rewrite(weights, lambda d: d.update(final={"best_epoch": 1, "test_loss": "x", "test_recon": 1.0,
                                                     "test_kl": 1.0, "train_loss": 1.0}))
    elif kind == "fractional_latent_dim":
        _rewrite(weights, lambda d: d["model"].update(latent_dim=2.5))
    elif kind == "class_names_not_text":
        _rewrite(weights, lambda d: d.update(class_names=[0, 1]))
    elif kind == "incompatible":
        _rewrite(weights, lambda d: d["model"].update(latent_dim=5))
    elif kind == "unbuildable":
        _rewrite(weights, lambda d: d["model"].update(arch="transformer"))
    elif kind == "no_log_var":
        _rewrite(weights, edit_tensors=lambda t: t.pop("codes.log_var"))
    elif kind == "codes_wrong_count":
        _rewrite(weights, lambda d: d.update(n_codes=11))
    elif kind == "description_not_json":
        tensors, _ = _tensors_and_description(weights)
        weights.write_bytes(save_safetensors(tensors, metadata={DESCRIPTION_KEY: "{not json"}))


@pytest.mark.parametrize(
    "kind,message",
    [
        ("truncated", "damaged or truncated"), ("truncated_data", "damaged or truncated"),
        ("garbage", "damaged or truncated"), ("pickled", "pickle"), ("torch_save", "pickle"),
        ("missing_weights", "missing"), ("foreign", "not a vae-explorer"), ("empty_model", "does not describe"),
        ("model_not_object", "does not describe"), ("test_loss_text", "final has the wrong type"),
        ("fractional_latent_dim", "latent_dim has the wrong type"), ("class_names_not_text", "class_names"),
        ("incompatible", "different model"), ("unbuildable", "arch must be one of"),
        ("no_log_var", "damaged latent codes"), ("codes_wrong_count", "damaged latent codes"),
        ("description_not_json", "not valid JSON"),
    ],
)
def test_bad_checkpoints_raise_one_clear_error_and_are_listed_as_unusable(saved: Path, kind: str, message: str) -> None:
    _save(saved.parent / "good", latent_dim=2)
    _corrupt(kind, saved)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(saved)
    assert "Traceback" not in str(info.value) and "0x" not in str(info.value)
    entries = {e.path.stem: e for e in list_checkpoints(saved.parent)}
    assert entries["good"].usable
    if kind != "missing_weights":  # a checkpoint with no file at all is simply not there
        assert not entries["m"].usable and entries["m"].error == str(info.value)


@pytest.mark.parametrize("hidden_dim", [2**22, 10**9])
def test_huge_sizes_are_refused_before_anything_is_allocated(saved: Path, hidden_dim: int) -> None:
    _rewrite(saved, lambda d: d["model"].update(hidden_dim=hidden_dim))
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="hidden_dim must be between"):
        load_checkpoint(saved)
    assert time.perf_counter() - start < 1.0


def test_shapes_are_checked_from_the_header_before_a_model_is_built(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the bounds, a description that does not fit its weights builds no model in memory."""
    import vae_core.checkpoints as checkpoints

    _rewrite(saved, lambda d: d["model"].update(hidden_dim=4096))
    on_meta: list[bool] = []
    real = checkpoints.build_model
    monkeypatch.setattr(checkpoints, "build_model", lambda cfg: on_meta.append(torch.empty(0).is_meta) or real(cfg))
    with pytest.raises(CheckpointError, match="different model"):
        load_checkpoint(saved)
    assert on_meta == [True]


def test_a_legacy_description_is_size_bounded(tmp_path: Path) -> None:
    weights = legacy_pair("digits-mlp-2d", tmp_path)
    weights.with_suffix(".json").write_text(" " * (2 << 20) + "{}")
    with pytest.raises(CheckpointError, match="too large"):
        load_checkpoint(weights)


def test_a_taken_name_is_refused_unless_overwritten_and_only_the_version_seen(saved: Path) -> None:
    seen = checkpoint_version(saved)
    with pytest.raises(CheckpointExistsError, match="already exists"):
        _save(saved, latent_dim=4)
    with pytest.raises(FileExistsError):  # also named by its legacy description
        _save(saved.with_suffix(".json"), latent_dim=4)
    assert load_checkpoint(saved).config.latent_dim == 3
    _save(saved, latent_dim=5, overwrite=True)  # someone else overwrites it meanwhile
    with pytest.raises(CheckpointExistsError, match="replaced by another save"):
        _save(saved, latent_dim=4, overwrite=True, expected_version=seen)
    assert load_checkpoint(saved).config.latent_dim == 5
    _save(saved, latent_dim=4, overwrite=True, expected_version=checkpoint_version(saved))
    assert load_checkpoint(saved).config.latent_dim == 4


def test_two_savers_of_one_name_one_wins_the_other_is_told(tmp_path: Path) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def save(latent_dim: int) -> None:
        barrier.wait()
        try:
            _save(tmp_path / "same", latent_dim=latent_dim)
            outcomes.append(f"saved {latent_dim}")
        except CheckpointExistsError:
            outcomes.append("told")

    threads = [threading.Thread(target=save, args=(d,)) for d in (2, 3, 4, 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o.startswith("saved")]
    assert len(winners) == 1 and outcomes.count("told") == 3
    ckpt = load_checkpoint(tmp_path / "same")
    assert winners == [f"saved {ckpt.config.latent_dim}"] and ckpt.codes.mu.shape[1] == ckpt.config.latent_dim


def test_inspect_reads_no_weights(saved: Path) -> None:
    assert inspect_checkpoint(saved).model.latent_dim == 3


@pytest.mark.parametrize("name", ["digits-mlp-2d", "digits-mlp-8d", "mnist-conv-2d", "mnist-conv-16d"])
def test_shipped_models_load_small_and_explorable_offline(name: str) -> None:
    weights, _ = checkpoint_paths(SHIPPED / name)
    if not weights.exists():
        pytest.skip(f"{name} is not built yet (make checkpoints)")
    assert weights.stat().st_size < 3 * 1024 * 1024
    ckpt = load_checkpoint(weights)
    assert ckpt.codes is not None and ckpt.codes.mu.shape[1] == ckpt.config.latent_dim
    assert ckpt.metadata.final is not None and ckpt.metadata.final["best_epoch"] >= 1


@pytest.mark.parametrize("name", ["digits-mlp-2d", "digits-mlp-8d", "mnist-conv-2d", "mnist-conv-16d"])
def test_shipped_models_report_figures_measured_on_test_after_choosing_on_validation(name: str) -> None:
    meta = load_checkpoint(SHIPPED / name).metadata
    assert meta.final is not None and meta.final["val_loss"] > 0 and meta.final["best_epoch"] <= meta.epochs_trained
    test, split = meta.test, meta.split
    assert test is not None and split is not None
    assert test["iwae_k"] >= 100 and test["n_images"] == split["test"]
    assert test["elbo"] < test["log_px_iwae"] < 0 and 0 < test["elbo_se"] < 2 and 0 < test["log_px_iwae_se"] < 2
    assert str(test["likelihood"]).startswith("Bernoulli on binarised pixels")


def test_the_shipped_digits_model_replays_its_training() -> None:
    """The Latent map's replay on digits-mlp-2d: every epoch from before the first step to the
    last, of the run's test images, in one file small enough to ship."""
    ckpt = load_checkpoint(SHIPPED / "digits-mlp-2d")
    snapshots, meta = ckpt.snapshots, ckpt.metadata
    assert snapshots is not None and meta.snapshots is not None and meta.snapshots.split == "test"
    assert snapshots.epochs.tolist() == list(range(meta.epochs_trained + 1))
    assert snapshots.mu.shape == (meta.epochs_trained + 1, meta.split["test"], 2)
    assert sorted(set(snapshots.labels.tolist())) == list(range(10))
    assert checkpoint_paths(SHIPPED / "digits-mlp-2d")[0].stat().st_size < 1024 * 1024


@pytest.mark.parametrize("name", ["shapes-conv-10d-beta1", "shapes-conv-10d-beta4"])
def test_shipped_colour_models_are_one_small_file_with_test_figures_and_mig(name: str) -> None:
    weights, sidecar = checkpoint_paths(SHIPPED / name)
    assert weights.stat().st_size < 3 * 1024 * 1024 and not sidecar.exists()  # the description is in the header
    ckpt = load_checkpoint(weights)
    meta = ckpt.metadata
    assert ckpt.config.image_shape == (3, 64, 64) and ckpt.codes is not None and len(ckpt.codes.mu) == sum(meta.split.values())
    assert meta.final is not None and 1 <= meta.final["best_epoch"] <= meta.epochs_trained and "val_loss" in meta.final
    test = meta.test
    assert test is not None and test["iwae_k"] >= 100 and test["n_images"] == meta.split["test"]
    assert test["elbo"] < test["log_px_iwae"] and test["elbo_se"] > 0 and test["log_px_iwae_se"] > 0
    assert str(test["likelihood"]).startswith("Gaussian on RGB pixel values, one learned σ")
    found = meta.disentanglement
    assert found is not None and found.mig_se > 0 and found.gaps_se is not None and found.normalised_mi_se is not None


@pytest.mark.parametrize("name", ["shapes-conv-10d-beta1", "shapes-conv-10d-beta4"])
def test_shipped_colour_models_draw_the_shapes_and_spread_their_codes(name: str) -> None:
    """Models that learned only the black background (the 6-epoch runs once shipped) fail all three:
    their reconstructions were black (error = the image's own energy), their codes lay on one line
    (99.5 % of the variance on one axis) and their MIG was 0.01 and 0.004."""
    from vae_core.shapes import make_shapes

    ckpt = load_checkpoint(SHIPPED / name)
    x = torch.from_numpy(make_shapes(200, seed=1).images).float() / 255  # images the model never saw
    with torch.no_grad():
        recon = ckpt.model.eval().decode(ckpt.model.encode(x)[0])
    error_vs_black = ((recon - x) ** 2).flatten(1).sum(1) / (x**2).flatten(1).sum(1)
    assert float(error_vs_black.median()) < 0.3
    variances = np.linalg.eigvalsh(np.cov(np.asarray(ckpt.codes.mu, dtype=np.float64).T))
    assert variances.max() / variances.sum() < 0.5
    assert ckpt.metadata.disentanglement.mig > 0.02


def test_mig_figures_are_typed_and_checked(tmp_path: Path) -> None:
    from vae_core.disentangle import Disentanglement

    figures = {"mig": 0.5, "mig_se": 0.01, "n_images": 100, "factor_names": ["shape", "x"],
               "mi": [[0.5, 0.0], [0.0, 0.4]], "entropies": [1.0, 1.0]}
    path = save_checkpoint(tmp_path / "m", build_model(ModelConfig()), {"disentanglement": figures})
    meta = load_checkpoint(path).metadata
    assert isinstance(meta.disentanglement, Disentanglement) and meta.disentanglement.factor_names == ("shape", "x")
    assert meta.to_dict()["disentanglement"]["mig"] == 0.5
    with pytest.raises(CheckpointError, match="disentanglement"):
        save_checkpoint(tmp_path / "bad", build_model(ModelConfig()), {"disentanglement": {**figures, "mi": "x"}})
