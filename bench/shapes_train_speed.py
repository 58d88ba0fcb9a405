"""Training speed on the colour shapes set: the pytorch/examples pipeline against our Trainer.

The harness, reference loop and our pipeline are bench/train_speed.py's (interleaved steps,
each pipeline timed only while it runs, its own RNG stream); here both train the same
network, our conv VAE for 3x64x64, on the same procedural shapes (`vae_core.shapes`). The
reference keeps the example's data path: a uint8 image per item -> RGB PIL image ->
ToTensor, through a DataLoader, and the example's loss (BCE of probabilities, summed).
Ours indexes one preloaded tensor and uses the fused BCE-with-logits. Printed: the median
training epoch of each, their ratio, and the test loss per image after each epoch.

    .venv/bin/python bench/shapes_train_speed.py              # 2,000 train / 500 test, 2 epochs
    .venv/bin/python bench/shapes_train_speed.py --quick      # a smoke run
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import torch
from torch import Tensor

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from train_speed import BATCH, LR, Run, interleave, our_pipeline, reference_pipeline, schedule_length  # noqa: E402, I001 (puts the repository on sys.path)

from vae_core.config import ModelConfig  # noqa: E402
from vae_core.data import ImageData, load_shapes  # noqa: E402
from vae_core.models import ConvVAE  # noqa: E402

MODEL = ModelConfig(arch="conv", image_shape=(3, 64, 64), latent_dim=10)
N_TRAIN, N_TEST = 2000, 500
QUICK_TRAIN, QUICK_TEST = 256, 128


class ReferenceConvVAE(ConvVAE):
    """Our conv network with the example's forward: probabilities, eps from the global RNG."""

    def __init__(self) -> None:
        super().__init__(MODEL)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # type: ignore[override]
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def split(n_train: int, n_test: int) -> tuple[ImageData, ImageData]:
    data = load_shapes(n_train + n_test)
    return data.subset(slice(0, n_train)), data.subset(slice(n_train, None))


def as_uint8_rows(data: ImageData) -> tuple[Tensor, Tensor]:
    """What a torchvision colour data set holds: uint8 (N, H, W, 3) and labels (the shapes' own pixels)."""
    return data.pixels.permute(0, 2, 3, 1).contiguous(), data.labels


def compare(train: ImageData, test: ImageData, seed: int, epochs: int) -> tuple[Run, Run]:
    length = schedule_length(len(train), BATCH, epochs)
    ref = Run("reference (PIL DataLoader)", reference_pipeline(
        as_uint8_rows(train), as_uint8_rows(test), seed, epochs, ReferenceConvVAE), length)
    ours = Run("ours (Trainer)", our_pipeline(train, test, seed, epochs, model=MODEL), length)
    interleave([ref, ours])
    return ref, ours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TRAIN} train / {QUICK_TEST} test images")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    n_train, n_test = (QUICK_TRAIN, QUICK_TEST) if args.quick else (N_TRAIN, N_TEST)
    train, test = split(n_train, n_test)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads on {os.cpu_count()} CPUs; shapes 3x64x64, "
          f"{n_train} train / {n_test} test; conv VAE, batch {BATCH}, Adam {LR:g}; {args.epochs} epochs, "
          f"{args.repeats} repeats; load average {os.getloadavg()[0]:.2f}\n")
    print(f"{'repeat':<7} {'ref epoch s':>11} {'ours epoch s':>12} {'ratio':>7} {'ref img/s':>10} {'ours img/s':>10}")
    ratios = []
    for repeat in range(1, args.repeats + 1):
        ref, ours = compare(train, test, args.seed, args.epochs)
        ref_s, ours_s = statistics.median(ref.train_s), statistics.median(ours.train_s)
        ratios.append(ref_s / ours_s)
        print(f"{repeat:<7} {ref_s:>11.2f} {ours_s:>12.2f} {ratios[-1]:>6.2f}x {n_train / ref_s:>10.0f} "
              f"{n_train / ours_s:>10.0f}", flush=True)
    for run in (ref, ours):
        print(f"  {run.name:<28} test loss per image after each epoch: " + " ".join(f"{x:.1f}" for x in run.test_loss))
    print(f"\nours vs the pytorch/examples pipeline, median training epoch: {statistics.median(ratios):.2f}x faster "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
