"""One colour per label on every page: the Latent map, Encode's and Compare's maps (one figure
builder) and Explore's small map (its own trace) colour label k alike, by `label_colour`."""
from __future__ import annotations

import numpy as np
import pytest

from ui.figures import UNLABELLED_COLOUR, codes_map_figure, label_colour
from ui.small_map import map_background
from vae_core.projection import fit_projection

NAMES = tuple(str(k) for k in range(10))


def _codes(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 2)).astype(np.float32), rng.integers(-1, 10, n)


@pytest.mark.parametrize("hover", [True, False])  # the Latent map; Encode's and Compare's background maps
def test_the_code_maps_colour_each_label_by_label_colour(hover: bool) -> None:
    mu, labels = _codes()
    fig = codes_map_figure(fit_projection(mu, "raw"), labels, NAMES, 300, hover=hover)
    by_name = {trace.name: trace.marker.color for trace in fig.data}
    assert by_name == {**{str(k): label_colour(k, 10) for k in range(10)}, "unlabelled": UNLABELLED_COLOUR}


def test_explores_small_map_colours_each_label_as_the_latent_map_does() -> None:
    mu, labels = _codes()
    trace = map_background(mu, labels, 10, fit_projection(mu, "raw"))  # latent axes: x is z[0]
    label_at = {float(x): int(k) for x, k in zip(mu[:, 0], labels)}
    assert len(trace["x"]) > 0
    assert trace["marker"]["color"] == [label_colour(label_at[float(x)], 10) for x in trace["x"]]
