"""vae_core.convert: pytorch/examples' VAE state_dict -> our checkpoint that computes the same."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from vae_core import load_checkpoint
from vae_core import CheckpointError
from vae_core.convert import ConversionError, from_pytorch_examples, import_checkpoint, main

from .conftest import legacy_pair
from .test_bench_train_speed import _bench


@pytest.fixture(scope="module")
def examples() -> nn.Module:
    """pytorch/examples vae/main.py's model, as the training-speed benchmark keeps it."""
    torch.manual_seed(0)
    return _bench().ReferenceVAE().eval()


@pytest.fixture()
def saved(examples: nn.Module, tmp_path: Path) -> Path:
    path = tmp_path / "vae.pt"
    torch.save(examples.state_dict(), path)
    return path


def test_the_converted_model_computes_what_the_original_does(examples: nn.Module) -> None:
    ours = from_pytorch_examples(examples.state_dict())
    assert (ours.config.arch, ours.config.image_shape, ours.config.latent_dim, ours.config.hidden_dim) == (
        "mlp", (1, 28, 28), 20, 400)
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    z = torch.randn(64, 20, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        mu, log_var = ours.encode(x)
        their_mu, their_log_var = examples.encode(x.view(-1, 784))
        torch.testing.assert_close(mu, their_mu, rtol=0, atol=1e-6)
        torch.testing.assert_close(log_var, their_log_var, rtol=0, atol=1e-6)
        torch.testing.assert_close(ours.decode(z).view(-1, 784), examples.decode(z), rtol=0, atol=1e-6)


def test_the_command_saves_a_checkpoint_with_the_codes_of_mnist(
    saved: Path, examples: nn.Module, tmp_path: Path, mnist_dir: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out" / "examples-vae"
    assert main(["--from", "pytorch-examples", str(saved), "--out", str(out), "--data-dir", str(mnist_dir)]) == 0
    assert "saved" in capsys.readouterr().out
    ckpt = load_checkpoint(out)
    assert ckpt.codes is not None and ckpt.codes.mu.shape == (10_000, 20)
    assert set(ckpt.codes.labels.tolist()) == set(range(10))
    assert ckpt.metadata.imported_from is not None and ckpt.metadata.imported_from["file"] == "vae.pt"
    from vae_core.data import load_dataset

    images = load_dataset("mnist", mnist_dir).floats(slice(0, 16))
    with torch.no_grad():
        their_mu, _ = examples.encode(images.view(-1, 784))
    torch.testing.assert_close(torch.from_numpy(ckpt.codes.mu[:16]), their_mu, rtol=0, atol=2e-3)  # stored as float16


@pytest.mark.parametrize("content, message", [
    (None, "was not found"),
    (b"not a torch file", "not a file saved by torch.save"),
    ("model", "pickled objects"),
    ({"fc1.weight": torch.zeros(400, 784)}, "missing fc1.bias"),
    ({"encoder.weight": torch.zeros(2, 2)}, "not the state_dict"),
])
def test_user_errors_are_one_line_without_a_traceback(
    content: object, message: str, examples: nn.Module, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "vae.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "model":
        torch.save(examples, path)  # the whole module pickled, not its state_dict
    elif content is not None:
        torch.save(content, path)
    assert main(["--from", "pytorch-examples", str(path), "--out", str(tmp_path / "x"), "--dataset", "digits"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(("args", "said"), [
    (["--from", "keras", "vae.pt", "--out", "x"], "invalid choice: 'keras'"),
    (["--from", "pytorch-examples", "vae.pt"], "--out"),
    (["--from", "pytorch-examples", "vae.pt", "--out", "x", "--dataset", "cifar"], "invalid choice: 'cifar'"),
])
def test_a_bad_argument_is_one_line_and_status_2(args: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1 and err.startswith("error: ") and "usage:" not in err, err


def test_a_data_set_of_another_size_is_refused(saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--from", "pytorch-examples", str(saved), "--out", str(tmp_path / "x"), "--dataset", "digits"]) == 2
    assert "the digits images are 8x8" in capsys.readouterr().err


def test_shapes_that_do_not_chain_are_refused(examples: nn.Module) -> None:
    state = dict(examples.state_dict())
    state["fc3.weight"] = torch.zeros(400, 7)
    with pytest.raises(ConversionError, match="do not chain"):
        from_pytorch_examples(state)


def _legacy_bytes(folder: Path) -> tuple[bytes, bytes]:
    """digits-mlp-2d as an older .safetensors + .json pair, as bytes."""
    pair = legacy_pair("digits-mlp-2d", folder)
    return pair.read_bytes(), pair.with_suffix(".json").read_bytes()


def test_an_uploaded_pair_that_loads_is_added_under_a_safe_name(tmp_path: Path) -> None:
    weights, sidecar = _legacy_bytes(tmp_path)
    path = import_checkpoint(weights, sidecar, "my model/../x", tmp_path / "user")
    assert path.parent == tmp_path / "user" and "/" not in path.stem and not path.stem.startswith(".")
    ckpt = load_checkpoint(path)
    assert ckpt.config.latent_dim == 2 and ckpt.codes is not None
    assert [p.name for p in path.parent.iterdir() if not p.name.startswith(".")] == [path.name]  # one file now
    assert load_checkpoint(import_checkpoint(path.read_bytes(), None, "again", tmp_path / "user")).config.latent_dim == 2
    with pytest.raises(CheckpointError, match="exists already"):
        import_checkpoint(weights, sidecar, path.stem, tmp_path / "user")


@pytest.mark.parametrize("damage", ["weights", "sidecar", "swap"])
def test_an_uploaded_pair_that_does_not_load_leaves_nothing_behind(
    damage: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    sources = tmp_path_factory.mktemp("pairs")
    weights, sidecar = _legacy_bytes(sources)
    other = legacy_pair("digits-mlp-8d", sources).read_bytes()
    pair = {"weights": (weights[:100], sidecar), "sidecar": (weights, b"{not json"), "swap": (other, sidecar)}[damage]
    with pytest.raises(CheckpointError):
        import_checkpoint(*pair, "upload", tmp_path)
    assert list(tmp_path.iterdir()) == []
