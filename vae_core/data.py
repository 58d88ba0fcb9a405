"""Data sets as one preloaded tensor of pixels, shape (N, C, H, W), plus labels.

Preloading replaces a per-sample DataLoader (PIL image -> ToTensor for every item):
small image sets fit in memory many times over, and indexing one tensor is far faster.

The pixels keep their source's type: uint8 (0..255) for the shapes and MNIST's IDX files,
float32 in [0, 1] for the rest. A float copy of the 20,000 shapes would take 983 MB, a
quarter of that as uint8. One rule reads them: `ImageData.floats(index)` gives float
images in [0, 1]; what walks a whole set batch by batch takes `pixels` and converts each
batch with `as_float` (bitwise what converting the whole set first would give).
"""
from __future__ import annotations

import gzip
import logging
import os
import struct
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from . import shapes

if TYPE_CHECKING:
    from PIL import Image

DIGIT_NAMES = tuple(str(i) for i in range(10))
FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
IDX_SPLITS = ("train", "t10k")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SKIPPED_SHOWN = 5  # names of skipped images listed in the warning
log = logging.getLogger(__name__)
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(ValueError):
    """A data source is missing or malformed; the message says what to do."""


def as_float(pixels: Tensor) -> Tensor:
    """uint8 pixels (0..255) as float32 in [0, 1]; float pixels as they are (not a copy)."""
    return pixels if pixels.is_floating_point() else pixels.float().div_(255.0)


def even_rows(length: int, n: int) -> np.ndarray:
    """min(n, length) row indices spread evenly over `length` rows, first and last included: a sample
    that keeps every class in proportion (rounded in float64; float32 put some a row off)."""
    return np.linspace(0, length - 1, min(n, length)).round().astype(np.int64)


@dataclass(frozen=True)
class ImageData:
    """Pixels (N, C, H, W), uint8 in 0..255 or float32 in [0, 1], and labels (N,) int64 (-1 = unlabelled).

    Read images through `floats`, never `pixels` directly, unless by `as_float` batch by batch.
    A procedural set also knows the true generative factors of each image: `factors`
    (N, K) int64, the level of each factor named in `factor_names`.
    """

    pixels: Tensor
    labels: Tensor
    name: str
    class_names: tuple[str, ...]
    factors: Tensor | None = None
    factor_names: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.pixels.shape[1:]
        return int(c), int(h), int(w)

    def floats(self, index: Tensor | np.ndarray | slice | int = slice(None)) -> Tensor:
        """Images `index` as float32 in [0, 1]: (C, H, W) for an int, else (n, C, H, W).

        Index first: the whole set as float is what uint8 storage avoids. Float pixels come
        back as a view of the shared tensor, so never mutate the result.
        """
        return as_float(self.pixels[index])

    def subset(self, index: Tensor | slice) -> "ImageData":
        factors = None if self.factors is None else self.factors[index]
        return replace(self, pixels=self.pixels[index], labels=self.labels[index], factors=factors)

    def to(self, device: torch.device | str) -> "ImageData":
        return replace(self, pixels=self.pixels.to(device), labels=self.labels.to(device))


def _from_uint8(images: np.ndarray, labels: np.ndarray, name: str, class_names: tuple[str, ...]) -> ImageData:
    x = torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1)
    return ImageData(x, torch.from_numpy(labels.astype(np.int64)), name, class_names)


