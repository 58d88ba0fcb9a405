"""latent_ops: interpolation paths, traversals, the prior grid, tiling, dim ranking."""
import numpy as np
import pytest
import torch
from scipy.stats import chi2, norm

from vae_core.latent_ops import (
    enlarge, lerp, lerp_midpoint_percentile, prior_grid, prior_quantiles, rank_dims, sample_prior, slerp, tile_images, traversal,
    traversal_rows,
)

RNG = np.random.default_rng(0)


def test_lerp_ends_and_midpoint_is_the_mean():
    a, b = RNG.standard_normal(5), RNG.standard_normal(5)
    path = lerp(a, b, 5)
    assert path.shape == (5, 5)
    np.testing.assert_allclose(path[0], a)
    np.testing.assert_allclose(path[-1], b)
    np.testing.assert_allclose(path[2], (a + b) / 2)


@pytest.mark.parametrize("d", [2, 16])
@pytest.mark.parametrize("scale_b", [1.0, 0.3, 2.5])
def test_slerp_norms_stay_between_the_endpoints(d, scale_b):
    a = RNG.standard_normal(d)
    b = RNG.standard_normal(d) * scale_b
    path = slerp(a, b, 11)
    assert np.array_equal(path[0], a) and np.array_equal(path[-1], b)
    norms = np.linalg.norm(path, axis=1)
    lo, hi = sorted((np.linalg.norm(a), np.linalg.norm(b)))
    assert np.all(norms >= lo - 1e-9) and np.all(norms <= hi + 1e-9)
    assert np.all(np.diff(norms) * np.sign(norms[-1] - norms[0]) >= -1e-9)  # monotone


def test_slerp_equal_norms_stays_on_the_sphere_and_matches_the_classic_formula():
    a, b = np.array([2.0, 0.0]), np.array([0.0, 2.0])
    path = slerp(a, b, 3)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 2.0)
    np.testing.assert_allclose(path[1], [np.sqrt(2), np.sqrt(2)])  # half the angle


@pytest.mark.parametrize("b", [np.array([2.0, 2.0]), np.array([-1.0, -1.0]), np.array([0.0, 0.0])])
def test_slerp_falls_back_to_lerp_without_a_unique_arc(b):
    a = np.array([1.0, 1.0])
    np.testing.assert_allclose(slerp(a, b, 7), lerp(a, b, 7))


def test_traversal_changes_only_one_dim():
    z = np.arange(4.0)
    out = traversal(z, 2, [-1.0, 0.5, 3.0])
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out[:, 2], [-1.0, 0.5, 3.0])
    np.testing.assert_array_equal(np.delete(out, 2, axis=1), np.tile(np.delete(z, 2), (3, 1)))
    assert z[2] == 2.0  # the input is not mutated


def test_traversal_rows_span_center_plus_minus_width_scale():
    z = np.zeros(3)
    center, scale = np.array([0.0, 1.0, -1.0]), np.array([1.0, 0.5, 2.0])
    rows = traversal_rows(z, [2, 1], center, scale, n=5, width=3.0)
    assert rows.shape == (10, 3)
    np.testing.assert_allclose(rows[:5, 2], np.linspace(-7.0, 5.0, 5))
    np.testing.assert_allclose(rows[5:, 1], np.linspace(-0.5, 2.5, 5))


@pytest.mark.parametrize("n", [1, 2, 7, 20])
def test_prior_quantiles_are_symmetric_with_equal_mass_spacing(n):
    q = prior_quantiles(n)
    np.testing.assert_allclose(q, -q[::-1], atol=1e-12)
    np.testing.assert_allclose(norm.cdf(q), (np.arange(n) + 0.5) / n)  # 1/n of the mass apart
    assert np.all(np.diff(q) > 0)


def test_prior_grid_layout():
    n = 4
    grid = prior_grid(n)
    q = prior_quantiles(n)
    assert grid.shape == (n * n, 2)
    cells = grid.reshape(n, n, 2)
    np.testing.assert_allclose(cells[0, :, 0], q)  # z[0] grows to the right
    np.testing.assert_allclose(cells[:, 0, 1], q[::-1])  # z[1] grows upwards
    np.testing.assert_allclose(grid.mean(axis=0), 0.0, atol=1e-12)


