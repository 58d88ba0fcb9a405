"""Fitted maps kept on disk next to their checkpoint, so a server restart does not refit them.

A map is a pure function of the codes and its settings. The map of checkpoint NAME lives in
`<checkpoint folder>/.cache/NAME-<hash12>-<method>-<settings>.npz`, where hash12 starts the
SHA-256 of the checkpoint's weights file and of the codes mapped (stored in the checkpoint,
or encoded from its data set): a retrained or replaced checkpoint gets new names, so a stale
map is never read. Files hold plain arrays (read with allow_pickle=False) and are written
atomically (temp file + rename). A damaged or foreign file, or one declaring more data than
such a map holds (checked from its zip directory before anything is unpacked), is ignored
and overwritten by the refit; a folder that cannot be written just means the map is not
kept (the caller's in-memory cache still holds it). Each folder keeps at most
`MAX_CACHE_FILES` maps and `MAX_CACHE_BYTES`, evicting the least recently used.
"""
from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checkpoints import atomic_write
from .projection import (
    TSNE_EARLY_ITER, TSNE_ITER, UMAP_MIN_DIST, UMAP_NEIGHBOURS, LinearProjection, Method, NeighbourMap, Progress,
    Projection, TSNEProjection, fit_projection, tsne_projection, umap_projection,
)

logger = logging.getLogger(__name__)

CACHE_FOLDER = ".cache"
FORMAT = 1  # bump when the file's layout changes
MAX_CACHE_FILES = 64  # per cache folder; beyond, the least recently used maps are deleted
MAX_CACHE_BYTES = 256 << 20
_CHUNK = 1 << 20
_ARRAY_OVERHEAD = 4096  # an .npy header and a zip entry, generously


def map_settings(method: Method, dims: tuple[int, int] = (0, 1), perplexity: float = 30.0, seed: int = 0) -> str:
    """The settings a map of `method` depends on, as a file-name part ("pca", "raw-3-1",
    "tsne-p30-s0-it250+250", "umap-n15-d0.1-s0"); settings the method ignores are left out."""
    if method == "raw":
        return f"raw-{int(dims[0])}-{int(dims[1])}"
    if method == "tsne":
        return f"tsne-p{float(perplexity):g}-s{int(seed)}-it{TSNE_EARLY_ITER}+{TSNE_ITER}"
    if method == "umap":
        return f"umap-n{UMAP_NEIGHBOURS}-d{UMAP_MIN_DIST:g}-s{int(seed)}"
    return str(method)


@dataclass(frozen=True)
class MapCache:
    """The maps of one checkpoint's codes on disk. `folder` defaults to `.cache` beside
    the checkpoint; give another (e.g. a temporary folder in tests) to keep them elsewhere."""

    checkpoint: Path  # the weights file, NAME.safetensors
    folder: Path | None = None

    @property
    def directory(self) -> Path:
        return self.folder if self.folder is not None else self.checkpoint.parent / CACHE_FOLDER

    def digest(self, codes: np.ndarray) -> str:
        """SHA-256 (hex) of the checkpoint's weights file and of the codes."""
        sha = hashlib.sha256()
        with open(self.checkpoint, "rb") as f:
            while chunk := f.read(_CHUNK):
                sha.update(chunk)
        codes = np.ascontiguousarray(codes, dtype=np.float64)
        sha.update(repr(codes.shape).encode())
        sha.update(codes.data)
        return sha.hexdigest()

    def path(
        self, codes: np.ndarray, method: Method, dims: tuple[int, int] = (0, 1), perplexity: float = 30.0,
        seed: int = 0,
    ) -> Path:
        """Where the map of `codes` with these settings is kept."""
        name = f"{self.checkpoint.stem}-{self.digest(codes)[:12]}-{map_settings(method, dims, perplexity, seed)}.npz"
        return self.directory / name

    def fit(
        self, codes: np.ndarray, method: Method, dims: tuple[int, int] = (0, 1), perplexity: float = 30.0,
        seed: int = 0, progress: Progress | None = None, slot: AbstractContextManager[object] = nullcontext(),
    ) -> Projection:
        """The map from disk when it is there and sound; else `fit_projection` (inside `slot`,
        which may wait for a turn), then saved, and the folder trimmed to its bounds."""
        try:
            path: Path | None = self.path(codes, method, dims, perplexity, seed)
        except OSError as err:  # the checkpoint went away meanwhile: the map can still be made
            logger.info("map cache unavailable for %s: %s", self.checkpoint, err.strerror or err)
            path = None
        projection = None if path is None else load_map(path, codes)
        if projection is None:
            with slot:
                projection = fit_projection(codes, method, dims, perplexity, seed, progress=progress)
            if path is not None and save_map(path, projection):
                evict_least_recently_used(path.parent, MAX_CACHE_FILES, MAX_CACHE_BYTES)
        elif progress is not None:
            progress(1.0)
        return projection


