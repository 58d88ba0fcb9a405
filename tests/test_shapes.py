"""The procedural shapes: deterministic, and each factor changes the image as its name says."""
from __future__ import annotations

import numpy as np
import pytest

from vae_core import shapes
from vae_core.shapes import FACTOR_NAMES, FACTOR_SIZES, make_shapes, sample_factors


def test_same_seed_same_bytes_and_prefixes_agree() -> None:
    a, b = make_shapes(40, seed=3), make_shapes(40, seed=3)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.factors, b.factors)
    small = make_shapes(7, seed=3)
    assert np.array_equal(small.images, a.images[:7]) and np.array_equal(small.factors, a.factors[:7])
    assert not np.array_equal(make_shapes(40, seed=4).factors, a.factors)


def test_factors_cover_their_levels_independently() -> None:
    factors = sample_factors(20_000)
    assert factors.shape == (20_000, len(FACTOR_NAMES)) and factors.dtype == np.int64
    for k, size in enumerate(FACTOR_SIZES):
        counts = np.bincount(factors[:, k], minlength=size)
        assert len(counts) == size and counts.min() > 0.8 * 20_000 / size
    assert abs(np.corrcoef(factors.T)[np.triu_indices(len(FACTOR_NAMES), 1)]).max() < 0.05


def _one(**levels: int) -> np.ndarray:
    """The image (3, 64, 64) float of one choice of levels (the rest at level 0...2)."""
    chosen = {"shape": 0, "hue": 0, "scale": 2, "rotation": 0, "x": 3, "y": 3, **levels}
    factors = np.array([[chosen[name] for name in FACTOR_NAMES]], dtype=np.int64)
    return shapes._draw(factors, 64)[0].astype(np.float64) / 255.0


def test_each_factor_moves_the_image_as_named() -> None:
    base = _one()
    mass = base.sum(axis=0)
    assert base.shape == (3, 64, 64) and mass.max() > 0.99
    # x moves the centre of mass right, y down (as rows count)
    cols, rows = np.arange(64), np.arange(64)
    centre = lambda image: (image.sum(axis=(0, 1)) @ cols / image.sum(), image.sum(axis=(0, 2)) @ rows / image.sum())
    x0, y0 = centre(base)
    x1, _ = centre(_one(x=6))
    _, y1 = centre(_one(y=6))
    step = (shapes.POSITIONS[6] - shapes.POSITIONS[3]) * 64
    assert x1 - x0 == pytest.approx(step, abs=0.5) and y1 - y0 == pytest.approx(step, abs=0.5)
    assert _one(scale=3).sum() > _one(scale=0).sum() * 3  # area grows with the radius squared
    assert not np.allclose(_one(rotation=4), base) and not np.allclose(_one(shape=2), base)
    # hue: the shape's pixels are that hue's fully saturated colour, the background black
    inside = mass > 0.99 * mass.max()
    for hue in range(shapes.N_HUES):
        expected = shapes.hue_to_rgb(np.array([hue / shapes.N_HUES]))[0]
        assert np.allclose(_one(hue=hue)[:, inside].mean(axis=1), expected, atol=0.01)
    assert (base[:, ~(mass > 0)] == 0).all()


def test_hue_to_rgb_matches_colorsys() -> None:
    import colorsys

    hues = np.linspace(0, 1, 25, endpoint=False)
    assert np.allclose(shapes.hue_to_rgb(hues), [colorsys.hsv_to_rgb(h, 1.0, 1.0) for h in hues], atol=1e-6)


def test_no_shape_is_cut_by_the_frame() -> None:
    """Only the anti-aliased corner of the largest rotated square may graze the border."""
    drawn = make_shapes(2000, side=64)
    brightest = drawn.images.max(axis=1)
    border = np.concatenate([brightest[:, 0], brightest[:, -1], brightest[:, :, 0], brightest[:, :, -1]], axis=1)
    assert border.max() < 128 and (border > 0).sum(axis=1).max() <= 4
    assert brightest.reshape(2000, -1).max(axis=1).min() == 255


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        make_shapes(0)
    with pytest.raises(ValueError):
        make_shapes(5, side=4)
