"""Does a training job starve the rest of the server? Time a decode (what a page does on a
click) in the main thread while a model trains in another thread, side by side in
interleaved rounds:

  idle              nothing training
  plain             a thread iterating `Trainer.run`, torch's default intra-op threads
  plain, 1 thread   the same with `limit_this_thread(1)`, never yielding the GIL
  TrainingJob       one intra-op thread and `time.sleep(0)` after every step

and print the training speed of each, so the price (or gain) shows too.

    .venv/bin/python bench/training_responsiveness.py [--workload digits|mnist|both] [--decode-threads N]

`--decode-threads 1` decodes with one intra-op thread, as a server that sets
torch.set_num_threads(1) would: on a busy machine most of a decode's time can be waiting
for a sleeping OpenMP worker to be scheduled.
"""
from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import torch

from vae_core import ImageData, ModelConfig, TrainConfig, load_checkpoint
from vae_core.data import load_dataset, load_digits_data
from vae_core.inference import decode_latents
from vae_core.jobs import TrainingJob, limit_this_thread
from vae_core.models import VAE
from vae_core.training import StepMetrics, Trainer

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"
DECODES_PER_ROUND = 30
ROUNDS = 3
WARM_UP_S = 0.5
TRAIN = TrainConfig(epochs=10_000, batch_size=128, device="cpu")


def decode_times(model: VAE, z: np.ndarray) -> list[float]:
    """Milliseconds per decode, with a pause between decodes as a user's clicks have."""
    times = []
    for _ in range(DECODES_PER_ROUND):
        start = time.perf_counter()
        decode_latents(model, z)
        times.append((time.perf_counter() - start) * 1e3)
        time.sleep(0.01)
    return times


class PlainThread:
    """The naive way: iterate the trainer in a thread, counting steps, never yielding."""

    def __init__(self, model_cfg: ModelConfig, data: ImageData, threads: int | None) -> None:
        self.stop_event = threading.Event()
        self.steps = 0
        self.thread = threading.Thread(target=self._run, args=(Trainer(model_cfg, TRAIN, data), threads), daemon=True)
        self.thread.start()

    def _run(self, trainer: Trainer, threads: int | None) -> None:
        if threads is not None:
            limit_this_thread(threads)
        for m in trainer.run(self.stop_event):
            self.steps += isinstance(m, StepMetrics)

    def step_count(self) -> int:
        return self.steps

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join()


class JobRunner:
    def __init__(self, model_cfg: ModelConfig, data: ImageData) -> None:
        self.job = TrainingJob(model_cfg, TRAIN, data)
        self.total_steps = TRAIN.epochs * Trainer(model_cfg, TRAIN, data).steps_per_epoch()

    def step_count(self) -> int:
        progress = self.job.progress()
        return round(progress.fraction * self.total_steps)

    def stop(self) -> None:
        self.job.stop()
        self.job.wait()


RUNNERS = {
    "plain, default threads": lambda cfg, data: PlainThread(cfg, data, None),
    "plain, 1 intra-op thread": lambda cfg, data: PlainThread(cfg, data, 1),
    "TrainingJob (1 thread + yield)": JobRunner,
}


def measure(make, model_cfg: ModelConfig, data: ImageData, decoder: VAE, z: np.ndarray) -> tuple[list[float], float]:
    """(decode times, training steps/s) while the runner trains."""
    runner = make(model_cfg, data)
    while runner.step_count() == 0:
        time.sleep(0.01)
    time.sleep(WARM_UP_S)
    start, steps0 = time.perf_counter(), runner.step_count()
    times = decode_times(decoder, z)
    rate = (runner.step_count() - steps0) / (time.perf_counter() - start)
    runner.stop()
    return times, rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", choices=("digits", "mnist", "both"), default="both")
    parser.add_argument("--decode-threads", type=int, default=None, help="intra-op threads of the decoding thread")
    args = parser.parse_args()
    if args.decode_threads is not None:
        limit_this_thread(args.decode_threads)
    print(f"torch {torch.__version__}, decoding with {torch.get_num_threads()} intra-op threads, "
          f"{len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.1f} before starting")
    decoder = load_checkpoint(REPO / "checkpoints" / "digits-mlp-2d").model
    grid = np.stack(np.meshgrid(np.linspace(-3, 3, 20), np.linspace(-3, 3, 20)), -1).reshape(-1, 2)
    workloads = []
    if args.workload in ("digits", "both"):
        workloads.append(("digits MLP", ModelConfig(image_shape=(1, 8, 8)), load_digits_data()))
    if args.workload in ("mnist", "both") and (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        workloads.append(("MNIST conv", ModelConfig(arch="conv", image_shape=(1, 28, 28)),
                          load_dataset("mnist", MNIST_DIR)))
    for _ in range(20):
        decode_latents(decoder, grid)  # warm up
    for name, model_cfg, data in workloads:
        times: dict[str, list[float]] = {"idle": []}
        rates: dict[str, list[float]] = {}
        for _ in range(ROUNDS):  # interleaved, so background load hits every variant alike
            times["idle"] += decode_times(decoder, grid)
            for label, make in RUNNERS.items():
                t, rate = measure(make, model_cfg, data, decoder, grid)
                times.setdefault(label, []).extend(t)
                rates.setdefault(label, []).append(rate)
        idle_med, idle_p95 = statistics.median(times["idle"]), float(np.percentile(times["idle"], 95))
        print(f"\ndecode a 20x20 grid with digits-mlp-2d while {name} trains "
              f"({ROUNDS * DECODES_PER_ROUND} decodes each, load average now {os.getloadavg()[0]:.1f}):")
        print(f"  {'':<32} {'median ms':>10} {'p95 ms':>8} {'x idle':>7} {'train steps/s':>14}")
        for label, t in times.items():
            med, p95 = statistics.median(t), float(np.percentile(t, 95))
            rate = f"{statistics.median(rates[label]):14.0f}" if label in rates else f"{'-':>14}"
            print(f"  {label:<32} {med:10.2f} {p95:8.2f} {med / idle_med:7.1f} {rate}")
        print(f"  (idle p95 {idle_p95:.2f} ms)")


if __name__ == "__main__":
    main()
