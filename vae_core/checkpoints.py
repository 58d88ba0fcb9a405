"""Checkpoints: one safetensors file (no pickle, so loading never runs code) that holds the
weights, the model's latent codes of its data (`codes.mu`, `codes.log_var`, `codes.labels`,
so a map can be drawn offline) and, in its header, the JSON description of the model.

One file is one unit: a save writes a temporary file and renames it over NAME.safetensors,
so a reader, or a process killed at any instant, sees the old checkpoint or the new one,
never weights of one with the description of another. Checkpoints written before the
description moved into the header keep it in `NAME.json` beside the weights; they still load.

Everything is checked before it is used: the description field by field (metadata.py), then
every tensor's name, dtype and shape from the file's header against a model built on the
meta device (no memory), and only then are the weights read and a model built. Any
failure is a CheckpointError saying why.

Saves into one folder take a lock (a file lock, so it holds across processes): a save never
silently replaces a checkpoint someone else saved meanwhile.
"""
from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as save_safetensors
from torch import Tensor

from .config import ModelConfig
from .metadata import FORMAT, CheckpointError, CheckpointMeta
from .models import VAE, build_model
from .snapshots import LatentSnapshots

WEIGHTS_SUFFIX = ".safetensors"
RESUME_SUFFIX = ".resume.safetensors"  # a run's resume state beside its checkpoint (vae_core.resume): not a model
SIDECAR_SUFFIX = ".json"  # the description of checkpoints written before it moved into the header
DESCRIPTION_KEY = "description"  # header metadata key of the JSON description
LOCK_NAME = ".save.lock"
LOCK_TIMEOUT_S = 30.0
MAX_HEADER_BYTES = 8 << 20  # a safetensors header: tensor names and offsets plus the description
MAX_SIDECAR_BYTES = 1 << 20
MAX_PARAMETERS = 100_000_000  # 400 MB of float32: far above any model this app trains
_MODEL_PREFIX = "model."
_CODES_PREFIX = "codes."
_SNAPSHOTS_PREFIX = "snapshots."  # the training replay: mu (E, n, D) and labels (n,)
_TEMP_SUFFIX = ".tmp"
_FLOATS = ("F16", "BF16", "F32", "F64")
_INTS = ("I8", "I16", "I32", "I64", "U8")

__all__ = [
    "Checkpoint", "CheckpointError", "CheckpointExistsError", "CheckpointEntry", "CheckpointMeta", "LatentCodes",
    "atomic_write", "checkpoint_paths", "checkpoint_version", "inspect_checkpoint", "list_checkpoints",
    "load_checkpoint", "save_checkpoint",
]


class CheckpointExistsError(CheckpointError, FileExistsError):
    """The name is taken (or was replaced since it was looked at): overwrite it or pick another."""


@dataclass(frozen=True, eq=False)
class LatentCodes:
    """q(z|x) of every image of a data set, as NumPy arrays: mu and log_var (N, D) float32,
    labels (N,) int64. Tensors (on any device) or arrays are accepted and converted."""

    mu: np.ndarray
    log_var: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        for name, dtype in (("mu", np.float32), ("log_var", np.float32), ("labels", np.int64)):
            value = getattr(self, name)
            if isinstance(value, Tensor):
                value = value.detach().cpu().numpy()
            object.__setattr__(self, name, np.asarray(value, dtype=dtype))
        n = len(self.labels)
        if self.mu.ndim != 2 or self.mu.shape != self.log_var.shape or self.mu.shape[0] != n or self.labels.ndim != 1:
            raise ValueError(f"codes of shapes {self.mu.shape}, {self.log_var.shape} and labels {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Checkpoint:
    model: VAE
    config: ModelConfig
    metadata: CheckpointMeta
    codes: LatentCodes | None = None
    path: Path = field(default_factory=Path)
    snapshots: LatentSnapshots | None = None  # the training replay, when it was saved with one


@dataclass(frozen=True)
class CheckpointEntry:
    """A checkpoint found in a folder: its description, or why it cannot be used."""

    path: Path  # the weights file
    meta: CheckpointMeta | None
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.meta is not None


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, legacy description) for a checkpoint named by either file or by its stem."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (WEIGHTS_SUFFIX, SIDECAR_SUFFIX) else path
    return stem.with_name(stem.name + WEIGHTS_SUFFIX), stem.with_name(stem.name + SIDECAR_SUFFIX)


