"""Bringing models in: a checkpoint uploaded to the app (`import_checkpoint`), and, on the
command line, `python -m vae_core.convert --from pytorch-examples vae.pt --out checkpoints/NAME`.

An uploaded checkpoint (NAME.safetensors, with its NAME.json when it is an older one) passes
the same checks as a local checkpoint: it is written to a temporary folder beside its
destination and loaded from there with `load_checkpoint`; only one that loads is saved into
the folder, in one step as every save is, and an existing name is never replaced.

The command line turns a model trained elsewhere into a vae-explorer checkpoint, with the latent codes of a
chosen data set (`--dataset`, `--data-dir`, as for training) so its map works at once.

pytorch-examples: the state_dict of pytorch/examples' vae/main.py (`torch.save(model.state_dict(),
...)`): fc1 (784 -> 400), ReLU, fc21 / fc22 (400 -> 20: mu, log_var), and back fc3 (20 -> 400),
ReLU, fc4 (400 -> 784), sigmoid, with the Bernoulli (BCE) loss. That is our MLP variant layer
for layer: its two heads become our one `enc_stats` (rows of fc21 then fc22), so the converted
model computes the same functions. The file is read with `torch.load(weights_only=True)`,
which refuses anything but tensors, so a converted file cannot run code.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import os
import pickle
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor

from .checkpoints import (
    CheckpointError, CheckpointExistsError, LatentCodes, checkpoint_paths, checkpoint_version, load_checkpoint,
    save_checkpoint,
)
from .cli import OneLineParser, UsageError
from .config import DATASETS, ModelConfig
from .data import DataError, ImageData, load_dataset
from .models import VAE, build_model
from .naming import sanitize_checkpoint_name
from .training import encode_all

SOURCES = ("pytorch-examples",)
# pytorch-examples key -> our key; fc21 and fc22 are joined into enc_stats
_LAYERS = {"fc1": "enc.1", "fc3": "dec.0", "fc4": "dec.2"}
_EXPECTED = tuple(f"{layer}.{part}" for layer in ("fc1", "fc21", "fc22", "fc3", "fc4") for part in ("weight", "bias"))


class ConversionError(ValueError):
    """The file cannot be converted; the message says why in the user's terms."""


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """The tensors saved at `path` by `torch.save(model.state_dict(), path)`, read without unpickling code."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{path} was not found" if not path.exists() else f"{path} is not a file")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive (since PyTorch 1.6)
        raise ConversionError(f"{path.name} is not a file saved by torch.save (damaged or another format)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ConversionError(
            f"{path.name} holds pickled objects, not only tensors; save `model.state_dict()` instead of the model"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError):
        raise ConversionError(f"{path.name} is not a file saved by torch.save (damaged or another format)") from None
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ConversionError(f"{path.name} does not hold a state_dict (a mapping of names to tensors)")
    return dict(state)


def from_pytorch_examples(state: Mapping[str, Tensor]) -> VAE:
    """Our MLP VAE computing what pytorch/examples' VAE with these weights computes."""
    missing = [key for key in _EXPECTED if key not in state]
    extra = sorted(set(state) - set(_EXPECTED))
    if missing or extra:
        detail = f"missing {', '.join(missing)}" if missing else f"unexpected {', '.join(extra[:4])}"
        raise ConversionError(f"this is not the state_dict of pytorch/examples' vae/main.py VAE ({detail})")
    hidden, n_pixels = state["fc1.weight"].shape
    latent = state["fc21.weight"].shape[0]
    side = math.isqrt(n_pixels)
    shapes_ok = (
        side * side == n_pixels and state["fc22.weight"].shape == (latent, hidden)
        and state["fc21.weight"].shape == (latent, hidden) and state["fc3.weight"].shape == (hidden, latent)
        and state["fc4.weight"].shape == (n_pixels, hidden)
    )
    if not shapes_ok:
        raise ConversionError("its layer shapes do not chain as fc1 -> fc21/fc22 -> fc3 -> fc4 over square images")
    try:
        config = ModelConfig(arch="mlp", image_shape=(1, side, side), latent_dim=latent, hidden_dim=hidden, recon="bernoulli")
    except ValueError as err:
        raise ConversionError(f"this model cannot be explored here: {err}") from None
    ours = {f"{_LAYERS[layer]}.{part}": state[f"{layer}.{part}"] for layer in _LAYERS for part in ("weight", "bias")}
    for part in ("weight", "bias"):
        ours[f"enc_stats.{part}"] = torch.cat([state[f"fc21.{part}"], state[f"fc22.{part}"]])
    model = build_model(config)
    model.load_state_dict({k: v.float() for k, v in ours.items()}, strict=True)
    return model.eval()


