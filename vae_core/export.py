"""Files to take away: codes with labels and map positions (CSV, .npy), decoded images as
grids (PNG), and a map of the codes (PNG, SVG). Each function returns the file's bytes, so a page
hands them straight to a download button and a script writes them to disk.

The .npy holds one structured array (fields `index`, `label`, `x`, `y`, `mu`, `log_var`):
`np.load(path)` reads it without pickle.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageDraw

from .encoding import label_name
from .inference import to_uint8


def codes_array(
    mu: np.ndarray, labels: np.ndarray, xy: np.ndarray | None = None, log_var: np.ndarray | None = None,
) -> np.ndarray:
    """One record per code: index, label, map position (NaN without a map), mu and log_var (D,)."""
    mu = np.asarray(mu, dtype=np.float32)
    n, d = mu.shape
    dtype = [("index", "<i8"), ("label", "<i8"), ("x", "<f8"), ("y", "<f8"), ("mu", "<f4", (d,))]
    if log_var is not None:
        dtype.append(("log_var", "<f4", (d,)))
    table = np.zeros(n, dtype=dtype)
    table["index"], table["label"], table["mu"] = np.arange(n), np.asarray(labels).reshape(n), mu
    table["x"], table["y"] = (np.full(n, np.nan),) * 2 if xy is None else np.asarray(xy, dtype=np.float64).reshape(n, 2).T
    if log_var is not None:
        table["log_var"] = np.asarray(log_var, dtype=np.float32).reshape(n, d)
    return table


def codes_npy(table: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, table, allow_pickle=False)
    return buffer.getvalue()


def codes_csv(table: np.ndarray, class_names: Sequence[str] = ()) -> bytes:
    """The records as CSV: index, label, class (its name), x, y, mu_0.., log_var_0.. ."""
    d = table.dtype["mu"].shape[0]
    vectors = [name for name in ("mu", "log_var") if name in table.dtype.names]
    header = ["index", "label", "class", "x", "y", *(f"{name}_{i}" for name in vectors for i in range(d))]
    quoted = {int(v): _csv_field(label_name(v, class_names)) for v in np.unique(table["label"])}
    values = np.column_stack([table["x"], table["y"], *(table[name].astype(np.float64) for name in vectors)]).tolist()
    row = ",".join(["%.6g"] * len(values[0])) if values else ""
    lines = [",".join(header)]
    lines += [f"{i},{label},{quoted[label]}," + row % tuple(v)
              for i, label, v in zip(table["index"].tolist(), table["label"].tolist(), values)]
    return ("\n".join(lines) + "\n").encode()


def _csv_field(text: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([text])
    return buffer.getvalue()


def _pixels(image: np.ndarray) -> np.ndarray:
    """(H, W), (C, H, W) or (H, W, C) in [0, 1] -> uint8 (H, W) or (H, W, 3)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = np.moveaxis(image, 0, -1)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return to_uint8(image)


