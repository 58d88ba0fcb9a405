"""The view in the URL: model, map method and the current point travel in the query string,
so that a reload or a shared link opens the same view (the page is the URL's path).

Each page writes what it shows into the query string on every run, and reads it back on its
first run in a session (a reload or an opened link starts a new session); later runs never
read it, so the URL can never undo what the user just did.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import streamlit as st

MODEL = "model"  # the checkpoint's name (its file stem)
MAP = "map"  # the map method: pca, tsne or raw
POINT = "z"  # the current latent point, comma-separated
SPOT = "at"  # the spot clicked on the latent map, in map units
INDEX = "i"  # the data point chosen (Reparameterization)
DIGITS = 4  # significant digits of a coordinate: far finer than a slider step
_SEEN_KEY = "_url_seen"  # the pages that have read the URL in this session


def format_vector(values: np.ndarray) -> str:
    """z -> "0.1234,-1.5" (short, readable, exact to DIGITS significant digits)."""
    return ",".join(f"{float(v):.{DIGITS}g}" for v in np.asarray(values, dtype=float).ravel())


def parse_vector(text: str | None, length: int, limit: float = math.inf) -> np.ndarray | None:
    """"0.1,-1.5" -> array of `length` finite numbers within ±limit; None for anything else
    (a link typed by hand or made for another model must not break the page)."""
    if not text:
        return None
    try:
        values = np.array([float(part) for part in text.split(",")], dtype=float)
    except ValueError:
        return None
    if len(values) != length or not np.all(np.isfinite(values)) or np.any(np.abs(values) > limit):
        return None
    return values


def parse_index(text: str | None, n: int) -> int | None:
    """"123" -> 123 when it names one of n data points, else None."""
    if text is None or not text.strip().isdigit():
        return None
    index = int(text)
    return index if index < n else None


def first_visit(page: str) -> Mapping[str, str]:
    """The query string when `page` runs for the first time in this session, else {}."""
    seen = st.session_state.setdefault(_SEEN_KEY, set())
    if page in seen:
        return {}
    seen.add(page)
    return st.query_params.to_dict()


def show_in_url(**params: str | None) -> None:
    """Put these parameters in the query string (None removes one); unchanged ones cost nothing."""
    for name, value in params.items():
        if value is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != value:
            st.query_params[name] = value
