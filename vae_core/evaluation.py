"""The figures a checkpoint reports about itself, measured once on its test split.

The best epoch is chosen on a validation split; only then is the saved model read on the
test split, with many draws of eps per image: the ELBO (mean over images +- its standard
error) and the IWAE estimate of log p(x) with K samples per image (+- standard error).
Both are in nats per image of the model's own likelihood (vae_core.likelihoods).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from .metadata import CheckpointMeta
from .likelihoods import describe_likelihood, is_normalised, published_comparison
from .losses import importance_log_px, kl_closed_form
from .models import VAE

IWAE_K = 128  # draws of z per image: the ELBO averages them, the IWAE bound weighs them
_DECODES_PER_BATCH = 4096


@dataclass(frozen=True)
class ReportedFigures:
    """Test-split figures, in nats per image; standard errors are over the test images."""

    likelihood: str  # what the nats measure, in words
    n_images: int
    iwae_k: int
    elbo: float
    elbo_se: float
    log_px_iwae: float  # an estimate (a lower bound in expectation), never the exact log p(x)
    log_px_iwae_se: float
    recon: float  # -E_q log p(x|z)
    kl: float  # KL(q(z|x) || p(z))
    heavy_tailed_fraction: float  # share of images whose importance weights have a tiny ESS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean_se(values: torch.Tensor) -> tuple[float, float]:
    return float(values.mean()), float(values.std() / math.sqrt(len(values))) if len(values) > 1 else math.nan


@torch.inference_mode()
def reported_figures(model: VAE, images: torch.Tensor, k: int = IWAE_K, seed: int = 0) -> ReportedFigures:
    """ELBO and IWAE log p(x) of `model` over `images` (N, C, H, W), K draws of z per image."""
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device).manual_seed(seed)
    per_batch = max(1, _DECODES_PER_BATCH // k)
    parts: dict[str, list[torch.Tensor]] = {"elbo": [], "iwae": [], "kl": [], "heavy": []}
    for start in range(0, len(images), per_batch):
        x = images[start:start + per_batch].to(device)
        est = importance_log_px(model, x, k, generator)
        mu, log_var = model.encode(x)
        parts["elbo"].append(est.elbo.cpu())
        parts["iwae"].append(est.log_px.cpu())
        parts["kl"].append(kl_closed_form(mu, log_var).double().cpu())
        parts["heavy"].append(est.heavy_tailed().double().cpu())
    elbo, iwae, kl = (torch.cat(parts[name]) for name in ("elbo", "iwae", "kl"))
    elbo_mean, elbo_se = _mean_se(elbo)
    iwae_mean, iwae_se = _mean_se(iwae)
    return ReportedFigures(
        likelihood=describe_likelihood(model.config), n_images=len(images), iwae_k=k, elbo=elbo_mean,
        elbo_se=elbo_se, log_px_iwae=iwae_mean, log_px_iwae_se=iwae_se, recon=-elbo_mean - float(kl.mean()),
        kl=float(kl.mean()), heavy_tailed_fraction=float(torch.cat(parts["heavy"]).mean()),
    )


def card_lines(meta: CheckpointMeta) -> list[str]:
    """What a model card says about a checkpoint's figures, each labelled: which likelihood,
    nats per image, exact or estimated, with its standard error and where it was measured."""
    config = meta.model
    lines = [f"**Likelihood**: {describe_likelihood(config)}"]
    final, test, split = meta.final or {}, meta.test, meta.split
    if split:
        lines.append(f"**Split**: {split['train']:,} train, {split['val']:,} validation, {split['test']:,} test images")
    if "val_loss" in final:
        lines.append(f"**Best epoch**: {final['best_epoch']}, chosen on the validation loss "
                     f"({final['val_loss']:.2f} nats/image)")
    elif "test_loss" in final:
        lines.append(f"**Held-out loss**: {final['test_loss']:.2f} nats/image at epoch {final['best_epoch']}, one "
                     "draw of z per image; the epoch was chosen on the same images, so it is optimistic")
    if test:
        lines.append(f"**Test ELBO**: {test['elbo']:.2f} ± {test['elbo_se']:.2f} nats/image (mean ± s.e. over "
                     f"{test['n_images']:,} test images, {test['iwae_k']} draws of z each)")
        lines.append(f"**Test log p(x)**: {test['log_px_iwae']:.2f} ± {test['log_px_iwae_se']:.2f} nats/image, "
                     f"estimated (IWAE, K = {test['iwae_k']})")
        if test.get("heavy_tailed_fraction", 0.0) > 0:
            lines.append(f"{test['heavy_tailed_fraction']:.1%} of test images have heavy-tailed importance "
                         "weights: their IWAE figures are unreliable")
    if not is_normalised(config):
        lines.append("These nats are a cross-entropy of pixel values in [0, 1], not a log probability of the image")
    note = published_comparison(config, meta.dataset)
    if note:
        lines.append(note)
    return lines
