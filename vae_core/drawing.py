"""A drawing made in the page, as the picture of it an upload would be.

The page sends its strokes, not pixels: each stroke is a run of points in [0, 1]^2 (x right,
y down) on a square pad. They are drawn here the way the pad draws them (dark ink, round
caps and joins, a pen of PEN_WIDTH of the side, on white paper) and saved as a PNG, so a
drawing goes through exactly the preprocessing of an uploaded file (`images.preprocess`:
ink detection, crop, fit, centring by mass).
"""
from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

PAD_PX = 280  # the side the strokes are drawn at (the page's pad is about this size)
PEN_WIDTH = 1 / 14  # of the side: MNIST's strokes are about 2-3 px of its 20-px box
INK, PAPER = 17, 255
MAX_POINTS = 20_000  # in all strokes together: a minute of fast drawing; more is not a drawing


def render_strokes(strokes: Sequence[np.ndarray], side: int = PAD_PX) -> np.ndarray:
    """(side, side) uint8 grey picture of the strokes (each (K, 2) in [0, 1]): dark ink on white."""
    img = Image.new("L", (side, side), PAPER)
    draw = ImageDraw.Draw(img)
    width = max(1, round(PEN_WIDTH * side))
    for stroke in strokes:
        points = [(float(x) * side, float(y) * side) for x, y in np.asarray(stroke, dtype=np.float64).reshape(-1, 2)]
        if len(points) > 1:
            draw.line(points, fill=INK, width=width, joint="curve")
        for x, y in (points[0], points[-1]) if points else ():  # round caps; a lone point is a dot
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=INK)
    return np.asarray(img)


def drawing_png(strokes: Sequence[np.ndarray], side: int = PAD_PX) -> bytes:
    """The strokes as a PNG file, the bytes an upload of the same picture would have."""
    buffer = io.BytesIO()
    Image.fromarray(render_strokes(strokes, side)).save(buffer, "PNG")
    return buffer.getvalue()
