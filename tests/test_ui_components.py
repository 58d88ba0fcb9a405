"""The browser's messages are parsed in ui.components alone: what is not a message is nothing."""
from __future__ import annotations

import pytest

from ui.components import click_report, decode_path, hover_data, hover_index, marker_data, selection_report, settled_z


def test_a_click_report_is_the_spot_and_its_hit_radius() -> None:
    assert click_report({"click": {"x": 1, "y": 2.5, "rx": 0.1, "ry": 0.2}}) == (1.0, 2.5, 0.1, 0.2)


@pytest.mark.parametrize("report", [
    None, [], "click", {}, {"x": 1, "y": 2}, {"x": "a", "y": 0, "rx": 1, "ry": 1},
    {"x": float("nan"), "y": 0, "rx": 1, "ry": 1}, {"x": 0, "y": 0, "rx": 0, "ry": 1}, {"x": 0, "y": 0, "rx": 1, "ry": -1},
    {"x": 0, "y": None, "rx": 1, "ry": 1},
])
def test_what_is_not_a_click_report_is_no_click(report: object) -> None:
    assert click_report({"click": report}) is None


@pytest.mark.parametrize(("value", "index"), [(7, 7), (7.0, 7), (None, None), ("7", None), (True, None),
                                               (float("inf"), None)])
def test_a_hover_trigger_is_a_point_index(value: object, index: int | None) -> None:
    assert hover_index({"hover": value}) == index


def test_the_data_sent_names_the_chart_by_its_key() -> None:
    assert marker_data("explore_map", (1, 2)) == {"role": "marker", "chart": ".st-key-explore_map .js-plotly-plot",
                                                  "marker": [1.0, 2.0]}
    idle = hover_data("latent_map_chart", "m@1/data", 84)
    assert idle["index"] is None and idle["src"] is None
    sent = hover_data("latent_map_chart", "m@1/data", 84, 3, b"\x89PNG")
    assert sent["index"] == 3 and sent["src"] == "data:image/png;base64,iVBORw=="


def test_the_decoder_says_which_path_it_took() -> None:
    assert decode_path({"path": "browser"}) is None  # the server's own assumption: never sent, never a reason
    assert decode_path({"path": "server: no WebAssembly"}) == "no WebAssembly"
    for state in (None, {}, {"path": None}, {"path": "elsewhere"}, {"path": 3}, {"path": "server: " + "x" * 400}):
        assert decode_path(state) is None


def test_a_settled_point_is_latent_dim_finite_numbers() -> None:
    assert settled_z({"z": [0, 1.5]}, 2) == [0.0, 1.5]
    for value in (None, [1.0], [1.0, "2"], [1.0, float("nan")], [True, 1.0], "1,2", {"0": 1}):
        assert settled_z({"z": value}, 2) is None


def test_a_selection_report_is_a_box_or_a_lasso_outline() -> None:
    kind, box = selection_report({"select": {"box": [1, 2.5, -1, 0]}})
    assert kind == "box" and box.tolist() == [1.0, 2.5, -1.0, 0.0]
    kind, outline = selection_report({"select": {"lasso": [0, 0, 1, 0, 1, 1]}})
    assert kind == "lasso" and outline.tolist() == [[0, 0], [1, 0], [1, 1]]


@pytest.mark.parametrize("report", [
    None, [], {"box": [1, 2, 3]}, {"box": [1, 2, 3, "4"]}, {"box": [1, 2, 3, float("nan")]}, {"lasso": [0, 0, 1, 1]},
    {"lasso": [0, 0, 1, 1, 2]}, {"circle": [0, 0, 1, 1]}, {"box": [0, 1, 0, 1], "lasso": [0, 0, 1, 0, 1, 1]},
    {"box": [True, 1, 0, 1]}, {"lasso": [0.0, 0.0] * 10_001},
])
def test_what_is_not_a_selection_is_none(report: object) -> None:
    assert selection_report({"select": report}) is None