def atomic_write(path: Path, data: bytes) -> None:
    """Write `path` so that readers (and a crash) see its old content or the new, never a part.

    The data goes to a hidden temporary file in the same folder (`.NAME.<random>.tmp`),
    is flushed to disk, then renamed over `path` in one step.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
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


@contextmanager
def save_lock(folder: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the folder's save lock (flock: between threads and processes alike).

    The lock file stays: deleting it would let two savers lock two different files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+b") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise CheckpointError("another save into this folder is taking too long; try again") from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_temps(folder: Path) -> None:
    """Temporary files of checkpoint saves that were killed; only called under the save lock,
    when no save can be writing one."""
    for tmp in folder.glob(f".*{WEIGHTS_SUFFIX}.*{_TEMP_SUFFIX}"):
        tmp.unlink(missing_ok=True)


def checkpoint_version(path: str | Path) -> str | None:
    """Identifies the checkpoint now under this name (a save replaces the file, so this
    changes); None when there is none. Pass it to `save_checkpoint(expected_version=...)`
    to overwrite only the checkpoint a person saw."""
    weights_path, sidecar_path = checkpoint_paths(path)
    for p in (weights_path, sidecar_path):
        try:
            st = p.stat()
            return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"
        except FileNotFoundError:
            continue
    return None


def save_checkpoint(
    path: str | Path, model: VAE, metadata: dict[str, Any] | None = None, codes: LatentCodes | None = None,
    *, overwrite: bool = False, expected_version: str | None = None, snapshots: LatentSnapshots | None = None,
) -> Path:
    """Write NAME.safetensors in one step; returns its path. `snapshots` (the training replay)
    are stored as float16 codes; `metadata["snapshots"]` may give their seed and split.

    An existing checkpoint of that name raises CheckpointExistsError unless `overwrite`;
    with `expected_version` too, only the checkpoint of that version is replaced (someone
    else's newer save is not). The description is checked like a loaded one before writing.
    """
    weights_path, sidecar_path = checkpoint_paths(path)
    tensors = {_MODEL_PREFIX + k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if codes is not None:
        # float16 halves the file; a map needs no more than ~3 significant digits
        tensors[_CODES_PREFIX + "mu"] = torch.from_numpy(codes.mu).half().contiguous()
        tensors[_CODES_PREFIX + "log_var"] = torch.from_numpy(codes.log_var).half().contiguous()
        tensors[_CODES_PREFIX + "labels"] = torch.from_numpy(codes.labels).to(torch.int16).contiguous()
    replay = None
    if snapshots is not None:
        tensors[_SNAPSHOTS_PREFIX + "mu"] = torch.from_numpy(snapshots.mu).half().contiguous()
        tensors[_SNAPSHOTS_PREFIX + "labels"] = torch.from_numpy(snapshots.labels).to(torch.int16).contiguous()
        replay = {**((metadata or {}).get("snapshots") or {}), "epochs": snapshots.epochs.tolist(),
                  "n_points": len(snapshots.labels)}
    description = {
        "format": FORMAT,
        **(metadata or {}),
        "model": model.config.to_dict(),
        "n_codes": 0 if codes is None else len(codes),
        "snapshots": replay,
        "versions": {"torch": torch.__version__.split("+")[0], "vae_explorer": _package_version()},
    }
    CheckpointMeta.from_dict(json.loads(json.dumps(description)), weights_path.name)
    payload = save_safetensors(tensors, metadata={"format": FORMAT, DESCRIPTION_KEY: json.dumps(description)})
    with save_lock(weights_path.parent):
        _remove_stale_temps(weights_path.parent)
        current = checkpoint_version(weights_path)
        if current is not None and not overwrite:
            raise CheckpointExistsError(f"A checkpoint named {weights_path.stem!r} already exists.")
        if current is not None and expected_version is not None and current != expected_version:
            raise CheckpointExistsError(
                f"The checkpoint named {weights_path.stem!r} was replaced by another save since you looked."
            )
        atomic_write(weights_path, payload)  # the commit point
        sidecar_path.unlink(missing_ok=True)  # an old-style description would now describe other weights
    return weights_path


def _package_version() -> str:
    from . import __version__

    return __version__


def _read_sidecar(sidecar_path: Path) -> Any:
    """The JSON of an old-style description file, size-bounded."""
    try:
        with open(sidecar_path, "rb") as f:
            raw = f.read(MAX_SIDECAR_BYTES + 1)
    except FileNotFoundError:
        raise CheckpointError(f"{sidecar_path.name} is missing: a checkpoint needs its description") from None
    except OSError as err:
        raise CheckpointError(f"{sidecar_path.name} could not be read ({err.strerror})") from None
    if len(raw) > MAX_SIDECAR_BYTES:
        raise CheckpointError(f"{sidecar_path.name} is too large to be a checkpoint description")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{sidecar_path.name} is damaged: it is not valid JSON") from None


def _header(weights_path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """(tensor name -> {dtype, shape}, header metadata) from the weights file, reading only its header."""
    try:
        with open(weights_path, "rb") as f:
            head = f.read(8)
            size = os.fstat(f.fileno()).st_size
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if not 2 <= n <= min(MAX_HEADER_BYTES, size - 8):
                if head[:1] == b"\x80" or head[:2] == b"PK":  # only now: a safetensors length may start so
                    raise CheckpointError(
                        f"{weights_path.name} is a pickled PyTorch file; pickles can run code when loaded, "
                        "so only .safetensors weights are accepted"
                    )
                raise CheckpointError(
                    f"{weights_path.name} is damaged or truncated: it is not a valid safetensors file"
                )
            header = json.loads(f.read(n))
    except FileNotFoundError:
        raise CheckpointError(f"{weights_path.name} is missing: the model's weights file was not found") from None
    except OSError as err:
        raise CheckpointError(f"{weights_path.name} could not be read ({err.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{weights_path.name} is damaged or truncated: it is not a valid safetensors file") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{weights_path.name} is damaged or truncated: it is not a valid safetensors file")
    meta = header.pop("__metadata__", None) or {}
    try:
        data_end = max((int(info["data_offsets"][1]) for info in header.values()), default=0)
        bad = not isinstance(meta, dict) or data_end != size - 8 - n or any(
            not isinstance(info["shape"], list) for info in header.values()
        )
    except (TypeError, KeyError, IndexError, ValueError):
        bad = True
    if bad:
        raise CheckpointError(f"{weights_path.name} is damaged or truncated: it is not a valid safetensors file")
    return header, meta


def _description(weights_path: Path, header_meta: dict[str, str]) -> CheckpointMeta:
    """The description in the header; for older checkpoints, the one in NAME.json."""
    text = header_meta.get(DESCRIPTION_KEY)
    if text is None:
        sidecar_path = checkpoint_paths(weights_path)[1]
        return CheckpointMeta.from_dict(_read_sidecar(sidecar_path), sidecar_path.name)
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{weights_path.name} is damaged: its description is not valid JSON") from None
    return CheckpointMeta.from_dict(data, weights_path.name)


def _check_tensors(weights_path: Path, meta: CheckpointMeta, header: dict[str, Any]) -> None:
    """Every tensor the model needs, with the shape it needs, and sound codes; from the header alone."""
    name = weights_path.name
    with torch.device("meta"):  # shapes without memory, whatever size the description asks for
        expected = {_MODEL_PREFIX + k: tuple(v.shape) for k, v in build_model(meta.model).state_dict().items()}
    if sum(torch.Size(shape).numel() for shape in expected.values()) > MAX_PARAMETERS:
        raise CheckpointError(f"{name} describes a model too large for this app (over {MAX_PARAMETERS:,} weights)")
    found = {k: (v.get("dtype"), tuple(v["shape"])) for k, v in header.items() if k.startswith(_MODEL_PREFIX)}
    if set(found) != set(expected) or any(
        found[k][1] != shape or found[k][0] not in _FLOATS for k, shape in expected.items()
    ):
        cfg = meta.model
        raise CheckpointError(
            f"{name} does not fit its description ({cfg.arch}, latent dim {cfg.latent_dim}, hidden {cfg.hidden_dim}): "
            "the weights belong to a different model"
        )
    codes = {k[len(_CODES_PREFIX):]: (v.get("dtype"), tuple(v["shape"])) for k, v in header.items()
             if k.startswith(_CODES_PREFIX)}
    n, d = meta.n_codes, meta.model.latent_dim
    wanted = {"mu": ((n, d), _FLOATS), "log_var": ((n, d), _FLOATS), "labels": ((n,), _INTS)}
    if codes and not _fits(codes, wanted):
        raise CheckpointError(
            f"{name} has damaged latent codes: it needs codes.mu and codes.log_var of {n} x {d} "
            f"and codes.labels of {n}, as its description says"
        )
    replay = {k[len(_SNAPSHOTS_PREFIX):]: (v.get("dtype"), tuple(v["shape"])) for k, v in header.items()
              if k.startswith(_SNAPSHOTS_PREFIX)}
    facts = meta.snapshots
    if facts is None and not replay:
        return  # saved without a training replay, as every model before it was
    e, n = (0, 0) if facts is None else (len(facts.epochs), facts.n_points)
    if facts is None or not _fits(replay, {"mu": ((e, n, d), _FLOATS), "labels": ((n,), _INTS)}):
        raise CheckpointError(
            f"{name} has a damaged training replay: its snapshots do not match what its description says"
        )


def _fits(found: dict[str, tuple[Any, tuple[int, ...]]], wanted: dict[str, tuple[tuple[int, ...], tuple[str, ...]]]) -> bool:
    """Whether the tensors `found` (name -> dtype, shape) are exactly those `wanted` (name -> shape, dtypes)."""
    return set(found) == set(wanted) and all(
        found[k][1] == shape and found[k][0] in dtypes for k, (shape, dtypes) in wanted.items()
    )


def inspect_checkpoint(path: str | Path) -> CheckpointMeta:
    """The checkpoint's description, after checking that its weights fit it; reads headers only."""
    weights_path, _ = checkpoint_paths(path)
    header, header_meta = _header(weights_path)
    meta = _description(weights_path, header_meta)
    _check_tensors(weights_path, meta, header)
    return meta


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Check the checkpoint (`inspect_checkpoint`), then build the model and load its weights, in eval mode."""
    weights_path, _ = checkpoint_paths(path)
    meta = inspect_checkpoint(weights_path)
    try:
        with safe_open(weights_path, framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()
                       if k.startswith((_MODEL_PREFIX, _CODES_PREFIX, _SNAPSHOTS_PREFIX))}
    except (SafetensorError, OSError, ValueError, RuntimeError):
        raise CheckpointError(f"{weights_path.name} is damaged or truncated: it is not a valid safetensors file") from None
    state = {k[len(_MODEL_PREFIX):]: v.float() for k, v in tensors.items() if k.startswith(_MODEL_PREFIX)}
    model = build_model(meta.model)
    model.load_state_dict(state, strict=True)  # names and shapes were checked from the header
    codes = None
    if _CODES_PREFIX + "mu" in tensors:
        codes = LatentCodes(tensors[_CODES_PREFIX + "mu"], tensors[_CODES_PREFIX + "log_var"],
                            tensors[_CODES_PREFIX + "labels"])
    snapshots = None
    if meta.snapshots is not None:
        snapshots = LatentSnapshots(np.array(meta.snapshots.epochs), tensors[_SNAPSHOTS_PREFIX + "mu"].float().numpy(),
                                    tensors[_SNAPSHOTS_PREFIX + "labels"].numpy())
    return Checkpoint(model.to(device).eval(), meta.model, meta, codes, weights_path, snapshots)


def _looks_like_description(sidecar_path: Path) -> bool:
    """An old-style description file (its weights may be missing), not some other JSON file."""
    try:
        data = _read_sidecar(sidecar_path)
    except CheckpointError:
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def list_checkpoints(*folders: str | Path) -> list[CheckpointEntry]:
    """Every checkpoint in the folders, by folder then name; those that cannot be used say why."""
    found = []
    for folder in folders:
        folder = Path(folder)
        stems = {p.name[: -len(WEIGHTS_SUFFIX)] for p in folder.glob("*" + WEIGHTS_SUFFIX)
                 if not p.name.endswith(RESUME_SUFFIX)}
        stems |= {p.stem for p in folder.glob("*" + SIDECAR_SUFFIX) if _looks_like_description(p)}
        for stem in sorted(s for s in stems if not s.startswith(".")):
            weights_path, _ = checkpoint_paths(folder / stem)
            try:
                found.append(CheckpointEntry(weights_path, inspect_checkpoint(weights_path)))
            except CheckpointError as err:
                found.append(CheckpointEntry(weights_path, None, str(err)))
    return found
