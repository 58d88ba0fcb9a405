"""Images for st.image: enlarged by whole pixels (nearest neighbour), so 8×8 and 28×28
digits stay crisp instead of being blurred by the browser."""
from __future__ import annotations

import numpy as np

from vae_core.inference import to_uint8
from vae_core.latent_ops import enlarge, is_colour


def enlarge_to(images: np.ndarray, target_px: int) -> np.ndarray:
    """Enlarge (..., H, W) or (..., H, W, 3) by the whole factor that brings H closest to
    target_px from below (at least 1)."""
    images = np.asarray(images)
    height = images.shape[-3] if is_colour(images) else images.shape[-2]
    return enlarge(images, max(1, target_px // height))


def crisp(images: np.ndarray, target_px: int) -> np.ndarray:
    """`enlarge_to`, as uint8 (floats are taken to lie in [0, 1])."""
    images = np.asarray(images)
    return enlarge_to(images if images.dtype == np.uint8 else to_uint8(images), target_px)
