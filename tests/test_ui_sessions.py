"""The upload janitor: a gone session's files are freed, a live one keeps its budget."""
from __future__ import annotations

from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from ui.sessions import GONE_GRACE_S, free_gone_uploads
from vae_core.uploads import UploadBudget


def _store(files_per_session: dict[str, int], size: int) -> MemoryUploadedFileManager:
    store = MemoryUploadedFileManager("/upload")
    for sid, n in files_per_session.items():
        for i in range(n):
            store.add_file(sid, UploadedFileRec(f"{sid}-{i}", f"{i}.png", "image/png", b"x" * size))
    return store


def test_gone_sessions_lose_their_uploads_after_the_grace_and_live_ones_keep_the_budget() -> None:
    store = _store({"live": 10, "gone": 5, "back": 3}, size=1000)
    alive = {"live", "back"}
    gone_since: dict[str, float] = {}
    budget = UploadBudget(max_files=4, max_bytes=10_000)
    alive.discard("back")
    free_gone_uploads(store, alive.__contains__, gone_since, budget, now=0.0)
    assert [r.file_id for r in store.file_storage["live"].values()] == [f"live-{i}" for i in range(4)]  # the first ones
    assert len(store.file_storage["gone"]) == 5  # within the grace: a reload may bring it back
    alive.add("back")  # it did come back
    free_gone_uploads(store, alive.__contains__, gone_since, budget, now=GONE_GRACE_S + 1)
    assert "gone" not in store.file_storage and len(store.file_storage["back"]) == 3
