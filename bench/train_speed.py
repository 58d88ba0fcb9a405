"""Training speed: pytorch/examples' VAE pipeline against our Trainer, side by side.

Same data (MNIST t10k from ../shared/data/mnist: the first 8,000 images train, the last
2,000 test), same process, same hardware, same network (MLP 784-400-20, BCE sum + KL).

Fairness on a shared machine: the pipelines advance one optimisation step (or one test
pass) at a time, always the one that is least far through its own schedule, so a burst of
background load falls on each in proportion to its work; each pipeline is timed only
while it runs, and draws from its own seeded RNG stream, so the interleaving changes none
of its numbers. The whole comparison runs three times (`--repeats`) and each figure's
median is judged. Bars:

1. identical hyper-parameters (Adam 1e-3, batch 128): our median training epoch is at
   least 2x faster than the reference's, at a final test loss within 1% of its;
2. our best configuration reaches the reference's final test loss (evaluated after each
   epoch) in at most 1/3 of the reference's total wall time (set-up, training, tests).

    .venv/bin/python bench/train_speed.py                      # the full run, minutes on 2 cores
    .venv/bin/python bench/train_speed.py --epochs 1 --quick   # a smoke run on a small subset
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.data
from PIL import Image
from torch import Tensor, nn, optim
from torchvision import transforms

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from vae_core.config import ModelConfig, TrainConfig  # noqa: E402
from vae_core.data import DIGIT_NAMES, ImageData, read_idx  # noqa: E402
from vae_core.training import EpochMetrics, Trainer, evaluate  # noqa: E402

MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"
N_TRAIN, N_TEST = 8000, 2000
QUICK_TRAIN, QUICK_TEST = 1000, 500
MODEL = ModelConfig(arch="mlp", image_shape=(1, 28, 28), latent_dim=20, hidden_dim=400)
BATCH, LR = 128, 1e-3  # the example's
# Our best configuration: the same network and objective, more and bolder steps per epoch
# (a sweep over batch 32..512 and lr 1e-3..1e-2 on this split: fewest seconds to the target).
BEST_BATCH, BEST_LR = 64, 4e-3
SPEEDUP_BAR = 2.0
LOSS_TOLERANCE = 0.01
TIME_TO_LOSS_BAR = 1 / 3

# A pipeline is a generator: its first yield ends the set-up, then it yields None after
# each optimisation step and the test loss per image after each epoch's test pass.
Pipeline = Iterator[float | None]
_END = object()


# --- the reference: pytorch/examples vae/main.py, minus argparse, logging and PNGs ---

class ReferenceVAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu: Tensor, logvar: Tensor) -> Tensor:
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z: Tensor) -> Tensor:
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def reference_loss(recon_x: Tensor, x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """Reconstruction + KL divergence summed over all elements and batch (Kingma & Welling, App. B)."""
    bce = F.binary_cross_entropy(recon_x, x.view_as(recon_x), reduction="sum")  # the example: x.view(-1, 784)
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


class ReferenceMNIST(torch.utils.data.Dataset):
    """torchvision.datasets.MNIST's item path: a uint8 row -> PIL image -> transform.

    Colour images come as uint8 (N, H, W, 3) and become RGB PIL images, as torchvision's
    CIFAR10 item path does."""

    def __init__(self, data: Tensor, targets: Tensor, transform: Callable[[Image.Image], Tensor]) -> None:
        self.data, self.targets, self.transform = data, targets, transform

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        img, target = self.data[index], int(self.targets[index])
        img = Image.fromarray(img.numpy(), mode="L" if img.ndim == 2 else "RGB")
        return self.transform(img), target

    def __len__(self) -> int:
        return len(self.data)


def reference_pipeline(
    train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor], seed: int, epochs: int,
    model_class: Callable[[], nn.Module] = ReferenceVAE,
) -> Pipeline:
    """The example's set-up, then its `train(epoch)` and `test(epoch)` loops as they are.

    `model_class` swaps in another network with the example's forward (probabilities, mu, logvar)."""
    torch.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(
        ReferenceMNIST(*train, transforms.ToTensor()), batch_size=BATCH, shuffle=True, num_workers=0)
    test_loader = torch.utils.data.DataLoader(
        ReferenceMNIST(*test, transforms.ToTensor()), batch_size=BATCH, shuffle=True, num_workers=0)
    model = model_class()
    optimizer = optim.Adam(model.parameters(), lr=LR)
    yield None
    for _ in range(epochs):
        model.train()
        train_loss = 0.0
        for data, _ in train_loader:
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = reference_loss(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()  # the example logs it: its per-step .item() is part of the cost
            optimizer.step()
            yield None
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for data, _ in test_loader:
                recon_batch, mu, logvar = model(data)
                test_loss += reference_loss(recon_batch, data, mu, logvar).item()
        yield test_loss / len(test_loader.dataset)


def our_pipeline(
    train: ImageData, test: ImageData, seed: int, epochs: int, batch_size: int = BATCH, lr: float = LR,
    model: ModelConfig = MODEL,
) -> Pipeline:
    """Our Trainer as the app drives it: every step's metrics, then each epoch's loss on the
    test split (the trainer itself only reads its validation split while training)."""
    trainer = Trainer(
        model, TrainConfig(dataset=train.name, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device="cpu"),
        data=train, test_data=test,
    )
    yield None
    for m in trainer.run():
        if not isinstance(m, EpochMetrics):
            yield None
            continue
        yield evaluate(trainer.model, trainer.test_images, generator=torch.Generator().manual_seed(seed + m.epoch))["loss"]


# --- the harness ---

class RngStream:
    """A private state of torch's global RNG: entering swaps it in, leaving saves it.

    The reference draws its weights, shuffles and eps from the global RNG; a stream per
    pipeline makes each one's numbers independent of the interleaving.
    """

    def __init__(self) -> None:
        self.state = torch.get_rng_state()
        self._outer = self.state

    def __enter__(self) -> None:
        self._outer = torch.get_rng_state()
        torch.set_rng_state(self.state)

    def __exit__(self, *exc: object) -> None:
        self.state = torch.get_rng_state()
        torch.set_rng_state(self._outer)


@dataclass
class Run:
    """One pipeline's clock: seconds of training per epoch, test losses, and its total
    wall time (set-up, steps, test passes) at the end of each epoch."""

    name: str
    pipeline: Pipeline
    segments: int  # how many yields its whole schedule has, to balance progress
    done: int = 0
    wall_s: float = 0.0
    train_s: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    wall_at_epoch: list[float] = field(default_factory=list)
    rng: RngStream = field(default_factory=RngStream)
    _epoch_train_s: float = 0.0

    def advance(self) -> bool:
        """Run one segment (set-up, one step, or one test pass); False once finished."""
        with self.rng:
            start = time.perf_counter()
            event = next(self.pipeline, _END)
            seconds = time.perf_counter() - start
        if event is _END:
            self.done = self.segments
            return False
        self.done += 1
        self.wall_s += seconds
        if event is None and self.done > 1:
            self._epoch_train_s += seconds
        elif event is not None:
            self.train_s.append(self._epoch_train_s)
            self.test_loss.append(float(event))
            self.wall_at_epoch.append(self.wall_s)
            self._epoch_train_s = 0.0
        return True

    def time_to_loss(self, target: float) -> tuple[int, float] | None:
        """(epoch, wall seconds) of the first test pass at or below `target`; None if none."""
        return next(((i + 1, w) for i, (w, loss) in enumerate(zip(self.wall_at_epoch, self.test_loss))
                     if loss <= target), None)


def interleave(runs: list[Run]) -> None:
    """Advance whichever run is least far through its schedule until all are done."""
    active = list(runs)
    while active:
        run = min(active, key=lambda r: r.done / r.segments)
        if not run.advance():
            active.remove(run)


def load_split(data_dir: Path, n_train: int, n_test: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """uint8 images (N, 28, 28) and labels: the first `n_train` and the last `n_test` of t10k."""
    images = torch.from_numpy(read_idx(data_dir / "t10k-images-idx3-ubyte.gz").copy())
    labels = torch.from_numpy(read_idx(data_dir / "t10k-labels-idx1-ubyte.gz").astype(np.int64))
    return images[:n_train], labels[:n_train], images[-n_test:], labels[-n_test:]


def to_image_data(images: Tensor, labels: Tensor) -> ImageData:
    """The uint8 pixels (N, 1, 28, 28), as the app's MNIST loader keeps them; the Trainer
    makes them float once, uint8 / 255, the same pixels ToTensor gives the reference."""
    return ImageData(images.unsqueeze(1), labels, "mnist", DIGIT_NAMES)


def schedule_length(n_train: int, batch_size: int, epochs: int) -> int:
    return 1 + epochs * (math.ceil(n_train / batch_size) + 1)


@dataclass(frozen=True)
class Figures:
    """One repeat's timings: median training epochs, totals, and the best run's time to target."""

    ref_epoch_s: float
    ours_epoch_s: float
    ref_train_s: float
    ours_train_s: float
    ref_wall_s: float
    ours_wall_s: float
    ref_fastest_s: float  # the fastest training epoch: a figure background load cannot inflate
    ours_fastest_s: float
    best_epoch: int | None  # the first epoch at or below the reference's final test loss
    best_s: float  # wall seconds to get there (inf if never)

    @classmethod
    def of(cls, ref: Run, ours: Run, best: Run) -> "Figures":
        reached = best.time_to_loss(ref.test_loss[-1])
        return cls(
            statistics.median(ref.train_s), statistics.median(ours.train_s), sum(ref.train_s), sum(ours.train_s),
            ref.wall_s, ours.wall_s, min(ref.train_s), min(ours.train_s),
            reached[0] if reached else None, reached[1] if reached else math.inf,
        )

    @property
    def speedup(self) -> float:
        return self.ref_epoch_s / self.ours_epoch_s

    @property
    def best_ratio(self) -> float:
        return self.best_s / self.ref_wall_s

    def row(self, label: str) -> str:
        return (f"{label:<7} {self.ref_epoch_s:>11.3f} {self.ours_epoch_s:>12.3f} {self.speedup:>7.2f}x "
                f"{self.ref_train_s:>11.2f} {self.ours_train_s:>12.2f} {self.ref_train_s / self.ours_train_s:>7.2f}x "
                f"{self.ref_wall_s:>10.2f} {self.ours_wall_s:>11.2f} {self.ref_wall_s / self.ours_wall_s:>6.2f}x "
                f"{self.best_epoch or '-':>10} {self.best_s:>7.2f} {self.best_ratio:>8.3f}")


HEADER = (f"{'repeat':<7} {'ref epoch s':>11} {'ours epoch s':>12} {'ratio':>8} {'ref train s':>11} "
          f"{'ours train s':>12} {'ratio':>8} {'ref wall s':>10} {'ours wall s':>11} {'ratio':>7} "
          f"{'best epoch':>10} {'best s':>7} {'best/ref':>8}")


def compare(
    train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor], seed: int, epochs: int
) -> tuple[Run, Run, Run]:
    """One interleaved run of the reference, ours at its hyper-parameters, and our best."""
    n_train = len(train[0])
    train_data, test_data = to_image_data(*train), to_image_data(*test)
    ref = Run(f"reference (b{BATCH}, lr {LR:g})", reference_pipeline(train, test, seed, epochs),
              schedule_length(n_train, BATCH, epochs))
    ours = Run(f"ours (b{BATCH}, lr {LR:g})", our_pipeline(train_data, test_data, seed, epochs),
               schedule_length(n_train, BATCH, epochs))
    best = Run(f"ours best (b{BEST_BATCH}, lr {BEST_LR:g})",
               our_pipeline(train_data, test_data, seed, epochs, BEST_BATCH, BEST_LR),
               schedule_length(n_train, BEST_BATCH, epochs))
    interleave([ref, ours, best])
    return ref, ours, best


def verdict(runs: tuple[Run, Run, Run], med: Figures, epochs: int) -> bool:
    """Print both bars against the medians over repeats; True when both pass."""
    ref, ours, _ = runs
    loss_gap = (ours.test_loss[-1] - ref.test_loss[-1]) / ref.test_loss[-1]
    bar1 = med.speedup >= SPEEDUP_BAR and abs(loss_gap) <= LOSS_TOLERANCE
    print(f"\n1. identical hyper-parameters: median training epoch {med.ref_epoch_s:.3f}s (reference) vs "
          f"{med.ours_epoch_s:.3f}s (ours) = {med.speedup:.2f}x faster (bar >= {SPEEDUP_BAR:g}x); {epochs}-epoch "
          f"test loss per image {ours.test_loss[-1]:.3f} vs {ref.test_loss[-1]:.3f} ({loss_gap:+.2%}, bar within "
          f"{LOSS_TOLERANCE:.0%}): {'PASS' if bar1 else 'FAIL'}")
    print(f"   (fastest training epoch: {med.ref_fastest_s:.3f}s vs {med.ours_fastest_s:.3f}s = "
          f"{med.ref_fastest_s / med.ours_fastest_s:.2f}x; total training {med.ref_train_s / med.ours_train_s:.2f}x, "
          f"total wall {med.ref_wall_s / med.ours_wall_s:.2f}x)")
    bar2 = med.best_ratio <= TIME_TO_LOSS_BAR
    reached = (f"reached it after epoch {med.best_epoch} in {med.best_s:.2f}s" if med.best_epoch
               else f"did not reach it in {epochs} epochs")
    print(f"2. best configuration (b{BEST_BATCH}, lr {BEST_LR:g}) vs the reference's {epochs}-epoch test loss "
          f"{ref.test_loss[-1]:.3f}: {reached}, {med.best_ratio:.3f} of the reference's {med.ref_wall_s:.2f}s "
          f"(bar <= {TIME_TO_LOSS_BAR:.3f}): {'PASS' if bar2 else 'FAIL'}")
    return bar1 and bar2


def median_figures(figures: list[Figures]) -> Figures:
    """Each figure's median over the repeats (never reaching the target counts as infinitely late)."""
    med = {f.name: statistics.median(getattr(x, f.name) for x in figures)
           for f in dataclasses.fields(Figures) if f.name != "best_epoch"}
    best_epoch = statistics.median_low(x.best_epoch or math.inf for x in figures)
    return Figures(**med, best_epoch=None if best_epoch == math.inf else int(best_epoch))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TRAIN} train / {QUICK_TEST} test images")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved runs, medians reported (3; quick 1)")
    parser.add_argument("--seed", type=int, default=1, help="the example's default seed")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--data-dir", type=Path, default=MNIST_DIR)
    args = parser.parse_args(argv)
    if not (args.data_dir / "t10k-images-idx3-ubyte.gz").exists():
        print(f"MNIST's t10k IDX files were not found in {args.data_dir}; put t10k-images-idx3-ubyte.gz and "
              "t10k-labels-idx1-ubyte.gz there or pass --data-dir.", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = args.repeats or (1 if args.quick else 3)
    n_train, n_test = (QUICK_TRAIN, QUICK_TEST) if args.quick else (N_TRAIN, N_TEST)
    train_x, train_y, test_x, test_y = load_split(args.data_dir, n_train, n_test)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads on {os.cpu_count()} CPUs; {n_train} train / "
          f"{n_test} test images; {args.epochs} epochs, seed {args.seed}; {repeats} repeats; "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print(HEADER)
    figures = []
    for repeat in range(1, repeats + 1):
        runs = compare((train_x, train_y), (test_x, test_y), args.seed, args.epochs)
        figures.append(Figures.of(*runs))
        print(figures[-1].row(str(repeat)), flush=True)
    med = median_figures(figures)
    if repeats > 1:
        print(med.row("median"))
    print(f"\ntest loss per image after each epoch{' (last repeat)' if repeats > 1 else ''}:")
    for r in runs:
        print(f"  {r.name:<28} " + " ".join(f"{loss:.2f}" for loss in r.test_loss))
    passed = verdict(runs, med, args.epochs)
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1):
        print(f"note: load average {load:.2f} exceeds the {os.cpu_count()} CPUs: other work shared the machine")
    if args.quick:
        print("(quick run: a smoke test; the bars are meant for the full run)")
    return 0 if passed or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
