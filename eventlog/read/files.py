"""Which files a log has, in which order, and opening them for reading.

The files of a log are ``<directory>/events.jsonl`` (live) and its rotated
siblings ``events.jsonl.<UTC stamp>[-N][.gz]``, whose names sort by age
(:mod:`eventlog.core.files` makes and recognises the names);
``django.jsonl`` follows the same scheme. A rotated file keeps its
:func:`file_key` when the sink compresses it, and is opened as ``X.gz``
when it was listed as ``X`` and compressed since.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from eventlog.core.files import ROTATED_SUFFIX, rotated_files

__all__ = [
    "Directories",
    "directories",
    "disk_position",
    "file_key",
    "iter_paths",
    "log_files",
    "open_file",
    "rotation_stamp",
]

Directories = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""One log directory, or several (one per host) whose events are merged by time."""


def log_files(directory: str | os.PathLike[str], name: str = "events.jsonl") -> list[Path]:
    """The files of the log ``name`` in ``directory``, oldest first: the rotated
    files (compressed or not; temporary ``.tmp`` files excluded; of a file
    caught between compression and removal of the original, only the ``.gz``),
    then the live file if it exists. An empty list when the directory does not
    exist."""
    live = Path(directory) / name
    files = rotated_files(live)
    if live.is_file():
        files.append(live)
    return files


def rotation_stamp(path: Path, name: str) -> str | None:
    """The canonical time at which rotated file ``path`` of log ``name`` was
    rotated, from its file name; ``None`` for the live file or a foreign name.
    Every line in the file was written before that time."""
    if not path.name.startswith(name + "."):
        return None
    match = ROTATED_SUFFIX.fullmatch(path.name[len(name) :])
    if match is None:
        return None
    date, clock = match["stamp"].split("T")
    return f"{date}T{clock.replace('-', ':')}"


def open_file(path: Path) -> io.BufferedIOBase:
    """Open ``path`` for reading bytes, gunzipping ``*.gz``; a rotated file
    compressed since it was listed is opened as ``path.gz``."""
    try:
        return _open_exact(path)
    except FileNotFoundError:
        if path.name.endswith(".gz"):
            raise
        return _open_exact(path.with_name(path.name + ".gz"))


def _open_exact(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def disk_position(stream: io.BufferedIOBase) -> int:
    """How far into the file on disk ``stream`` has read (the compressed
    bytes for gzip)."""
    raw = getattr(stream, "fileobj", None) or stream
    try:
        return int(raw.tell())
    except (OSError, ValueError):
        return 0


def file_key(path: Path) -> str:
    """The name of rotated file ``path`` without ``.gz``: the same before and
    after the sink compresses it."""
    return path.name.removesuffix(".gz")


def iter_paths(live: Path) -> Iterator[tuple[Path, bool]]:
    """``(path, is_live)`` for each file of the log whose live file is ``live``,
    oldest first. The directory is listed again after each pass, so a file
    rotated while older ones were read is still read, once, before the live
    file (yielded last, if it exists)."""
    done: set[str] = set()
    while True:
        pending = [p for p in rotated_files(live) if file_key(p) not in done]
        if not pending:
            break
        for path in pending:
            done.add(file_key(path))
            yield path, False
    if live.is_file():
        yield live, True


def directories(directory: Directories) -> list[Path]:
    """``directory`` as a list of paths: one path, or each of a sequence."""
    if isinstance(directory, str | os.PathLike):
        return [Path(directory)]
    paths = [Path(d) for d in directory]
    if not paths:
        raise ValueError("no log directory given")
    return paths
