"""The grid posterior the Bayes panel draws, against a reference quadrature computed another way.

For each test image of a 2-D model, `grid_posterior(model, x)` (no window: the page's default)
is compared with a uniform midpoint grid over +-6 with REF_N cells a side, whose log p(x|z)
for all images at once comes from the likelihood's exponential-family form (one matrix
product per chunk of z, written here from the formulas, not through vae_core.likelihoods).
Figures per image: the share of p(z|x) outside the drawn window, |log p(x) grid - reference|
in nats, and the largest per-axis shift of the posterior mean in posterior sds.
Acceptance: every image < 1e-3, < 0.05 nats, < 0.05 sd. Prints the worst case of each.

    nice -n 10 python bench/posterior_grid.py            # 200 + 200 images (MNIST skipped if absent)
    nice -n 10 python bench/posterior_grid.py --n 20 --models digits-mlp-2d
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vae_core import VAE, TrainConfig, load_checkpoint, load_dataset, train_test_split  # noqa: E402
from vae_core.checkpoints import Checkpoint  # noqa: E402
from vae_core.posterior import GridPosterior, grid_posterior, posterior_moments  # noqa: E402

MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"
MODELS = ("digits-mlp-2d", "mnist-conv-2d")
REF_HALF_WIDTH, REF_N = 6.0, 481
LIMITS = {"mass_outside": 1e-3, "log_px_error": 0.05, "mean_shift_sd": 0.05}
_CHUNK = 2048


@dataclass(frozen=True)
class Reference:
    """Per image (N,): log p(x), posterior mean and sd (N, 2), and the mass outside given windows."""

    log_px: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    mass_outside: np.ndarray


def _log_px_z_all(model: VAE, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x_i | z_j) for every image i and grid point j, (J, N), in float64, from the
    formulas: Bernoulli x.l - sum softplus(l); continuous Bernoulli adds sum log C(lam) with
    C = 2 atanh(1 - 2 lam) / (1 - 2 lam); Gaussian -sum (x - m)^2 / 2 s^2 - sum log s - P/2 log 2 pi."""
    cfg = model.config
    l = logits.reshape(len(logits), -1).double()  # (J, P)
    x = x.reshape(len(x), -1).double()  # (N, P)
    if cfg.binarize:
        x = (x > 0.5).double()
    if cfg.recon in ("bernoulli", "continuous-bernoulli"):
        out = l @ x.T - torch.nn.functional.softplus(l).sum(1, keepdim=True)
        if cfg.recon == "continuous-bernoulli":
            t = 1 - 2 * torch.sigmoid(l)
            near = t.abs() < 1e-6
            log_c = torch.where(near, math.log(2.0), torch.log(2 * torch.atanh(t) / torch.where(near, 1.0, t)))
            out = out + log_c.sum(1, keepdim=True)
        return out
    m = torch.sigmoid(l)
    if cfg.sigma == "fixed":
        s = torch.full((l.shape[1],), cfg.fixed_sigma, dtype=torch.float64)
    else:
        s = torch.exp(model.log_sigma.detach().double()).clamp_min(0.01).expand(cfg.image_shape).reshape(-1)
    inv = 1 / (2 * s**2)
    quad = (m**2 * inv).sum(1, keepdim=True) - 2 * (m * inv) @ x.T + ((x**2) * inv).sum(1)[None, :]
    return -quad - torch.log(s).sum() - 0.5 * l.shape[1] * math.log(2 * math.pi)


