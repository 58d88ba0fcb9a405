"""The components.v2 widgets, and every message they exchange with Python, built and parsed
here and nowhere else.

`map_events` (ui/js/map_events.js) draws on a plotly map in the browser without redrawing
the map. It is mounted with `data` = {"role", "chart": CSS selector of the map's plot div, ...}:

- role "hover": data also has "token" (names the model's images: a new one empties the
  browser's kept images), "size" (px), "index" and "src" (a PNG data URL of point `index`,
  or both None). The browser sends trigger "hover" = the hovered point's index (a number),
  once per point, debounced; `hover_index` reads it.
- role "click": data also has "marker" ([x, y] in map units, or None). The browser sends
  trigger "click" = {"x", "y", "rx", "ry"}: the pressed spot and a hit radius, in map units;
  `click_report` reads it. The spot is marked with an x at once; "marker" may move it.
- role "marker": data also has "marker" ([x, y]): an x at that spot; clicks are ignored.
- role "select": the browser sends trigger "select" = {"box": [x0, x1, y0, y1]} or
  {"lasso": [x0, y0, x1, y1, ...]} (map units) when a box or lasso is drawn on the map;
  `selection_report` reads it.

`in_page_decoder` (ui/js/in_page_decoder.js) decodes z in the page and paints it to a canvas
on every pointer or slider move (data and roles: see the JS and ui.browser_decoder). Its state:
"path" = "server: <why>" once the page's decoder cannot run (`decode_path`; it never says
"browser", which the server assumes, so that the decoder coming in reruns nothing), and
for role "sliders" "z" = the settled point, debounced (`settled_z`).

`draw_pad` (ui/js/draw_pad.js) is a pad to draw on. data = {"side" (px), "strokes" (the
drawing a new pad shows), "throttle_ms"}; its state "strokes" is the whole drawing, a list
of strokes, each a flat list x0, y0, x1, y1, ... in [0, 1], sent while drawing (throttled)
and after Undo or Clear; `drawn_strokes` reads it.
"""
from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from vae_core.drawing import MAX_POINTS

map_events = st.components.v2.component(
    "vae_explorer.map_events", js=(Path(__file__).parent / "js" / "map_events.js").read_text(encoding="utf-8"),
)


in_page_decoder = st.components.v2.component(
    "vae_explorer.in_page_decoder", js=(Path(__file__).parent / "js" / "in_page_decoder.js").read_text(encoding="utf-8"),
)


draw_pad = st.components.v2.component(
    "vae_explorer.draw_pad", js=(Path(__file__).parent / "js" / "draw_pad.js").read_text(encoding="utf-8"),
    css=(Path(__file__).parent / "js" / "draw_pad.css").read_text(encoding="utf-8"),
)


def chart_selector(chart_key: str) -> str:
    """The CSS selector of the plot div of the st.plotly_chart with this key."""
    return f".st-key-{chart_key} .js-plotly-plot"


def marker_data(chart_key: str, xy: tuple[float, float] | None, role: str = "marker") -> dict[str, Any]:
    """data for role "marker" (an x at xy) or "click" (clicks reported, the last one at xy)."""
    return {"role": role, "chart": chart_selector(chart_key), "marker": None if xy is None else [float(v) for v in xy]}


def select_data(chart_key: str) -> dict[str, Any]:
    """data for role "select": report the boxes and lassos drawn on this chart."""
    return {"role": "select", "chart": chart_selector(chart_key)}


def hover_data(chart_key: str, token: str, size: int, index: int | None = None, png: bytes | None = None) -> dict:
    """data for role "hover": point `index`'s image as a PNG (the browser enlarges it, pixelated)."""
    src = None if png is None or index is None else "data:image/png;base64," + base64.b64encode(png).decode()
    return {"role": "hover", "chart": chart_selector(chart_key), "token": token, "size": size,
            "index": None if src is None else int(index), "src": src}


def hover_index(state: Any) -> int | None:
    """The point index of the component's "hover" trigger; None for anything else."""
    value = state.get("hover") if isinstance(state, dict) or hasattr(state, "get") else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value)


def click_report(state: Any) -> tuple[float, float, float, float] | None:
    """(x, y, rx, ry) of the component's "click" trigger; None when it is not a click
    (missing or non-finite numbers, a radius that is not positive)."""
    report = state.get("click") if isinstance(state, dict) or hasattr(state, "get") else None
    if not isinstance(report, dict):
        return None
    try:
        x, y, rx, ry = (float(report[k]) for k in ("x", "y", "rx", "ry"))
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (x, y, rx, ry)) or rx <= 0 or ry <= 0:
        return None
    return x, y, rx, ry


MAX_LASSO = 10_000  # points of a lasso's outline; plotly keeps one per pointer move


def selection_report(state: Any) -> tuple[str, np.ndarray] | None:
    """("box", [x0, x1, y0, y1]) or ("lasso", outline (K, 2)) of the "select" trigger; None
    when it is neither (missing, not finite numbers, a lasso of under 3 or over MAX_LASSO points)."""
    report = _get(state, "select")
    if not isinstance(report, dict) or len(report) != 1:
        return None
    (kind, values), = report.items()
    if kind not in ("box", "lasso") or not isinstance(values, list):
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    numbers = np.array(values, dtype=np.float64)
    if not np.isfinite(numbers).all():
        return None
    if kind == "box":
        return (kind, numbers) if len(numbers) == 4 else None
    return (kind, numbers.reshape(-1, 2)) if len(numbers) % 2 == 0 and 3 <= len(numbers) // 2 <= MAX_LASSO else None


def _get(state: Any, name: str) -> Any:
    return state.get(name) if isinstance(state, dict) or hasattr(state, "get") else None


def decode_path(state: Any) -> str | None:
    """Why the server must decode, as the in-page decoder said (the text after "server: ");
    None while the browser decodes, or for anything else."""
    value = _get(state, "path")
    if isinstance(value, str) and value.startswith("server: ") and len(value) <= 300:
        return value[len("server: "):]
    return None


def settled_z(state: Any, latent_dim: int) -> list[float] | None:
    """The point the sliders settled on: latent_dim finite numbers, else None."""
    value = _get(state, "z")
    if not isinstance(value, list) or len(value) != latent_dim:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return None
    return [float(v) for v in value]


def drawn_strokes(state: Any) -> list[np.ndarray] | None:
    """The pad's drawing: strokes (K, 2) in [0, 1], [] for an empty pad; None when the state is
    not a drawing (missing, not numbers, odd lengths, out of range, over MAX_POINTS points)."""
    value = _get(state, "strokes")
    if not isinstance(value, list) or sum(len(v) // 2 if isinstance(v, list) else 0 for v in value) > MAX_POINTS:
        return None
    strokes = []
    for stroke in value:
        if not isinstance(stroke, list) or not stroke or len(stroke) % 2:
            return None
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in stroke):
            return None
        points = np.array(stroke, dtype=np.float64).reshape(-1, 2)
        if not (np.isfinite(points).all() and (points >= 0).all() and (points <= 1).all()):
            return None
        strokes.append(points)
    return strokes
