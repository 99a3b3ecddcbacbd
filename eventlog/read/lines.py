"""The lines of one log file, byte for byte, and what is done with a bad one.

A file is read line by line (gzip decompressed on the fly), never whole into
memory, and reading never raises because of what is *in* it. Problems with a
line (not JSON, not an object, a torn final line, a file that cannot be
opened) go to ``on_bad_line(path, lineno, reason)`` and the line is skipped;
without a callback they are issued as :class:`BadLineWarning` warnings.
``lineno`` is 1-based, or 0 when the problem concerns the whole file.

Also the bytes a line eventlog writes starts with, on which the byte-level
pre-filter and the salvage of a line after a torn write rely.
"""

from __future__ import annotations

import os
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import orjson

from eventlog.read.files import disk_position, open_file

__all__ = [
    "ECS_KEY",
    "ECS_PREFIX",
    "MAX_LINE_BYTES",
    "TS_LEN",
    "TS_PREFIX",
    "BadLineWarning",
    "OnBadLine",
    "Progress",
    "iter_lines",
    "numbered_lines",
    "report_unreadable",
    "salvage",
    "warn_bad_line",
]

OnBadLine = Callable[[Path, int, str], None]
"""``on_bad_line(path, lineno, reason)``: called for each skipped line."""

Progress = Callable[[int], None]
"""``progress(nbytes)``: called now and then with how many more bytes of the
files on disk (compressed bytes for gzip) were read, for a progress bar."""

_PROGRESS_EVERY: Final = 4095  # lines between progress calls, minus one (a mask)

MAX_LINE_BYTES: Final = 16 * 1024 * 1024
"""Longer lines are reported and skipped rather than read into memory
(the writers' cap is 64 KiB by default)."""

TS_PREFIX: Final = b'{"timestamp":"'
"""How a native line starts (the pipeline writes ``timestamp`` first)."""
ECS_PREFIX: Final = b'{"@timestamp":"'
"""How an ECS line starts."""
ECS_KEY: Final = b'"@timestamp":'
"""In a line that may be ECS, whose keys differ from the native ones."""
TS_LEN: Final = len("2026-11-23T10:15:00.123456Z")
"""The length of a canonical timestamp."""


class BadLineWarning(UserWarning):
    """Issued for a skipped line when no ``on_bad_line`` callback is given."""


# Named by its public home: pickles and reprs then survive moves inside the
# read layer (pickle imports eventlog.reader, which re-exports it).
BadLineWarning.__module__ = "eventlog.reader"


def warn_bad_line(path: Path, lineno: int, reason: str) -> None:
    """The ``on_bad_line`` of callers that give none: a :class:`BadLineWarning`."""
    where = f"{path}:{lineno}" if lineno else str(path)
    warnings.warn(f"{where}: {reason}", BadLineWarning, stacklevel=2)


def numbered_lines(
    path: Path, report: OnBadLine, progress: Progress | None = None
) -> Iterator[tuple[int, bytes]]:
    """``(lineno, line)`` for the whole lines of one file, as :func:`iter_lines`
    yields them, bad ones reported to ``report``; ``progress`` as for
    :data:`Progress`."""
    try:
        stream = open_file(path)
    except FileNotFoundError:
        return  # pruned (or never written) since it was listed
    except OSError as exc:
        report(path, 0, f"cannot open: {exc.strerror or exc}")
        return
    lineno = 0
    told = 0
    with stream:
        try:
            while True:
                line = stream.readline(MAX_LINE_BYTES)
                if progress is not None and (not line or not lineno & _PROGRESS_EVERY):
                    position = disk_position(stream)
                    if position > told:
                        progress(position - told)
                        told = position
                if not line:
                    return
                lineno += 1
                if line.endswith(b"\n"):
                    yield lineno, line
                elif len(line) < MAX_LINE_BYTES:
                    report(path, lineno, "incomplete final line (no newline): skipped")
                    return
                else:
                    report(path, lineno, f"line longer than {MAX_LINE_BYTES} bytes: skipped")
                    while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                        pass
        except (OSError, EOFError, zlib.error) as exc:
            report_unreadable(report, path, lineno + 1, exc)


def report_unreadable(report: OnBadLine, path: Path, lineno: int, exc: BaseException) -> None:
    """Report that ``path`` could not be read from line ``lineno`` on, with
    line number 0: a file not wholly read, which the commands count apart
    from bad lines and fail on."""
    where = f" (from line {lineno})" if lineno > 1 else ""
    report(path, 0, f"cannot read further{where}: {exc}")


def iter_lines(
    path: str | os.PathLike[str], *, on_bad_line: OnBadLine | None = None
) -> Iterator[bytes]:
    """The lines of one log file, each with its ``\\n``, byte for byte.

    Streams; ``*.gz`` files are decompressed on the fly. A missing file yields
    nothing (a rotated file compressed since it was listed is read from
    ``<path>.gz``). A final line without ``\\n`` (torn by a crash, or being
    written right now), a line over :data:`MAX_LINE_BYTES` and a file that
    cannot be opened or decompressed are reported through ``on_bad_line`` (or
    as a :class:`BadLineWarning`) and skipped; nothing is raised. Lines are
    not parsed here.
    """
    for _lineno, line in numbered_lines(Path(path), on_bad_line or warn_bad_line):
        yield line


def salvage(line: bytes) -> tuple[bytes, dict[str, Any]] | None:
    """A whole line written after the torn fragment a crashed writer left.

    Each line is one ``write()`` on an append-only descriptor, so a crash in
    the middle of one leaves a fragment that the next line is appended to.
    ``{"timestamp":"`` cannot occur inside a JSON string (quotes are escaped),
    so each occurrence is the start of an object; the first one that parses
    to the end of the line is the line that followed the fragment.
    """
    prefix = ECS_PREFIX if ECS_PREFIX in line else TS_PREFIX
    start = line.find(prefix, 1)
    while start > 0:
        try:
            value = orjson.loads(line[start:])
        except orjson.JSONDecodeError:
            start = line.find(prefix, start + 1)
            continue
        return (line[start:], value) if isinstance(value, dict) else None
    return None
