"""Which latent dimensions a model uses: mean KL per dimension and active units.

Burda, Grosse & Salakhutdinov (2016, "Importance Weighted Autoencoders", sec. 5.2) call
dimension i active when A_i = Cov_x(E_{q(z|x)}[z_i]) > 0.01: the encoder's mean moves with
the input. E_q[z_i] is mu_i, so A_i is the variance of mu_i over the data. Both numbers are
exact for the data set they are computed on (closed forms averaged over every image).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .losses import kl_per_dim

ACTIVE_THRESHOLD = 0.01  # Burda et al. 2016


@dataclass(frozen=True, eq=False)
class UnitActivity:
    """Per latent dimension (D,): the data's mean KL(q(z_i|x) || N(0, 1)) in nats, and A_i."""

    mean_kl: np.ndarray
    activity: np.ndarray  # variance of mu_i over the data
    threshold: float = ACTIVE_THRESHOLD

    @property
    def active(self) -> np.ndarray:
        return self.activity > self.threshold

    @property
    def n_active(self) -> int:
        return int(self.active.sum())


def unit_activity(mu: np.ndarray, log_var: np.ndarray) -> UnitActivity:
    """From the codes (N, D) of a data set: population variance of mu (ddof 0) and mean KL per dim."""
    mu_t = torch.as_tensor(np.asarray(mu), dtype=torch.float64)
    log_var_t = torch.as_tensor(np.asarray(log_var), dtype=torch.float64)
    kl = kl_per_dim(mu_t, log_var_t).mean(dim=0).numpy()
    return UnitActivity(kl, mu_t.var(dim=0, unbiased=False).numpy())
