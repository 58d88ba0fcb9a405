"""A checkpoint changes as one unit, across real processes: kill -9 in a save loop at random
instants, and two processes saving one name at once."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from vae_core import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
KILLS = 20

# One process imports torch once and forks the real processes the test kills (a fresh
# interpreter per kill costs seconds of imports on a busy machine). Each child saves model A
# (latent 2) and model B (latent 8) in turn under one name, forever; the parent kills it with
# SIGKILL after a random delay, says "killed", and waits for the test's "next".
SPAWNER = textwrap.dedent("""
    import os, random, signal, sys, time, torch
    torch.set_num_threads(1)  # no OpenMP team in the parent: forked children stay safe
    from vae_core import LatentCodes, ModelConfig, build_model, save_checkpoint
    def model(d):
        torch.manual_seed(d)
        return build_model(ModelConfig(latent_dim=d, hidden_dim=256))
    models = {d: (model(d), LatentCodes(torch.randn(20000, d), torch.randn(20000, d), torch.zeros(20000, dtype=torch.long)))
              for d in (2, 8)}
    rng = random.Random(0)
    for _ in range(int(sys.argv[2])):
        pid = os.fork()
        if pid == 0:
            while True:
                for d, (m, codes) in models.items():
                    save_checkpoint(sys.argv[1], m, {"dataset": f"model {d}"}, codes, overwrite=True)
        time.sleep(rng.uniform(0.02, 0.4))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print("killed", flush=True)
        sys.stdin.readline()
    save_checkpoint(sys.argv[1], models[2][0], {"dataset": "model 2"}, models[2][1], overwrite=True)  # cleans up
    print("saved", flush=True)
""")


def _reference(latent_dim: int) -> dict[str, torch.Tensor]:
    from vae_core import ModelConfig, build_model

    torch.manual_seed(latent_dim)
    return build_model(ModelConfig(latent_dim=latent_dim, hidden_dim=256)).state_dict()


@pytest.mark.slow
def test_kill_9_at_any_instant_leaves_the_old_or_the_new_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "contested"
    references = {d: _reference(d) for d in (2, 8)}
    spawner = subprocess.Popen([sys.executable, "-c", SPAWNER, str(path), str(KILLS)], cwd=REPO, env=ENV,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert spawner.stdin is not None and spawner.stdout is not None
    strays = loaded = 0
    try:
        for _ in range(KILLS):
            assert spawner.stdout.readline().strip() == "killed"
            strays += bool(list(tmp_path.glob(".*.tmp")))
            if path.with_suffix(".safetensors").exists():  # else killed before its first save was done
                ckpt = load_checkpoint(path)  # never a mix: it loads, and it is A or B through and through
                d = ckpt.config.latent_dim
                assert ckpt.metadata.dataset == f"model {d}" and ckpt.codes is not None
                assert ckpt.codes.mu.shape == (20000, d)
                for key, value in references[d].items():
                    assert torch.equal(ckpt.model.state_dict()[key], value), key
                loaded += 1
            spawner.stdin.write("next\n")
            spawner.stdin.flush()
        assert spawner.stdout.readline().strip() == "saved"
    finally:
        spawner.kill()
        spawner.wait()
    assert loaded >= KILLS // 2
    assert not list(tmp_path.glob(".*.tmp")), "the next save cleans what killed saves left"
    print(f"{strays} of {KILLS} kills landed mid-write (a temporary file was left, cleaned by the next save)")


RACERS = textwrap.dedent("""
    import os, sys, torch
    torch.set_num_threads(1)
    from vae_core import ModelConfig, build_model, save_checkpoint
    from vae_core.checkpoints import CheckpointExistsError
    models = {d: build_model(ModelConfig(latent_dim=d)) for d in (2, 8)}
    read, write = os.pipe()
    children = {}
    for d, model in models.items():
        pid = os.fork()
        if pid == 0:
            os.close(write)
            os.read(read, 1)  # both wait here, then save at once
            try:
                save_checkpoint(sys.argv[1], model, {"dataset": str(d)})
                os._exit(0)
            except CheckpointExistsError:
                os._exit(3)
        children[pid] = d
    os.write(write, b"gg")
    for _ in children:
        pid, status = os.wait()
        print(children[pid], "saved" if os.waitstatus_to_exitcode(status) == 0 else "told", flush=True)
""")


@pytest.mark.slow
def test_two_processes_saving_one_name_one_saves_the_other_is_told(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", RACERS, str(tmp_path / "same")], cwd=REPO, env=ENV, check=True,
                         capture_output=True, text=True, timeout=300).stdout.split("\n")
    outcomes = dict(line.split() for line in out if line)
    assert sorted(outcomes.values()) == ["saved", "told"], outcomes
    winner = next(int(d) for d, outcome in outcomes.items() if outcome == "saved")
    ckpt = load_checkpoint(tmp_path / "same")
    assert ckpt.config.latent_dim == winner and ckpt.metadata.dataset == str(winner)
