"""``--dir``: the log directories a subcommand reads, the same for every subcommand.

``--dir PATH`` may be repeated: several hosts' directories are read together
(merged by time where events are listed, one after another where files are).
A directory given twice is read once. Each given path must be an existing
directory; without ``--dir`` the configured ``EVENTLOG_DIR`` is used even
when it does not exist yet (nothing written yet means no events).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from eventlog.cli.base import Failure

__all__ = ["add_argument", "resolve"]

Given = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None


def add_argument(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--dir PATH`` option (``dirs`` in the options)."""
    parser.add_argument(
        "--dir",
        dest="dirs",
        action="append",
        metavar="PATH",
        help="a log directory (default EVENTLOG_DIR); repeat it to merge several "
        "hosts' directories by time",
    )


def resolve(given: Given, default: Callable[[], Path]) -> list[Path]:
    """The directories to read: those ``given`` (in their order, each once), or
    ``[default()]`` when none is. Raises :class:`Failure` with a one-line
    message for a given path that does not exist or is not a directory."""
    if not given:
        return [default()]
    items = [given] if isinstance(given, str | os.PathLike) else list(given)
    dirs: list[Path] = []
    seen: set[Path] = set()
    for item in items:
        if not os.fspath(item):
            raise Failure("--dir '' is not a directory")
        path = Path(item)
        if not path.exists():
            raise Failure(f"no such directory: {path}")
        if not path.is_dir():
            raise Failure(f"--dir {str(path)!r} is not a directory")
        same = path.resolve()
        if same not in seen:
            seen.add(same)
            dirs.append(path)
    return dirs
