"""The view in the URL: points and indices survive the round trip; bad links are ignored."""
from __future__ import annotations

import numpy as np
import pytest

from ui.url_state import format_vector, parse_index, parse_vector


def test_a_point_survives_the_round_trip_to_four_significant_digits() -> None:
    z = np.array([0.123456, -1.5, 0.0, 2.99999])
    text = format_vector(z)
    assert text == "0.1235,-1.5,0,3"
    np.testing.assert_allclose(parse_vector(text, 4), z, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("text", [None, "", "1,2", "1,2,x", "1,nan,2", "1,inf,2", "1,2,3,4", "1,,3", "9,0,0"])
def test_links_for_another_model_or_typed_by_hand_are_ignored(text: str | None) -> None:
    assert parse_vector(text, 3, limit=5.0) is None


@pytest.mark.parametrize(("text", "index"), [("0", 0), ("41", 41), ("42", None), ("-1", None), ("1.5", None),
                                              ("", None), (None, None), ("x", None)])
def test_an_index_names_a_data_point_or_nothing(text: str | None, index: int | None) -> None:
    assert parse_index(text, 42) == index
