"""Session keys shared by several pages, and the one typed hand-off of a latent point."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

import numpy as np
import streamlit as st

from vae_core import VAE, Checkpoint
from vae_core.reparam import q_of_point

CHECKPOINT_KEY = "_checkpoint"  # the Checkpoint app.py's picker loaded for this run
MODEL_KEY = "model_path"  # selectbox key: the chosen checkpoint's weights path (str)
SELECT_NEXT_KEY = "select_model_next"  # str: a weights path the picker selects on its next draw
HANDOFF_KEY = "latent_point"  # LatentPoint: the point one page hands to the others
ARRIVAL_KEY = "_handoff_arrival"  # str: the page a point was just sent to; it selects the point on arrival
EXPLORE = "pages/explore.py"
REPARAMETERIZATION = "pages/reparameterization.py"
PAGE_PARAM = "page"  # a deep link's page, carried through app.py on a freshly started server
T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class LatentPoint:
    """A latent point one page hands to another. z is the point itself; an encoded image
    comes with its encoder's q(z|x) (mu, log_var) and the image it was encoded from."""

    z: np.ndarray  # (D,)
    source: str  # where it came from, for captions ("upload seven.png")
    image: np.ndarray | None = None  # (H, W) in [0, 1]: the encoded image, when there was one
    mu: np.ndarray | None = None  # (D,): q(z|x)'s mean, when the point was encoded
    log_var: np.ndarray | None = None  # (D,): q(z|x)'s log variance, when the point was encoded

    @property
    def latent_dim(self) -> int:
        return len(self.z)

    def q(self, model: VAE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mu, log_var, image) of the q(z|x) every page shows for this point: the encoder's own
        when it came from an image, else that of decode(z) (`vae_core.reparam.q_of_point`)."""
        mu = self.mu if self.mu is not None else self.z
        mu, log_var, x_hat = q_of_point(model, mu, self.log_var)
        return mu, log_var, self.image if self.image is not None else x_hat


def _vector(values: np.ndarray | None) -> np.ndarray | None:
    return None if values is None else np.asarray(values, dtype=np.float32).ravel().copy()


def hand_over(
    z: np.ndarray, source: str, *, image: np.ndarray | None = None, mu: np.ndarray | None = None,
    log_var: np.ndarray | None = None,
) -> LatentPoint:
    """Hand a latent point to the Explore and Reparameterization pages (this session only)."""
    point = LatentPoint(_vector(z), source, None if image is None else np.asarray(image, np.float32).copy(),
                        _vector(mu), _vector(log_var))
    st.session_state[HANDOFF_KEY] = point
    return point


def handed_point() -> LatentPoint | None:
    """The point another page handed over, if any."""
    return st.session_state.get(HANDOFF_KEY)


def send_to(page: str, z: np.ndarray, source: str, **encoded: np.ndarray | None) -> None:
    """Hand the point over and open `page` (EXPLORE or REPARAMETERIZATION), which starts from it."""
    hand_over(z, source, **encoded)
    st.session_state[ARRIVAL_KEY] = page
    st.switch_page(page)


def arrived(page: str) -> LatentPoint | None:
    """The point just sent to `page`, on that page's first run after the send; else None."""
    if st.session_state.get(ARRIVAL_KEY) != page:
        return None
    del st.session_state[ARRIVAL_KEY]
    return handed_point()


def select_model_next_run(path: str | Path) -> None:
    """Have the picker choose `path` on the next run: it is drawn before the page, so a page
    cannot change its value in the same run (call st.rerun() after this)."""
    st.session_state[SELECT_NEXT_KEY] = str(path)


def current_model() -> Checkpoint | None:
    """The checkpoint chosen in the sidebar (app.py draws the picker before each page).

    On a freshly started server, Streamlit (1.67) serves a deep link such as /explore in its
    legacy `pages/` mode, running the page alone before any run of app.py has called
    st.navigation; such a run has no picker, so it is sent through app.py first, which opens
    the linked page with its query string (tests/e2e/test_home.py fails without this).
    """
    if CHECKPOINT_KEY not in st.session_state:  # the page and its query string go along
        page = urlparse(st.context.url or "").path.strip("/").rsplit("/", 1)[-1]
        st.switch_page("app.py", query_params={**st.query_params.to_dict(), PAGE_PARAM: page})
    return st.session_state[CHECKPOINT_KEY]


def model_or_notice() -> Checkpoint | None:
    """The picked checkpoint; when none loads, a notice saying what to do, and None."""
    ckpt = current_model()
    if ckpt is None:
        st.info("Pick a model in the sidebar (or train one on the Train page).")
    return ckpt


MEMO_KEY = "_session_memo"  # name -> (inputs, result): this session's last results


def session_memo(name: str, key: tuple, compute: Callable[[], T]) -> T:
    """compute() once per key, kept in this session's state (one entry per name).

    Not st.cache_data: what comes from an upload must not outlive its session or be shared with others.
    """
    memo = st.session_state.setdefault(MEMO_KEY, {})
    if name not in memo or memo[name][0] != key:
        memo[name] = (key, compute())
    return memo[name][1]
