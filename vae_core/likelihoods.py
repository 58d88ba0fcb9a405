"""Decoder likelihoods p(x|z): what "-log p(x|z) in nats" means for each model.

The decoder outputs one logit l per pixel. Each likelihood turns it into a distribution on
the pixel's value x and into the image shown for z (the mean of p(x|z)):

- "bernoulli": p(x) = lam^x (1 - lam)^(1 - x), lam = sigmoid(l). A normalised density only
  for x in {0, 1}: on binarised data it is the standard likelihood (the one published
  binarised-MNIST log-likelihoods use); on grey pixels it is a cross-entropy, not a density.
- "continuous-bernoulli": the same kernel normalised on [0, 1] (Loaiza-Ganem & Cunningham
  2019): p(x) = C(lam) lam^x (1 - lam)^(1 - x) with C(lam) = 2 atanh(1 - 2 lam) / (1 - 2 lam).
  In logits C = l / tanh(l / 2), which is smooth through l = 0 (lam = 1/2, C = 2).
- "gaussian": N(x; sigmoid(l), sigma^2), the 1/2 log(2 pi sigma^2) constant included, sigma
  learned (one global or one per pixel) or fixed. Learned sigma is floored at SIGMA_MIN:
  pixels that are always 0 would otherwise drive it to 0 and the density to infinity.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from .config import ModelConfig

LIKELIHOODS = ("bernoulli", "continuous-bernoulli", "gaussian")
SIGMA_MODES = ("global", "pixel", "fixed")
LEGACY_RECON = {"bce": "bernoulli", "mse": "gaussian"}  # sidecars written before the likelihoods had names
SIGMA_MIN = 0.01
_LOG_2PI = math.log(2.0 * math.pi)
_SMALL_LOGIT = 1e-2  # below this |l| the series are exact to float64 rounding


class _BCEWithLogitsCPU(torch.autograd.Function):
    """Binary cross-entropy on logits, per element, for CPU tensors.

    Same values and gradients as `F.binary_cross_entropy_with_logits` (to float rounding),
    2.5x faster forward and backward on CPU, where torch's kernel spends its time in an
    unvectorised log_sigmoid: a third of a training step's non-matmul time. Stable form:
        bce(l, x) = max(l, 0) - l * x + log(1 + exp(-|l|)),  d/dl = sigmoid(l) - x.
    log(1 + e) rather than log1p(e): for e in (0, 1] they differ by under 1e-7 nats.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, logits: Tensor, target: Tensor) -> Tensor:
        ctx.save_for_backward(logits, target)
        softplus_neg_abs = logits.abs().neg_().exp_().add_(1.0).log_()
        return torch.addcmul(logits.clamp_min(0.0), logits, target, value=-1.0).add_(softplus_neg_abs)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        logits, target = ctx.saved_tensors
        grad_logits = torch.sigmoid(logits).sub_(target).mul_(grad) if ctx.needs_input_grad[0] else None
        grad_target = -logits * grad if ctx.needs_input_grad[1] else None
        return grad_logits, grad_target


def bernoulli_nll(logits: Tensor, x: Tensor) -> Tensor:
    """-[x log lam + (1 - x) log(1 - lam)] per element (on CPU our faster kernel)."""
    if logits.device.type == "cpu" and logits.shape == x.shape:
        return _BCEWithLogitsCPU.apply(logits, x)
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none")


def cb_log_norm(logits: Tensor) -> Tensor:
    """log C of the continuous Bernoulli, per element, stable at lam = 1/2.

    log C = log(l / tanh(l / 2)) = log|l| - log|tanh(l / 2)|; near l = 0 both logs diverge,
    so there the series log 2 + l^2 / 12 - 7 l^4 / 1440 is used instead.
    """
    small = logits.abs() < _SMALL_LOGIT
    safe = torch.where(small, torch.ones_like(logits), logits)
    exact = torch.log(safe.abs()) - torch.log(torch.tanh(safe / 2).abs())
    l2 = logits * logits
    series = math.log(2.0) + l2 / 12 - 7 * l2 * l2 / 1440
    return torch.where(small, series, exact)


