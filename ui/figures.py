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
MODEBAR_PX = 30  # the band at the top of a figure where plotly's toolbar floats (its buttons are 23 px tall)


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
            # "none": plotly reports the hover but draws no label of its own; the map's component
            # floats the point's image with its name, one label at a time
            {"customdata": index[:, None], "hoverinfo": "none"} if hover else {"hoverinfo": "skip"}
        )
        traces.append(scatter(
            x=xy[index, 0], y=xy[index, 1], mode="markers", name=name,
            marker={"size": size, "opacity": opacity, "color": label_colour(int(label), n_classes)}, **extra,
        ))
    return traces


def axis_titles(projection: Projection) -> tuple[str, str]:
    """What a map's axes show, with the share of the codes' variance along each linear axis."""
    if projection.method in ("tsne", "umap"):
        name = "t-SNE" if projection.method == "tsne" else "UMAP"
        return f"{name} 1", f"{name} 2"
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
    size, opacity = (4 if n > 3000 else 6, 0.75) if hover else (3, 0.6)  # faint, but each label's own colour
    fig = go.Figure(codes_traces(projection.embedding, labels, names, size=size, opacity=opacity, hover=hover))
    titles = axis_titles(projection)
    fig.update_layout(
        # the legend above the map and "range", not "domain": equal axes that widen their range to
        # fill the column, instead of a plot shrunk to a square with empty bands beside it
        height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10},
        # the legend starts below the top band where plotly's toolbar floats (container units):
        # above the plot it ran under the toolbar's buttons at every width
        legend={"itemsizing": "constant", "orientation": "h", "yref": "container", "yanchor": "top",
                "y": 1 - MODEBAR_PX / height, "x": 0},
        xaxis={"title": titles[0], "constrain": "range", "zeroline": False},
        yaxis={"title": titles[1], "constrain": "range", "zeroline": False, "scaleanchor": "x", "scaleratio": 1},
    )
    if hover:
        x0, x1, y0, y1 = map_bounds(projection.embedding)
        fig.update_layout(clickmode="none", xaxis_range=[x0, x1], yaxis_range=[y0, y1])
    return fig


