"""The decoder as an ONNX graph, so a browser can decode z itself (onnxruntime-web).

`decoder_onnx` exports `model.decode` whole, z (N, D) -> image (N, C, H, W) in [0, 1], sigmoid
included, with torch.onnx's torch.export-based exporter: any architecture `build_model` makes
exports the same way, with no layer mapped by hand. The weights go into the graph from the
model loaded out of its safetensors checkpoint; nothing is unpickled.

An export takes seconds (5-15 s on a busy 2-core machine), so `DecoderExports` keeps each one
in a folder under a name made of the SHA-256 of the decoder's weights, its config and the
exporter's versions: a retrained model gets a new file, a stale one is never served, and the
name itself is the content's version (browsers may cache it for good).
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from .checkpoints import atomic_write
from .models import VAE

logger = logging.getLogger(__name__)

OPSET = 18  # onnxruntime-web 1.31 runs opsets up to 23; 18 is torch.onnx's own default
MAX_BATCH = 4096
INPUT, OUTPUT = "z", "image"
_EXPORT_LOCK = threading.RLock()  # torch.export traces through global state: one export at a time


class _Decode(nn.Module):
    """`VAE.decode` as a module's forward, the entry point torch.onnx traces."""

    def __init__(self, model: VAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, z: Tensor) -> Tensor:
        return self.model.decode(z)


def decoder_onnx(model: VAE) -> bytes:
    """The ONNX model (bytes) of `model.decode`: input "z" (N, D) float32, output "image"
    (N, C, H, W) float32 in [0, 1]; N is free (1 to MAX_BATCH)."""
    was_training = model.training
    model.eval()
    example = torch.zeros(2, model.latent_dim)
    try:
        with _EXPORT_LOCK, warnings.catch_warnings(), torch.inference_mode(False):
            warnings.simplefilter("ignore")  # the exporter's own chatter; failures raise
            program = torch.onnx.export(
                _Decode(model), (example,), None, dynamo=True, opset_version=OPSET,
                input_names=[INPUT], output_names=[OUTPUT],
                dynamic_shapes={"z": {0: torch.export.Dim("batch", min=1, max=MAX_BATCH)}},
                optimize=True, verbose=False,
            )
    finally:
        model.train(was_training)
    return program.model_proto.SerializeToString()


def decoder_digest(model: VAE) -> str:
    """SHA-256 (hex) of what the exported graph depends on: the decoder's weights, the
    model's config, and the versions of torch and of this export."""
    sha = hashlib.sha256()
    sha.update(json.dumps(
        {"config": model.config.to_dict(), "torch": torch.__version__, "opset": OPSET, "export": 1}, sort_keys=True,
    ).encode())
    for name, tensor in sorted(model.state_dict().items()):
        sha.update(name.encode())
        sha.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return sha.hexdigest()


@dataclass(frozen=True)
class DecoderExports:
    """Exported decoders kept as `<folder>/<digest24>.onnx`, written atomically."""

    folder: Path

    def path(self, model: VAE) -> Path:
        return self.folder / f"{decoder_digest(model)[:24]}.onnx"

    def export(self, model: VAE) -> Path:
        """The file of `model`'s exported decoder, exported now unless it is kept already."""
        path = self.path(model)
        if not path.is_file():
            with _EXPORT_LOCK:  # a second caller waits for the first one's file instead of exporting again
                if not path.is_file():
                    atomic_write(path, decoder_onnx(model))
                    logger.info("exported %s's decoder to %s", model.config.arch, path)
        return path
