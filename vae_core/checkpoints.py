"""Checkpoints: weights in safetensors (no pickle, so loading never runs code) plus a
JSON sidecar with the config and the story of the model.

A checkpoint NAME is two files, `NAME.safetensors` and `NAME.json`. Both are written
atomically (temp file + rename), weights first, so a reader that finds the sidecar always
finds complete weights. The weights file may also hold the model's latent codes of its
data set (`codes.mu`, `codes.log_var`, `codes.labels`), so the map can be drawn offline.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import Tensor

from .config import ModelConfig
from .models import VAE, build_model

FORMAT = "vae-explorer/1"
WEIGHTS_SUFFIX = ".safetensors"
SIDECAR_SUFFIX = ".json"
_MODEL_PREFIX = "model."
_CODES_PREFIX = "codes."


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message says why in the user's terms."""


@dataclass(frozen=True)
class LatentCodes:
    """q(z|x) of every image of a data set: mu, log_var (N, D) and labels (N,)."""

    mu: Tensor
    log_var: Tensor
    labels: Tensor


@dataclass(frozen=True)
class Checkpoint:
    model: VAE
    config: ModelConfig
    metadata: dict[str, Any]
    codes: LatentCodes | None = None
    path: Path = field(default_factory=Path)


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, sidecar) for a checkpoint named by either file or by its stem."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (WEIGHTS_SUFFIX, SIDECAR_SUFFIX) else path
    return stem.with_name(stem.name + WEIGHTS_SUFFIX), stem.with_name(stem.name + SIDECAR_SUFFIX)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; checkpoints are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    path: str | Path, model: VAE, metadata: dict[str, Any] | None = None, codes: LatentCodes | None = None
) -> Path:
    """Write NAME.safetensors then NAME.json; returns the weights path."""
    weights_path, sidecar_path = checkpoint_paths(path)
    tensors = {_MODEL_PREFIX + k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if codes is not None:
        # float16 halves the file; a map needs no more than ~3 significant digits
        tensors[_CODES_PREFIX + "mu"] = codes.mu.detach().cpu().half().contiguous()
        tensors[_CODES_PREFIX + "log_var"] = codes.log_var.detach().cpu().half().contiguous()
        tensors[_CODES_PREFIX + "labels"] = codes.labels.detach().cpu().to(torch.int16).contiguous()
    sidecar = {
        "format": FORMAT,
        **(metadata or {}),
        "model": model.config.to_dict(),
        "n_codes": 0 if codes is None else int(codes.mu.shape[0]),
        "versions": {"torch": torch.__version__.split("+")[0], "vae_explorer": _package_version()},
    }
    _atomic_write(weights_path, save_safetensors(tensors, metadata={"format": FORMAT}))
    _atomic_write(sidecar_path, json.dumps(sidecar, indent=2, sort_keys=True).encode())
    return weights_path


def _package_version() -> str:
    from . import __version__

    return __version__


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """The sidecar alone: cheap enough to list many checkpoints."""
    _, sidecar_path = checkpoint_paths(path)
    try:
        meta = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{sidecar_path.name} is missing: a checkpoint needs its .json description") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{sidecar_path.name} is damaged: it is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("model"), dict):
        raise CheckpointError(f"{sidecar_path.name} is not a vae-explorer checkpoint description")
    return meta


def _read_weights(weights_path: Path) -> dict[str, Tensor]:
    try:
        raw = weights_path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{weights_path.name} is missing: the model's weights file was not found") from None
    except OSError as err:
        raise CheckpointError(f"{weights_path.name} could not be read ({err.strerror})") from None
    try:
        return load_safetensors(raw)
    except (SafetensorError, ValueError, RuntimeError):
        pass
    # Only now look at what it is instead (a safetensors header may start with any byte).
    if raw[:1] == b"\x80" or raw[:2] == b"PK":
        raise CheckpointError(
            f"{weights_path.name} is a pickled PyTorch file; pickles can run code when loaded, "
            "so only .safetensors weights are accepted"
        )
    raise CheckpointError(f"{weights_path.name} is damaged or truncated: it is not a valid safetensors file")


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Rebuild the model from its sidecar and load its weights, in eval mode."""
    weights_path, _ = checkpoint_paths(path)
    meta = read_sidecar(path)
    try:
        config = ModelConfig.from_dict(meta["model"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{weights_path.stem} has a model description we cannot build: {err}") from None
    tensors = _read_weights(weights_path)
    state = {k[len(_MODEL_PREFIX):]: v for k, v in tensors.items() if k.startswith(_MODEL_PREFIX)}
    model = build_model(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:
        raise CheckpointError(
            f"{weights_path.name} does not fit its description ({config.arch}, latent dim {config.latent_dim}): "
            "the weights belong to a different model"
        ) from None
    codes = None
    if _CODES_PREFIX + "mu" in tensors:
        codes = LatentCodes(
            tensors[_CODES_PREFIX + "mu"].float(), tensors[_CODES_PREFIX + "log_var"].float(),
            tensors[_CODES_PREFIX + "labels"].long(),
        )
    return Checkpoint(model.to(device).eval(), config, meta, codes, weights_path)


def list_checkpoints(*folders: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """(weights path, sidecar) of every readable checkpoint in the folders, by name."""
    found = []
    for folder in folders:
        for sidecar_path in sorted(Path(folder).glob("*" + SIDECAR_SUFFIX)):
            weights_path, _ = checkpoint_paths(sidecar_path)
            try:
                found.append((weights_path, read_sidecar(sidecar_path)))
            except CheckpointError:
                continue  # not ours or damaged: loading it would say why; listing skips it
    return found
