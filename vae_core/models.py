"""The networks: a VAE base with the pytorch/examples interface and two variants.

Interface (Kingma & Welling 2014): `encode(x) -> (mu, log_var)` where the encoder's second
head is the log *variance* log sigma^2; `reparameterize` draws z = mu + sigma * eps with
sigma = exp(log_var / 2); `decode(z)` returns the image shown for z, the mean of p(x|z), in
[0, 1]. `forward` returns decoder *logits*; `neg_log_likelihood` turns them into -log p(x|z)
under the model's likelihood (vae_core.likelihoods), with its learned sigma if it has one.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .config import ModelConfig
from .likelihoods import SIGMA_MIN, mean_image, neg_log_likelihood


class VAE(nn.Module):
    """Base class: subclasses build `enc` (x -> features), `enc_stats` (features ->
    [mu | log_var], one matmul for both heads) and `dec` (z -> logits)."""

    enc: nn.Module
    enc_stats: nn.Module
    dec: nn.Module

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        if config.recon == "gaussian" and config.sigma != "fixed":
            shape = (1, 1, 1) if config.sigma == "global" else config.image_shape
            self.log_sigma = nn.Parameter(torch.full(shape, math.log(0.1)))

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def observe(self, x: Tensor) -> Tensor:
        """x as the likelihood sees it: thresholded at 1/2 for a binarised-data model."""
        return (x > 0.5).to(x.dtype) if self.config.binarize else x

    def decoder_log_sigma(self) -> Tensor | None:
        """log sigma of a Gaussian decoder (learned ones floored at SIGMA_MIN); None otherwise."""
        if self.config.recon != "gaussian":
            return None
        if self.config.sigma == "fixed":
            return torch.tensor(math.log(self.config.fixed_sigma))
        return self.log_sigma.clamp_min(math.log(SIGMA_MIN))

    def neg_log_likelihood(self, logits: Tensor, x: Tensor) -> Tensor:
        """-log p(x|z) per image (N,) in nats for decoder logits (N, C, H, W) and images x."""
        return neg_log_likelihood(logits, self.observe(x), self.config.recon, self.decoder_log_sigma())

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (N, C, H, W) in [0, 1] -> mu (N, D), log_var (N, D)."""
        mu, log_var = self.enc_stats(self.enc(self.observe(x))).chunk(2, dim=1)
        return mu, log_var

    def decode_logits(self, z: Tensor) -> Tensor:
        """z (N, D) -> logits (N, C, H, W)."""
        return self.dec(z).view(-1, *self.config.image_shape)

    def decode(self, z: Tensor) -> Tensor:
        """z (N, D) -> the mean of p(x|z), an image (N, C, H, W) in [0, 1]."""
        return mean_image(self.decode_logits(z), self.config.recon)

    @staticmethod
    def reparameterize(mu: Tensor, log_var: Tensor, eps: Tensor | None = None) -> Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I) unless a chosen eps is given.

        Gradients flow to mu and log_var through z; eps carries the randomness.
        """
        if eps is None:
            eps = torch.randn_like(mu)
        return mu + torch.exp(0.5 * log_var) * eps

    def forward(self, x: Tensor, eps: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """x -> (recon_logits, mu, log_var)."""
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var, eps)
        return self.decode_logits(z), mu, log_var


class MLPVAE(VAE):
    """pytorch/examples' VAE: pixels -> hidden -> (mu, log_var); z -> hidden -> pixels."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        n_pixels = math.prod(config.image_shape)
        h, d = config.hidden_dim, config.latent_dim
        self.enc = nn.Sequential(nn.Flatten(), nn.Linear(n_pixels, h), nn.ReLU())
        self.enc_stats = nn.Linear(h, 2 * d)
        self.dec = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, n_pixels))


def conv_plan(side: int, base_channels: int) -> tuple[list[int], int]:
    """Channels after each stride-2 conv and the final side: halve while the side exceeds 7.

    28 -> 14 -> 7 (the MNIST layout, kept as it was so shipped weights load unchanged);
    32 -> 16 -> 8 -> 4; 64 -> 32 -> 16 -> 8 -> 4. Channels double once, then stay, so a
    64x64 model is barely larger than a 28x28 one.
    """
    channels = []
    while side > 7:
        channels.append(base_channels * (1 if not channels else 2))
        side //= 2
    return channels, side


class ConvVAE(VAE):
    """A small convolutional VAE for C x H x W (C = 1 or 3, H = W = 28, 32 or 64): stride-2
    convs down to 7x7 or 4x4, a linear bottleneck, and transposed convs back up."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c, side, _ = config.image_shape
        channels, low = conv_plan(side, max(8, config.hidden_dim // 8))  # hidden_dim=128 -> 16 and 32 channels
        d, h = config.latent_dim, config.hidden_dim
        flat = channels[-1] * low * low
        down: list[nn.Module] = []
        for c_in, c_out in zip([c, *channels], channels):
            down += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]  # side -> side / 2
        up: list[nn.Module] = []
        for c_in, c_out in zip(channels[::-1], [*channels[-2::-1], c]):
            up += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]  # side -> 2 side
        self.enc = nn.Sequential(*down, nn.Flatten(), nn.Linear(flat, h), nn.ReLU())
        self.enc_stats = nn.Linear(h, 2 * d)
        self.dec = nn.Sequential(
            nn.Linear(d, h), nn.ReLU(), nn.Linear(h, flat), nn.ReLU(), nn.Unflatten(1, (channels[-1], low, low)),
            *up[:-1],  # logits: no ReLU after the last layer
        )


MODEL_CLASSES: dict[str, type[VAE]] = {"mlp": MLPVAE, "conv": ConvVAE}


def build_model(config: ModelConfig) -> VAE:
    """Rebuild the network a config describes (weights are loaded separately)."""
    return MODEL_CLASSES[config.arch](config)