def load_digits_data() -> ImageData:
    """scikit-learn's bundled 1,797 8x8 digits (values 0..16): the offline default."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    return ImageData(x, torch.from_numpy(bunch.target.astype(np.int64)), "digits", DIGIT_NAMES)


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally .gz): the format of MNIST and Fashion-MNIST."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"{path.name} could not be read: {err}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path.name} is not an IDX file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path.name} is truncated")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{path.name} holds {len(raw) - header} bytes of data, expected {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _idx_file(folder: Path, split: str, kind: str) -> Path | None:
    name = f"{split}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
    return next((p for p in (folder / f"{name}.gz", folder / name) if p.exists()), None)


def load_idx_folder(folder: str | Path, name: str = "mnist", class_names: tuple[str, ...] = DIGIT_NAMES) -> ImageData:
    """Every complete (images, labels) pair of the standard IDX files in `folder`.

    Works with any subset of the four files, e.g. only the t10k pair; an images file
    without its labels is still used, unlabelled.
    """
    folder = Path(folder)
    images, labels = [], []
    for split in IDX_SPLITS:
        img_path = _idx_file(folder, split, "images")
        if img_path is None:
            continue
        imgs = read_idx(img_path)
        lab_path = _idx_file(folder, split, "labels")
        labs = read_idx(lab_path).astype(np.int64) if lab_path else np.full(len(imgs), -1, np.int64)
        if len(labs) != len(imgs):
            raise DataError(f"{img_path.name} has {len(imgs)} images but its labels file has {len(labs)}")
        images.append(imgs)
        labels.append(labs)
    if not images:
        raise DataError(f"no IDX image files (e.g. t10k-images-idx3-ubyte.gz) found in {folder}")
    return _from_uint8(np.concatenate(images), np.concatenate(labels), name, class_names)


def load_torchvision(name: str, root: str | Path) -> ImageData:
    """MNIST or Fashion-MNIST through torchvision's downloader (needs the network once)."""
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[name]
    names = DIGIT_NAMES if name == "mnist" else FASHION_NAMES
    parts = []
    try:
        for train in (True, False):
            parts.append(cls(str(root), train=train, download=True))
    except (OSError, RuntimeError):
        raise DataError(
            f"{name} could not be downloaded (is this machine offline?); give a folder of its IDX .gz files instead"
        ) from None
    return _from_uint8(
        np.concatenate([p.data.numpy() for p in parts]),
        np.concatenate([p.targets.numpy() for p in parts]), name, names,
    )


@dataclass(frozen=True)
class ImageFiles:
    """A folder of images read lazily, batch by batch: for sets too large to preload.

    Same interface as ImageData where training needs it (len, image_shape, subset, labels).
    """

    paths: tuple[Path, ...]
    labels: Tensor
    name: str
    class_names: tuple[str, ...]
    size: int
    channels: int = 1  # 3 when any file's mode holds colour

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.channels, self.size, self.size

    def subset(self, index: Tensor | slice) -> "ImageFiles":
        picked = range(len(self.paths))[index] if isinstance(index, slice) else index.tolist()
        return replace(self, paths=tuple(self.paths[i] for i in picked), labels=self.labels[index])

    def read(self, i: int) -> Tensor:
        """Image i as (channels, size, size) float in [0, 1]: its centred square, resized."""
        return _read_image_file(self.paths[i], self.size, self.channels)


class ImageFilesDataset(torch.utils.data.Dataset):
    """`ImageFiles` for a DataLoader: its workers decode files in parallel."""

    def __init__(self, files: ImageFiles) -> None:
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Tensor:
        return self.files.read(i)


def _read_image_file(path: Path, size: int, channels: int) -> Tensor:
    from PIL import Image

    from .images import ImageInputError, photo_pixels

    with Image.open(path) as img:
        try:
            pixels = photo_pixels(img, size, channels)
        except ImageInputError:  # fully transparent: nothing is drawn, so it reads as the black background
            pixels = np.zeros((size, size, channels), np.float32)
    return torch.from_numpy(pixels.reshape(size, size, channels).transpose(2, 0, 1).copy())


def _holds_colour(img: Image.Image) -> bool:
    """Whether an image's mode can hold colour, from its header (a palette is read with it)."""
    if img.mode in ("P", "PA"):
        palette = np.asarray(img.getpalette() or [], dtype=np.int16).reshape(-1, 3)
        return bool((palette != palette[:, :1]).any())
    return img.mode not in ("1", "L", "LA", "La", "I", "F") and not img.mode.startswith("I;16")


