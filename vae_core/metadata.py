"""What a checkpoint says about itself, typed and checked field by field.

A description comes from a file anyone can write, so every field is checked for its type
(against the annotations below) and its range before anything reads it: a bad file is one
CheckpointError with the reason, never a KeyError in a page. Unknown keys are ignored, so
descriptions written by other versions still load; a field added here needs a default.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .config import ModelConfig, TrainConfig, from_json_dict
from .disentangle import Disentanglement

FORMAT = "vae-explorer/1"
MAX_CODES = 1_000_000  # latent codes stored with a model (the large-map bench stores 100k)
MAX_CLASSES = 1000
MAX_TEXT = 200  # characters of a name, a data set, a device
MAX_HISTORY = 100_000  # test losses kept, one per epoch
# The model's fields present since the first format: a description without them is not one.
MODEL_KEYS = ("arch", "image_shape", "latent_dim", "hidden_dim")


MAX_SNAPSHOT_POINTS = 10_000  # test images a training replay may follow
MAX_SNAPSHOT_BYTES = 4 << 20  # float16 codes of a training replay's frames (thinned to fit when saved)


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message says why in the user's terms."""


@dataclass(frozen=True)
class SnapshotFacts:
    """What the training replay stored with a model holds (vae_core/snapshots.py): the codes of
    `n_points` test images drawn by `seed`, after each of `epochs` (0: before training)."""

    epochs: tuple[int, ...]
    n_points: int
    seed: int = 0
    split: str = "test"  # which images were followed

    def __post_init__(self) -> None:
        if not 1 <= self.n_points <= MAX_SNAPSHOT_POINTS:
            raise ValueError(f"snapshots.n_points must be between 1 and {MAX_SNAPSHOT_POINTS:,}")
        if not self.epochs or len(self.epochs) > MAX_HISTORY + 1 or len(self.split) > MAX_TEXT:
            raise ValueError("snapshots must list between 1 and 100,001 epochs")
        if not all(0 <= a < b <= MAX_HISTORY for a, b in zip(self.epochs, self.epochs[1:])) or self.epochs[0] < 0:
            raise ValueError("snapshots.epochs must be increasing epoch numbers from 0")


@dataclass(frozen=True)
class CheckpointMeta:
    """A checkpoint's description: the model to build and how it came to be."""

    model: ModelConfig
    format: str = FORMAT
    dataset: str = "unknown data"  # the data set's name as shown to people
    class_names: tuple[str, ...] = ()
    train: TrainConfig | None = None
    epochs_trained: int = 0
    stopped_early: bool = False
    final: dict[str, int | float] | None = None  # the best epoch and its losses (val_* now, test_* before)
    test: dict[str, int | float | str] | None = None  # evaluation.ReportedFigures on the test split
    split: dict[str, int] | None = None  # images in the train, val and test splits
    val_loss_history: tuple[float, ...] = ()
    test_loss_history: tuple[float, ...] = ()  # before the validation split, the held-out loss per epoch
    train_seconds: float = 0.0
    device: str = "unknown"
    world_size: int = 1
    n_codes: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    imported_from: dict[str, str] | None = None  # source, file and sha256 of a model trained elsewhere
    disentanglement: Disentanglement | None = None  # MIG against a data set's known factors (shapes)
    snapshots: SnapshotFacts | None = None  # a replay of training stored with the model (older ones have none)

    def __post_init__(self) -> None:
        if self.format != FORMAT:
            raise ValueError(f"its format is {self.format[:MAX_TEXT]!r}, not {FORMAT!r}")
        imported = self.imported_from or {}
        texts = (self.dataset, self.device, *self.class_names, *self.versions, *self.versions.values(),
                 *imported, *imported.values())
        if any(len(text) > MAX_TEXT for text in texts):
            raise ValueError(f"a name in it is longer than {MAX_TEXT} characters")
        if len(self.class_names) > MAX_CLASSES or len(self.versions) > MAX_CLASSES:
            raise ValueError(f"it lists more than {MAX_CLASSES} class names or versions")
        histories = (self.val_loss_history, self.test_loss_history)
        if not 0 <= self.epochs_trained <= MAX_HISTORY or max(map(len, histories)) > MAX_HISTORY:
            raise ValueError(f"epochs_trained must be between 0 and {MAX_HISTORY}")
        if not 0 <= self.n_codes <= MAX_CODES:
            raise ValueError(f"n_codes must be between 0 and {MAX_CODES:,}")
        if not 1 <= self.world_size <= 1_000_000:
            raise ValueError("world_size must be at least 1")
        if not (math.isfinite(self.train_seconds) and self.train_seconds >= 0):
            raise ValueError("train_seconds must be a number >= 0")
        if not all(math.isfinite(v) for v in (self.final or {}).values()):
            raise ValueError("the final losses must be finite numbers")
        if any(len(part) > MAX_CLASSES for part in (self.final or {}, self.test or {}, self.split or {})):
            raise ValueError("final, test or split has too many entries")
        replay = self.snapshots
        if replay is not None and len(replay.epochs) * replay.n_points * self.model.latent_dim * 2 > MAX_SNAPSHOT_BYTES:
            raise ValueError(f"its training replay declares more than {MAX_SNAPSHOT_BYTES >> 20} MB of codes")

    @property
    def likelihood(self) -> str:
        """The decoder's likelihood p(x|z), one of likelihoods.LIKELIHOODS."""
        return self.model.recon

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.model.image_shape

    @property
    def beta(self) -> float | None:
        """The KL weight it was trained with; None when the description does not say."""
        return None if self.train is None else self.train.beta

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["disentanglement"] = None if self.disentanglement is None else self.disentanglement.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any, source: str) -> "CheckpointMeta":
        """Parse a description read from `source` (a file name, for the message)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CheckpointError(f"{source} is not a vae-explorer checkpoint description")
        model = data.get("model")
        missing = [key for key in MODEL_KEYS if not isinstance(model, dict) or key not in model]
        if missing:
            raise CheckpointError(f"{source} does not describe its model (no {', '.join(missing)})")
        try:
            return from_json_dict(cls, data)
        except ValueError as err:
            raise CheckpointError(f"{source} describes a model we cannot use: {err}") from None
