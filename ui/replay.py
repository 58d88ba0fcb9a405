"""Watch it learn: the map of a fixed set of test images after every epoch of training,
replayed in the browser.

The replay is one plotly figure with a frame per stored epoch, a Play / Pause pair and an
epoch slider: plotly animates it in the page, so playing it costs no server run at all. Each
frame moves the same points (one trace, each point's `ids` its index) on fixed axes
(`vae_core.replay_plane`), coloured by label with the palette of every page.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from vae_core import Checkpoint
from vae_core.encoding import label_name
from vae_core.jobs import TrainingJob
from vae_core.replay_plane import frame_bounds, replay_plane
from vae_core.snapshots import LatentSnapshots

from .figures import label_colour, label_colours, play_controls

FRAME_MS = 200  # per epoch while playing
TRANSITION_MS = 150  # points glide between epochs
REPLAY_HEIGHT = 520
TRAIN_HEIGHT = 420
TOGGLE_KEY = "latent_map_replay_on"
CHART_KEY = "latent_map_replay"
TRAIN_CHART_KEY = "train_map"
CHART_CONFIG = {"displayModeBar": False}  # its buttons covered the legend on narrow screens


def replay_figure(
    snapshots: LatentSnapshots, names: Sequence[str], height: int = REPLAY_HEIGHT, best_epoch: int | None = None,
) -> go.Figure:
    """The frames on fixed axes; with more than one frame, Play / Pause and an epoch slider,
    starting at the first epoch. The saved model's epoch (`best_epoch`) is marked on the
    slider and is the axes' reference."""
    plane = replay_plane(snapshots, best_epoch)
    labels, epochs = snapshots.labels, snapshots.epochs
    n_classes = max(len(names), int(labels.max(initial=-1)) + 1)
    ids = [str(i) for i in range(len(labels))]

    def moving(k: int) -> go.Scatter:
        """Frame k's positions alone: colours, names and ids stay those of the first trace."""
        xy = plane.xy[k].astype(np.float32)
        return go.Scatter(x=xy[:, 0], y=xy[:, 1])

    points = moving(0).update(
        ids=ids, mode="markers", showlegend=False, text=[label_name(int(k), names) for k in labels],
        hovertemplate="%{text}<extra></extra>",
        marker={"size": 6, "opacity": 0.8, "color": label_colours(labels, n_classes)},
    )
    # one empty trace per label carries the legend: the frames only move the points (trace 0)
    legend = [go.Scatter(x=[None], y=[None], mode="markers", name=label_name(int(k), names),
                         marker={"size": 8, "color": label_colour(int(k), n_classes)})
              for k in np.unique(labels)]
    fig = go.Figure([points, *legend])
    x0, x1, y0, y1 = frame_bounds(plane.xy)
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"itemsizing": "constant", "orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        xaxis={"title": plane.axis_titles[0], "range": [x0, x1], "autorange": False, "zeroline": False},
        yaxis={"title": plane.axis_titles[1], "range": [y0, y1], "autorange": False, "zeroline": False},
        meta={"note": plane.note},
    )
    if len(epochs) < 2:
        return fig

    def caption(epoch: int) -> str:
        return f"{epoch} (saved)" if epoch == best_epoch else str(epoch)

    fig.frames = [go.Frame(name=str(int(e)), data=[moving(k)], traces=[0]) for k, e in enumerate(epochs)]
    jump = {"mode": "immediate", "frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}}
    play = {"frame": {"duration": FRAME_MS, "redraw": False}, "fromcurrent": True,
            "transition": {"duration": TRANSITION_MS, "easing": "linear"}}
    play_controls(fig, [(str(int(e)), caption(int(e))) for e in epochs], play, jump, "Epoch ")
    return fig


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_replay_figure(
    token: str, _snapshots: LatentSnapshots, names: tuple[str, ...], height: int, best_epoch: int | None,
) -> go.Figure:
    """`replay_figure`, built once per `token` (a checkpoint's path and version, or an ended job):
    a few hundred frames take plotly ~0.5 s to build. Shared by sessions; never changed."""
    return replay_figure(_snapshots, names, height, best_epoch)


def snapshot_caption(snapshots: LatentSnapshots, split_name: str = "test") -> str:
    """What the replay shows, in words."""
    n, epochs = len(snapshots.labels), snapshots.epochs
    span = f"epochs {epochs[0]}-{epochs[-1]}" if len(epochs) > 1 else f"epoch {epochs[0]}"
    thinned = "" if len(epochs) == epochs[-1] - epochs[0] + 1 else f" ({len(epochs)} of them stored, evenly spread)"
    return (f"The codes (mu) of the same {n:,} {split_name} images, fixed by the run's seed and never used to choose "
            f"the model, after each of {span}{thinned}; epoch 0 is before the first step.")


@st.fragment
def training_replay(ckpt: Checkpoint, names: Sequence[str]) -> None:
    """The Latent map's replay of how the model learned, behind a toggle (its own fragment:
    switching it never redraws the map); says so when the model was saved without one."""
    snapshots = ckpt.snapshots
    if snapshots is None:
        st.caption("This model was saved without a replay of its training; models trained here now keep one.")
        return
    if not st.toggle("Watch it learn: replay the map over the epochs of training", key=TOGGLE_KEY):
        return
    best = ckpt.metadata.final.get("best_epoch") if ckpt.metadata.final else None
    token = f"{ckpt.path}@{ckpt.path.stat().st_mtime_ns}"
    fig = cached_replay_figure(token, snapshots, tuple(names), REPLAY_HEIGHT, None if best is None else int(best))
    st.plotly_chart(fig, key=CHART_KEY, width="stretch", config=CHART_CONFIG)
    split = ckpt.metadata.snapshots.split if ckpt.metadata.snapshots else "test"
    st.caption(f"{snapshot_caption(snapshots, split)} {fig.layout.meta['note']} Press Play, or drag the epoch slider.")


def learning_map(job: TrainingJob) -> None:
    """The Train page's map of the followed test images: the latest epoch's while the job
    trains (redrawn each tick), the whole replay once it has ended."""
    snapshots = job.snapshots()
    if snapshots is None:
        return
    names = job.class_names
    if job.running:
        epoch = int(snapshots.epochs[-1])
        latest = LatentSnapshots(snapshots.epochs[-1:], snapshots.mu[-1:], snapshots.labels)
        st.plotly_chart(replay_figure(latest, names, TRAIN_HEIGHT), key=TRAIN_CHART_KEY, width="stretch",
                        config=CHART_CONFIG)
        st.caption(f"After epoch {epoch}" + (" (before the first step)" if epoch == 0 else "") +
                   f": the codes of {len(snapshots.labels):,} test images, on this epoch's own axes. When training "
                   "ends, replay every epoch here; the saved model keeps the replay for the Latent map.")
        return
    epochs = job.epochs()
    best = min(epochs, key=lambda m: m.val_loss).epoch if epochs else None
    fig = cached_replay_figure(f"job {job.id} {len(snapshots)}", snapshots, names, TRAIN_HEIGHT, best)
    st.plotly_chart(fig, key=TRAIN_CHART_KEY, width="stretch", config=CHART_CONFIG)
    st.caption(f"{snapshot_caption(snapshots)} {fig.layout.meta['note']}")
