"""Which files a log has, in which order, and opening them for reading.

The files of a log are ``<directory>/events.jsonl`` (live) and its rotated
siblings ``events.jsonl.<UTC stamp>[-N][.gz]``, whose names sort by age
(:mod:`eventlog.core.files` makes and recognises the names);
``django.jsonl`` follows the same scheme. A rotated file keeps its
:func:`file_key` when the sink compresses it, and is opened as ``X.gz``
when it was listed as ``X`` and compressed since.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from eventlog.core.files import ROTATED_SUFFIX, not_regular, rotated_files

__all__ = [
    "Directories",
    "directories",
    "disk_position",
    "file_key",
    "iter_paths",
    "log_files",
    "open_file",
    "open_regular",
    "rotation_stamp",
]

# Non-blocking: opening a FIFO put where a log file belongs would wait for a
# writer forever.
_READ_FLAGS: Final = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK

Directories = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""One log directory, or several (one per host) whose events are merged by time."""


def log_files(directory: str | os.PathLike[str], name: str = "events.jsonl") -> list[Path]:
    """The files of the log ``name`` in ``directory``, oldest first: the rotated
    files (compressed or not; temporary ``.tmp`` files excluded; of a file
    caught between compression and removal of the original, only the ``.gz``),
    then the live file if there is one. An entry that is not a regular file
    (a FIFO, a symbolic link) is listed too, so that opening it reports what
    it is. An empty list when the directory does not exist."""
    live = Path(directory) / name
    files = rotated_files(live)
    if os.path.lexists(live):
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
    compressed since it was listed is opened as ``path.gz``. Only a regular
    file is opened: a symbolic link is not followed, and a FIFO, directory or
    device raises :class:`OSError` saying what it is, without blocking."""
    try:
        return _open_exact(path)
    except FileNotFoundError:
        if path.name.endswith(".gz"):
            raise
        return _open_exact(path.with_name(path.name + ".gz"))


def open_regular(path: Path) -> int:
    """A read-only descriptor of ``path`` if it is a regular file; else
    :class:`OSError` saying what it is (a symbolic link is not followed, a
    FIFO is never waited on)."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(exc.errno, "a symbolic link, not followed", str(path)) from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, not_regular(mode), str(path))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_exact(path: Path) -> io.BufferedIOBase:
    fd = open_regular(path)
    try:
        raw = open(fd, "rb")  # noqa: SIM115 (returned open)
    except BaseException:
        os.close(fd)
        raise
    if path.name.endswith(".gz"):
        return _GzipFile(raw)
    return raw


class _GzipFile(gzip.GzipFile):
    """A gzip stream that closes the file it reads (``GzipFile`` given a file
    object leaves it open)."""

    def __init__(self, raw: io.BufferedReader) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


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
    if os.path.lexists(live):
        yield live, True


def directories(directory: Directories) -> list[Path]:
    """``directory`` as a list of paths: one path, or each of a sequence."""
    if isinstance(directory, str | os.PathLike):
        return [Path(directory)]
    paths = [Path(d) for d in directory]
    if not paths:
        raise ValueError("no log directory given")
    return paths
