"""Turn a name typed by a user into a safe checkpoint file name, or say why it cannot be one.

The name becomes `NAME.safetensors` and `NAME.json` inside the user's checkpoint folder, so it
must never leave that folder (no separators, no `..`), never be hidden (no leading dot), and
stay portable: only ASCII letters, digits, `_`, `-` and `.` survive. Accents are dropped
(`modèle` -> `modele`) rather than refusing the whole name.
"""
from __future__ import annotations

import re
import unicodedata

MAX_NAME_LENGTH = 64
CHECKPOINT_SUFFIXES = (".safetensors", ".json")

_DISALLOWED = re.compile(r"[^A-Za-z0-9_.-]+")
_DOTS = re.compile(r"\.{2,}")
_EDGES = "._-"  # never first (hidden file, option-like) nor last (Windows drops trailing dots)
_LINE_SPACES = frozenset("\t\n\r\v\f")


def _visible(ch: str) -> str:
    """Spaces (tabs, newlines, no-break spaces) stay separators; control and format characters vanish."""
    if ch in _LINE_SPACES or unicodedata.category(ch) == "Zs":
        return " "
    return "" if unicodedata.category(ch) in ("Cc", "Cf") else ch


def sanitize_checkpoint_name(name: str) -> str:
    """The file stem to save under; ValueError with a user-facing message if none is left.

    Control characters are removed (tabs and newlines count as spaces), every other run of
    disallowed characters (spaces, `/`, `\\`, `:`...) becomes one `-`, runs of dots become one
    dot, a typed `.safetensors` or `.json` suffix is dropped, and the result is cut to
    `MAX_NAME_LENGTH` characters.
    """
    if not name or not name.strip():
        raise ValueError("Enter a name for the checkpoint.")
    visible = "".join(map(_visible, name))
    ascii_name = unicodedata.normalize("NFKD", visible).encode("ascii", "ignore").decode("ascii")
    stem = ascii_name.strip()
    for suffix in CHECKPOINT_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    stem = _DOTS.sub(".", _DISALLOWED.sub("-", stem)).strip(_EDGES)
    stem = stem[:MAX_NAME_LENGTH].rstrip(_EDGES)
    if not stem:
        raise ValueError("This name has no characters a checkpoint name can use: letters, digits, '-', '_' or '.'.")
    return stem
