"""Real multi-process training through torchrun (gloo on CPU) and resume after a kill."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vae_core import load_checkpoint
from vae_core.resume import load_training_state, resume_path

pytestmark = pytest.mark.slow  # trains models or starts processes: not in `make test-fast`

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
DIGITS_ARGS = ["--dataset", "digits", "--hidden-dim", "64", "--batch-size", "32"]


def _train_cli(*args: str, torchrun: int = 0) -> list[str]:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={torchrun}"] if torchrun else [sys.executable]
    return [*launcher, "-m", "vae_core.train", *args]


def test_two_gloo_ranks_train_and_save_the_single_process_format(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    subprocess.run(_train_cli(*DIGITS_ARGS, "--epochs", "6", "--out", str(out), torchrun=2),
                   cwd=REPO, env=ENV, check=True, timeout=300, capture_output=True)
    ckpt = load_checkpoint(out)
    history = ckpt.metadata.val_loss_history
    assert ckpt.metadata.world_size == 2 and len(history) == 6
    assert history[-1] < 0.9 * history[0]
    single = tmp_path / "single"
    subprocess.run(_train_cli(*DIGITS_ARGS, "--epochs", "1", "--out", str(single)),
                   cwd=REPO, env=ENV, check=True, timeout=300, capture_output=True)
    reference = load_checkpoint(single)
    assert ckpt.model.state_dict().keys() == reference.model.state_dict().keys()  # no DDP "module." prefix
    assert ckpt.codes is not None and ckpt.codes.mu.shape == reference.codes.mu.shape
    assert resume_path(out).exists()  # kept, so `--resume --epochs N` can train the finished run on


def test_a_run_killed_mid_epoch_resumes_to_the_same_model(tmp_path: Path) -> None:
    args = [*DIGITS_ARGS[:-1], "8", "--hidden-dim", "256", "--epochs", "6"]  # batch 8: epochs long enough to kill in
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    proc = subprocess.Popen(_train_cli(*args, "--out", str(killed)), cwd=REPO, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = resume_path(killed)
    deadline = time.monotonic() + 120
    while not state.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.1)  # into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    epochs_done = len(load_training_state(state).info["history"])
    if not 1 <= epochs_done < 6:
        pytest.skip(f"the run was not caught mid-way (epochs done: {epochs_done})")
    assert not killed.with_suffix(".safetensors").exists()
    subprocess.run(_train_cli(*args, "--out", str(killed), "--resume"), cwd=REPO, env=ENV, check=True, timeout=300,
                   capture_output=True)
    subprocess.run(_train_cli(*args, "--out", str(straight)), cwd=REPO, env=ENV, check=True, timeout=300,
                   capture_output=True)
    resumed, reference = load_checkpoint(killed), load_checkpoint(straight)
    assert resumed.metadata.epochs_trained == 6
    assert resumed.metadata.val_loss_history == reference.metadata.val_loss_history
    for key, value in reference.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key


def test_under_torchrun_a_users_error_is_said_once_by_rank_0(tmp_path: Path) -> None:
    done = subprocess.run(_train_cli("--arch", "nope", "--out", str(tmp_path / "m"), torchrun=2),
                          cwd=REPO, env=ENV, timeout=300, capture_output=True, text=True)
    ours = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("error: ")]
    assert ours == ["error: argument --arch: invalid choice: 'nope' (choose from 'mlp', 'conv') (see --help)"]
    assert done.returncode != 0  # (torchrun's own agent then reports the failed ranks)
