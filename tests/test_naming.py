"""Checkpoint names typed by users: whatever they type, the files stay inside the folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from vae_core.naming import MAX_NAME_LENGTH, sanitize_checkpoint_name


@pytest.mark.parametrize(
    ("typed", "stem"),
    [
        ("digits-2d", "digits-2d"),
        ("  my model v2  ", "my-model-v2"),
        ("beta_4.0", "beta_4.0"),
        ("run.safetensors", "run"),
        ("run.JSON", "run"),
        ("modèle café", "modele-cafe"),
        ("ﬁne", "fine"),  # NFKD splits the ligature
        ("a\x00b\x1fc\u200bd", "abcd"),  # control and format characters vanish
        ("tab\there", "tab-here"),
    ],
)
def test_ordinary_names_keep_their_meaning(typed: str, stem: str) -> None:
    assert sanitize_checkpoint_name(typed) == stem


@pytest.mark.parametrize(
    "typed",
    ["../../etc/passwd", "..\\..\\windows\\system32", "/abs/path", "~/x", "a/../../b", ".hidden", "-rf", "x/..",
     "nul\x00/../x"],
)
def test_path_tricks_never_leave_the_folder(typed: str, tmp_path: Path) -> None:
    stem = sanitize_checkpoint_name(typed)
    assert "/" not in stem and "\\" not in stem and ".." not in stem
    assert not stem.startswith((".", "-")) and not stem.endswith(".")
    assert (tmp_path / stem).resolve().parent == tmp_path.resolve()


@pytest.mark.parametrize("typed", ["", "   ", "..", "...", "/", "\x00\x01", "模型", "🙂🙂", "._-"])
def test_names_with_nothing_usable_are_refused_with_a_message(typed: str) -> None:
    with pytest.raises(ValueError, match="name"):
        sanitize_checkpoint_name(typed)


def test_empty_name_asks_for_one() -> None:
    with pytest.raises(ValueError, match="Enter a name"):
        sanitize_checkpoint_name("  ")


def test_unusable_name_says_which_characters_are_allowed() -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        sanitize_checkpoint_name("模型")


def test_long_names_are_cut_without_a_dangling_separator() -> None:
    stem = sanitize_checkpoint_name("a" * (MAX_NAME_LENGTH - 1) + "-" + "b" * 50)
    assert len(stem) <= MAX_NAME_LENGTH and stem == "a" * (MAX_NAME_LENGTH - 1)


def test_mixed_unicode_keeps_the_ascii_part() -> None:
    assert sanitize_checkpoint_name("模型 digits 2d") == "digits-2d"
