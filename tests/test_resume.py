from __future__ import annotations

from pathlib import Path

import json

import pytest
import torch

from safetensors.torch import save as save_safetensors

from vae_core import CheckpointError, ModelConfig, build_model
from vae_core.resume import TrainingState, load_training_state, resume_path, save_training_state


def test_training_state_round_trip_restores_adam_exactly(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(latent_dim=3))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.rand(4, 1, 8, 8))[0].sum().backward()
        optimizer.step()
    gen = torch.Generator().manual_seed(7)
    torch.randn(5, generator=gen)
    state = TrainingState(
        model.state_dict(), optimizer.state_dict(), model.state_dict(), {"shuffle": gen.get_state()},
        {"epoch": 3, "history": [{"val_loss": 1.5}]},
    )
    path = resume_path(tmp_path / "run")
    assert path.name == "run.resume.safetensors"
    save_training_state(path, state)
    loaded = load_training_state(path)
    assert loaded.info == state.info
    fresh = torch.optim.Adam(build_model(ModelConfig(latent_dim=3)).parameters(), lr=1e-3)
    fresh.load_state_dict(loaded.optimizer)
    for index, slots in optimizer.state_dict()["state"].items():
        for name, value in slots.items():
            assert torch.equal(fresh.state_dict()["state"][index][name], value)
    restored = torch.Generator()
    restored.set_state(loaded.rng["shuffle"])
    assert torch.equal(torch.randn(5, generator=restored), torch.randn(5, generator=gen))


def test_damaged_or_missing_state_says_so(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="missing"):
        load_training_state(tmp_path / "none.resume.safetensors")
    bad = tmp_path / "bad.resume.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......")
    with pytest.raises(CheckpointError, match="damaged"):
        load_training_state(bad)


def _crafted(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None) -> Path:
    path.write_bytes(save_safetensors(tensors, metadata=metadata))
    return path


GOOD_META = json.dumps({"info": {}, "param_groups": []})


@pytest.mark.parametrize(
    "tensors,metadata",
    [
        ({"w": torch.zeros(1)}, None),  # no metadata at all
        ({"model.w": torch.zeros(1)}, {"other": "x"}),  # no state
        ({"model.w": torch.zeros(1)}, {"state": "{not json"}),
        ({"model.w": torch.zeros(1)}, {"state": json.dumps([1, 2])}),
        ({"model.w": torch.zeros(1)}, {"state": json.dumps({"info": 3, "param_groups": []})}),
        ({"nodot": torch.zeros(1)}, {"state": GOOD_META}),  # a key without a part
        ({"weird.w": torch.zeros(1)}, {"state": GOOD_META}),  # an unknown part
        ({"optim.x.exp_avg": torch.zeros(1)}, {"state": GOOD_META}),  # a non-numeric optimiser slot
    ],
)
def test_crafted_resume_files_give_checkpoint_errors(tmp_path: Path, tensors, metadata) -> None:
    with pytest.raises(CheckpointError, match="damaged"):
        load_training_state(_crafted(tmp_path / "x.resume.safetensors", tensors, metadata))


@pytest.mark.parametrize("info", [{}, {"model": "mlp"}, {"model": {"latent_dim": 2.5}}])
def test_restoring_a_crafted_state_gives_a_checkpoint_error(tmp_path: Path, info: dict) -> None:
    from vae_core import TrainConfig
    from vae_core.data import load_digits_data
    from vae_core.training import Trainer

    trainer = Trainer(ModelConfig(hidden_dim=16), TrainConfig(epochs=1), load_digits_data())
    state = TrainingState({}, {"state": {}, "param_groups": []}, {}, {}, info)
    with pytest.raises(CheckpointError):
        trainer.restore(state)
