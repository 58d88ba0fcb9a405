"""The data gallery's items and its trigger: real images in, valid indices out."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from ui.gallery import PER_PAGE, page_of, picked_index, thumbnail_items
from vae_core import load_dataset


def test_items_carry_each_image_as_a_png_and_say_what_it_is() -> None:
    data = load_dataset("digits")
    indices = np.array([5, 0, 17])
    images = data.floats(indices)[:, 0].numpy()
    items = thumbnail_items(images, indices, data.labels.numpy(), data.class_names)
    assert [item["index"] for item in items] == [5, 0, 17]
    assert items[1]["title"] == f"#0, {data.class_names[int(data.labels[0])]}"
    for item, image in zip(items, images):
        png = base64.b64decode(item["src"].removeprefix("data:image/png;base64,"))
        decoded = np.asarray(Image.open(io.BytesIO(png)), dtype=float) / 255
        np.testing.assert_allclose(decoded, image, atol=1 / 255 + 1e-6)


@pytest.mark.parametrize(("value", "index"), [(3, 3), (3.0, 3), (9, None), (-1, None), (2.5, None), (True, None),
                                               ("3", None), (float("nan"), None), (None, None)])
def test_only_a_real_data_index_is_a_pick(value: object, index: int | None) -> None:
    assert picked_index({"pick": value}, 9) == index


def test_pages_wrap_round_and_cover_the_pool() -> None:
    pool = np.arange(2 * PER_PAGE + 5)
    shown = [page_of(pool, page)[0] for page in range(3)]
    assert page_of(pool, 0)[1] == 3
    np.testing.assert_array_equal(np.concatenate(shown), pool)
    np.testing.assert_array_equal(page_of(pool, 3)[0], shown[0])
    assert page_of(np.arange(0), 0)[1] == 1
