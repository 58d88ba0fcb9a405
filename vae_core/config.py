"""Frozen configs, one per concern, that round-trip through JSON.

A checkpoint stores the `ModelConfig`; loading rebuilds the model from it, so the
weights file never needs to carry code.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

from .likelihoods import LEGACY_RECON, LIKELIHOODS, SIGMA_MODES

ARCHITECTURES = ("mlp", "conv")
CONV_CHANNELS = (1, 3)  # grayscale or RGB
CONV_SIDES = (28, 32, 64)  # square images the conv model halves down to 7x7 or 4x4
DATASETS = ("digits", "mnist", "fashion-mnist", "idx", "folder", "shapes")
# Bounds on what a config may ask for: a description file must not be able to make the
# loader allocate gigabytes before the weights are even looked at.
MAX_HIDDEN_DIM = 4096
MAX_CHANNELS = 4
MAX_IMAGE_SIDE = 512
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 65_536
MAX_DATASET_SIZE = 10_000_000

T = TypeVar("T")


def _typed(name: str, value: Any, hint: Any) -> Any:
    """`value` (as JSON gives it) converted to the annotation `hint`, or ValueError naming `name`.

    JSON has no tuples (lists are taken for them) and no distinct floats (an int is a valid
    float); a bool is not taken for a number.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):  # a nested record: its own reader when it has one, else field by field
        if hasattr(hint, "from_dict"):
            try:
                return hint.from_dict(value)
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{name}: {err}") from None
        return from_json_dict(hint, value, f"{name}.")  # type: ignore[arg-type]
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        options = [option for option in args if option is not type(None)]
        if len(options) == 1:
            return _typed(name, value, options[0])
        for option in options:
            try:
                return _typed(name, value, option)
            except ValueError:
                continue
        raise ValueError(f"{name} has the wrong type ({type(value).__name__})")
    if hint is type(None):
        if value is None:
            return None
    elif origin is tuple:
        if isinstance(value, (list, tuple)):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_typed(name, v, args[0]) for v in value)
            if len(value) == len(args):
                return tuple(_typed(name, v, a) for v, a in zip(value, args))
    elif origin is dict:
        if isinstance(value, dict):
            return {_typed(name, k, args[0]): _typed(name, v, args[1]) for k, v in value.items()}
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint in (int, str, bool):
        if isinstance(value, hint) and (hint is bool or not isinstance(value, bool)):
            return value
    else:
        raise TypeError(f"no JSON reading for the annotation {hint!r}")
    raise ValueError(f"{name} has the wrong type or shape ({type(value).__name__})")


def from_json_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build `cls` from a dict, every field checked against its annotation (ValueError saying
    which field is wrong, named after `prefix`); unknown keys are ignored, so sidecars of other
    versions still load."""
    if not isinstance(data, dict):
        raise ValueError(f"{prefix.rstrip('.') or cls.__name__} must be a JSON object, not {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs = {f.name: _typed(prefix + f.name, data[f.name], hints[f.name])
              for f in dataclasses.fields(cls) if f.name in data}  # type: ignore[arg-type]
    return cls(**kwargs)


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a VAE's architecture."""

    arch: str = "mlp"
    image_shape: tuple[int, int, int] = (1, 8, 8)  # (C, H, W)
    latent_dim: int = 2
    hidden_dim: int = 128  # MLP width; the conv model scales its channels from it
    recon: str = "bernoulli"  # decoder likelihood p(x|z), one of likelihoods.LIKELIHOODS
    sigma: str = "global"  # Gaussian only: sigma learned "global" or per "pixel", or "fixed" at fixed_sigma
    fixed_sigma: float = 0.1
    binarize: bool = False  # the model sees pixels thresholded at 1/2 (binarised data)

    def __post_init__(self) -> None:
        if self.recon == "mse":  # the old unit-variance Gaussian, now with its constant
            object.__setattr__(self, "sigma", "fixed")
            object.__setattr__(self, "fixed_sigma", 1.0)
        object.__setattr__(self, "recon", LEGACY_RECON.get(self.recon, self.recon))
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {ARCHITECTURES}, got {self.arch!r}")
        if self.recon not in LIKELIHOODS:
            raise ValueError(f"recon must be one of {LIKELIHOODS}, got {self.recon!r}")
        if self.sigma not in SIGMA_MODES or not 0.0 < self.fixed_sigma <= 10.0:
            raise ValueError(f"sigma must be one of {SIGMA_MODES} and fixed_sigma in (0, 10]")
        if not isinstance(self.binarize, bool):
            raise ValueError("binarize must be true or false")
        if not 2 <= self.latent_dim <= 64:
            raise ValueError(f"latent_dim must be between 2 and 64, got {self.latent_dim}")
        c, h, w = self.image_shape
        if not (1 <= c <= MAX_CHANNELS and 1 <= h <= MAX_IMAGE_SIDE and 1 <= w <= MAX_IMAGE_SIDE):
            raise ValueError(f"image_shape must be (C, H, W) with C <= {MAX_CHANNELS} and sides <= {MAX_IMAGE_SIDE}, "
                             f"got {self.image_shape}")
        if self.arch == "conv" and (c not in CONV_CHANNELS or h != w or h not in CONV_SIDES):
            raise ValueError(f"the conv architecture takes 1 or 3 channels of 28x28, 32x32 or 64x64 pixels, "
                             f"got {c}x{h}x{w}")
        if not 4 <= self.hidden_dim <= MAX_HIDDEN_DIM:
            raise ValueError(f"hidden_dim must be between 4 and {MAX_HIDDEN_DIM}, got {self.hidden_dim}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        return from_json_dict(cls, data)


@dataclass(frozen=True)
class TrainConfig:
    """How to train: data, optimiser, schedule, reproducibility."""

    dataset: str = "digits"
    data_dir: str | None = None  # IDX folder, image folder, or torchvision root
    dataset_size: int | None = None  # images drawn for a procedural set (shapes); None: its default
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 1.0  # weight of the KL term (beta-VAE); 1 is the plain ELBO
    test_fraction: float = 0.2  # held out for the reported figures only, never for choosing
    val_fraction: float = 0.1  # of the training part: chooses the best epoch
    seed: int = 0
    device: str | None = None  # None: cuda > mps > cpu

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if not (1 <= self.epochs <= MAX_EPOCHS and 1 <= self.batch_size <= MAX_BATCH_SIZE):
            raise ValueError(f"epochs must be between 1 and {MAX_EPOCHS}, batch_size between 1 and {MAX_BATCH_SIZE}")
        if not (math.isfinite(self.lr) and self.lr > 0 and math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError("lr must be a number > 0 and beta a number >= 0")
        if self.dataset_size is not None and not 3 <= self.dataset_size <= MAX_DATASET_SIZE:
            raise ValueError("dataset_size must be between 3 (one train, one validation and one test image) "
                             f"and {MAX_DATASET_SIZE:,}")
        if not (0.0 < self.test_fraction < 1.0 and 0.0 < self.val_fraction < 1.0):
            raise ValueError("test_fraction and val_fraction must be between 0 and 1")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        return from_json_dict(cls, data)
