"""The Reparameterization page's figures and formulas: animations that plotly.js plays in the browser
(every frame is in the figure, so playing needs no round trip to the server), the Monte
Carlo estimate of the KL term, and the grid posterior against q(z|x)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from vae_core.posterior import GridPosterior, ellipse_points
from vae_core.reparam import Frame1D, RunningKL, format_number, normal_pdf

from .figures import MODEBAR_PX, play_controls

PLAY_ARGS = {"frame": {"duration": 60, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
# The sample's marker: black vanished on the dark theme's background; this orange reads on both.
SAMPLE_COLOUR = "#f28e2b"
TITLE_ROW_PX = 28  # the title's row, above the legend's
JUMP_ARGS = {"frame": {"duration": 0, "redraw": True}, "mode": "immediate", "transition": {"duration": 0}}


def legend_above(fig: go.Figure) -> go.Figure:
    """Title and legend in rows above the plot, under the band of plotly's toolbar: a legend
    beside the plot took a third of a phone's width (the plot was ~150 px wide at 390 px)."""
    height = fig.layout.height
    fig.update_layout(
        title={"yref": "container", "y": 1 - MODEBAR_PX / height, "yanchor": "top", "x": 0, "xanchor": "left"},
        legend={"orientation": "h", "yref": "container", "y": 1 - (MODEBAR_PX + TITLE_ROW_PX) / height, "yanchor": "top",
                "x": 0},
    )
    return fig


def animate(fig: go.Figure, labels: list[str]) -> go.Figure:
    """Play/Pause and a scrubber over t (`play_controls`)."""
    return play_controls(fig, [(frame.name, label) for frame, label in zip(fig.frames, labels)], PLAY_ARGS, JUMP_ARGS, "t = ")


def figure_1d(frames: list[Frame1D]) -> go.Figure:
    first, last = frames[0], frames[-1]
    y_max = 1.1 * max(frame.density.max() for frame in frames)

    def moving(frame: Frame1D) -> list[go.Scatter]:
        height = float(normal_pdf(frame.point, frame.mean, frame.std))
        return [
            go.Scatter(x=frame.x, y=frame.density, mode="lines", line={"width": 3}, name="N(mean_t, std_t²)"),
            go.Scatter(x=[frame.point, frame.point], y=[0, height], mode="lines+markers", name="the sample",
                       marker={"size": [13, 0], "color": SAMPLE_COLOUR}, line={"dash": "dot", "color": SAMPLE_COLOUR}),
        ]

    static = [
        go.Scatter(x=first.x, y=first.density, mode="lines", name="N(0, 1)", line={"color": "grey", "dash": "dash"}),
        go.Scatter(x=last.x, y=last.density, mode="lines", name="N(μ, σ²)", line={"color": "grey", "dash": "dot"}),
    ]
    fig = go.Figure(
        data=static + moving(first),
        frames=[go.Frame(data=moving(f), traces=[2, 3], name=str(i), layout={"title": {"text": f.label}})
                for i, f in enumerate(frames)],
        layout={"title": {"text": first.label}, "xaxis": {"range": [first.x[0], first.x[-1]], "title": "value"},
                "yaxis": {"range": [0, y_max], "title": "density"}, "height": 490},
    )
    return animate(legend_above(fig), [f"{t:.2f}" for t in np.linspace(0, 1, len(frames))])


def figure_2d(cloud: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, dims: tuple[int, int]) -> go.Figure:
    rings = []
    for k in (1, 2):
        prior = ellipse_points(np.zeros(2), np.ones(2), k)
        post = ellipse_points(mu2, sigma2, k)
        rings += [
            go.Scatter(x=prior[:, 0], y=prior[:, 1], mode="lines", name=f"N(0, I) {k}σ",
                       line={"color": "grey", "dash": "dash"}),
            go.Scatter(x=post[:, 0], y=post[:, 1], mode="lines", name=f"q(z|x) {k}σ",
                       line={"color": "crimson", "width": 3 - k}),
        ]
    lo = np.minimum(cloud.min(axis=(0, 1)), -2.2) - 0.2
    hi = np.maximum(cloud.max(axis=(0, 1)), 2.2) + 0.2
    n = len(cloud) - 1

    def points(t: int) -> go.Scatter:
        return go.Scatter(x=cloud[t, :, 0], y=cloud[t, :, 1], mode="markers", name="samples",
                          marker={"size": 5, "opacity": 0.7})

    labels = [f"{t / n:.2f}" for t in range(n + 1)]
    fig = go.Figure(
        data=rings + [points(0)],
        frames=[go.Frame(data=[points(t)], traces=[len(rings)], name=str(t),
                         layout={"title": {"text": f"t = {labels[t]}: mean t·μ, scale 1 + t(σ − 1)"}})
                for t in range(n + 1)],
        layout={
            "title": {"text": f"t = {labels[0]}: ε ~ N(0, I)"}, "height": 620,
            "xaxis": {"range": [lo[0], hi[0]], "title": f"z[{dims[0]}]"},
            "yaxis": {"range": [lo[1], hi[1]], "title": f"z[{dims[1]}]", "scaleanchor": "x"},
        },
    )
    return animate(legend_above(fig), labels)


