"""Who is connected: the browser session running this script, whether another is still
there, and the server-side memory a session's uploads hold, freed when it ends.

Streamlit keeps a closed tab's session for a while so that a reconnect can resume it, and
keeps the session's uploaded files with it until that session is shut down; a session that
is dropped from that store without being shut down kept its files in memory for good. A
janitor thread frees the uploads of sessions that are gone and trims those of live ones
to the upload budget.
"""
from __future__ import annotations

import logging
import threading
import time

import streamlit as st
from streamlit.runtime import get_instance
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from vae_core.uploads import UploadBudget

logger = logging.getLogger(__name__)

JANITOR_EVERY_S = 10.0
GONE_GRACE_S = 30.0  # a reload or a brief disconnection is not the end of a session


def session_id() -> str:
    """The id of the browser session this script runs for ("" outside a session, as in tests)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def session_alive(sid: str) -> bool:
    """Whether session `sid` still has a connected browser tab."""
    try:
        return get_instance().is_active_session(sid)
    except RuntimeError:  # no runtime (a script run outside a server): nothing to track
        return True


def free_gone_uploads(files: MemoryUploadedFileManager, alive, gone_since: dict[str, float],
                      budget: UploadBudget, now: float) -> None:
    """Drop the uploads of sessions gone for GONE_GRACE_S; keep a live session's within the budget."""
    for sid in list(files.file_storage):
        if alive(sid):
            gone_since.pop(sid, None)
            records = list(files.file_storage.get(sid, {}).values())
            kept = budget.accepted([len(r.data) for r in records])
            for record in records[kept:]:
                files.remove_file(sid, record.file_id)
        elif now - gone_since.setdefault(sid, now) >= GONE_GRACE_S:
            files.remove_session_files(sid)
            gone_since.pop(sid, None)


@st.cache_resource
def start_upload_janitor() -> threading.Thread | None:
    """One janitor per server (Streamlit's in-memory upload store only)."""
    try:
        files = get_instance().uploaded_file_mgr
    except RuntimeError:
        return None
    if not isinstance(files, MemoryUploadedFileManager):
        return None
    budget, gone_since = UploadBudget(), {}

    def loop() -> None:
        while True:
            time.sleep(JANITOR_EVERY_S)
            try:
                free_gone_uploads(files, session_alive, gone_since, budget, time.monotonic())
            except Exception:  # a bug must not end the janitor for the server's lifetime
                logger.exception("freeing uploads failed")

    janitor = threading.Thread(target=loop, name="upload-janitor", daemon=True)
    janitor.start()
    return janitor
