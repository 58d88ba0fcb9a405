"""The Compare page's parts: each model's view of the shared images, cached, and its figures."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from vae_core import Checkpoint, ImageData
from vae_core.compare import ModelView, model_view
from vae_core.data import even_rows
from vae_core.inference import to_display
from vae_core.latent_ops import tile_images
from vae_core.units import UnitActivity

from .figures import codes_map_figure, label_colour
from .images import crisp
from .loaders import load_model, model_id

INACTIVE_COLOUR = "#bab0ac"


def shared_images(data: ImageData, n: int) -> tuple[torch.Tensor, np.ndarray]:
    """n images spread evenly over the data set (every class in proportion), and their labels."""
    rows = even_rows(len(data), n)
    return data.floats(rows), data.labels[rows].numpy()


@st.cache_resource(show_spinner="Encoding the shared images…", max_entries=8)
def _view(path: str, mtime_ns: int, data_key: tuple[str, int, int], _images: torch.Tensor) -> ModelView:
    return model_view(load_model(path).model, _images)


def cached_view(ckpt: Checkpoint, data: ImageData, images: torch.Tensor) -> ModelView:
    """The model's view of `images` (drawn from `data`), once per model, data set and count."""
    return _view(*model_id(ckpt), (data.name, len(data), len(images)), images)


def originals_strip(images: torch.Tensor, n: int = 8) -> np.ndarray:
    """The first n shared images in a row, as the reconstructions are shown (one column's width)."""
    return reconstruction_strip(to_display(images[:n]))


def reconstruction_strip(images: np.ndarray) -> np.ndarray:
    return crisp(tile_images(images, len(images)), 720)


def units_figure(units: UnitActivity, title: str) -> go.Figure:
    """Mean KL per latent dimension; active units (Cov_x(mu_i) > threshold) in colour, the rest grey."""
    colours = [label_colour(0, 10) if active else INACTIVE_COLOUR for active in units.active]
    fig = go.Figure(go.Bar(
        x=[f"z[{i}]" for i in range(len(units.mean_kl))], y=units.mean_kl, marker_color=colours,
        customdata=units.activity,
        hovertemplate="%{x}: mean KL %{y:.3f} nats, Cov_x(mu) %{customdata:.4f}<extra></extra>",
    ))
    fig.update_layout(title=title, height=260, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      yaxis_title="mean KL (nats)", showlegend=False)
    return fig


def model_column(
    name: str, details: str, view: ModelView, labels: np.ndarray, names: tuple[str, ...], key: str,
) -> None:
    """One model's column: its details in full (the "Compare with" box's text field cannot wrap and
    cut them at 800 px), map, manifold grid, reconstructions and units."""
    st.subheader(name)
    st.caption(details)
    st.plotly_chart(codes_map_figure(view.pca, labels, names, 360, hover=False), key=f"{key}_map", width="stretch")
    n_grid = int(round(np.sqrt(len(view.grid))))
    st.image(crisp(tile_images(view.grid, n_grid), 360), output_format="PNG",
             caption="Manifold: decodes over its PCA plane of the codes (left to right PC 1, bottom to top PC 2)")
    st.image(reconstruction_strip(view.reconstructions), output_format="PNG",
             caption="Reconstructions decode(mu) of the first shared images")
    units = view.units
    st.plotly_chart(units_figure(units, f"{units.n_active} of {len(units.activity)} units active"),
                    key=f"{key}_units", width="stretch")
    st.caption(f"Mean KL(q(z_i|x) ‖ N(0, 1)) per dimension over the {len(view.mu):,} shared images, in nats, exact "
               f"for these images (total {units.mean_kl.sum():.2f}). A unit is active when Cov_x(E_q[z_i]) > "
               f"{units.threshold:g} (Burda et al. 2016); grey bars are inactive.")