def test_tile_images_shape_separators_and_placement():
    images = np.stack([np.full((3, 2), i / 10) for i in range(5)])
    tiled = tile_images(images, ncols=3, sep_value=1.0)
    assert tiled.shape == (2 * 4 - 1, 3 * 3 - 1)
    np.testing.assert_array_equal(tiled[3, :], 1.0)  # row separator
    np.testing.assert_array_equal(tiled[:, 2], 1.0)  # column separator
    np.testing.assert_array_equal(tiled[4:7, 3:5], 0.4)  # image 4 at row 1, col 1
    np.testing.assert_array_equal(tiled[4:7, 6:8], 1.0)  # empty slot


def test_tile_images_single_row_has_no_separator_rows():
    assert tile_images(np.zeros((3, 5, 5)), ncols=10).shape == (5, 3 * 6 - 1)


def test_enlarge_repeats_pixels():
    image = np.array([[0.0, 1.0], [0.5, 0.25]])
    big = enlarge(image, 3)
    assert big.shape == (6, 6)
    np.testing.assert_array_equal(big[3:, :3], 0.5)
    assert enlarge(np.zeros((4, 2, 2)), 2).shape == (4, 4, 4)


def test_rank_dims_orders_by_mean_kl():
    n = 500
    mu = np.stack([RNG.normal(0, 0.5, n), np.zeros(n), RNG.normal(0, 2.0, n)], axis=1)
    log_var = np.stack([np.full(n, -2.0), np.zeros(n), np.full(n, -4.0)], axis=1)
    # dim 1 is the prior itself (KL 0); dim 2 is the most spread and the most certain
    np.testing.assert_array_equal(rank_dims(mu, log_var), [2, 0, 1])


def test_rank_dims_ties_keep_index_order():
    assert list(rank_dims(np.zeros((4, 3)), np.zeros((4, 3)))) == [0, 1, 2]


def test_sample_prior_is_reproducible_per_generator():
    a = sample_prior(6, np.random.default_rng(3))
    b = sample_prior(6, np.random.default_rng(3))
    assert a.shape == (6,) and np.array_equal(a, b)


@pytest.mark.parametrize("d,expected", [(2, 0.2929), (8, 0.1146), (16, 0.0419)])
def test_lerp_midpoint_percentile_against_sampling(d: int, expected: float) -> None:
    """Closed form against 200,000 pairs of prior draws; 2-D is 1 - 2^(-1/2) exactly."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 200_000, d))
    mid_r2 = (((a + b) / 2) ** 2).sum(axis=1)
    sampled = np.median(chi2.cdf(mid_r2, d))
    assert lerp_midpoint_percentile(d) == pytest.approx(expected, abs=1e-4)
    assert lerp_midpoint_percentile(d) == pytest.approx(sampled, abs=0.005)
    if d == 2:
        assert lerp_midpoint_percentile(2) == pytest.approx(1 - 2**-0.5, abs=1e-12)


def test_enlarge_and_tile_keep_colour_images_whole() -> None:
    from vae_core.inference import to_display
    from vae_core.latent_ops import enlarge, tile_images

    batch = torch.rand(5, 3, 8, 8)
    shown = to_display(batch)
    assert shown.shape == (5, 8, 8, 3) and np.array_equal(shown[2, 3, 4], batch[2, :, 3, 4].numpy())
    assert to_display(batch[:, :1]).shape == (5, 8, 8)
    big = enlarge(shown, 3)
    assert big.shape == (5, 24, 24, 3) and np.array_equal(big[1, 7, 8], shown[1, 2, 2])
    assert enlarge(shown[0], 2).shape == (16, 16, 3) and enlarge(shown[0, ..., 0], 2).shape == (16, 16)
    grid = tile_images(shown, ncols=3)
    assert grid.shape == (17, 26, 3)
    assert np.array_equal(grid[9:17, 9:17], shown[4]) and (grid[9:17, 18:26] == 1.0).all()
    gray = tile_images(shown[..., 0], ncols=3)
    assert np.array_equal(gray, grid[..., 0])