def _inspect(path: Path) -> tuple[str | None, bool]:
    """(why the image at `path` cannot be trained on, or None; whether its mode holds colour).

    It cannot when its pixel data is unreadable or broken, or when it has more pixels than
    Pillow's MAX_IMAGE_PIXELS (a decompression bomb would fill the memory when decoded).
    The pixels are decoded once here, so a broken file is found now and not mid-training.
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                colour = _holds_colour(img)
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return "too large", False
    except (OSError, SyntaxError, ValueError, EOFError):  # what Pillow raises for damaged files
        return "unreadable", False
    return None, colour


def list_image_folder(folder: str | Path, size: int = 28) -> ImageFiles:
    """Every readable image in `folder`; sub-folder names become labels.

    Broken and oversized files are skipped, and a warning on the `vae_core.data` logger
    says how many, with the first few names; the rest train.
    """
    folder = Path(folder)
    candidates = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not candidates:
        raise DataError(f"no images found in {folder}")
    class_names = tuple(sorted({p.parent.name for p in candidates if p.parent != folder}))
    paths, labels, skipped, colour = [], [], [], False
    for p in candidates:
        reason, holds_colour = _inspect(p)
        if reason is not None:
            skipped.append(f"{p.relative_to(folder)} ({reason})")
            continue
        colour = colour or holds_colour
        paths.append(p)
        labels.append(class_names.index(p.parent.name) if p.parent != folder else -1)
    if skipped:
        shown = ", ".join(skipped[:SKIPPED_SHOWN]) + (", …" if len(skipped) > SKIPPED_SHOWN else "")
        log.warning("skipped %d of %d images in %s: %s", len(skipped), len(candidates), folder, shown)
    if not paths:
        raise DataError(f"none of the images in {folder} could be read")
    return ImageFiles(
        tuple(paths), torch.tensor(labels, dtype=torch.int64), folder.name, class_names, size, 3 if colour else 1,
    )


def preload(files: ImageFiles) -> ImageData:
    """Decode every file once into one tensor; RGB files whose pixels are all gray become one channel."""
    images = torch.stack([files.read(i) for i in range(len(files))])
    if images.shape[1] == 3 and bool((images == images[:, :1]).all()):
        images = images[:, :1].contiguous()
    return ImageData(images, files.labels, files.name, files.class_names)


def load_image_folder(folder: str | Path, size: int = 28) -> ImageData:
    """A user's folder of images, preloaded into one tensor."""
    return preload(list_image_folder(folder, size))


def available_memory_bytes() -> int:
    """Memory the OS can still give us (Linux and macOS; a large default elsewhere)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def preload_fits(n_images: int, image_shape: tuple[int, int, int], fraction: float = 0.5) -> bool:
    """Whether float32 images would take at most `fraction` of the free memory."""
    return n_images * int(np.prod(image_shape)) * 4 <= fraction * available_memory_bytes()


def open_image_folder(folder: str | Path, size: int = 28) -> ImageData | ImageFiles:
    """Preload when it fits in memory (fast), else stream from disk with DataLoader workers."""
    files = list_image_folder(folder, size)
    return preload(files) if preload_fits(len(files), files.image_shape) else files


SHAPES_SIZE = 8000  # images in the shapes set unless asked otherwise: ~1 s to draw, 98 MB as uint8


def load_shapes(n: int = SHAPES_SIZE, side: int = 64) -> ImageData:
    """The procedural shapes (`vae_core.shapes`), drawn afresh; labelled by shape, with all six factors."""
    try:
        drawn = shapes.make_shapes(n, side)
    except ValueError as err:
        raise DataError(f"the shapes data set cannot be drawn: {err}") from None
    images = torch.from_numpy(drawn.images)  # uint8: a quarter of float32's bytes
    factors = torch.from_numpy(drawn.factors)
    return ImageData(images, factors[:, 0].clone(), "shapes", shapes.SHAPE_NAMES, factors, shapes.FACTOR_NAMES)


def load_dataset(
    name: str, data_dir: str | Path | None = None, image_size: int | None = None, size: int | None = None,
) -> ImageData | ImageFiles:
    """One entry point for every source named in `TrainConfig.dataset`.

    `image_size`: the side image folders are resized to (28 unless given) and shapes are drawn at
    (64 unless given); `size`: how many shapes to draw.
    """
    if name == "digits":
        return load_digits_data()
    if name == "shapes":
        return load_shapes(size or SHAPES_SIZE, image_size or 64)
    if name in ("mnist", "fashion-mnist"):
        if data_dir is not None and Path(data_dir).is_dir() and any(Path(data_dir).glob("*idx?-ubyte*")):
            return load_idx_folder(data_dir, name, DIGIT_NAMES if name == "mnist" else FASHION_NAMES)
        return load_torchvision(name, data_dir or Path.home() / ".cache" / "vae-explorer")
    if name in ("idx", "folder"):
        if data_dir is None or not Path(data_dir).is_dir():
            raise DataError(f"the {name} data set needs an existing folder, got {data_dir!r}")
        if name == "idx":
            return load_idx_folder(data_dir, Path(data_dir).name)
        return open_image_folder(data_dir, image_size or 28)
    raise DataError(f"unknown data set {name!r}")


def train_test_split(
    data: ImageData | ImageFiles, test_fraction: float = 0.2, seed: int = 0,
) -> tuple[ImageData | ImageFiles, ImageData | ImageFiles]:
    """A deterministic shuffled split: the same seed always gives the same halves."""
    n = len(data)
    n_test = max(1, int(round(n * test_fraction)))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return data.subset(perm[n_test:]), data.subset(perm[:n_test])
