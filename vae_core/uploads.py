"""How much one visitor may upload: a bound per session on files and on bytes, so that no
session can take the server's memory from the others."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_SESSION_FILES = 32
MAX_SESSION_BYTES = 64 * 2**20  # in all, this session's files together


@dataclass(frozen=True)
class UploadBudget:
    max_files: int = MAX_SESSION_FILES
    max_bytes: int = MAX_SESSION_BYTES

    def accepted(self, sizes: Sequence[int]) -> int:
        """How many of the files (sizes in bytes, in upload order) fit: the first ones, up to the bounds."""
        total = 0
        for n, size in enumerate(sizes):
            total += size
            if n >= self.max_files or total > self.max_bytes:
                return n
        return len(sizes)

    def refusal(self, sizes: Sequence[int]) -> str | None:
        """What to tell the user when not all files fit; None when they do."""
        kept = self.accepted(sizes)
        if kept == len(sizes):
            return None
        return (f"Only the first {kept} of {len(sizes)} files are used: a session may upload at most "
                f"{self.max_files} files and {self.max_bytes // 2**20} MB in all. Remove some to add others.")