def latent_bars(z: np.ndarray) -> str:
    """z as an inline SVG of horizontal bars, one row per dimension: its name on the left,
    the bar from zero, its value on the right (and in its tooltip). Rows keep every label
    readable at any number of dimensions, where upright bars overlapped theirs from 16 on.

    Plain SVG, not a plotly figure: it is redrawn on every click, and a new plotly figure
    kept the browser busy before the decoded image could paint (docs/design-decisions.md). Text
    takes the page's own colour (currentColor), so it reads on a light and on a dark theme."""
    z = np.asarray(z, dtype=float).ravel()
    width, row, left, right, top = 400, 15, 44, 48, 16
    limit = max(3.0, float(np.ceil(np.abs(z).max()))) if len(z) else 3.0
    centre = left + (width - left - right) / 2
    scale = (width - left - right) / 2 / limit
    height = top + row * len(z) + 4
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="the latent point z" '
        f'style="font: 11px sans-serif; max-width: 520px; fill: currentColor">',
        *(f'<text x="{centre + v * scale:.1f}" y="11" text-anchor="middle" opacity="0.6">{v:g}</text>'
          for v in (-limit, 0.0, limit)),
        f'<line x1="{centre}" x2="{centre}" y1="{top - 2}" y2="{height}" stroke="currentColor" opacity="0.4"/>',
    ]
    for i, v in enumerate(z):
        y = top + i * row
        x0, x1 = sorted((centre, centre + v * scale))
        colour = "#4c78a8" if v >= 0 else "#e45756"
        parts.append(
            f'<text x="{left - 4}" y="{y + 11}" text-anchor="end">z[{i}]</text>'
            f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 0.5):.1f}" height="{row - 4}" fill="{colour}">'
            f'<title>z[{i}] = {v:.3f}</title></rect>'
            f'<text x="{width - 2}" y="{y + 11}" text-anchor="end">{v:.2f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def placement_traces(placed: MapPlacement, name: str, ink: str = "black") -> list[go.Scatter]:
    """q(z|x) of one encoded image on a map: its samples, its 2σ ellipse (when the map has
    one) and its mu, in `ink` (the page's text colour: black, or white on a dark theme) over
    the coloured codes."""
    traces = [go.Scatter(
        x=placed.cloud[:, 0], y=placed.cloud[:, 1], mode="markers", name="z ~ q(z|x)",
        marker={"size": 6, "color": ink, "symbol": "circle-open"}, hoverinfo="skip",
    )]
    if placed.outline is not None:
        traces.append(go.Scatter(
            x=placed.outline[:, 0], y=placed.outline[:, 1], mode="lines", name="q(z|x), 2σ",
            line={"color": ink, "width": 2}, hoverinfo="skip",
        ))
    traces.append(go.Scatter(
        x=[placed.point[0]], y=[placed.point[1]], mode="markers", name=f"mu of {name}", hoverinfo="skip",
        marker={"symbol": "x", "size": 14, "color": ink, "line": {"width": 1, "color": "black" if ink == "white" else "white"}},
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


def loss_figure(title: str, train_x: list[float], train_y: list[float], val_x: list[int], val_y: list[float],
                dashed: tuple[str, list[float], list[float]] | None = None) -> go.Figure:
    """A training curve: train per step, validation per epoch (marked while few enough to stay
    legible); `dashed` = (name, train values, validation values) adds a second quantity."""
    fig = go.Figure()
    val_mode = "lines+markers" if len(val_x) <= MARKED_EPOCHS else "lines"
    fig.add_scatter(x=train_x, y=train_y, mode="lines", name="train")
    fig.add_scatter(x=val_x, y=val_y, mode=val_mode, name="validation")
    if dashed is not None:
        name, train_extra, val_extra = dashed
        fig.add_scatter(x=train_x, y=train_extra, mode="lines", name=f"train {name}", line={"dash": "dash"})
        fig.add_scatter(x=val_x, y=val_extra, mode=val_mode, name=f"validation {name}", line={"dash": "dash"})
    fig.update_layout(
        title=title, height=260, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title="epoch", yaxis_title="nats per image", legend={"orientation": "h", "y": -0.3},
    )
    return fig


def play_controls(
    fig: go.Figure, steps: Sequence[tuple[str, str]], play: dict, jump: dict, prefix: str,
) -> go.Figure:
    """Play/Pause under the x-axis title and a scrubber over `steps` (frame name, label) in a
    row of its own below, placed in pixels from the plot's bottom edge: placed as fractions of
    the plot's height they sat on the axis title at 800 px and met each other on a phone.
    Light buttons with dark text on both themes (the default left "Play" white on white
    under the dark theme). Every frame is in the figure: plotly.js plays them in the page."""
    return fig.update_layout(
        updatemenus=[{
            "type": "buttons", "direction": "left", "x": 0, "y": 0, "xanchor": "left", "yanchor": "top",
            "pad": {"t": 55, "r": 10}, "showactive": False,
            "bgcolor": "#f0f2f6", "bordercolor": "#a3a8b8", "font": {"color": "#262730"},
            "buttons": [
                {"label": "▶ Play", "method": "animate", "args": [None, play]},
                {"label": "❚❚ Pause", "method": "animate", "args": [[None], jump]},
            ],
        }],
        sliders=[{
            # room on the right for half the last label ("12 (saved)"), which ran off a phone's screen
            "active": 0, "x": 0, "len": 1.0, "y": 0, "yanchor": "top", "pad": {"t": 105, "r": 35},
            "currentvalue": {"prefix": prefix, "xanchor": "left"}, "transition": {"duration": 0},
            "steps": [{"label": label, "method": "animate", "args": [[name], jump]} for name, label in steps],
        }],
        margin={"b": 180},
    )