def grid_png(images: np.ndarray | Sequence[np.ndarray], columns: int = 10, pad: int = 2, scale: int = 1) -> bytes:
    """Images (N, ...) in [0, 1] tiled row by row, `pad` black pixels between, each pixel `scale` x `scale`
    (one image with pad 0 is that image's PNG)."""
    tiles = [_pixels(image) for image in images]
    if not tiles:
        raise ValueError("a grid needs at least one image")
    h, w = tiles[0].shape[:2]
    columns = max(1, min(columns, len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    sheet = np.zeros((rows * (h + pad) + pad, columns * (w + pad) + pad, *tiles[0].shape[2:]), dtype=np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        sheet[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = tile
    sheet = sheet.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(sheet).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class MapPicture:
    """A map of codes laid out in pixels: what both `map_svg` and `map_png` draw."""

    width: int
    height: int
    points: np.ndarray  # (N, 2) pixel positions, y down
    classes: np.ndarray  # (N,) index into `names` / `colours`
    names: tuple[str, ...]
    colours: tuple[str, ...]  # "#rrggbb" per class
    axis_titles: tuple[str, str]
    marks: np.ndarray  # (M, 2) pixel positions of marked points (a click, an upload)
    radius: float


def map_picture(
    embedding: np.ndarray, labels: np.ndarray, class_names: Sequence[str], colours: Sequence[str],
    axis_titles: tuple[str, str] = ("", ""), marks: np.ndarray | None = None,
    width: int = 800, height: int = 640, radius: float = 2.0,
) -> MapPicture:
    """Lay the map out: the points' bounding box (and the marks') fills the plot area, aspect kept free."""
    embedding = np.asarray(embedding, dtype=np.float64).reshape(-1, 2)
    marks_xy = np.zeros((0, 2)) if marks is None else np.asarray(marks, dtype=np.float64).reshape(-1, 2)
    every = np.concatenate([embedding, marks_xy])
    lo, hi = every.min(axis=0), every.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    left, right, top, bottom = 60, 120, 20, 50  # room for the axis titles and the legend
    inner = np.array([width - left - right, height - top - bottom], dtype=np.float64)

    def to_pixels(xy: np.ndarray) -> np.ndarray:
        unit = (xy - lo) / span
        return np.stack([left + unit[:, 0] * inner[0], top + (1 - unit[:, 1]) * inner[1]], axis=1)

    labels = np.asarray(labels).reshape(-1)
    names = tuple(class_names) or tuple(str(v) for v in range(int(labels.max()) + 1 if len(labels) else 0))
    classes = np.clip(labels, 0, max(len(names) - 1, 0))
    palette = tuple(colours[k % len(colours)] for k in range(len(names)))
    return MapPicture(width, height, to_pixels(embedding), classes, names, palette, axis_titles,
                      to_pixels(marks_xy), radius)


def map_svg(picture: MapPicture) -> bytes:
    """The map as SVG: one group of circles per class, a legend, axis titles; marks as black rings."""
    p = picture
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{p.width}" height="{p.height}" '
           f'viewBox="0 0 {p.width} {p.height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{p.width}" height="{p.height}" fill="white"/>']
    for k, (name, colour) in enumerate(zip(p.names, p.colours)):
        circles = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{p.radius:g}"/>' for x, y in p.points[p.classes == k])
        out.append(f'<g fill="{colour}" fill-opacity="0.75" data-class="{escape(name)}">{circles}</g>')
    for x, y in p.marks:
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{3 * p.radius + 3:g}" fill="none" stroke="black" stroke-width="2"/>')
    for k, (name, colour) in enumerate(zip(p.names, p.colours)):
        y = 30 + 18 * k
        out.append(f'<circle cx="{p.width - 100}" cy="{y}" r="5" fill="{colour}"/>'
                   f'<text x="{p.width - 88}" y="{y + 4}">{escape(name)}</text>')
    out.append(f'<text x="{(p.width - 60) / 2:.0f}" y="{p.height - 12}" text-anchor="middle">{escape(p.axis_titles[0])}</text>')
    out.append(f'<text transform="translate(18 {p.height / 2:.0f}) rotate(-90)" text-anchor="middle">'
               f'{escape(p.axis_titles[1])}</text></svg>')
    return "".join(out).encode()


def map_png(picture: MapPicture) -> bytes:
    """The same map as `map_svg`, rasterised (PIL's default font)."""
    p = picture
    canvas = Image.new("RGB", (p.width, p.height), "white")
    draw = ImageDraw.Draw(canvas)
    r = p.radius
    for k, colour in enumerate(p.colours):
        for x, y in p.points[p.classes == k]:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    for x, y in p.marks:
        ring = 3 * r + 3
        draw.ellipse((x - ring, y - ring, x + ring, y + ring), outline="black", width=2)
    for k, (name, colour) in enumerate(zip(p.names, p.colours)):
        y = 30 + 18 * k
        draw.ellipse((p.width - 105, y - 5, p.width - 95, y + 5), fill=colour)
        draw.text((p.width - 88, y - 6), name, fill="black")
    draw.text(((p.width - 60) / 2, p.height - 20), p.axis_titles[0], fill="black", anchor="mm")
    label = Image.new("RGB", (max(1, int(draw.textlength(p.axis_titles[1])) + 4), 14), "white")
    ImageDraw.Draw(label).text((2, 0), p.axis_titles[1], fill="black")
    canvas.paste(label.rotate(90, expand=True), (8, int(p.height / 2 - label.width / 2)))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
