"""Data sets as one preloaded float tensor in [0, 1], shape (N, 1, H, W), plus labels.

Preloading replaces a per-sample DataLoader (PIL image -> ToTensor for every item):
small image sets fit in memory many times over, and indexing one tensor is far faster.
"""
from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

DIGIT_NAMES = tuple(str(i) for i in range(10))
FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
IDX_SPLITS = ("train", "t10k")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(ValueError):
    """A data source is missing or malformed; the message says what to do."""


@dataclass(frozen=True)
class ImageData:
    """Images (N, C, H, W) float32 in [0, 1] and labels (N,) int64 (-1 = unlabelled)."""

    images: Tensor
    labels: Tensor
    name: str
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def subset(self, index: Tensor | slice) -> "ImageData":
        return ImageData(self.images[index], self.labels[index], self.name, self.class_names)

    def to(self, device: torch.device | str) -> "ImageData":
        return ImageData(self.images.to(device), self.labels.to(device), self.name, self.class_names)


def _from_uint8(images: np.ndarray, labels: np.ndarray, name: str, class_names: tuple[str, ...]) -> ImageData:
    x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0).unsqueeze(1)
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

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return 1, self.size, self.size

    def subset(self, index: Tensor | slice) -> "ImageFiles":
        picked = range(len(self.paths))[index] if isinstance(index, slice) else index.tolist()
        return ImageFiles(tuple(self.paths[i] for i in picked), self.labels[index], self.name, self.class_names, self.size)

    def read(self, i: int) -> Tensor:
        """Image i as (1, size, size) float in [0, 1]."""
        return _read_image_file(self.paths[i], self.size)


class ImageFilesDataset(torch.utils.data.Dataset):
    """`ImageFiles` for a DataLoader: its workers decode files in parallel."""

    def __init__(self, files: ImageFiles) -> None:
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Tensor:
        return self.files.read(i)


def _read_image_file(path: Path, size: int) -> Tensor:
    from PIL import Image

    with Image.open(path) as img:
        gray = np.asarray(img.convert("L").resize((size, size), Image.BILINEAR))
    return torch.from_numpy(gray.astype(np.float32) / 255.0).unsqueeze(0)


def list_image_folder(folder: str | Path, size: int = 28) -> ImageFiles:
    """Every readable image in `folder` (headers checked, pixels not decoded); sub-folder
    names become labels."""
    from PIL import Image

    folder = Path(folder)
    candidates = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not candidates:
        raise DataError(f"no images found in {folder}")
    class_names = tuple(sorted({p.parent.name for p in candidates if p.parent != folder}))
    paths, labels = [], []
    for p in candidates:
        try:
            with Image.open(p):
                pass
        except OSError:
            continue  # unreadable file in a user's folder: skip it, keep the rest
        paths.append(p)
        labels.append(class_names.index(p.parent.name) if p.parent != folder else -1)
    if not paths:
        raise DataError(f"none of the images in {folder} could be read")
    return ImageFiles(tuple(paths), torch.tensor(labels, dtype=torch.int64), folder.name, class_names, size)


def preload(files: ImageFiles) -> ImageData:
    """Decode every file once into one tensor."""
    images = torch.stack([files.read(i) for i in range(len(files))])
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


def load_dataset(name: str, data_dir: str | Path | None = None, image_size: int = 28) -> ImageData | ImageFiles:
    """One entry point for every source named in `TrainConfig.dataset`."""
    if name == "digits":
        return load_digits_data()
    if name in ("mnist", "fashion-mnist"):
        if data_dir is not None and Path(data_dir).is_dir() and any(Path(data_dir).glob("*idx?-ubyte*")):
            return load_idx_folder(data_dir, name, DIGIT_NAMES if name == "mnist" else FASHION_NAMES)
        return load_torchvision(name, data_dir or Path.home() / ".cache" / "vae-explorer")
    if name in ("idx", "folder"):
        if data_dir is None or not Path(data_dir).is_dir():
            raise DataError(f"the {name} data set needs an existing folder, got {data_dir!r}")
        return load_idx_folder(data_dir, Path(data_dir).name) if name == "idx" else open_image_folder(data_dir, image_size)
    raise DataError(f"unknown data set {name!r}")


def train_test_split(
    data: ImageData | ImageFiles, test_fraction: float = 0.2, seed: int = 0,
) -> tuple[ImageData | ImageFiles, ImageData | ImageFiles]:
    """A deterministic shuffled split: the same seed always gives the same halves."""
    n = len(data)
    n_test = max(1, int(round(n * test_fraction)))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return data.subset(perm[n_test:]), data.subset(perm[:n_test])
