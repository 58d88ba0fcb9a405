from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core.data import DataError, load_dataset, load_digits_data, load_idx_folder, load_image_folder, read_idx, train_test_split


def test_digits_is_the_offline_default() -> None:
    data = load_dataset("digits")
    assert data.images.shape == (1797, 1, 8, 8)
    assert data.images.dtype == torch.float32
    assert 0.0 <= data.images.min() and data.images.max() == 1.0
    assert sorted(set(data.labels.tolist())) == list(range(10))


def test_split_is_deterministic_and_disjoint() -> None:
    data = load_digits_data()
    a_train, a_test = train_test_split(data, 0.2, seed=3)
    b_train, b_test = train_test_split(data, 0.2, seed=3)
    assert torch.equal(a_test.images, b_test.images) and torch.equal(a_train.labels, b_train.labels)
    assert len(a_train) + len(a_test) == len(data) and len(a_test) == 359
    _, c_test = train_test_split(data, 0.2, seed=4)
    assert not torch.equal(a_test.images, c_test.images)


def test_real_mnist_t10k_counts(mnist_dir: Path) -> None:
    data = load_idx_folder(mnist_dir)
    assert data.images.shape == (10_000, 1, 28, 28)
    assert data.labels.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert data.images.max() == 1.0 and data.images.min() == 0.0


def test_mnist_through_load_dataset_uses_a_local_idx_folder(mnist_dir: Path) -> None:
    assert len(load_dataset("mnist", mnist_dir)) == 10_000


def _write_idx(path: Path, array: np.ndarray) -> None:
    code = {np.uint8: 0x08}[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def test_idx_folder_with_any_subset_of_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (7, 28, 28), dtype=np.uint8))
    data = load_idx_folder(tmp_path)  # images without labels: unlabelled, still usable
    assert len(data) == 7 and data.labels.tolist() == [-1] * 7
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(7, dtype=np.uint8))
    assert load_idx_folder(tmp_path).labels.tolist() == list(range(7))


def test_idx_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no IDX image files"):
        load_idx_folder(tmp_path)
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(b"<html>not idx</html>"))
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(bad)
    _write_idx(bad, np.zeros((3, 28, 28), np.uint8))
    raw = gzip.decompress(bad.read_bytes())
    bad.write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(DataError, match="expected"):
        read_idx(bad)
    bad.write_bytes(b"\x1f\x8b truncated gzip")
    with pytest.raises(DataError, match="could not be read"):
        read_idx(bad)


def test_image_folder_labels_from_subfolders(tmp_path: Path) -> None:
    from PIL import Image

    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.fromarray(np.full((40, 30, 3), 60 * i, np.uint8)).save(tmp_path / label / f"{i}.png")
    (tmp_path / "dog" / "broken.png").write_bytes(b"not a png")
    data = load_image_folder(tmp_path, size=28)
    assert data.images.shape == (4, 1, 28, 28)
    assert data.class_names == ("cat", "dog") and sorted(data.labels.tolist()) == [0, 0, 1, 1]


def test_missing_folders_say_so(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        load_dataset("idx", tmp_path / "nope")
    with pytest.raises(DataError):
        load_dataset("folder", None)


def test_a_failed_download_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision import datasets

    def offline(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried https://...\n<urlopen error>")

    monkeypatch.setattr(datasets.MNIST, "__init__", offline)
    with pytest.raises(DataError) as info:
        load_dataset("mnist", tmp_path)
    assert "\n" not in str(info.value) and "IDX" in str(info.value)