def cb_mean(logits: Tensor) -> Tensor:
    """E[x] under the continuous Bernoulli: lam / (2 lam - 1) + 1 / (2 atanh(1 - 2 lam)),
    in logits sigmoid(l) / tanh(l / 2) - 1 / l; near l = 0 the series 1/2 + l / 12 - l^3 / 720."""
    small = logits.abs() < _SMALL_LOGIT
    safe = torch.where(small, torch.ones_like(logits), logits)
    exact = torch.sigmoid(safe) / torch.tanh(safe / 2) - 1 / safe
    series = 0.5 + logits / 12 - logits.pow(3) / 720
    return torch.where(small, series, exact).clamp(0.0, 1.0)


def gaussian_nll(logits: Tensor, x: Tensor, log_sigma: Tensor) -> Tensor:
    """-log N(x; sigmoid(l), sigma^2) per element, the normalising constant included."""
    sigma_sq = torch.exp(2 * log_sigma)
    return 0.5 * (torch.sigmoid(logits) - x).pow(2) / sigma_sq + log_sigma + 0.5 * _LOG_2PI


def neg_log_likelihood(
    logits: Tensor, x: Tensor, likelihood: str = "bernoulli", log_sigma: Tensor | None = None,
) -> Tensor:
    """-log p(x|z) per image, shape (N,), in nats: logits and x are (N, C, H, W).

    `log_sigma` (broadcastable to one image) is needed by the Gaussian alone.
    """
    likelihood = LEGACY_RECON.get(likelihood, likelihood)
    if likelihood == "bernoulli":
        per_pixel = bernoulli_nll(logits, x)
    elif likelihood == "continuous-bernoulli":
        per_pixel = bernoulli_nll(logits, x) - cb_log_norm(logits)
    elif likelihood == "gaussian":
        if log_sigma is None:
            raise ValueError("the Gaussian likelihood needs log_sigma")
        per_pixel = gaussian_nll(logits, x, log_sigma)
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}")
    return per_pixel.reshape(x.shape[0], -1).sum(dim=1)


def mean_image(logits: Tensor, likelihood: str = "bernoulli") -> Tensor:
    """The mean of p(x|z): the image shown for z, in [0, 1]."""
    if LEGACY_RECON.get(likelihood, likelihood) == "continuous-bernoulli":
        return cb_mean(logits)
    return torch.sigmoid(logits)


def describe_likelihood(config: ModelConfig) -> str:
    """What a model's "nats" are nats of, in words for a page or a model card."""
    levels = "RGB pixel values" if config.image_shape[0] == 3 else "grey pixels"
    data = "binarised pixels (thresholded at 1/2)" if config.binarize else levels
    if config.recon == "bernoulli":
        if config.binarize:
            return f"Bernoulli on {data}"
        return f"Bernoulli cross-entropy on {levels} (not a normalised density of the image)"
    if config.recon == "continuous-bernoulli":
        return f"continuous Bernoulli on {data} (a density on [0, 1])"
    sigma = {"global": "one learned σ", "pixel": "a learned σ per pixel"}.get(
        config.sigma, f"σ fixed at {config.fixed_sigma:g}")
    return f"Gaussian on {data}, {sigma} (a density on the real line)"


def is_normalised(config: ModelConfig) -> bool:
    """Whether log p(x) is a true log probability (mass or density) of the data the model sees."""
    return config.recon != "bernoulli" or config.binarize


def published_comparison(config: ModelConfig, dataset: str) -> str | None:
    """When this model's log p(x) is on the scale of published binarised-MNIST figures, and how far."""
    if dataset != "mnist" or config.recon != "bernoulli" or not config.binarize:
        return None
    return ("Same likelihood and units as published binarised-MNIST test log-likelihoods (Bernoulli, nats per "
            "image), not the same protocol: pixels here are thresholded at 1/2 (published figures sample them, "
            "a harder task), and published models train on MNIST's 60,000 training images and test on its "
            "10,000 test images (this model's split is on its card).")
