"""Explore's small map: the data's codes on two axes, with latent points drawn over them.

Plain functions and cached loaders (no widgets), so bench/slider_latency.py can time exactly
the work a slider move does."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from vae_core import Checkpoint, DataError
from vae_core.latent_ops import rank_dims
from vae_core.projection import Method, Projection, map_bounds

from .figures import axis_titles, label_colours
from .loaders import class_names, model_codes, model_id, model_projection

SLIDER_LIMIT = 4.0  # "about +-3 sigma", widened because mnist-conv-2d's codes reach |mu| ~ 3.9
MAP_POINTS = 2000  # background of the small map: shows the clusters, cheap to resend
MAP_HEIGHT = 300


@dataclass(frozen=True)
class Codes:
    """The data's q(z|x) means and what the page derives from them once per model."""

    mu: np.ndarray  # (N, D)
    labels: np.ndarray  # (N,)
    class_names: tuple[str, ...]
    order: np.ndarray  # dims by mean KL, most informative first


def small_map_method(latent_dim: int) -> Method:
    """The small map's axes: the latent axes themselves for 2-D codes, else their PCA plane."""
    return "raw" if latent_dim == 2 else "pca"


def map_background(mu: np.ndarray, labels: np.ndarray, n_classes: int, projection: Projection) -> dict:
    """The small map's fixed part, a plotly trace dict: a subsample (seed 0) of the codes
    as faint dots in their labels' colours (one trace: cheap to send)."""
    keep = np.random.default_rng(0).permutation(len(mu))[:MAP_POINTS]
    xy = projection.transform(mu[keep]).astype(np.float32)
    return {
        "type": "scattergl", "x": xy[:, 0], "y": xy[:, 1], "mode": "markers", "hoverinfo": "skip",
        "showlegend": False,
        "marker": {"size": 3, "opacity": 0.6, "color": label_colours(labels[keep], n_classes)},
    }


@dataclass(frozen=True)
class SmallMap:
    """The codes on two axes (`small_map_method`), to draw latent points on."""

    projection: Projection
    background: dict  # map_background's trace

    def xy(self, z: np.ndarray) -> np.ndarray:
        """Latents (D,) or (N, D) -> map positions (N, 2)."""
        return self.projection.transform(np.atleast_2d(z))

    def figure(self, traces: list[go.Scatter]) -> go.Figure:
        """The background dots with `traces` on top."""
        titles = axis_titles(self.projection)
        fig = go.Figure([self.background, *traces])
        fig.update_layout(
            height=MAP_HEIGHT, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=len(traces) > 1,
            legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
            xaxis_title=titles[0], yaxis_title=titles[1], uirevision="map",  # keep the user's zoom
        )
        return fig

    def bounds(self) -> tuple[float, float, float, float]:
        """The slider map's fixed axes (x0, x1, y0, y1): for raw axes every spot the sliders
        reach, else the codes' extent (the marker is drawn over the plot and cannot widen it)."""
        if self.projection.method == "raw":
            return -SLIDER_LIMIT, SLIDER_LIMIT, -SLIDER_LIMIT, SLIDER_LIMIT
        return map_bounds(np.column_stack([self.background["x"], self.background["y"]]))

    def marker_figure(self) -> go.Figure:
        """The map the sliders' point is marked on: the background alone, on fixed axes."""
        x0, x1, y0, y1 = self.bounds()
        return self.figure([]).update_layout(xaxis_range=[x0, x1], yaxis_range=[y0, y1])


@st.cache_data(max_entries=8, show_spinner=False)
def _dim_order(path: str, mtime_ns: int, _mu: np.ndarray, _log_var: np.ndarray) -> np.ndarray:
    return rank_dims(_mu, _log_var)


@st.cache_data(max_entries=8, show_spinner=False)
def _background(path: str, mtime_ns: int, _codes: Codes, _projection: Projection) -> dict:
    return map_background(_codes.mu, _codes.labels, len(_codes.class_names), _projection)


def load_codes(ckpt: Checkpoint) -> Codes | None:
    """The data's codes and the dim ranking, or None when neither is on this machine."""
    try:
        codes = model_codes(ckpt)
    except DataError:
        return None
    return Codes(codes.mu, codes.labels, class_names(ckpt, codes.labels),
                 _dim_order(*model_id(ckpt), codes.mu, codes.log_var))


def load_inputs(ckpt: Checkpoint) -> tuple[Codes | None, SmallMap | None]:
    """What every Explore view needs of the model's data, from the per-model caches."""
    codes = load_codes(ckpt)
    if codes is None:
        return None, None
    projection = model_projection(ckpt, small_map_method(ckpt.config.latent_dim))
    return codes, SmallMap(projection, _background(*model_id(ckpt), codes, projection))
