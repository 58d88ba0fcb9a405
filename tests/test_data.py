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
    assert data.floats().shape == (1797, 1, 8, 8)
    assert data.floats().dtype == torch.float32
    assert 0.0 <= data.floats().min() and data.floats().max() == 1.0
    assert sorted(set(data.labels.tolist())) == list(range(10))


def test_split_is_deterministic_and_disjoint() -> None:
    data = load_digits_data()
    a_train, a_test = train_test_split(data, 0.2, seed=3)
    b_train, b_test = train_test_split(data, 0.2, seed=3)
    assert torch.equal(a_test.floats(), b_test.floats()) and torch.equal(a_train.labels, b_train.labels)
    assert len(a_train) + len(a_test) == len(data) and len(a_test) == 359
    _, c_test = train_test_split(data, 0.2, seed=4)
    assert not torch.equal(a_test.floats(), c_test.floats())


def test_real_mnist_t10k_counts(mnist_dir: Path) -> None:
    data = load_idx_folder(mnist_dir)
    assert data.floats().shape == (10_000, 1, 28, 28)
    assert data.labels.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert data.floats().max() == 1.0 and data.floats().min() == 0.0
    assert data.pixels.dtype == torch.uint8 and data.pixels.nbytes == 10_000 * 28 * 28


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
    assert data.floats().shape == (4, 1, 28, 28)
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


def test_shapes_come_with_their_factors_and_keep_them_through_a_split() -> None:
    data = load_dataset("shapes", size=300)
    assert data.floats().shape == (300, 3, 64, 64) and data.floats().dtype == torch.float32
    assert data.pixels.dtype == torch.uint8  # a quarter of float32's bytes
    assert data.factors.shape == (300, 6) and data.factor_names == ("shape", "hue", "scale", "rotation", "x", "y")
    assert torch.equal(data.labels, data.factors[:, 0]) and data.class_names == ("square", "ellipse", "triangle")
    assert torch.equal(load_dataset("shapes", size=300).floats(), data.floats())  # drawn afresh, identically
    train, test = train_test_split(data, 0.2, seed=0)
    assert len(test) == 60 and train.factors.shape == (240, 6)
    back = torch.cat([train.floats(), test.floats()]).flatten(1) @ torch.ones(3 * 64 * 64)
    assert sorted(back.tolist()) == pytest.approx(sorted((data.floats().flatten(1) @ torch.ones(3 * 64 * 64)).tolist()))
    assert load_dataset("shapes", size=5, image_size=32).floats().shape == (5, 3, 32, 32)


def _mixed_colour_folder(folder: Path) -> dict[str, np.ndarray]:
    """One red-on-blue picture saved in every mode a photo folder may hold, at different sizes.

    Returns the RGB each file should read as at its centre, for the modes that keep colour."""
    from PIL import Image

    rgb = np.zeros((60, 90, 3), np.uint8)
    rgb[...] = (0, 0, 200)
    rgb[20:40, 35:55] = (220, 30, 30)
    img = Image.fromarray(rgb)
    img.save(folder / "rgb.png")
    img.resize((45, 30)).save(folder / "small.jpg", quality=95)
    img.convert("RGBA").save(folder / "rgba.png")
    img.convert("P", palette=Image.Palette.ADAPTIVE, colors=8).save(folder / "palette.gif")
    img.convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    Image.fromarray((np.asarray(img.convert("L"), np.uint16) * 257)).save(folder / "gray16.png")
    (folder / "notes.txt").write_text("not an image")
    return {"red": np.array([220, 30, 30]) / 255, "blue": np.array([0, 0, 200]) / 255}


def test_a_folder_of_mixed_modes_and_sizes_reads_in_colour(tmp_path: Path) -> None:
    colours = _mixed_colour_folder(tmp_path)
    data = load_dataset("folder", tmp_path, image_size=32)
    assert data.floats().shape == (6, 3, 32, 32) and 0 <= data.floats().min() and data.floats().max() <= 1
    names = [p.name for p in sorted(tmp_path.glob("*.*")) if p.suffix != ".txt"]
    for name, image in zip(names, data.floats()):
        centre, corner = image[:, 16, 16].numpy(), image[:, 1, 1].numpy()
        if name == "gray16.png":  # a gray file in a colour folder: equal channels, at its full 16-bit range
            assert centre[0] == centre[1] == centre[2] and centre[0] == pytest.approx(np.dot([0.299, 0.587, 0.114], colours["red"]), abs=0.02)
        else:
            assert centre == pytest.approx(colours["red"], abs=0.06), name
            assert corner == pytest.approx(colours["blue"], abs=0.06), name


def test_centre_square_is_kept_not_squashed(tmp_path: Path) -> None:
    from PIL import Image

    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, :20] = (255, 0, 0)  # the left and right thirds fall outside the centred square
    wide[:, 40:] = (0, 255, 0)
    wide[:, 20:40] = (0, 0, 255)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    data = load_dataset("folder", tmp_path, image_size=28)
    assert data.floats().shape == (1, 3, 28, 28)
    assert torch.allclose(data.floats(0), torch.tensor([0.0, 0.0, 1.0])[:, None, None].expand(3, 28, 28))


def test_uint8_pixels_read_as_the_floats_they_were_stored_as_before() -> None:
    """Bitwise what converting the whole set at load gave, whichever way a consumer reads them."""
    from vae_core.data import as_float
    from vae_core.shapes import make_shapes

    data = load_dataset("shapes", size=40)
    expected = torch.from_numpy(make_shapes(40).images).float().div_(255.0)
    assert torch.equal(data.floats(), expected)
    assert torch.equal(data.floats(7), expected[7]) and torch.equal(data.floats(np.array([3, 1])), expected[[3, 1]])
    assert torch.equal(data.subset(slice(10, 20)).floats(), expected[10:20])
    assert torch.equal(torch.cat([as_float(data.pixels[i:i + 16]) for i in range(0, 40, 16)]), expected)
    digits = load_digits_data()
    assert digits.floats().data_ptr() == digits.pixels.data_ptr()  # float pixels are not copied
