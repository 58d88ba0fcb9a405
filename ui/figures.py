"""Figure builders shared by the pages: one colour per label everywhere, the data's codes
as a scatter, a map's axis titles, and z as a bar chart."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from vae_core.encoding import MapPlacement, label_name
from vae_core.projection import LinearProjection, Projection, map_bounds

UNLABELLED_COLOUR = "#9e9e9e"
MARKED_EPOCHS = 30  # test points get markers up to this many epochs, then they would blur the line
WEBGL_MIN_POINTS = 1000  # from here on, WebGL markers (plotly express's own switch); below, crisper SVG


def label_colour(label: int, n_classes: int) -> str:
    """The colour of a label on every page: T10 for up to 10 classes, else Alphabet (26);
    grey for unlabelled (-1)."""
    if label < 0:
        return UNLABELLED_COLOUR
    palette = plotly.colors.qualitative.T10 if n_classes <= 10 else plotly.colors.qualitative.Alphabet
    return palette[int(label) % len(palette)]


def label_colours(labels: np.ndarray, n_classes: int) -> list[str]:
    """One colour per point, by its label (for a single trace of many labels)."""
    lookup = {int(k): label_colour(int(k), n_classes) for k in np.unique(labels)}
    return [lookup[int(k)] for k in labels]


def codes_traces(
    xy: np.ndarray, labels: np.ndarray, names: Sequence[str], *, size: float, opacity: float, hover: bool,
) -> list[go.Scatter | go.Scattergl]:
    """The data's codes on a map, one trace per label (WebGL from WEBGL_MIN_POINTS points on).

    With `hover`, points carry only their index (customdata) and name it on hover; images
    come from the map's component, so the payload stays small (bench/large_map.py prints it).
    """
    xy = np.asarray(xy, dtype=np.float32)
    scatter = go.Scattergl if len(xy) >= WEBGL_MIN_POINTS else go.Scatter
    n_classes = max(len(names), int(labels.max(initial=-1)) + 1)
    traces = []
    for label in np.unique(labels):
        index = np.flatnonzero(labels == label).astype(np.int32)
        name = label_name(int(label), names)
        extra = (
            {"customdata": index[:, None], "hovertemplate": f"<b>{name}</b> · #%{{customdata[0]}}<extra></extra>"}
            if hover else {"hoverinfo": "skip"}
        )
        traces.append(scatter(
            x=xy[index, 0], y=xy[index, 1], mode="markers", name=name,
            marker={"size": size, "opacity": opacity, "color": label_colour(int(label), n_classes)}, **extra,
        ))
    return traces


def axis_titles(projection: Projection) -> tuple[str, str]:
    """What a map's axes show, with the share of the codes' variance along each linear axis."""
    if projection.method == "tsne":
        return "t-SNE 1", "t-SNE 2"
    if projection.method == "pca":
        names = ("PC 1", "PC 2")
    else:  # the latent axes the map shows: its two unit components
        dims = np.argmax(np.abs(projection.components), axis=1) if isinstance(projection, LinearProjection) else (0, 1)
        names = tuple(f"z[{int(d)}]" for d in dims)
    if not isinstance(projection, LinearProjection):
        return names
    ratio = projection.explained_variance_ratio
    return f"{names[0]} ({ratio[0]:.0%} of variance)", f"{names[1]} ({ratio[1]:.0%} of variance)"


def codes_map_figure(
    projection: Projection, labels: np.ndarray, names: Sequence[str], height: int, *, hover: bool,
) -> go.Figure:
    """The data's codes (mu) on a map, one trace per label, on equal axes. With `hover`, the
    map the user points at: bright, naming each point, on the codes' extent, its clicks read
    by ui.components' map_events (plotly's own are off); else faint, a background for what
    is drawn on top."""
    n = len(projection.embedding)
    size, opacity = (4 if n > 3000 else 6, 0.75) if hover else (3, 0.35)
    fig = go.Figure(codes_traces(projection.embedding, labels, names, size=size, opacity=opacity, hover=hover))
    titles = axis_titles(projection)
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"itemsizing": "constant"},
        xaxis={"title": titles[0], "constrain": "domain", "zeroline": False},
        yaxis={"title": titles[1], "constrain": "domain", "zeroline": False, "scaleanchor": "x", "scaleratio": 1},
    )
    if hover:
        x0, x1, y0, y1 = map_bounds(projection.embedding)
        fig.update_layout(clickmode="none", xaxis_range=[x0, x1], yaxis_range=[y0, y1])
    return fig


def latent_bars(z: np.ndarray) -> str:
    """z as an inline SVG bar chart: a bar per dimension, its value printed at the bar's end
    (up to 16 dimensions) and in its tooltip.

    Plain SVG, not a plotly figure: it is redrawn on every click, and a new plotly figure
    kept the browser busy before the decoded image could paint (docs/design-decisions.md)."""
    z = np.asarray(z, dtype=float).ravel()
    width, height, left, bottom, top = 400, 170, 30, 20, 14
    limit = max(3.0, float(np.ceil(np.abs(z).max()))) if len(z) else 3.0
    mid = top + (height - top - bottom) / 2
    scale = (height - top - bottom) / 2 / limit
    slot = (width - left) / max(len(z), 1)
    every = max(1, int(np.ceil(len(z) / 16)))  # dimension labels that fit
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="the latent point z" '
        'style="font: 12px sans-serif; max-height: 220px">',
        *(f'<text x="{left - 4}" y="{mid - v * scale + 4:.1f}" text-anchor="end" fill="#666">{v:g}</text>'
          for v in (limit, 0.0, -limit)),
        f'<line x1="{left}" x2="{width}" y1="{mid}" y2="{mid}" stroke="#999"/>',
    ]
    for i, v in enumerate(z):
        end = mid - v * scale
        y0, y1 = sorted((mid, end))
        colour = "#4c78a8" if v >= 0 else "#e45756"
        x, centre = left + i * slot, left + (i + 0.5) * slot
        parts.append(f'<rect x="{x + slot * 0.15:.1f}" y="{y0:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{max(y1 - y0, 0.5):.1f}" fill="{colour}"><title>z[{i}] = {v:.3f}</title></rect>')
        if len(z) <= 16:
            label_y = end - 3 if v >= 0 else end + 10
            parts.append(f'<text x="{centre:.1f}" y="{label_y:.1f}" text-anchor="middle" fill="#333" '
                         f'style="font-size: 9px">{v:.2f}</text>')
        if i % every == 0:
            name = f"z[{i}]" if len(z) <= 8 else str(i)
            parts.append(f'<text x="{centre:.1f}" y="{height - 5}" text-anchor="middle" fill="#444">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def placement_traces(placed: MapPlacement, name: str) -> list[go.Scatter]:
    """q(z|x) of one encoded image on a map: its samples, its 2σ ellipse (when the map has
    one) and its mu, in black over the coloured codes."""
    traces = [go.Scatter(
        x=placed.cloud[:, 0], y=placed.cloud[:, 1], mode="markers", name="z ~ q(z|x)",
        marker={"size": 6, "color": "black", "symbol": "circle-open"}, hoverinfo="skip",
    )]
    if placed.outline is not None:
        traces.append(go.Scatter(
            x=placed.outline[:, 0], y=placed.outline[:, 1], mode="lines", name="q(z|x), 2σ",
            line={"color": "black", "width": 2}, hoverinfo="skip",
        ))
    traces.append(go.Scatter(
        x=[placed.point[0]], y=[placed.point[1]], mode="markers", name=f"mu of {name}", hoverinfo="skip",
        marker={"symbol": "x", "size": 14, "color": "black", "line": {"width": 1, "color": "white"}},
    ))
    return traces


def posterior_bars(mu: np.ndarray, sigma: np.ndarray) -> go.Figure:
    """q(z|x) per dimension: mu with ± 2σ error bars, over the prior's ± 2σ band."""
    dims = [f"z[{d}]" for d in range(len(mu))]
    fig = go.Figure(go.Bar(
        x=dims, y=mu, name="mu", error_y={"type": "data", "array": 2 * sigma, "visible": True},
        hovertemplate="%{x}: mu %{y:.3f} ± 2σ %{error_y.array:.3f}<extra></extra>",
    ))
    fig.add_hrect(y0=-2, y1=2, fillcolor="grey", opacity=0.08, line_width=0, annotation_text="prior ± 2σ",
                  annotation_position="top left")
    fig.update_layout(height=300, margin={"l": 0, "r": 0, "t": 10, "b": 0}, yaxis_title="mu ± 2σ", showlegend=False)
    return fig


def loss_figure(title: str, train_x: list[float], train_y: list[float],
                test_x: list[int], test_y: list[float]) -> go.Figure:
    """A training curve: train per step, test per epoch (marked while few enough to stay legible)."""
    fig = go.Figure()
    fig.add_scatter(x=train_x, y=train_y, mode="lines", name="train")
    test_mode = "lines+markers" if len(test_x) <= MARKED_EPOCHS else "lines"
    fig.add_scatter(x=test_x, y=test_y, mode=test_mode, name="test")
    fig.update_layout(
        title=title, height=260, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title="epoch", yaxis_title="nats per image", legend={"orientation": "h", "y": -0.3},
    )
    return fig
