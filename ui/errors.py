"""The last line of defence on every page: an error nobody expected is logged on the server
with a short id, and the visitor sees that id (to quote) instead of a traceback. Expected
failures (bad files, bad settings) are caught where they happen, with their own message."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import streamlit as st

logger = logging.getLogger("vae_explorer")


def report_unexpected(run: Callable[[], None]) -> None:
    """Run `run`; an unexpected exception becomes a server log entry and a notice with its id.
    (Streamlit's rerun and stop are BaseExceptions, so they pass through untouched.)"""
    try:
        run()
    except Exception:
        error_id = uuid.uuid4().hex[:8]
        logger.exception("unexpected error, id %s", error_id)
        st.error(f"Something went wrong on our side and this page could not be drawn. The details are in "
                 f"the server's log under error id {error_id}: quote it when you report the problem.")
