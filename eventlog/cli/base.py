"""What a subcommand module provides and what it is given.

Each module of a subcommand has a ``NAME``, an ``add_parser(subparsers)``
that declares its arguments, and a ``run(options, console, defaults)`` that
does the work. ``run`` reports an expected failure (a bad value, unreadable
input, a refusal) by raising :class:`Failure` with a one-line message, which
the management command turns into a ``CommandError`` (exit status 1).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eventlog.cli.console import Console

__all__ = ["Defaults", "Failure", "Subcommand"]


class Failure(Exception):
    """An expected failure of a subcommand: its message is shown as one line."""


@dataclass(frozen=True, slots=True)
class Defaults:
    """The settings a subcommand falls back on, read only when needed: the log
    directory when no ``--dir`` is given, and the HMAC key of the chain."""

    directory: Callable[[], Path]
    hmac_key: Callable[[], bytes | None]


class Subcommand(Protocol):
    """The shape of a subcommand module."""

    @property
    def NAME(self) -> str:
        """The subcommand's name on the command line."""

    def add_parser(self, subparsers: Any) -> argparse.ArgumentParser:
        """Add the subcommand's parser to ``subparsers`` and return it."""

    def run(self, options: Mapping[str, Any], console: Console, defaults: Defaults) -> None:
        """Do the subcommand's work with the parsed ``options``."""
