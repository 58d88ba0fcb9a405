"""Training state for resuming after an interruption, without pickle.

One safetensors file holds every tensor (model, optimiser moments, best weights, RNG
states); its metadata holds the JSON rest (epoch, history, optimiser hyper-parameters).
Written atomically at the end of each epoch, so a run killed mid-epoch resumes from the
last completed epoch and, with the RNG states restored, continues exactly as it would have.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as save_safetensors
from torch import Tensor

from .checkpoints import RESUME_SUFFIX, CheckpointError, atomic_write


@dataclass(frozen=True)
class TrainingState:
    model: dict[str, Tensor]
    optimizer: dict[str, Any]  # as torch.optim.Optimizer.state_dict() returns it
    best: dict[str, Tensor]
    rng: dict[str, Tensor]  # name -> torch.Generator state
    info: dict[str, Any]  # epoch, history, best_val_loss, configs


def resume_path(out: str | Path) -> Path:
    """Where the resume state of a run saving to `out` lives (beside its checkpoint)."""
    out = Path(out)
    return out.with_name(out.name + RESUME_SUFFIX)


def save_training_state(path: str | Path, state: TrainingState) -> None:
    tensors: dict[str, Tensor] = {}
    for prefix, part in (("model.", state.model), ("best.", state.best), ("rng.", state.rng)):
        tensors.update({prefix + k: v.detach().cpu().clone() for k, v in part.items()})  # no shared storage
    for index, slots in state.optimizer["state"].items():
        for name, value in slots.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    meta = {"info": state.info, "param_groups": state.optimizer["param_groups"]}
    atomic_write(Path(path), save_safetensors(tensors, metadata={"state": json.dumps(meta)}))


def load_training_state(path: str | Path) -> TrainingState:
    """Read a resume file; any damage, or a file not written by `save_training_state`,
    raises CheckpointError with a plain reason."""
    path = Path(path)
    try:
        with safe_open(path, framework="pt") as f:
            meta = json.loads((f.metadata() or {})["state"])
            tensors = {key: f.get_tensor(key) for key in f.keys()}
        return _state(tensors, meta)
    except FileNotFoundError:
        raise CheckpointError(f"{path.name} is missing: there is no interrupted run to resume") from None
    except (OSError, SafetensorError, ValueError, KeyError, TypeError, AttributeError, RuntimeError, RecursionError):
        raise CheckpointError(f"{path.name} is damaged: start the run afresh without --resume") from None


def _state(tensors: dict[str, Tensor], meta: Any) -> TrainingState:
    """Sort the tensors back into their parts; KeyError, ValueError or TypeError on anything foreign."""
    if not isinstance(meta["info"], dict) or not isinstance(meta["param_groups"], list):
        raise TypeError("the resume metadata is not what save_training_state writes")
    parts: dict[str, dict[str, Tensor]] = {"model": {}, "best": {}, "rng": {}}
    optim_state: dict[int, dict[str, Tensor]] = {}
    for key, value in tensors.items():
        prefix, rest = key.split(".", 1)
        if prefix == "optim":
            index, name = rest.split(".", 1)
            optim_state.setdefault(int(index), {})[name] = value
        else:
            parts[prefix][rest] = value
    optimizer = {"state": optim_state, "param_groups": meta["param_groups"]}
    return TrainingState(parts["model"], optimizer, parts["best"], parts["rng"], meta["info"])
