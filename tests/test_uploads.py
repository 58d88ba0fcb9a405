"""The per-session upload budget."""
from __future__ import annotations

from vae_core.uploads import UploadBudget

MB = 2**20


def test_the_first_files_within_both_bounds_are_kept() -> None:
    budget = UploadBudget(max_files=3, max_bytes=10 * MB)
    assert budget.accepted([MB] * 3) == 3 and budget.refusal([MB] * 3) is None
    assert budget.accepted([MB] * 60) == 3  # the 60 files
    assert budget.accepted([4 * MB, 4 * MB, 4 * MB]) == 2  # bytes bound first
    assert budget.accepted([11 * MB]) == 0
    message = budget.refusal([8 * MB] * 60)
    assert message is not None and message.startswith("Only the first 1 of 60 files") and "10 MB" in message
