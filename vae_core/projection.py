"""2-D maps of latent codes, and the way back from a map position to a latent point.

Four maps of codes (N, D):
- "pca": the plane of the two leading principal components. Exact both ways within the
  plane: a map point goes back to the data mean plus its two coordinates along the
  components, i.e. zero along every other principal component.
- "raw": two chosen latent dimensions; the other dimensions are held at the data mean.
- "tsne": openTSNE (Barnes-Hut below 10k points, FFT above; faster than scikit-learn's
  TSNE at equal trustworthiness, see bench/map_speed.py). New codes are placed into the
  fixed map by `placement.MapPlacer` (openTSNE's transform objective, in milliseconds at
  any map size: bench/large_map.py). t-SNE has no inverse: a map point goes back to an inverse-distance
  weighted blend of the codes of its k nearest map neighbours, so it is approximate.
- "umap": umap-learn (exact neighbours, given to it; 1 thread), timed and compared with
  t-SNE in bench/map_speed.py. New codes are placed by umap-learn's own transform steps
  (`placement.umap_place`); the way back is the same neighbour blend as t-SNE's.

Fitting on a background thread, with the disk cache, is `map_job.ProjectionJob`'s: this
module is the maths only.
"""
from __future__ import annotations

import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .inference import decode_latents
from .models import VAE
from .placement import MapPlacer, umap_place

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

Method = Literal["pca", "tsne", "umap", "raw"]
METHODS: tuple[Method, ...] = ("pca", "tsne", "umap", "raw")
NEIGHBOUR_MAPS: tuple[Method, ...] = ("tsne", "umap")  # fitted on a thread, one at a time, kept on disk
Progress = Callable[[float], None]

# Iterations and neighbour search: the measurements behind them are in docs/design-decisions.md.
TSNE_EARLY_ITER = 250  # early exaggeration (openTSNE's default), then the main phase:
TSNE_ITER = 250  # half openTSNE's 500, at the same trustworthiness (bench/map_speed.py)
TSNE_EXACT_KNN_MAX = 200_000  # codes have few dims: exact neighbours beat Annoy's index up to here
_PROGRESS_EVERY = 10  # iterations between progress reports
UMAP_NEIGHBOURS = 15  # umap-learn's defaults
UMAP_MIN_DIST = 0.1


class Projection(ABC):
    """A fitted 2-D map of codes: `embedding` (N, 2) holds the map position of each code."""

    method: Method
    embedding: np.ndarray

    @property
    @abstractmethod
    def is_exact(self) -> bool:
        """True when `to_latent` inverts `transform` exactly within the map's plane."""

    @abstractmethod
    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        """Map position(s) (2,) or (M, 2) -> latent point(s) (D,) or (M, D)."""

    @abstractmethod
    def transform(self, codes: np.ndarray) -> np.ndarray:
        """Place new codes (M, D) into this map -> (M, 2), e.g. an uploaded image's mu."""


@dataclass(frozen=True, eq=False)
class LinearProjection(Projection):
    """xy = (z - origin) @ components.T and back z = origin + xy @ components.

    The rows of `components` (2, D) are orthonormal, so the way back is exact for every
    z in the plane through `origin` that they span.
    """

    method: Method
    embedding: np.ndarray  # (N, 2)
    origin: np.ndarray  # (D,) the latent point at map (0, 0), up to the shown coordinates
    components: np.ndarray  # (2, D)
    explained_variance_ratio: np.ndarray  # (2,) share of the codes' total variance on each axis

    @property
    def is_exact(self) -> bool:
        return True

    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        return self.origin + np.asarray(xy, dtype=np.float64) @ self.components

    def transform(self, codes: np.ndarray) -> np.ndarray:
        return (np.asarray(codes, dtype=np.float64) - self.origin) @ self.components.T


@dataclass(frozen=True, eq=False)
class NeighbourMap(Projection):
    """A map with no inverse (t-SNE, UMAP): the way back blends the codes of the `k` nearest
    map neighbours."""

    method: Method
    embedding: np.ndarray  # (N, 2)
    codes: np.ndarray  # (N, D) the mapped codes, blended by `to_latent`
    k: int
    seed: int

    @cached_property
    def tree(self) -> cKDTree:
        """Over `embedding`."""
        from scipy.spatial import cKDTree  # not at the top: seconds of import on every server start

        return cKDTree(self.embedding)

    @property
    def is_exact(self) -> bool:
        return False

    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64)
        dist, idx = self.tree.query(xy.reshape(-1, 2), k=min(self.k, len(self.codes)))
        dist, idx = dist.reshape(len(dist), -1), idx.reshape(len(idx), -1)
        # Shepard's inverse-distance weights (power 2); a click on a point returns its code
        weights = 1.0 / np.maximum(dist, 1e-12) ** 2
        weights /= weights.sum(axis=1, keepdims=True)
        z = np.einsum("mk,mkd->md", weights, self.codes[idx])
        return z[0] if xy.ndim == 1 else z


