"""The numbers behind the Reparameterization page: KL terms, eps -> z paths, Monte Carlo KL.

The encoder outputs mu and the log *variance*, so sigma = exp(log_var / 2); a sample is
z = mu + sigma * eps with eps ~ N(0, I) (Kingma & Welling 2014, section 2.4). Everything
here returns plain NumPy (float64) so the page only draws, and tests can check the maths
exactly. No figures are built here.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from .inference import decode_latents, encode_images
from .losses import kl_monte_carlo, kl_per_dim
from .models import VAE

# The worked examples the page and its tests share.
WORKED_Z = {"mu": 2.0, "sigma": 0.5, "eps": 1.0}  # z = 2 + 0.5 * 1 = 2.5
WORKED_KL = {"mu": 0.5, "sigma": 0.8}  # KL = 0.168143...; "about 0.173" in print is a slip


def sigma_from_log_var(log_var: np.ndarray | float) -> np.ndarray:
    """sigma = exp(log_var / 2): the encoder's second head is log sigma^2, not log sigma."""
    return np.exp(0.5 * np.asarray(log_var, dtype=np.float64))


def kl_terms(mu: np.ndarray | float, sigma: np.ndarray | float) -> np.ndarray:
    """Closed-form KL(N(mu, sigma^2) || N(0, 1)) per dimension, in nats (natural log).

    1/2 (mu^2 + sigma^2 - log sigma^2 - 1); the same `kl_per_dim` the training loss uses.
    """
    mu_t = torch.as_tensor(np.asarray(mu, dtype=np.float64))
    log_var = 2.0 * torch.log(torch.as_tensor(np.asarray(sigma, dtype=np.float64)))
    return kl_per_dim(mu_t, log_var).numpy()


def reparameterize_np(
    mu: np.ndarray | float, sigma: np.ndarray | float, eps: np.ndarray | float
) -> np.ndarray:
    """z = mu + sigma * eps: the randomness lives in eps, so gradients reach mu and sigma."""
    return np.asarray(mu, dtype=np.float64) + np.asarray(sigma, dtype=np.float64) * np.asarray(eps, dtype=np.float64)


