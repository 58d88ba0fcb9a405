"""What the command lines (`vae_core.train`, `vae_core.convert`) share: a user's mistake in the
arguments is one line on stderr and exit status 2, as argparse uses, never its usage block."""
from __future__ import annotations

import argparse
from typing import NoReturn


class UsageError(Exception):
    """The command line itself is wrong (exit status 2, as argparse uses)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is raised as a UsageError for the caller to print in one line
    (under torchrun, on rank 0 only) instead of exiting with the usage block."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")
