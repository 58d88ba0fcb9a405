"""vae_core.units: mean KL per dimension and active units, against references computed another way."""
from __future__ import annotations

import numpy as np
import torch

from vae_core import ModelConfig, build_model, kl_monte_carlo, load_dataset
from vae_core.inference import encode_images
from vae_core.units import unit_activity


def test_activity_is_the_covariance_of_mu_and_kl_the_monte_carlo_mean() -> None:
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(400, 3)) * np.array([1.0, 0.05, 0.2])  # variances 1, 0.0025, 0.04
    log_var = rng.normal(scale=0.3, size=(400, 3)) - 1.0
    units = unit_activity(mu, log_var)
    np.testing.assert_allclose(units.activity, np.diag(np.cov(mu, rowvar=False, bias=True)), rtol=1e-10)
    assert units.active.tolist() == [True, False, True] and units.n_active == 2
    # the KL of a diagonal Gaussian is the sum of its dims': each dim's closed form vs Monte Carlo
    for i in range(3):
        mc = kl_monte_carlo(torch.tensor(mu[:, i:i + 1]), torch.tensor(log_var[:, i:i + 1]), n_samples=4000,
                            generator=torch.Generator().manual_seed(i))
        stderr = mc.stderr.pow(2).sum().sqrt().item() / len(mu)
        assert abs(mc.mean.mean().item() - units.mean_kl[i]) < 4 * stderr, (i, mc.mean.mean().item(), units.mean_kl[i])


def test_an_untrained_model_on_real_digits_has_units_of_both_kinds() -> None:
    torch.manual_seed(0)
    data = load_dataset("digits")
    model = build_model(ModelConfig(image_shape=data.image_shape, latent_dim=8)).eval()
    with torch.no_grad():
        model.enc_stats.weight[4:8] = 0  # mu_4..7 no longer depend on the image
    mu, log_var = encode_images(model, data.floats())
    units = unit_activity(mu, log_var)
    assert not units.active[4:].any() and np.allclose(units.activity[4:], 0.0, atol=1e-12)
    np.testing.assert_allclose(units.activity[:4], mu[:, :4].astype(np.float64).var(axis=0), rtol=1e-5)
    assert (units.mean_kl >= 0).all()