@dataclass(frozen=True, eq=False)
class TSNEProjection(NeighbourMap):
    """t-SNE map; new codes are placed by `placement.MapPlacer`."""

    perplexity: float = 30.0  # the one fitted, as given to `fit_projection`

    @cached_property
    def placer(self) -> MapPlacer:
        """Places new codes against this fixed map (its repulsion field is built on first use)."""
        return MapPlacer(self.codes, self.embedding)

    def transform(self, codes: np.ndarray) -> np.ndarray:
        return self.placer.place(codes)


@dataclass(frozen=True, eq=False)
class UMAPProjection(NeighbourMap):
    """UMAP map; new codes are placed by umap-learn's transform steps (`placement.umap_place`)."""

    n_neighbors: int = UMAP_NEIGHBOURS
    min_dist: float = UMAP_MIN_DIST

    def transform(self, codes: np.ndarray) -> np.ndarray:
        return umap_place(self.codes, self.embedding, codes, self.n_neighbors, self.min_dist)


def fit_projection(
    codes: np.ndarray,
    method: Method,
    dims: tuple[int, int] = (0, 1),
    perplexity: float = 30.0,
    seed: int = 0,
    progress: Progress | None = None,
    n_jobs: int = 1,
    k: int = 10,
) -> Projection:
    """Fit a 2-D map of `codes` (N, D). `dims` is used by "raw"; `perplexity` by "tsne"; `seed`,
    `n_jobs` and `k` (neighbours blended on the way back) by "tsne" and "umap". `progress` gets
    the finished fraction in [0, 1] during their optimisation."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[1] < 2 or len(codes) < 2:
        raise ValueError(f"a map needs at least 2 codes of at least 2 dimensions, got shape {codes.shape}")
    if method == "pca":
        return _fit_pca(codes)
    if method == "raw":
        return _fit_raw(codes, dims)
    if method == "tsne":
        return _fit_tsne(codes, perplexity, seed, progress, n_jobs, k)
    if method == "umap":
        return _fit_umap(codes, seed, progress, k)
    raise ValueError(f"unknown map method {method!r}; choose one of {', '.join(METHODS)}")


def _fit_pca(codes: np.ndarray) -> LinearProjection:
    """PCA from the D x D scatter matrix's eigenvectors, not an SVD of the N x D codes: the same
    axes (D is small, so squaring the condition number costs nothing visible) at a quarter of
    the time for 100k codes, which is what keeps the PCA map under its 0.5 s bar."""
    mean = codes.mean(axis=0, dtype=np.float64)
    centred = codes - mean
    scatter = centred.T @ centred
    eigenvalues, eigenvectors = np.linalg.eigh(scatter)  # ascending
    eigenvalues, eigenvectors = np.clip(eigenvalues[::-1], 0.0, None), eigenvectors[:, ::-1]
    components = eigenvectors[:, :2].T
    components = components * np.sign(components[[0, 1], np.abs(components).argmax(axis=1)])[:, None]  # fix the sign
    total = float(eigenvalues.sum()) or 1.0
    return LinearProjection(
        "pca", centred @ components.T, mean, components, eigenvalues[:2] / total,
    )


def _fit_raw(codes: np.ndarray, dims: tuple[int, int]) -> LinearProjection:
    d = codes.shape[1]
    i, j = (int(v) for v in dims)
    if i == j or not (0 <= i < d and 0 <= j < d):
        raise ValueError(f"choose two different latent dimensions between 0 and {d - 1}, got {dims}")
    components = np.eye(d)[[i, j]]
    origin = codes.mean(axis=0)
    origin[[i, j]] = 0.0  # the map shows z_i, z_j themselves; every other dim sits at its mean
    var = codes.var(axis=0)
    return LinearProjection("raw", codes[:, [i, j]], origin, components, var[[i, j]] / (var.sum() or 1.0))


def _tsne(n: int, perplexity: float, seed: int, n_jobs: int = 1, callbacks: Callable | None = None) -> Any:
    """Our openTSNE settings for n codes (one place, shared by the fit and its rebuild)."""
    from openTSNE import TSNE

    return TSNE(
        perplexity=min(float(perplexity), (n - 1) / 3.0),
        early_exaggeration_iter=TSNE_EARLY_ITER,
        n_iter=TSNE_ITER,
        negative_gradient_method="auto",  # Barnes-Hut below 10k points, FFT above
        # FFT grid: 2 map units per interval, not 1, so iterations stay cheap as the map
        # spreads out, at the same trustworthiness (bench/map_speed.py prints both)
        ints_in_interval=2,
        neighbors="exact" if n <= TSNE_EXACT_KNN_MAX else "auto",
        n_jobs=n_jobs,
        random_state=seed,
        callbacks=callbacks,
        callbacks_every_iters=_PROGRESS_EVERY,
    )


def _fit_tsne(
    codes: np.ndarray, perplexity: float, seed: int, progress: Progress | None, n_jobs: int, k: int,
) -> TSNEProjection:
    total = TSNE_EARLY_ITER + TSNE_ITER
    done = 0

    def report(iteration: int, error: float, embedding: np.ndarray) -> bool:
        nonlocal done
        done += _PROGRESS_EVERY
        if progress is not None:
            progress(min(done / total, 1.0))
        return False  # never stop early

    embedding = np.array(_tsne(len(codes), perplexity, seed, n_jobs, report).fit(codes), dtype=np.float64)
    embedding -= (embedding.max(axis=0) + embedding.min(axis=0)) / 2  # centred on its bounding box
    return tsne_projection(embedding, codes, k, perplexity, seed)


def tsne_projection(embedding: np.ndarray, codes: np.ndarray, k: int, perplexity: float, seed: int) -> TSNEProjection:
    """A t-SNE map from its layout (N, 2), centred on its bounding box, and its codes (N, D)."""
    return TSNEProjection("tsne", embedding, codes, k, int(seed), float(perplexity))


def umap_projection(embedding: np.ndarray, codes: np.ndarray, k: int, seed: int) -> UMAPProjection:
    """A UMAP map from its layout (N, 2), centred on its bounding box, and its codes (N, D)."""
    return UMAPProjection("umap", embedding, codes, k, int(seed))


class _ProgressFile:
    """Where umap-learn's progress bar (tqdm) writes: reads its "n/total" epochs into
    `progress`, which may raise (map_job.FitCancelled) to end the fit between two epochs."""

    def __init__(self, progress: Progress | None, start: float) -> None:
        self._progress, self._start = progress, start

    def write(self, text: str) -> None:
        counts = re.findall(r"(\d+)/(\d+)", text)
        if counts and self._progress is not None:
            done, total = map(int, counts[-1])
            self._progress(self._start + (1.0 - self._start) * done / max(total, 1))

    def flush(self) -> None:
        pass


def _fit_umap(codes: np.ndarray, seed: int, progress: Progress | None, k: int) -> UMAPProjection:
    from sklearn.neighbors import NearestNeighbors

    report = progress or (lambda fraction: None)
    report(0.0)
    n_neighbors = min(UMAP_NEIGHBOURS, len(codes) - 1)
    # exact neighbours (each code's own first), as t-SNE's: faster than pynndescent's index on
    # low-dimensional codes, and no index to compile
    distances, index = NearestNeighbors(n_neighbors=n_neighbors).fit(codes).kneighbors(codes)
    report(0.05)
    from umap import UMAP  # its first import compiles numba code: minutes, once per machine (cached)

    reducer = UMAP(
        n_neighbors=n_neighbors, min_dist=UMAP_MIN_DIST, random_state=seed, n_jobs=1,
        precomputed_knn=(index, distances), tqdm_kwds={"disable": False, "file": _ProgressFile(progress, 0.1)},
    )
    report(0.1)
    with warnings.catch_warnings():  # that random_state means one thread, and no search index: both meant
        warnings.simplefilter("ignore", UserWarning)
        embedding = np.asarray(reducer.fit_transform(codes), dtype=np.float64)
    embedding -= (embedding.max(axis=0) + embedding.min(axis=0)) / 2
    return umap_projection(embedding, codes, k, seed)


def map_bounds(embedding: np.ndarray, pad: float = 0.05) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1): the embedding's bounding box grown by `pad` of its extent per side."""
    lo, hi = embedding.min(axis=0), embedding.max(axis=0)
    margin = pad * np.maximum(hi - lo, 1e-9)
    (x0, y0), (x1, y1) = lo - margin, hi + margin
    return float(x0), float(x1), float(y0), float(y1)


@dataclass(frozen=True)
class Click:
    """A click on the map: its position, and the code's index when it hit a data point."""

    xy: tuple[float, float]
    index: int | None


def click_at(embedding: np.ndarray, x: float, y: float, rx: float, ry: float) -> Click:
    """A click at (x, y) in map units with a hit radius (rx, ry) per axis (a few screen pixels,
    in map units at the current zoom; both > 0). It hits the nearest code within that ellipse,
    if any, and then means that code's own position; else the spot itself."""
    if len(embedding):
        d2 = ((embedding[:, 0] - x) / rx) ** 2 + ((embedding[:, 1] - y) / ry) ** 2
        i = int(np.argmin(d2))
        if d2[i] <= 1.0:
            return Click((float(embedding[i, 0]), float(embedding[i, 1])), i)
    return Click((float(x), float(y)), None)


def decode_at(model: VAE, projection: Projection, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map position (2,) -> (latent point z (D,), decoded image (H, W) in [0, 1])."""
    z = projection.to_latent(np.asarray(xy, dtype=np.float64).reshape(2))
    return z, decode_latents(model, z)[0]
