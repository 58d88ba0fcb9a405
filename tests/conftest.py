"""Shared fixtures: real data where it is on this machine, tiny real models otherwise."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors import safe_open
from safetensors.torch import save_file

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


def legacy_pair(name: str, folder: Path, as_name: str | None = None) -> Path:
    """Shipped model `name` written as checkpoints were before the description moved into the
    weights file (`NAME.safetensors` without it, `NAME.json` beside), whichever format it ships in."""
    source = SHIPPED / f"{name}.safetensors"
    if not source.exists():
        pytest.skip(f"{name} is not built yet (make checkpoints)")
    with safe_open(source, framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        text = (f.metadata() or {}).get("description")
    description = json.loads(text) if text is not None else json.loads(source.with_suffix(".json").read_text())
    weights = folder / f"{as_name or name}.safetensors"
    save_file(tensors, weights, metadata={"format": "vae-explorer/1"})
    weights.with_suffix(".json").write_text(json.dumps(description))
    return weights
