"""Small, fast calls the pages make on every interaction: decode a point, encode images.

All run under `torch.inference_mode()` and return NumPy, so a page can hand the result
straight to plotly or `st.image`.
"""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from .models import VAE
from .training import encode_all


def to_display(images: torch.Tensor) -> np.ndarray:
    """Model layout (N, C, H, W) -> display layout: (N, H, W) for one channel, (N, H, W, 3) for colour."""
    images = images.detach().cpu()
    return (images[:, 0] if images.shape[1] == 1 else images.permute(0, 2, 3, 1)).contiguous().numpy()


@torch.inference_mode()
def decode_latents(model: VAE, z: np.ndarray | torch.Tensor) -> np.ndarray:
    """z (D,) or (N, D) -> images float32 in [0, 1], (N, H, W) or (N, H, W, 3) (`to_display`)."""
    z_t = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, model.latent_dim)
    device = next(model.parameters()).device
    return to_display(model.decode(z_t.to(device)))


def encode_images(model: VAE, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """images (N, C, H, W) in [0, 1] or uint8 pixels -> mu, log_var as (N, D) float32 arrays, in batches
    (`training.encode_all`, the one encoder of a whole data set)."""
    mu, log_var = encode_all(model, images.to(next(model.parameters()).device))
    return mu.cpu().numpy(), log_var.cpu().numpy()


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] -> uint8, for display and for compact browser payloads."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    """Float image (H, W) or (H, W, 3) in [0, 1] -> the bytes of a gray or RGB PNG (a 28x28 digit: ~300 bytes)."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
