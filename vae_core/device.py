"""Pick the fastest available torch device: cuda, then mps, then cpu."""
from __future__ import annotations

import torch


def pick_device(preferred: str | None = None) -> torch.device:
    """Return `preferred` when given, else the best device this machine has."""
    if preferred:
        return torch.device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
