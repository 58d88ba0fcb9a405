"""Memory of a shapes model's data in the app: the server's process loads it the way the
pages do (`ui.loaders.model_dataset` for checkpoints/shapes-conv-10d-beta1, 20,000 colour
images of 64x64), then reads what the pages read from it: the novelty threshold's even
spread of 5,000 images (`ui.loaders.model_novelty`) and a gallery's 64 thumbnails.

Printed: the bytes of the data's tensors, and the process's RSS (now and peak, from /proc)
before loading, after loading and after the reads. The bar for the page's whole process is
RSS <= 1 GB (bench/browser_latency.py); this is the part the data takes of it.

    .venv/bin/python bench/app_data_memory.py
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ui.gallery import data_images  # noqa: E402
from ui.loaders import load_model, model_codes, model_dataset, model_novelty  # noqa: E402

SHAPES = REPO / "checkpoints" / "shapes-conv-10d-beta1.safetensors"
MB = 1e6


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) * 1024 / MB, int(fields["VmHWM"].split()[0]) * 1024 / MB


def tensor_bytes(data: object) -> int:
    return sum(v.nbytes for f in dataclasses.fields(data) if isinstance(v := getattr(data, f.name), torch.Tensor))


def main() -> int:
    torch.set_num_threads(1)
    ckpt = load_model(str(SHAPES))
    codes = model_codes(ckpt)
    start = rss_mb()
    data = model_dataset(ckpt)
    loaded = rss_mb()
    model_novelty(ckpt)
    data_images(ckpt, codes.mu)(np.arange(0, len(data), len(data) // 64)[:64])
    read = rss_mb()
    print(f"{len(data):,} images {data.image_shape}: the data's tensors hold {tensor_bytes(data) / MB:,.0f} MB")
    for what, (now, peak) in (("before loading", start), ("after loading", loaded), ("after the pages' reads", read)):
        print(f"RSS {what}: {now:,.0f} MB (peak {peak:,.0f} MB)")
    print(f"the data's share: {loaded[0] - start[0]:,.0f} MB held, peak {read[1] - start[0]:,.0f} MB over the start")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
