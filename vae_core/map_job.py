"""A map fitted on a background thread, read from and saved to the disk cache.

`ProjectionJob` runs `projection.fit_projection` (through a `map_cache.MapCache`, which reads
a map fitted before, by this or an earlier server, instead) on a daemon thread, so a page can
draw t-SNE's progress while it runs and other sessions go on. Fits take turns and are
cancelled when nobody waits for them. The maths stays in `projection`; the files in `map_cache`.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import numpy as np

from .map_cache import MapCache
from .projection import NEIGHBOUR_MAPS, Method, Projection, TSNEProjection, fit_projection

logger = logging.getLogger(__name__)


class FitCancelled(Exception):
    """Raised inside a fit whose job was cancelled: nobody wants its map any more."""


MAX_CONCURRENT_FITS = 1  # t-SNE fits running at once on the server; more wait for a turn
_FIT_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_FITS)


def _warm_placer(projection: TSNEProjection) -> None:
    """Build the map's repulsion field before anything is placed (its cost: bench/large_map.py)."""
    projection.placer.field  # noqa: B018 - a cached property, computed here once


class ProjectionJob:
    """`fit_projection` on a daemon thread, so a page can draw t-SNE's progress while it
    runs (and other sessions go on). Read `fraction`, `done`, then `projection` or `error`.

    With a `cache` (the checkpoint's `MapCache`), a map fitted before, even by an earlier
    server, is read from disk instead, and a new fit is saved there. A fit waits for one of
    `MAX_CONCURRENT_FITS` turns, so a burst of new settings queues instead of taking every
    core. Viewers `hold` the job while they show it and `release` it when they move on;
    when the last one releases a job that has not finished, it is cancelled (waiting or
    fitting) and `cancelled` is set."""

    def __init__(
        self, codes: np.ndarray, method: Method, dims: tuple[int, int] = (0, 1), perplexity: float = 30.0, seed: int = 0,
        cache: MapCache | None = None,
    ) -> None:
        self.fraction = 0.0
        self.projection: Projection | None = None
        self.error: str | None = None  # why it failed, in the user's terms
        self._cancel = threading.Event()
        self._holders = 0
        self._lock = threading.Lock()
        args = (codes, method, dims, perplexity, seed, cache)
        self._thread = threading.Thread(target=self._run, args=args, name=f"projection-{method}", daemon=True)
        self._thread.start()

    def _run(
        self, codes: np.ndarray, method: Method, dims: tuple[int, int], perplexity: float, seed: int,
        cache: MapCache | None,
    ) -> None:
        try:
            slot = self._turn() if method in NEIGHBOUR_MAPS else contextlib.nullcontext()
            if cache is None:
                with slot:
                    self.projection = fit_projection(codes, method, dims, perplexity, seed, progress=self._report)
            else:
                self.projection = cache.fit(codes, method, dims, perplexity, seed, progress=self._report, slot=slot)
        except FitCancelled:
            self.error = "it was cancelled: nobody was waiting for it any more"
        except ValueError as err:  # bad settings: the message is for the user
            self.error = str(err)
        except Exception:  # a bug: the details go to the server log, not to the page
            logger.exception("%s map failed", method)
            self.error = "an internal error stopped it (the details are in the server log)"
        if isinstance(self.projection, TSNEProjection):  # so the first upload placed does not pay for it
            threading.Thread(target=_warm_placer, args=(self.projection,), name="placement-field", daemon=True).start()
        self.fraction = 1.0

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """One of the server's fit slots, waited for; FitCancelled when cancelled meanwhile."""
        while not _FIT_SLOTS.acquire(timeout=0.05):
            if self._cancel.is_set():
                raise FitCancelled
        try:
            if self._cancel.is_set():  # cancelled just as its turn came
                raise FitCancelled
            yield
        finally:
            _FIT_SLOTS.release()

    def _report(self, fraction: float) -> None:
        if self._cancel.is_set():
            raise FitCancelled
        self.fraction = fraction

    def hold(self) -> None:
        """A viewer starts showing (or waiting for) this map."""
        with self._lock:
            self._holders += 1

    def release(self) -> None:
        """A viewer moved on; the last one leaving an unfinished job cancels it."""
        with self._lock:
            self._holders = max(0, self._holders - 1)
            if self._holders == 0 and not self.done:
                self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set() and self.projection is None

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Block up to `timeout` seconds; True once the job has ended."""
        self._thread.join(timeout)
        return self.done