def convert(
    source: str, path: str | Path, out: str | Path, dataset: str = "mnist", data_dir: str | None = None,
) -> Path:
    """Convert the file at `path` and save it at `out` with the codes of `dataset`; the weights path."""
    if source not in SOURCES:
        raise ConversionError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    model = from_pytorch_examples(read_state_dict(path))
    data = load_dataset(dataset, data_dir)
    if data.image_shape != model.config.image_shape:
        c, h, w = data.image_shape
        raise ConversionError(
            f"the {dataset} images are {h}x{w} with {c} channel(s) but the model takes "
            f"{model.config.image_shape[1]}x{model.config.image_shape[2]}: choose a data set of its size"
        )
    mu, log_var = encode_all(model, data.pixels if isinstance(data, ImageData) else data)
    metadata = {
        "dataset": data.name,
        "class_names": list(data.class_names),
        "train": {"dataset": dataset, "data_dir": data_dir},  # where its codes' images are
        "imported_from": {
            "source": source, "file": Path(path).name,
            "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        },
    }
    return save_checkpoint(out, model, metadata, LatentCodes(mu, log_var, data.labels), overwrite=True)


def import_checkpoint(weights: bytes, sidecar: bytes | None, name: str, folder: str | Path) -> Path:
    """Check an uploaded checkpoint (one self-describing .safetensors, or an older one with its
    .json description) and add it to `folder` as `name`, in the one-file format; its path.

    Raises CheckpointError (it does not load, or `name` is taken) or ValueError (a name with no
    usable characters), each with a message for the user."""
    stem = sanitize_checkpoint_name(name)
    folder = Path(folder)
    if checkpoint_version(folder / stem) is not None:  # said before the upload is even read
        raise CheckpointError(f"a model named {stem} exists already: choose another name")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".upload-") as tmp:
        staged_weights, staged_sidecar = checkpoint_paths(Path(tmp) / stem)
        staged_weights.write_bytes(weights)
        if sidecar is not None:
            staged_sidecar.write_bytes(sidecar)
        ckpt = load_checkpoint(staged_weights)  # every check a local checkpoint gets
    kept = {k: v for k, v in ckpt.metadata.to_dict().items() if k not in ("format", "model", "n_codes", "versions")}
    try:  # one step, under the folder's save lock: a name taken meanwhile is refused, never replaced
        return save_checkpoint(folder / stem, ckpt.model, kept, ckpt.codes, snapshots=ckpt.snapshots)
    except CheckpointExistsError:
        raise CheckpointError(f"a model named {stem} exists already: choose another name") from None


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vae_core.convert",
                      description="Convert a model trained elsewhere into a vae-explorer checkpoint.")
    p.add_argument("--from", dest="source", choices=SOURCES, required=True, help="what wrote the file")
    p.add_argument("file", help="the saved state_dict, e.g. vae.pt")
    p.add_argument("--out", required=True, help="checkpoint path without suffix, e.g. checkpoints/examples-vae")
    p.add_argument("--dataset", choices=DATASETS, default="mnist", help="the data set whose codes are stored")
    p.add_argument("--data-dir", default=None, help="its folder (IDX files, image folder, or download root)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        path = convert(args.source, args.file, args.out, args.dataset, args.data_dir)
    except (ConversionError, DataError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: cannot write {args.out}: {err.strerror or err}", file=sys.stderr)
        return 2
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