@torch.no_grad()
def reference(model: VAE, images: torch.Tensor, windows: np.ndarray, n: int = REF_N) -> Reference:
    """Midpoint quadrature over +-REF_HALF_WIDTH for all images at once, streamed over chunks of z."""
    h = REF_HALF_WIDTH
    centres = -h + (np.arange(n) + 0.5) * (2 * h / n)
    gx, gy = np.meshgrid(centres, centres)
    z = np.stack([gx.ravel(), gy.ravel()], axis=1)
    n_img = len(images)
    top = np.full(n_img, -np.inf)
    sums = np.zeros((6, n_img))  # total, z1, z2, z1^2, z2^2, outside the window
    for start in range(0, len(z), _CHUNK):
        zc = z[start:start + _CHUNK]
        logits = model.decode_logits(torch.as_tensor(zc, dtype=torch.float32))
        lj = _log_px_z_all(model, logits, images).numpy() - math.log(2 * math.pi) - 0.5 * (zc**2).sum(1)[:, None]
        new_top = np.maximum(top, lj.max(axis=0))
        sums *= np.exp(top - new_top)
        top = new_top
        w = np.exp(lj - top)  # (J, N)
        outside = ((zc[:, :1] < windows[:, 0]) | (zc[:, :1] > windows[:, 1])
                   | (zc[:, 1:] < windows[:, 2]) | (zc[:, 1:] > windows[:, 3]))
        sums += np.stack([w.sum(0), zc[:, 0] @ w, zc[:, 1] @ w, (zc[:, 0] ** 2) @ w, (zc[:, 1] ** 2) @ w,
                          (w * outside).sum(0)])
    cell_area = (2 * h / n) ** 2
    mean = np.stack([sums[1] / sums[0], sums[2] / sums[0]], axis=1)
    var = np.stack([sums[3] / sums[0], sums[4] / sums[0]], axis=1) - mean**2
    return Reference(np.log(sums[0]) + top + math.log(cell_area), mean, np.sqrt(var), sums[5] / sums[0])


def held_out_images(ckpt: Checkpoint, n: int) -> torch.Tensor | None:
    """The first n images of the model's own test split (the split its training held out)."""
    train = ckpt.metadata.train or TrainConfig()
    data_dir = MNIST_DIR if train.dataset == "mnist" else None
    if data_dir is not None and not (data_dir / "t10k-images-idx3-ubyte.gz").exists():
        return None
    data = load_dataset(train.dataset, data_dir, ckpt.config.image_shape[-1])
    _, test = train_test_split(data, train.test_fraction, train.seed)
    return test.floats(slice(0, n))


def compare(model: VAE, images: torch.Tensor, ref_n: int = REF_N) -> dict[str, np.ndarray]:
    """Each figure per image: the page's default grid against the reference."""
    grids: list[GridPosterior] = [grid_posterior(model, x) for x in images]
    windows = np.array([g.extent for g in grids])
    ref = reference(model, images, windows, ref_n)
    means = np.array([posterior_moments(g)[0] for g in grids])
    return {
        "mass_outside": ref.mass_outside,
        "mass_outside_reported": np.array([g.mass_outside for g in grids]),
        "log_px_error": np.abs(np.array([g.log_px_grid for g in grids]) - ref.log_px),
        "mean_shift_sd": np.max(np.abs(means - ref.mean) / ref.sd, axis=1),
        "posterior_sd_min": ref.sd.min(axis=1),
        "log_px_ref": ref.log_px,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="test images per model")
    parser.add_argument("--ref-n", type=int, default=REF_N, help="reference cells a side over +-6")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f}; reference: +-{REF_HALF_WIDTH:g}, {args.ref_n} cells a side")
    ok = True
    for name in args.models:
        ckpt = load_checkpoint(REPO / "checkpoints" / name)
        images = held_out_images(ckpt, args.n)
        if images is None:
            print(f"{name}: data set not on this machine, skipped")
            continue
        start = time.perf_counter()
        figures = compare(ckpt.model, images, args.ref_n)
        print(f"{name}: {len(images)} test images in {time.perf_counter() - start:.0f} s "
              f"(posterior sd from {figures['posterior_sd_min'].min():.3f}; "
              f"log p(x) from {figures['log_px_ref'].min():.2f} to {figures['log_px_ref'].max():.2f} nats)")
        for key, limit in LIMITS.items():
            worst = int(np.argmax(figures[key]))
            passed = figures[key][worst] < limit
            ok &= bool(passed)
            print(f"  worst {key:<14} {figures[key][worst]:.2e} (image {worst}, limit {limit:g}) "
                  f"{'ok' if passed else 'FAIL'}")
        print(f"  worst mass outside as the grid itself reports it: {figures['mass_outside_reported'].max():.2e}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