def figure_mc(run: RunningKL) -> go.Figure:
    upper = run.running_mean + 2 * run.running_stderr
    lower = run.running_mean - 2 * run.running_stderr
    fig = go.Figure([
        go.Scatter(x=run.ns, y=upper, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"),
        go.Scatter(x=run.ns, y=lower, mode="lines", line={"width": 0}, fill="tonexty", name="± 2 standard errors",
                   fillcolor="rgba(99, 110, 250, 0.2)"),
        go.Scatter(x=run.ns, y=run.running_mean, mode="lines", name="running mean"),
        go.Scatter(x=[run.ns[0], run.ns[-1]], y=[run.closed_form] * 2, mode="lines", name="closed form",
                   line={"color": "crimson", "dash": "dash"}),
    ])
    fig.update_layout(height=380, xaxis={"type": "log", "title": "N (samples of ε)"}, yaxis_title="KL (nats)")
    return legend_above(fig)


def figure_bayes(grid: GridPosterior, mu2: np.ndarray, sigma2: np.ndarray, post_mean: np.ndarray) -> go.Figure:
    """p(z|x) on the grid as a heat map, q(z|x)'s 1σ and 2σ rings, and both means."""
    fig = go.Figure(go.Heatmap(x=grid.xs, y=grid.ys, z=grid.posterior, colorscale="Viridis",
                               colorbar={"title": "p(z|x)"}))
    for k in (1, 2):
        ring = ellipse_points(mu2, sigma2, k)
        fig.add_scatter(x=ring[:, 0], y=ring[:, 1], mode="lines", name=f"q(z|x) {k}σ",
                        line={"color": "red", "dash": "solid" if k == 1 else "dash"})
    fig.add_scatter(x=[mu2[0]], y=[mu2[1]], mode="markers", name="encoder μ", marker={"color": "red", "size": 9})
    fig.add_scatter(x=[post_mean[0]], y=[post_mean[1]], mode="markers", name="posterior mean",
                    marker={"color": "cyan", "size": 10, "symbol": "diamond", "line": {"color": "black", "width": 1}})
    fig.update_layout(height=560, xaxis_title="z[0]", yaxis={"title": "z[1]", "scaleanchor": "x"},
                      legend={"orientation": "h", "y": -0.15})
    return fig


def latex_number(value: float, digits: int = 4) -> str:
    """A number for a LaTeX formula, negatives in parentheses so squares read right."""
    text = format_number(value, digits)
    return f"({text})" if text.startswith("-") else text


def kl_latex(mu: float, sigma: float, kl: float, sub: str = "") -> str:
    """The closed-form KL of one dimension with its numbers filled in."""
    log_var = 2.0 * np.log(sigma)
    return (
        rf"\mathrm{{KL}}{sub} = \tfrac12\left(\mu{sub}^2 + \sigma{sub}^2 - \ln\sigma{sub}^2 - 1\right)"
        rf" = \tfrac12\left({latex_number(mu)}^2 + {latex_number(sigma)}^2 - {latex_number(log_var)} - 1\right) = {kl:.5f}"
    )


def figure_kl_bars(kl: np.ndarray) -> go.Figure:
    """The closed-form KL of each dimension."""
    bars = go.Figure(go.Bar(x=[f"z[{i}]" for i in range(len(kl))], y=kl))
    bars.update_layout(title=f"Closed-form KL per dimension (total {kl.sum():.4f} nats)", height=320,
                       xaxis_title="dimension", yaxis_title="nats")
    return bars
