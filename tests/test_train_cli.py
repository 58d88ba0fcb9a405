"""`python -m vae_core.train`: a user's error is one line and a non-zero status, never a
traceback (under torchrun: tests/test_distributed.py); broken images in a folder are skipped and
counted; a finished run trains on with `--resume --epochs N`."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vae_core import load_checkpoint
from vae_core.data import load_digits_data
from vae_core import train
from vae_core.train import main

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--dataset", "digits", "--hidden-dim", "32", "--batch-size", "256"]


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(("args", "said"), [
    (["--arch", "transformer"], "invalid choice: 'transformer'"),
    (["--epochs", "0"], "epochs must be between 1 and"),
    (["--latent-dim", "1"], "latent_dim must be between 2 and 64"),
    (["--epochs", "two"], "invalid int value: 'two'"),
    (["--device", "banana"], "unknown device 'banana'"),
    (["--device", "meta"], "device 'meta' is not supported"),
])
def test_a_bad_argument_is_one_line_and_status_2(args: list[str], said: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SMALL, *args, "--out", str(tmp_path / "m")]) == 2
    assert said in one_line_error(capsys)
    assert main(["--dataset", "digits"]) == 2  # --out is required
    assert "--out" in one_line_error(capsys)


def test_a_device_this_machine_lacks_is_one_line_and_status_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main([*SMALL, "--device", "cuda", "--out", str(tmp_path / "m")]) == 2
    assert "this machine has no usable CUDA GPU" in one_line_error(capsys)
    assert not (tmp_path / "m.safetensors").exists()


def test_another_rank_waits_for_rank_0_and_then_says_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    slept: list[float] = []
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setattr(train.time, "sleep", slept.append)
    assert main([*SMALL, "--epochs", "0", "--out", str(tmp_path / "m")]) == 2
    assert slept == [train.RANK_0_GRACE_S]  # torchrun stops it meanwhile once rank 0 has said it
    assert capsys.readouterr().err.startswith("error (rank 1): epochs must be between 1 and")


@pytest.mark.parametrize(("args", "said"), [
    (["--dataset", "idx", "--data-dir", "/no/such/folder"], "needs an existing folder"),
    (["--dataset", "folder", "--data-dir", __file__], "needs an existing folder"),  # a file, not a folder
    (["--dataset", "idx", "--data-dir", str(REPO / "docs")], "no IDX image files"),
    (["--resume"], "no interrupted run to resume"),
])
def test_missing_data_or_nothing_to_resume_is_one_line_and_status_1(
    args: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*SMALL, "--epochs", "1", *args, "--out", str(tmp_path / "m")]) == 1
    assert said in one_line_error(capsys)
    assert not (tmp_path / "m.safetensors").exists()


def test_a_folder_with_broken_and_oversized_images_trains_on_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "images"
    digits = load_digits_data()
    for i in range(40):
        label = folder / str(int(digits.labels[i]))
        label.mkdir(parents=True, exist_ok=True)
        Image.fromarray((digits.floats(i)[0].numpy() * 255).astype(np.uint8)).save(label / f"{i:02d}.png")
    good = (folder / "0" / "00.png").read_bytes()
    (folder / "0" / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "0" / "garbage.jpg").write_bytes(b"not an image at all")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 64)  # what Pillow calls a decompression bomb, scaled down
    Image.new("L", (65, 65)).save(folder / "1" / "bomb-warning.png")  # over the limit: Pillow only warns
    Image.new("L", (200, 200)).save(folder / "1" / "bomb-error.png")  # over twice the limit: Pillow refuses
    with caplog.at_level(logging.WARNING, logger="vae_core.data"):
        status = main(["--dataset", "folder", "--data-dir", str(folder), "--arch", "mlp", "--hidden-dim", "16",
                       "--epochs", "1", "--out", str(tmp_path / "m")])
    assert status == 0
    [warning] = [r.getMessage() for r in caplog.records if r.name == "vae_core.data"]
    assert warning.startswith("skipped 4 of 44 images in ")
    for name in ("truncated.png (unreadable)", "garbage.jpg (unreadable)", "bomb-warning.png (too large)",
                 "bomb-error.png (too large)"):
        assert name in warning
    ckpt = load_checkpoint(tmp_path / "m")
    assert ckpt.codes is not None and ckpt.codes.mu.shape[0] == 40


@pytest.mark.slow
def test_a_finished_run_trains_on_for_more_epochs_as_if_never_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*SMALL, "--epochs", "1", "--out", str(tmp_path / "on")]) == 0
    assert main([*SMALL, "--epochs", "2", "--out", str(tmp_path / "on"), "--resume"]) == 0
    assert main([*SMALL, "--epochs", "2", "--out", str(tmp_path / "straight")]) == 0
    on, straight = load_checkpoint(tmp_path / "on"), load_checkpoint(tmp_path / "straight")
    assert on.metadata.epochs_trained == 2
    assert on.metadata.val_loss_history == straight.metadata.val_loss_history
    for key, value in straight.model.state_dict().items():
        assert torch.equal(on.model.state_dict()[key], value), key
    capsys.readouterr()
    assert main([*SMALL, "--epochs", "2", "--out", str(tmp_path / "on"), "--resume"]) == 2
    assert "already trained 2 epochs" in one_line_error(capsys)
