"""Shared fixtures: real data where it is on this machine, tiny real models otherwise."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"
SHIPPED = REPO / "checkpoints"


@pytest.fixture(autouse=True)
def _isolated_user_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever writes user checkpoints into the repo."""
    monkeypatch.setenv("VAE_EXPLORER_USER_DIR", str(tmp_path_factory.mktemp("user_checkpoints")))


@pytest.fixture
def mnist_dir() -> Path:
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST test split not found at {MNIST_DIR}")
    return MNIST_DIR
