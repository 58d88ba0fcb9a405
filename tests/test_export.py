"""vae_core.export: the files a user takes away, read back with other tools."""
from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

from vae_core.export import codes_array, codes_csv, codes_npy, grid_png, map_picture, map_png, map_svg
from vae_core.inference import to_uint8

RNG = np.random.default_rng(0)
MU, LOG_VAR = RNG.normal(size=(7, 3)).astype(np.float32), RNG.normal(size=(7, 3)).astype(np.float32)
LABELS, XY = np.array([0, 1, 2, 1, 0, 2, 1]), RNG.normal(size=(7, 2))
COLOURS = ("#ff0000", "#00ff00", "#0000ff")


def test_codes_round_trip_through_npy_without_pickle() -> None:
    table = codes_array(MU, LABELS, XY, LOG_VAR)
    back = np.load(io.BytesIO(codes_npy(table)), allow_pickle=False)
    np.testing.assert_array_equal(back["mu"], MU)
    np.testing.assert_array_equal(back["log_var"], LOG_VAR)
    np.testing.assert_array_equal(back["label"], LABELS)
    np.testing.assert_array_equal(np.stack([back["x"], back["y"]], axis=1), XY)
    np.testing.assert_array_equal(back["index"], np.arange(7))


def test_codes_csv_has_a_row_per_code_with_its_class_name() -> None:
    rows = list(csv.DictReader(io.StringIO(codes_csv(codes_array(MU, LABELS, XY), ["zero", "one", "two"]).decode())))
    assert len(rows) == 7 and list(rows[0])[:5] == ["index", "label", "class", "x", "y"] and "log_var_0" not in rows[0]
    assert [r["class"] for r in rows[:3]] == ["zero", "one", "two"]
    np.testing.assert_allclose([[float(r[f"mu_{i}"]) for i in range(3)] for r in rows], MU, rtol=1e-5)
    np.testing.assert_allclose([[float(r["x"]), float(r["y"])] for r in rows], XY, rtol=1e-5)
    no_map = list(csv.DictReader(io.StringIO(codes_csv(codes_array(MU, LABELS)).decode())))
    assert no_map[0]["x"] == "nan" and no_map[0]["class"] == "0"
    folder = list(csv.DictReader(io.StringIO(codes_csv(codes_array(MU, np.full(7, -1), XY), ["zero"]).decode())))
    assert {r["label"] for r in folder} == {"-1"} and {r["class"] for r in folder} == {"unlabelled"}  # as on the map


def test_a_grid_holds_each_image_in_its_cell() -> None:
    images = RNG.random((5, 4, 6))
    sheet = np.asarray(Image.open(io.BytesIO(grid_png(images, columns=3, pad=1))))
    assert sheet.shape == (2 * 5 + 1, 3 * 7 + 1)
    np.testing.assert_array_equal(sheet[6:10, 8:14], to_uint8(images[4]))  # row 1, column 1
    assert sheet[0].max() == 0 and sheet[6:10, 15:].max() == 0  # padding and the empty cell stay black
    one = np.asarray(Image.open(io.BytesIO(grid_png(RNG.random((1, 3, 4, 4)), pad=0))))
    assert one.shape == (4, 4, 3)  # a colour image (C, H, W) becomes RGB


def test_the_svg_map_draws_every_point_in_its_class_colour_and_the_marks() -> None:
    picture = map_picture(XY, LABELS, ["zero", "one", "two"], COLOURS, ("t-SNE 1", "t-SNE 2"), marks=XY[:1])
    root = ET.fromstring(map_svg(picture))
    ns = {"s": "http://www.w3.org/2000/svg"}
    groups = root.findall("s:g", ns)
    assert [g.get("fill") for g in groups] == list(COLOURS)
    assert [len(g) for g in groups] == [2, 3, 2]
    centres = np.array([[float(c.get("cx")), float(c.get("cy"))] for c in groups[0]])
    np.testing.assert_allclose(centres, picture.points[LABELS == 0], atol=0.06)
    rings = [c for c in root.findall("s:circle", ns) if c.get("stroke") == "black"]
    assert len(rings) == 1 and "t-SNE 1" in "".join(root.itertext())
    # right of the plot is right on the map, up is up
    right, top = picture.points[np.argmax(XY[:, 0]), 0], picture.points[np.argmax(XY[:, 1]), 1]
    assert right == picture.points[:, 0].max() and top == picture.points[:, 1].min()


def test_the_png_map_shows_each_point_in_its_class_colour() -> None:
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    picture = map_picture(xy, np.array([0, 1, 2]), ["a", "b", "c"], COLOURS, ("x", "y"), radius=3)
    pixels = np.asarray(Image.open(io.BytesIO(map_png(picture))).convert("RGB"))
    assert pixels.shape == (picture.height, picture.width, 3)
    for (x, y), colour in zip(picture.points.round().astype(int), COLOURS):
        assert tuple(pixels[y, x]) == tuple(int(colour[i: i + 2], 16) for i in (1, 3, 5))
