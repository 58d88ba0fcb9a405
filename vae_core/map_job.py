"""A map fitted on a background thread, so a page can draw t-SNE's progress while it runs
(and other sessions go on), read from and saved to the checkpoint's disk cache.

Kept apart from `projection` (the maths) so that the cache, which stores projections,
and the maths it stores do not import each other.
"""
from __future__ import annotations

import logging
import threading

import numpy as np

from .map_cache import MapCache
from .projection import Method, Projection, TSNEProjection, fit_projection

logger = logging.getLogger(__name__)


def _warm_placer(projection: TSNEProjection) -> None:
    """Build the map's repulsion field before anything is placed (it takes a noticeable
    fraction of a second at any map size; bench/large_map.py)."""
    projection.placer.field  # noqa: B018 - a cached property, computed here once


class ProjectionJob:
    """`fit_projection` on a daemon thread, so a page can draw t-SNE's progress while it
    runs (and other sessions go on). Read `fraction`, `done`, then `projection` or `error`.

    With a `cache` (the checkpoint's `MapCache`), a map fitted before, even by an earlier
    server, is read from disk instead, and a new fit is saved there."""

    def __init__(
        self, codes: np.ndarray, method: Method, dims: tuple[int, int] = (0, 1), perplexity: float = 30.0, seed: int = 0,
        cache: MapCache | None = None,
    ) -> None:
        self.fraction = 0.0
        self.projection: Projection | None = None
        self.error: str | None = None  # why it failed, in the user's terms
        args = (codes, method, dims, perplexity, seed, cache)
        self._thread = threading.Thread(target=self._run, args=args, name=f"projection-{method}", daemon=True)
        self._thread.start()

    def _run(
        self, codes: np.ndarray, method: Method, dims: tuple[int, int], perplexity: float, seed: int,
        cache: MapCache | None,
    ) -> None:
        try:
            if cache is None:
                self.projection = fit_projection(codes, method, dims, perplexity, seed, progress=self._report)
            else:
                self.projection = cache.fit(codes, method, dims, perplexity, seed, progress=self._report)
        except ValueError as err:  # bad settings: the message is for the user
            self.error = str(err)
        except Exception:  # a bug: the details go to the server log, not to the page
            logger.exception("%s map failed", method)
            self.error = "an internal error stopped it (the details are in the server log)"
        if isinstance(self.projection, TSNEProjection):  # so the first upload placed does not pay for it
            threading.Thread(target=_warm_placer, args=(self.projection,), name="placement-field", daemon=True).start()
        self.fraction = 1.0

    def _report(self, fraction: float) -> None:
        self.fraction = fraction

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Block up to `timeout` seconds; True once the job has ended."""
        self._thread.join(timeout)
        return self.done
