"""Command line: `python -m vae_core.train --dataset digits --arch mlp --latent-dim 2 --epochs 30 --out checkpoints/NAME`.

Under `torchrun --nproc_per_node=N -m vae_core.train ...` the same command trains with
DistributedDataParallel; rank 0 alone shows progress, reports errors and writes files. After
every epoch the run's state is saved beside the checkpoint (NAME.resume.safetensors) and kept
when the run ends, so `--resume` continues an interrupted run from its last completed epoch,
and `--resume --epochs N` trains a finished one on to N epochs.

A user's mistake (bad arguments, missing or unreadable data, nothing to resume) ends the run
with one line on stderr, `error: ...`, and exit status 2 (arguments) or 1 (the rest).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence

from tqdm import tqdm

from .checkpoints import CheckpointError, inspect_checkpoint
from .cli import OneLineParser, UsageError
from .config import ARCHITECTURES, DATASETS, ModelConfig, TrainConfig
from .data import DataError, load_dataset
from .device import available_device
from .likelihoods import LIKELIHOODS, SIGMA_MODES
from .distributed import barrier, init_from_env, shutdown
from .resume import load_training_state, resume_path
from .training import EpochMetrics, Trainer


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m vae_core.train", description="Train a VAE and save a checkpoint.")
    p.add_argument("--dataset", choices=DATASETS, default="digits")
    p.add_argument("--data-dir", default=None, help="IDX folder (MNIST/Fashion-MNIST), image folder, or download root")
    p.add_argument("--dataset-size", type=int, default=None, help="images to draw for the shapes data set")
    p.add_argument("--image-size", type=int, default=None,
                   help="side of the images: folders are resized to it (28), shapes drawn at it (64)")
    p.add_argument("--arch", choices=ARCHITECTURES, default="mlp")
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--hidden-dim", type=int, default=128)
    p.add_argument("--likelihood", choices=LIKELIHOODS, default="bernoulli", help="the decoder's p(x|z)")
    p.add_argument("--sigma", choices=SIGMA_MODES, default="global",
                   help="Gaussian likelihood: sigma learned (global or per pixel) or fixed at --fixed-sigma")
    p.add_argument("--fixed-sigma", type=float, default=0.1)
    p.add_argument("--binarize", action="store_true", help="threshold pixels at 1/2 (binarised data)")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--epochs", type=int, default=20,
                   help="total epochs; with --resume, more than the run has done trains it on")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--test-fraction", type=float, default=0.2, help="held out for the reported test figures")
    p.add_argument("--val-fraction", type=float, default=0.1, help="of the training part: chooses the best epoch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    p.add_argument("--out", required=True, help="checkpoint path without suffix, e.g. checkpoints/digits-2d")
    p.add_argument("--resume", action="store_true",
                   help="continue the run that was saving to --out (interrupted, or finished: give more --epochs)")
    return p


RANK_0_GRACE_S = 20.0


def _is_main_rank() -> bool:
    """Rank 0 (or no torchrun): known from the environment before the process group exists."""
    return os.environ.get("RANK", "0") == "0"


def main(argv: Sequence[str] | None = None) -> int:
    """Train; a user's error becomes one line on stderr (rank 0 only) and a non-zero status."""
    logging.basicConfig(format="%(message)s", level=logging.INFO if _is_main_rank() else logging.ERROR)
    try:
        return _train(build_parser().parse_args(argv))
    except UsageError as err:
        status, message = 2, str(err)
    except (DataError, CheckpointError) as err:
        status, message = 1, str(err)
    except OSError as err:
        status = 1
        message = f"{err.filename}: {err.strerror}" if err.filename and err.strerror else str(err)
    if _is_main_rank():
        print(f"error: {message}", file=sys.stderr)
    else:
        _wait_for_rank_0(message)
    return status


def _wait_for_rank_0(message: str) -> None:
    """Let rank 0 say the error first: a rank that exited at once would make torchrun stop rank 0 before it
    printed. torchrun stops this process as soon as rank 0 exits; an error rank 0 did not meet is said here."""
    time.sleep(RANK_0_GRACE_S)
    print(f"error (rank {os.environ.get('RANK')}): {message}", file=sys.stderr)


def _train(args: argparse.Namespace) -> int:
    try:
        train_cfg = TrainConfig(
            dataset=args.dataset, data_dir=args.data_dir, dataset_size=args.dataset_size, epochs=args.epochs,
            batch_size=args.batch_size, lr=args.lr, beta=args.beta, test_fraction=args.test_fraction,
            val_fraction=args.val_fraction, seed=args.seed, device=args.device,
        )
        if args.device is not None:
            available_device(args.device)  # refused now, not after the data is read
    except ValueError as err:
        raise UsageError(f"{err} (see --help)") from None
    state_path = resume_path(args.out)
    state = load_training_state(state_path) if args.resume else None  # before any data is read: fail fast
    dist, device = init_from_env(args.device)
    try:
        data = load_dataset(train_cfg.dataset, train_cfg.data_dir, args.image_size, train_cfg.dataset_size)
        try:
            model_cfg = ModelConfig(
                arch=args.arch, image_shape=data.image_shape, latent_dim=args.latent_dim,
                hidden_dim=args.hidden_dim, recon=args.likelihood, sigma=args.sigma, fixed_sigma=args.fixed_sigma,
                binarize=args.binarize,
            )
        except ValueError as err:
            raise UsageError(f"{err} (see --help)") from None
        trainer = Trainer(model_cfg, train_cfg, data, dist=dist, device=device)
        if state is not None:
            trainer.restore(state)
            if len(trainer.history) >= train_cfg.epochs:
                raise UsageError(f"the run saving to {args.out} has already trained {len(trainer.history)} epochs: "
                                 f"give --epochs more than that to train it on")
        done = len(trainer.history) * trainer.steps_per_epoch()
        with tqdm(total=train_cfg.epochs * trainer.steps_per_epoch(), initial=done, unit="step",
                  disable=not dist.is_main) as bar:
            for m in trainer.run(resume_to=state_path):
                if isinstance(m, EpochMetrics):
                    bar.set_postfix(epoch=m.epoch, val_loss=f"{m.val_loss:.2f}", img_s=f"{m.images_per_s:.0f}")
                else:
                    bar.update(1)
        if dist.is_main:
            path = trainer.save(args.out, overwrite=True)  # --out names the file to (re)write
            meta = inspect_checkpoint(path)
            best, test = meta.final or {}, meta.test or {}
            print(f"saved {path}: best epoch {best['best_epoch']} (validation loss {best['val_loss']:.3f}); "
                  f"test ELBO {test['elbo']:.3f} +- {test['elbo_se']:.3f}, IWAE log p(x) {test['log_px_iwae']:.3f} "
                  f"+- {test['log_px_iwae_se']:.3f} (K={test['iwae_k']}) nats/image, {test['likelihood']}; "
                  "`--resume --epochs N` trains it on")
        barrier(dist)
    finally:
        shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