def save_map(path: Path, projection: Projection) -> bool:
    """Write the map's arrays atomically; False (and a log line) when the folder is not writable."""
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT), "method": np.array(projection.method), "embedding": projection.embedding,
    }
    if isinstance(projection, LinearProjection):
        arrays |= {"origin": projection.origin, "components": projection.components,
                   "explained_variance_ratio": projection.explained_variance_ratio}
    elif isinstance(projection, NeighbourMap):
        arrays["seed"] = np.array(projection.seed)
        if isinstance(projection, TSNEProjection):
            arrays["perplexity"] = np.array(projection.perplexity)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        atomic_write(path, buffer.getvalue())
    except OSError as err:
        logger.info("map not kept on disk (%s): %s; it stays in memory only", path, err.strerror or err)
        return False
    return True


def evict_least_recently_used(folder: Path, max_files: int, max_bytes: int) -> None:
    """Delete the maps used least recently (a read touches its file) until the folder is within bounds."""
    entries = []
    for path in folder.glob("*.npz"):
        try:
            st = path.stat()
        except FileNotFoundError:  # another server evicted it meanwhile
            continue
        entries.append((st.st_mtime_ns, st.st_size, path))
    entries.sort(reverse=True)  # most recent first
    total = 0
    for rank, (_, size, path) in enumerate(entries):
        total += size
        if rank >= max_files or total > max_bytes:
            path.unlink(missing_ok=True)


def _sizes_fit(path: Path, n: int, d: int) -> bool:
    """Whether the file's arrays, as its zip directory declares them, are no larger than a map of
    n codes of d dims can be: checked before anything is read or unpacked."""
    limit = 16 * n + 16 * d * 3 + 8 * _ARRAY_OVERHEAD  # embedding (n, 2), origin, components (2, d), small values
    if path.stat().st_size > limit:
        return False
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist()) <= limit


def load_map(path: Path, codes: np.ndarray, k: int = 10) -> Projection | None:
    """The map saved at `path` for these codes (N, D), or None when there is none, or it is
    damaged, foreign, larger than such a map can be, or does not fit the codes (then it is
    refitted and overwritten). A map read is touched, so eviction keeps it."""
    if not path.is_file():
        return None
    codes = np.asarray(codes, dtype=np.float64)
    try:
        if not _sizes_fit(path, *codes.shape):
            raise ValueError("it declares more data than a map of these codes holds")
        path.touch()  # its last use, for evict_least_recently_used
        with np.load(path, allow_pickle=False) as saved:
            if int(saved["format"]) != FORMAT:
                return None
            method, embedding = str(saved["method"]), np.asarray(saved["embedding"], dtype=np.float64)
            if embedding.shape != (len(codes), 2) or not np.isfinite(embedding).all():
                raise ValueError(f"a map of shape {embedding.shape} for {len(codes)} codes")
            if method in ("pca", "raw"):
                components = np.asarray(saved["components"], dtype=np.float64)
                if components.shape != (2, codes.shape[1]):
                    raise ValueError(f"components of shape {components.shape} for {codes.shape[1]}-d codes")
                return LinearProjection(
                    method, embedding, np.asarray(saved["origin"], dtype=np.float64), components,
                    np.asarray(saved["explained_variance_ratio"], dtype=np.float64),
                )
            if method == "tsne":
                return tsne_projection(embedding, codes, k, float(saved["perplexity"]), int(saved["seed"]))
            if method == "umap":
                return umap_projection(embedding, codes, k, int(saved["seed"]))
            raise ValueError(f"unknown method {method!r}")
    except (OSError, EOFError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as err:
        logger.warning("ignoring the damaged map file %s (%s); the map is refitted", path, err)
        return None
