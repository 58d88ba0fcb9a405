"""Frozen configs, one per concern, that round-trip through JSON.

A checkpoint stores the `ModelConfig`; loading rebuilds the model from it, so the
weights file never needs to carry code.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

from .likelihoods import LEGACY_RECON, LIKELIHOODS, SIGMA_MODES

ARCHITECTURES = ("mlp", "conv")
CONV_CHANNELS = (1, 3)  # grayscale or RGB
CONV_SIDES = (28, 32, 64)  # square images the conv model halves down to 7x7 or 4x4
DATASETS = ("digits", "mnist", "fashion-mnist", "idx", "folder", "shapes")

T = TypeVar("T")


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build `cls` from a dict, ignoring unknown keys so older sidecars still load."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in names}
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
        if len(self.image_shape) != 3 or min(self.image_shape) < 1:
            raise ValueError(f"image_shape must be (C, H, W), got {self.image_shape}")
        c, h, w = self.image_shape
        if self.arch == "conv" and (c not in CONV_CHANNELS or h != w or h not in CONV_SIDES):
            raise ValueError(f"the conv architecture takes 1 or 3 channels of 28x28, 32x32 or 64x64 pixels, "
                             f"got {c}x{h}x{w}")
        if self.hidden_dim < 4:
            raise ValueError("hidden_dim must be at least 4")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        return _from_dict(cls, data)


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
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.beta < 0:
            raise ValueError("epochs and batch_size must be >= 1, lr > 0 and beta >= 0")
        if self.dataset_size is not None and self.dataset_size < 3:
            raise ValueError("dataset_size must be at least 3 (one train, one validation and one test image)")
        if not (0.0 < self.test_fraction < 1.0 and 0.0 < self.val_fraction < 1.0):
            raise ValueError("test_fraction and val_fraction must be between 0 and 1")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        return _from_dict(cls, data)
