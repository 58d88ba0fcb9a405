"""Pick the fastest available torch device: cuda, then mps, then cpu."""
from __future__ import annotations

import torch

DEVICE_TYPES = ("cuda", "mps", "cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def available_device(name: str) -> torch.device:
    """The device `name` ("cuda", "cuda:1", "mps", "cpu") if this machine has it; else a
    ValueError that says why in one sentence, so a command line can refuse it before training."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}: use one of {', '.join(DEVICE_TYPES)}") from None
    if device.type not in DEVICE_TYPES:
        raise ValueError(f"device {name!r} is not supported: use one of {', '.join(DEVICE_TYPES)}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: this machine has no usable CUDA GPU (use cpu, or leave --device out)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    if device.type == "mps" and not _mps_available():
        raise ValueError(f"device {name!r}: this machine has no Apple GPU (use cpu, or leave --device out)")
    return device


def pick_device(preferred: str | None = None) -> torch.device:
    """Return `preferred` when given (ValueError if this machine lacks it), else the best device it has."""
    if preferred:
        return available_device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")
