"""Placing new codes into a fixed t-SNE map in milliseconds, at any map size.

openTSNE's `transform` does the right thing (each new code is pulled towards its nearest
data codes and pushed away from every mapped point, the map itself held fixed) but its
set-up is the trouble: a map read from disk must first rebuild the affinities of all N
codes (~35 s at 100k) and its transform then takes ~25 s more. The same objective needs
far less:

1. Neighbours: the new code's k = 3 * perplexity nearest data codes (exact, by one matrix
   product against all codes), their Gaussian affinities calibrated to the perplexity (openTSNE's
   own routine, point-wise normalised, so P is exactly what its transform would use); the
   start is the median of those neighbours' map positions (openTSNE's default).
2. Repulsion: with the map fixed, the repulsive forces on a new point are a static field
   of its position: Z(y) = sum_j 1 / (1 + |y - y_j|^2) and
   F(y) = sum_j (y - y_j) / (1 + |y - y_j|^2)^2. Both are computed once per map on a grid
   (the points spread on it bilinearly, convolved with the two kernels by FFT) and read by
   bilinear interpolation: no pass over the N points per step.
3. A brief optimisation of each new point against the fixed map: openTSNE's transform
   schedule (gradient attraction - F / Z, exaggeration 1.5, learning rate 0.1, momentum
   0.8, gains, gradient norm clipped to 0.25), fewer steps.

bench/large_map.py times it at 100k codes and measures its distance to openTSNE's
full transform.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

PERPLEXITY = 5.0  # openTSNE transform's defaults: local affinities for a new point
N_ITER = 100  # openTSNE runs 250; the neighbour start leaves little to do (error in the bench)
_BLOCK = 64  # new codes per distance block: 64 x 100k float64 = 51 MB
GRID = 256  # field nodes per side (why not 512: docs/design-decisions.md, placing new codes)
_EXAGGERATION, _LEARNING_RATE, _MOMENTUM, _MAX_GRAD_NORM, _MIN_GAIN = 1.5, 0.1, 0.8, 0.25, 0.01


@dataclass(frozen=True, eq=False)
class RepulsionField:
    """Z(y) and F(y) of a fixed map (see the module doc) on a regular grid."""

    origin: np.ndarray  # (2,) map position of node [0, 0]
    step: np.ndarray  # (2,) node spacing per axis
    values: np.ndarray  # (3, G, G): Z, F_x, F_y; axis 1 is x, axis 2 is y

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) map position the grid covers."""
        return self.origin, self.origin + self.step * (np.array(self.values.shape[1:]) - 1)

    def at(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bilinear reading at positions (M, 2) inside the grid -> Z (M,), F (M, 2)."""
        g = (xy - self.origin) / self.step
        i = np.clip(np.floor(g).astype(int), 0, np.array(self.values.shape[1:]) - 2)
        t = g - i
        v = self.values
        (i0, j0), (tx, ty) = i.T, t.T
        read = (v[:, i0, j0] * (1 - tx) * (1 - ty) + v[:, i0 + 1, j0] * tx * (1 - ty)
                + v[:, i0, j0 + 1] * (1 - tx) * ty + v[:, i0 + 1, j0 + 1] * tx * ty)
        return read[0], read[1:].T


def repulsion_field(embedding: np.ndarray, grid: int = GRID, pad: float = 0.25) -> RepulsionField:
    """The field of the map `embedding` (N, 2) on a grid x grid lattice over its bounding box
    grown by `pad` of its extent per side (new points are kept inside it)."""
    lo, hi = embedding.min(axis=0), embedding.max(axis=0)
    margin = pad * np.maximum(hi - lo, 1.0)
    origin, top = lo - margin, hi + margin
    step = (top - origin) / (grid - 1)
    # spread each point over its 4 surrounding nodes (cloud-in-cell)
    g = (embedding - origin) / step
    i = np.clip(np.floor(g).astype(int), 0, grid - 2)
    t = g - i
    density = np.zeros((grid, grid))
    for di, dj, w in ((0, 0, (1 - t[:, 0]) * (1 - t[:, 1])), (1, 0, t[:, 0] * (1 - t[:, 1])),
                      (0, 1, (1 - t[:, 0]) * t[:, 1]), (1, 1, t[:, 0] * t[:, 1])):
        np.add.at(density, (i[:, 0] + di, i[:, 1] + dj), w)
    # kernels over every node offset: (2G - 1)^2, centred
    offsets = np.arange(-(grid - 1), grid)
    dx, dy = np.meshgrid(offsets * step[0], offsets * step[1], indexing="ij")
    q = 1.0 / (1.0 + dx**2 + dy**2)
    from scipy.signal import fftconvolve  # not at the top: seconds of import on every server start

    values = np.stack([fftconvolve(density, kernel, mode="same") for kernel in (q, dx * q**2, dy * q**2)])
    return RepulsionField(origin, step, values)


def nearest_codes(
    codes: np.ndarray, new_codes: np.ndarray, k: int, squared_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances), each (M, k), of the k nearest of `codes` (N, D) to each new code,
    nearest first: exact, by one matrix product per block of new codes (a k-d tree gains
    nothing in 16 dimensions: 30x slower here at 100k codes)."""
    norms = np.einsum("nd,nd->n", codes, codes) if squared_norms is None else squared_norms
    blocks = []
    for block in np.array_split(new_codes, -(-len(new_codes) // _BLOCK)):
        d2 = norms[None, :] - 2.0 * block @ codes.T
        blocks.append(np.argpartition(d2, k - 1, axis=1)[:, :k] if k < d2.shape[1]
                      else np.broadcast_to(np.arange(k), d2.shape))
    index = np.concatenate(blocks)
    distances = np.linalg.norm(new_codes[:, None, :] - codes[index], axis=2)
    order = np.argsort(distances, axis=1, kind="stable")
    return np.take_along_axis(index, order, axis=1), np.take_along_axis(distances, order, axis=1)


@dataclass(frozen=True, eq=False)
class MapPlacer:
    """Places new codes (M, D) into the fixed map `embedding` (N, 2) of `codes` (N, D)."""

    codes: np.ndarray
    embedding: np.ndarray
    perplexity: float = PERPLEXITY

    @cached_property
    def squared_norms(self) -> np.ndarray:
        return np.einsum("nd,nd->n", self.codes, self.codes)

    @cached_property
    def field(self) -> RepulsionField:
        return repulsion_field(self.embedding)

    def neighbours(self, new_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(indices (M, k) of the nearest data codes, their affinities P (M, k), rows summing to 1)."""
        from openTSNE._tsne import compute_gaussian_perplexity

        k = min(len(self.codes), int(3 * self.perplexity))
        index, distances = nearest_codes(self.codes, new_codes, k, self.squared_norms)
        p = np.asarray(compute_gaussian_perplexity(distances, np.array([min(self.perplexity, k / 3)]), num_threads=1))
        return index, p / p.sum(axis=1, keepdims=True)

    def start(self, index: np.ndarray) -> np.ndarray:
        """Each new code's start: the median map position of its neighbours (M, 2)."""
        return np.median(self.embedding[index], axis=1)

    def place(self, new_codes: np.ndarray, n_iter: int = N_ITER) -> np.ndarray:
        """Map positions (M, 2) of `new_codes` (M, D)."""
        new_codes = np.asarray(new_codes, dtype=np.float64).reshape(-1, self.codes.shape[1])
        index, p = self.neighbours(new_codes)
        y = self.start(index)
        anchors = self.embedding[index]  # (M, k, 2)
        lo, hi = self.field.bounds
        update, gains = np.zeros_like(y), np.ones_like(y)
        for _ in range(n_iter):
            diff = y[:, None, :] - anchors
            q = 1.0 / (1.0 + (diff**2).sum(axis=2))
            z, f = self.field.at(y)
            gradient = _EXAGGERATION * np.einsum("mk,mk,mkd->md", p, q, diff) - f / z[:, None]
            norm = np.linalg.norm(gradient, axis=1, keepdims=True)
            gradient *= np.minimum(1.0, _MAX_GRAD_NORM / (norm + 1e-6))
            flipped = np.sign(update) != np.sign(gradient)
            gains = np.where(flipped, gains + 0.2, gains * 0.8 + _MIN_GAIN)
            update = _MOMENTUM * update - _LEARNING_RATE * gains * gradient
            y = np.clip(y + update, lo, hi)
        return y


UMAP_TRANSFORM_SEED = 42  # umap-learn's transform_seed default


def umap_place(
    codes: np.ndarray, embedding: np.ndarray, new_codes: np.ndarray, n_neighbors: int, min_dist: float,
) -> np.ndarray:
    """Map positions (M, 2) of `new_codes` (M, D) in the fixed UMAP map `embedding` (N, 2) of
    `codes` (N, D): umap-learn's own `UMAP.transform` (the fuzzy graph to the n_neighbors
    nearest codes, its weighted mean as the start, then its layout optimisation with the map
    held fixed), from the arrays alone, so a map read from disk places codes too. The
    neighbours are exact (`nearest_codes`), as umap-learn's are below 4,096 codes."""
    import scipy.sparse
    from sklearn.utils import check_random_state
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import (
        INT32_MAX, INT32_MIN, compute_membership_strengths, find_ab_params, init_graph_transform,
        make_epochs_per_sample, smooth_knn_dist,
    )

    new_codes = np.asarray(new_codes, dtype=np.float64).reshape(-1, codes.shape[1])
    k = min(int(n_neighbors), len(codes))
    index, distances = nearest_codes(codes, new_codes, k)
    distances = distances.astype(np.float32)
    sigmas, rhos = smooth_knn_dist(distances, float(k), local_connectivity=0.0)
    rows, cols, vals, _ = compute_membership_strengths(index.astype(np.int32), distances, sigmas, rhos, bipartite=True)
    graph = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(len(new_codes), len(codes)))
    csr = graph.tocsr()
    csr.eliminate_zeros()
    fixed = np.ascontiguousarray(embedding, dtype=np.float32)
    start = init_graph_transform(csr, fixed)
    n_epochs = 100 if len(new_codes) <= 10_000 else 30  # as UMAP.transform chooses them
    graph.data[graph.data < graph.data.max() / n_epochs] = 0.0
    graph.eliminate_zeros()
    a, b = find_ab_params(1.0, min_dist)
    rng_state = check_random_state(UMAP_TRANSFORM_SEED).randint(INT32_MIN, INT32_MAX, 3).astype(np.int64)
    placed = optimize_layout_euclidean(
        start, fixed.copy(), graph.row, graph.col, n_epochs, len(codes), make_epochs_per_sample(graph.data, n_epochs),
        a, b, rng_state, 1.0, 1.0 / 4.0, 5.0, False,
    )
    return np.asarray(placed, dtype=np.float64)
