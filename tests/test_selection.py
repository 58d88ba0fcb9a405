"""vae_core.selection: filters, box and lasso, and the prior's holes against known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from vae_core.selection import aggregate_log_density, filter_mask, in_box, in_lasso, parse_indices, prior_holes


def test_indices_parse_ranges_and_refuse_bad_text() -> None:
    np.testing.assert_array_equal(parse_indices("3, 10-12,3", 20), [3, 10, 11, 12])
    assert len(parse_indices(" ", 5)) == 0
    for text, message in (("x", "not an index"), ("4-2", "backwards"), ("19-20", "outside 0-19")):
        with pytest.raises(ValueError, match=message):
            parse_indices(text, 20)


def test_filter_by_label_and_index() -> None:
    labels = np.array([0, 1, 2, 1, 0])
    assert filter_mask(labels, [1]).tolist() == [False, True, False, True, False]
    assert filter_mask(labels, None, np.array([0, 3])).tolist() == [True, False, False, True, False]
    assert filter_mask(labels, [0], np.array([0, 3])).tolist() == [True, False, False, False, False]


def test_box_and_lasso_against_a_grid() -> None:
    g = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0)), axis=-1).reshape(-1, 2) + 0.5
    assert len(in_box(g, (2, 5), (7, 1))) == 3 * 6
    triangle = np.array([[0, 0], [10, 0], [0, 10]])  # x + y < 10: cells whose centre sums below 10
    np.testing.assert_array_equal(in_lasso(g, triangle), np.flatnonzero(g.sum(axis=1) < 10))
    square = np.array([[2, 2], [6, 2], [6, 6], [2, 6]])
    np.testing.assert_array_equal(in_lasso(g, square), in_box(g, (2, 6), (2, 6)))
    assert len(in_lasso(g, square[:2])) == 0


def test_aggregate_density_is_the_mixture_of_the_codes_gaussians() -> None:
    rng = np.random.default_rng(0)
    mu, log_var, z = rng.normal(size=(5, 3)), rng.normal(scale=0.5, size=(5, 3)), rng.normal(size=(7, 3))
    expected = np.log(np.mean([multivariate_normal(m, np.diag(np.exp(v))).pdf(z) for m, v in zip(mu, log_var)], axis=0))
    np.testing.assert_allclose(aggregate_log_density(z, mu, log_var, chunk=3), expected, rtol=1e-10)


def test_holes_none_when_q_is_the_prior_and_half_when_q_covers_half_the_line() -> None:
    n = 4000
    prior_like = prior_holes(np.zeros((n, 2)), np.zeros((n, 2)), n_samples=500)
    assert prior_like.fraction == 0.0
    # every code sits right of 0 along z_0, tightly: a sample left of 0 finds no q there
    mu = np.abs(np.random.default_rng(1).standard_normal((n, 2)))
    mu[:, 1] = np.random.default_rng(2).standard_normal(n)
    holes = prior_holes(mu, np.full((n, 2), math.log(0.05**2)), n_samples=2000, seed=3)
    left = holes.z[:, 0] < -0.3
    assert holes.in_hole[left].all()
    assert abs(holes.fraction - 0.5) < 4 * holes.stderr + 0.1
