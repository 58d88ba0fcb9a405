"""A drawing from the pad becomes the picture an upload of it would be, and its strokes are
read from the browser's message only when they are a drawing."""
from __future__ import annotations

import numpy as np
import pytest

from ui.components import drawn_strokes
from vae_core.drawing import MAX_POINTS, PAD_PX, drawing_png, render_strokes
from vae_core.images import preprocess

SEVEN = [np.array([[0.2, 0.2], [0.8, 0.2]]), np.array([[0.78, 0.2], [0.4, 0.9]])]


def test_strokes_are_dark_ink_where_they_were_drawn_on_white_paper() -> None:
    picture = render_strokes(SEVEN)
    assert picture.shape == (PAD_PX, PAD_PX) and picture.dtype == np.uint8
    assert picture[0, 0] == 255 and picture[int(0.2 * PAD_PX), int(0.5 * PAD_PX)] < 50  # the top bar
    assert picture[int(0.6 * PAD_PX), int(0.2 * PAD_PX)] == 255  # away from both strokes
    dot = render_strokes([np.array([[0.5, 0.5]])])  # a tap is a dot as wide as the pen
    width = (dot[PAD_PX // 2] < 128).sum()
    assert PAD_PX / 14 - 3 <= width <= PAD_PX / 14 + 3


def test_a_drawing_goes_through_the_upload_preprocessing() -> None:
    steps = preprocess(drawing_png(SEVEN), size=28)
    assert steps.inverted  # light paper detected: ink made bright on black, as MNIST
    assert steps.final.shape == (28, 28) and steps.final.max() == pytest.approx(1.0, abs=0.05)
    rows, cols = np.nonzero(steps.final > 0.1)
    assert rows.max() - rows.min() < 20 and cols.max() - cols.min() < 20  # fitted into MNIST's 20-px box


def test_the_pad_state_is_read_as_strokes() -> None:
    strokes = drawn_strokes({"strokes": [[0.1, 0.2, 0.3, 0.4], [0.5, 0.5]]})
    assert [s.tolist() for s in strokes] == [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.5]]]
    assert drawn_strokes({"strokes": []}) == []  # a cleared pad


@pytest.mark.parametrize("value", [
    None, "x", [[0.1]], [[]], [[0.1, 0.2, 0.3]], [[0.1, float("nan")]], [[0.1, 1.5]], [[-0.1, 0.2]],
    [["a", 0.2]], [[True, 0.2]], [0.1, 0.2], [[0.5, 0.5] * (MAX_POINTS + 1)],
])
def test_what_is_not_a_drawing_is_nothing(value: object) -> None:
    assert drawn_strokes({"strokes": value}) is None
