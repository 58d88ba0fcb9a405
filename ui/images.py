"""Images for st.image: enlarged by whole pixels (nearest neighbour), so 8×8 and 28×28
digits stay crisp instead of being blurred by the browser."""
from __future__ import annotations

import numpy as np

from vae_core.inference import to_uint8
from vae_core.latent_ops import enlarge


def enlarge_to(images: np.ndarray, target_px: int) -> np.ndarray:
    """Enlarge (..., H, W) by the whole factor that brings H closest to target_px from below
    (at least 1); a colour image (H, W, 3 or 4) by its first two axes."""
    images = np.asarray(images)
    if images.ndim == 3 and images.shape[-1] in (3, 4) and images.dtype == np.uint8:
        factor = max(1, target_px // images.shape[0])
        return np.repeat(np.repeat(images, factor, axis=0), factor, axis=1)
    return enlarge(images, max(1, target_px // images.shape[-2]))


def crisp(images: np.ndarray, target_px: int) -> np.ndarray:
    """`enlarge_to`, as uint8 (floats are taken to lie in [0, 1])."""
    images = np.asarray(images)
    return enlarge_to(images if images.dtype == np.uint8 else to_uint8(images), target_px)
