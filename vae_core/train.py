"""Command line: `python -m vae_core.train --dataset digits --arch mlp --latent-dim 2 --epochs 30 --out checkpoints/NAME`.

Under `torchrun --nproc_per_node=N -m vae_core.train ...` the same command trains with
DistributedDataParallel; rank 0 alone shows progress and writes files. After every epoch
the run's state is saved beside the checkpoint (NAME.resume.safetensors), so `--resume`
continues an interrupted run from its last completed epoch.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from tqdm import tqdm

from .checkpoints import read_sidecar
from .config import ARCHITECTURES, DATASETS, ModelConfig, TrainConfig
from .data import load_dataset
from .likelihoods import LIKELIHOODS, SIGMA_MODES
from .distributed import barrier, init_from_env, shutdown
from .resume import load_training_state, resume_path
from .training import EpochMetrics, Trainer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vae_core.train", description="Train a VAE and save a checkpoint.")
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
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--test-fraction", type=float, default=0.2, help="held out for the reported test figures")
    p.add_argument("--val-fraction", type=float, default=0.1, help="of the training part: chooses the best epoch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    p.add_argument("--out", required=True, help="checkpoint path without suffix, e.g. checkpoints/digits-2d")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run that was saving to --out")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    train_cfg = TrainConfig(
        dataset=args.dataset, data_dir=args.data_dir, dataset_size=args.dataset_size, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, beta=args.beta, test_fraction=args.test_fraction,
        val_fraction=args.val_fraction, seed=args.seed, device=args.device,
    )
    dist, device = init_from_env(args.device)
    try:
        data = load_dataset(train_cfg.dataset, train_cfg.data_dir, args.image_size, train_cfg.dataset_size)
        model_cfg = ModelConfig(
            arch=args.arch, image_shape=data.image_shape, latent_dim=args.latent_dim,
            hidden_dim=args.hidden_dim, recon=args.likelihood, sigma=args.sigma, fixed_sigma=args.fixed_sigma,
            binarize=args.binarize,
        )
        trainer = Trainer(model_cfg, train_cfg, data, dist=dist, device=device)
        state_path = resume_path(args.out)
        if args.resume:
            trainer.restore(load_training_state(state_path))
        done = len(trainer.history) * trainer.steps_per_epoch()
        with tqdm(total=train_cfg.epochs * trainer.steps_per_epoch(), initial=done, unit="step",
                  disable=not dist.is_main) as bar:
            for m in trainer.run(resume_to=state_path):
                if isinstance(m, EpochMetrics):
                    bar.set_postfix(epoch=m.epoch, val_loss=f"{m.val_loss:.2f}", img_s=f"{m.images_per_s:.0f}")
                else:
                    bar.update(1)
        if dist.is_main:
            path = trainer.save(args.out)
            state_path.unlink(missing_ok=True)  # finished: nothing left to resume
            meta = read_sidecar(path)
            best, test = meta["final"], meta["test"]
            print(f"saved {path}: best epoch {best['best_epoch']} (validation loss {best['val_loss']:.3f}); "
                  f"test ELBO {test['elbo']:.3f} +- {test['elbo_se']:.3f}, IWAE log p(x) {test['log_px_iwae']:.3f} "
                  f"+- {test['log_px_iwae_se']:.3f} (K={test['iwae_k']}) nats/image, {test['likelihood']}")
        barrier(dist)
    finally:
        shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
