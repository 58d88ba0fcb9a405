"""MIG on codes whose answer is known, and its parts against sklearn's estimates."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from vae_core.disentangle import discretise, entropy, mi_matrix, mutual_information, mutual_information_gap
from vae_core.shapes import FACTOR_NAMES, sample_factors

N = 4000


@pytest.fixture(scope="module")
def factors() -> np.ndarray:
    return sample_factors(N, seed=1)


def test_mutual_information_and_entropy_match_sklearn(factors: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    codes = factors[:, :3] + rng.normal(0, 0.7, (N, 3))
    binned = discretise(codes)
    assert binned.min() == 0 and binned.max() == 19
    for j in range(3):
        for k in range(factors.shape[1]):
            assert mutual_information(binned[:, j], factors[:, k]) == pytest.approx(
                mutual_info_score(binned[:, j], factors[:, k]), abs=1e-12)
    expected = [[mutual_info_score(binned[:, j], f) for f in factors.T] for j in range(3)]
    assert mi_matrix(binned, factors) == pytest.approx(np.array(expected), abs=1e-12)
    assert entropy(factors[:, 0]) == pytest.approx(mutual_info_score(factors[:, 0], factors[:, 0]), abs=1e-12)


def test_a_perfectly_disentangled_code_scores_near_one(factors: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    # each factor in its own dimension, scaled, shifted and jittered within its level; 4 unused dims
    own = (factors + rng.uniform(0, 0.5, factors.shape)) * [3.0, -0.2, 1.0, 7.0, 0.5, -1.0] + 4.0
    codes = np.concatenate([own, rng.normal(size=(N, 4))], axis=1)
    result = mutual_information_gap(codes, factors, FACTOR_NAMES)
    assert result.mig > 0.97 and result.mig_se < 0.02
    assert result.dim_factors() == [*FACTOR_NAMES, None, None, None, None]
    assert result.normalised_mi[np.arange(6), np.arange(6)] == pytest.approx(1.0, abs=0.02)


def test_a_random_code_scores_near_zero(factors: np.ndarray) -> None:
    codes = np.random.default_rng(0).normal(size=(N, 10))
    result = mutual_information_gap(codes, factors, FACTOR_NAMES)
    assert result.mig < 0.03 and result.dim_factors() == [None] * 10


def test_a_factor_copied_into_two_dimensions_has_no_gap(factors: np.ndarray) -> None:
    codes = np.concatenate([factors.astype(float), factors[:, :1].astype(float)], axis=1)
    result = mutual_information_gap(codes, factors, FACTOR_NAMES)
    assert result.gaps[0] == pytest.approx(0.0, abs=1e-12) and result.gaps[1:] == pytest.approx(1.0, abs=0.01)
    assert result.mig == pytest.approx(5 / 6, abs=0.01)


def test_mixing_two_factors_into_one_dimension_lowers_both_gaps(factors: np.ndarray) -> None:
    codes = factors.astype(float)
    codes[:, 4] = factors[:, 4] + factors[:, 5]  # x and y summed in one dimension, none for either alone
    codes[:, 5] = np.random.default_rng(0).normal(size=N)
    result = mutual_information_gap(codes, factors, FACTOR_NAMES)
    assert result.gaps[:4] == pytest.approx(1.0, abs=0.01)
    assert result.gaps[4] < 0.7 and result.gaps[5] < 0.7


def test_constant_factors_are_left_out_and_bad_shapes_refused(factors: np.ndarray) -> None:
    fixed = factors.copy()
    fixed[:, 2] = 0
    result = mutual_information_gap(fixed.astype(float), fixed, FACTOR_NAMES)
    assert "scale" not in result.factor_names and result.mig == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ValueError):
        mutual_information_gap(np.zeros((N, 1)), factors, FACTOR_NAMES)
    with pytest.raises(ValueError):
        mutual_information_gap(np.zeros((N, 3)), factors, FACTOR_NAMES[:2])


def test_sidecar_round_trip_keeps_the_labels_and_refuses_nonsense(factors: np.ndarray) -> None:
    from vae_core.disentangle import Disentanglement

    codes = np.concatenate([factors.astype(float), np.random.default_rng(0).normal(size=(N, 2))], axis=1)
    result = mutual_information_gap(codes, factors, FACTOR_NAMES, n_bootstrap=5)
    back = Disentanglement.from_dict(result.to_dict())
    assert back.dim_factors() == result.dim_factors() == [*FACTOR_NAMES, None, None]
    assert back.mig == pytest.approx(result.mig, abs=1e-4) and back.gaps == pytest.approx(result.gaps, abs=1e-3)
    for broken in ({}, {**result.to_dict(), "entropies": [1.0]}, {**result.to_dict(), "mi": "x"}):
        with pytest.raises(ValueError):
            Disentanglement.from_dict(broken)
    assert back.dim_label(4) == "x (1.00 ± 0.00 of its entropy)" and back.dim_label(7) == "no factor"
    assert back.gaps_se == pytest.approx(result.gaps_se, abs=1e-4)
    old = {key: value for key, value in result.to_dict().items() if key not in ("gaps_se", "normalised_mi_se")}
    assert Disentanglement.from_dict(old).dim_label(4) == "x (1.00 of its entropy)"  # files from before the errors


def test_bootstrap_errors_match_the_spread_over_fresh_data_sets() -> None:
    """Each factor's gap and each normalised MI vary over independent draws of the data about as
    much as the bootstrap of one draw says (the errors the Explore page prints beside them)."""
    def noisy_code(seed: int) -> tuple[np.ndarray, np.ndarray]:
        f = sample_factors(1000, seed=seed)
        rng = np.random.default_rng(seed)
        return f + rng.normal(0, 1.0, f.shape) * [0.3, 1.0, 0.5, 2.0, 1.0, 1.0], f

    fresh = [mutual_information_gap(*noisy_code(seed), FACTOR_NAMES, n_bootstrap=1) for seed in range(12)]
    one = mutual_information_gap(*noisy_code(99), FACTOR_NAMES, n_bootstrap=60)
    spread_gaps = np.std([r.gaps for r in fresh], axis=0, ddof=1)
    spread_nmi = np.std([np.diag(r.normalised_mi) for r in fresh], axis=0, ddof=1)
    assert one.gaps_se == pytest.approx(spread_gaps, rel=0.6)
    assert np.diag(one.normalised_mi_se) == pytest.approx(spread_nmi, rel=0.6)
    assert one.mig_se == pytest.approx(np.std([r.mig for r in fresh], ddof=1), rel=0.6)