def q_of_point(
    model: VAE, z: np.ndarray, log_var: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A latent point handed over without its image -> (mu, log_var, x_hat), each for one input.

    mu is the point itself and x_hat = decode(z) stands in for the missing image. When the
    point came without an encoder spread (a click on the map, a slider), log_var is the one
    the encoder gives x_hat: the spread of q around an image that decodes from here.
    """
    mu = np.asarray(z, dtype=np.float32).reshape(model.latent_dim)
    x_hat = decode_latents(model, mu)[0]  # (H, W)
    if log_var is None:
        _, lv = encode_images(model, torch.as_tensor(x_hat).reshape(1, *model.config.image_shape))
        log_var = lv[0]
    return mu, np.asarray(log_var, dtype=np.float32).reshape(model.latent_dim), x_hat


def normal_pdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """N(x; mean, std^2)."""
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2.0 * math.pi))


def format_number(value: float, digits: int = 4) -> str:
    """Compact decimal for formulas: 2.5 -> "2.5", 2.0 -> "2", 0.16814 stays 0.1681 (digits=4)."""
    rounded = round(float(value), digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{rounded:.{digits}f}".rstrip("0").rstrip(".")


def _path(
    t: np.ndarray | float, mu: np.ndarray | float, sigma: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """(mean_t, std_t) = (t mu, 1 + t (sigma - 1)), written as a convex mix so both ends
    are exact in floating point: t=0 gives (0, 1), t=1 gives (mu, sigma) bit for bit."""
    return t * np.asarray(mu, dtype=np.float64), (1.0 - t) + t * np.asarray(sigma, dtype=np.float64)


class Frame1D(NamedTuple):
    """One frame of the 1-D animation: the density N(mean, std^2) on a fixed x grid and
    the point eps carried along, at eps * std + mean."""

    x: np.ndarray
    density: np.ndarray
    point: float
    label: str
    mean: float
    std: float


def animation_x_grid(mu: float, sigma: float, eps: float, n: int = 301) -> np.ndarray:
    """One x grid for every frame (so the axes stay still): covers N(0, 1), N(mu, sigma^2)
    and the moving point with a margin."""
    z = float(reparameterize_np(mu, sigma, eps))
    lo = min(-4.0, mu - 4.0 * sigma, eps - 0.5, z - 0.5)
    hi = max(4.0, mu + 4.0 * sigma, eps + 0.5, z + 0.5)
    return np.linspace(lo, hi, n)


def animation_frames_1d(mu: float, sigma: float, eps: float, n_frames: int = 30) -> list[Frame1D]:
    """Frames t = 0 .. 1 morphing N(0, 1) into N(mu, sigma^2) while eps moves to z.

    Frame t has mean t mu and std 1 + t (sigma - 1), and the point sits at eps std_t + mean_t:
    the first frame is N(0, 1) with the point at eps, the last N(mu, sigma^2) with the point
    exactly at mu + sigma eps.
    """
    if sigma <= 0:
        raise ValueError("sigma must be positive")
    if n_frames < 2:
        raise ValueError("an animation needs at least 2 frames")
    x = animation_x_grid(mu, sigma, eps)
    frames = []
    for t in np.linspace(0.0, 1.0, n_frames):
        mean, std = (float(v) for v in _path(float(t), mu, sigma))
        point = float(reparameterize_np(mean, std, eps))
        label = (
            f"t = {t:.2f}: N({format_number(mean, 2)}, {format_number(std, 2)}²), "
            f"z = {format_number(mean, 2)} + {format_number(std, 2)} × {format_number(eps, 2)} "
            f"= {format_number(point, 2)}"
        )
        frames.append(Frame1D(x, normal_pdf(x, mean, std), point, label, mean, std))
    return frames


def sample_path(mu: np.ndarray, sigma: np.ndarray, eps: np.ndarray, n_frames: int = 30) -> np.ndarray:
    """(n_frames, D): one draw eps (D,) carried along the animations' path, from eps itself
    (frame 0) to z = mu + sigma * eps (last frame, exact): the latent point of every frame,
    for the page to decode as the animation plays."""
    t = np.linspace(0.0, 1.0, n_frames)[:, None]
    mean, std = _path(t, np.asarray(mu).reshape(1, -1), np.asarray(sigma).reshape(1, -1))
    return mean + std * np.asarray(eps, dtype=np.float64).reshape(1, -1)


def cloud_frames_2d(mu2: np.ndarray, sigma2: np.ndarray, eps: np.ndarray, n_frames: int = 30) -> np.ndarray:
    """(n_frames, N, 2): the eps ~ N(0, I) cloud (frame 0) carried along the same path as
    the 1-D animation to z = mu + sigma * eps, a sample of q(z|x) (last frame, exact)."""
    eps = np.asarray(eps, dtype=np.float64)
    if eps.ndim != 2 or eps.shape[1] != 2:
        raise ValueError("eps must have shape (N, 2)")
    t = np.linspace(0.0, 1.0, n_frames)[:, None, None]
    mean, std = _path(t, np.asarray(mu2).reshape(1, 1, 2), np.asarray(sigma2).reshape(1, 1, 2))
    return mean + std * eps[None]


class RunningKL(NamedTuple):
    """A Monte Carlo KL estimate as N grows, against the closed form."""

    ns: np.ndarray  # sample counts, log-spaced from 2 to n_max
    running_mean: np.ndarray  # mean of the first n samples
    running_stderr: np.ndarray  # standard error of that mean
    closed_form: float


def mc_kl_running(
    mu: np.ndarray | float, sigma: np.ndarray | float, n_max: int = 10_000, seed: int = 0, n_points: int = 200,
) -> RunningKL:
    """Estimate KL(q || N(0, I)) = E_eps[log q(z) - log p(z)], z = mu + sigma eps, from the
    first n of n_max draws of eps, for log-spaced n; total over dimensions when mu is a vector.

    By the change of variables z = mu + sigma eps (d eps / dz = 1 / sigma) the expectation
    over eps equals the one over z ~ q, so the mean tends to `kl_terms(mu, sigma).sum()` and
    its standard error shrinks like 1 / sqrt(n).
    """
    if n_max < 2:
        raise ValueError("n_max must be at least 2 (a standard error needs two samples)")
    mu_t = torch.as_tensor(np.atleast_1d(np.asarray(mu, dtype=np.float64)))
    log_var = 2.0 * torch.log(torch.as_tensor(np.atleast_1d(np.asarray(sigma, dtype=np.float64))))
    generator = torch.Generator().manual_seed(seed)
    samples = kl_monte_carlo(mu_t, log_var, n_max, generator).samples.numpy()  # (n_max,)
    shifted = samples - samples.mean()  # variance is shift-invariant; centring avoids cancellation
    n = np.arange(1, n_max + 1)
    s1, s2 = np.cumsum(shifted), np.cumsum(shifted**2)
    ns = np.unique(np.geomspace(2, n_max, n_points).round().astype(int))
    k = ns - 1
    var = np.maximum(s2[k] - s1[k] ** 2 / n[k], 0.0) / (n[k] - 1)
    return RunningKL(
        ns=ns,
        running_mean=s1[k] / n[k] + samples.mean(),
        running_stderr=np.sqrt(var / n[k]),
        closed_form=float(kl_terms(mu, sigma).sum()),
    )
