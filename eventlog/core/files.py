"""The names of eventlog's files: the live files and their rotated siblings.

The bottom of the package: writers, readers and the command line all take
file names from here, so the read side never needs the write side to find a
file. A live file ``events.jsonl`` is rotated by renaming it to
``events.jsonl.<UTC time of the rotation>`` (``-N`` added when the name is
taken), which sorts by age, and then gzipped to ``….gz``.
"""

from __future__ import annotations

import calendar
import os
import re
import stat
import time
from pathlib import Path
from typing import Final

__all__ = [
    "DJANGO_FILE",
    "EVENTS_FILE",
    "FILES",
    "ROTATED_SUFFIX",
    "not_regular",
    "rotated_at",
    "rotated_files",
]

EVENTS_FILE: Final = "events.jsonl"
"""The event log, written through structlog."""
DJANGO_FILE: Final = "django.jsonl"
"""Django's own log records, written through python-json-logger."""
FILES: Final = {"events": EVENTS_FILE, "django": DJANGO_FILE}
"""The files by the short name the command line uses (``--file``)."""
ROTATED_SUFFIX: Final = re.compile(
    r"\.(?P<stamp>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{6}Z)(?:-(?P<n>\d+))?(?P<gz>\.gz)?"
)


def rotated_files(path: Path, *, regular_only: bool = False) -> list[Path]:
    """Rotated files of the live file ``path``, oldest first.

    Only names this sink makes count (``<name>.<UTC stamp>[-N][.gz]``), so a
    ``events.jsonl.bak`` is never read or pruned. With ``regular_only`` (the
    compressor and retention) entries that are not regular files (symbolic
    links, FIFOs, directories) are left out, so they are never followed,
    waited on or deleted; readers list them, to report them when they fail
    to open them. A file caught between compression and the removal of the
    original is listed once, as the ``.gz`` (both are complete, the original
    is about to go).
    """
    prefix = path.name + "."
    try:
        with os.scandir(path.parent) as entries:
            candidates = [
                Path(entry.path)
                for entry in entries
                if entry.name.startswith(prefix) and (not regular_only or _is_regular(entry))
            ]
    except OSError:
        return []
    found: dict[tuple[str, int], Path] = {}
    for candidate in candidates:
        match = ROTATED_SUFFIX.fullmatch(candidate.name[len(path.name) :])
        if match is None:
            continue
        key = (match["stamp"], int(match["n"] or 0))
        if key not in found or match["gz"]:
            found[key] = candidate
    return [found[key] for key in sorted(found)]


def not_regular(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, said as the reason it is not
    read or written as a log file."""
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return f"not a regular file but {kind}"
    return "not a regular file but a device"


def _is_regular(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def rotated_at(live: Path, rotated: Path) -> float | None:
    """The UTC time (epoch seconds) in the name of ``rotated``, a rotated file of
    ``live``: when it was rotated, so no line in it is newer."""
    match = ROTATED_SUFFIX.fullmatch(rotated.name[len(live.name) :])
    if match is None:
        return None
    stamp = match["stamp"]  # 2026-11-23T10-15-00.123456Z
    whole = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H-%M-%S"))
    return whole + int(stamp[20:26]) / 1e6
