"""What is in the log files: counts and time spans, for ``eventlog stats``.

Each line's ``timestamp`` and ``event`` are taken from the bytes where the
pipeline puts them (the first keys of the line) without decoding the JSON;
a line that does not have that form is decoded, and skipped with a report
when it is not a JSON object.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from eventlog.core.ecs import is_ecs, to_native
from eventlog.read.lines import TS_LEN, TS_PREFIX, OnBadLine, Progress, numbered_lines

__all__ = ["FileStats", "Stats", "collect"]

_TS_END: Final = len(TS_PREFIX) + TS_LEN
_EVENT_KEY: Final = b'"event":"'
_HEAD: Final = 160  # the envelope's first keys sit in the first bytes of a line


@dataclass(slots=True)
class FileStats:
    """One file: its size on disk, its events and their time span."""

    path: Path
    size: int
    events: int = 0
    oldest: str | None = None
    newest: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "size": self.size,
            "events": self.events,
            "oldest": self.oldest,
            "newest": self.newest,
        }


@dataclass(slots=True)
class Stats:
    """Totals over the files read."""

    files: list[FileStats] = field(default_factory=list)
    by_event: Counter[str] = field(default_factory=Counter)
    by_hour: Counter[str] = field(default_factory=Counter)
    bad_lines: int = 0
    unreadable_files: int = 0

    @property
    def events(self) -> int:
        return sum(f.events for f in self.files)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def oldest(self) -> str | None:
        return min((f.oldest for f in self.files if f.oldest), default=None)

    @property
    def newest(self) -> str | None:
        return max((f.newest for f in self.files if f.newest), default=None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": [f.as_dict() for f in self.files],
            "total": {"files": len(self.files), "size": self.size, "events": self.events},
            "oldest": self.oldest,
            "newest": self.newest,
            "by_event": dict(sorted(self.by_event.items(), key=lambda kv: (-kv[1], kv[0]))),
            "by_hour": dict(sorted(self.by_hour.items())),
            "bad_lines": self.bad_lines,
            "unreadable_files": self.unreadable_files,
        }


def _head(line: bytes) -> tuple[str, str] | None:
    """``(timestamp, event)`` read from the bytes of a pipeline line, or None."""
    if not line.startswith(TS_PREFIX) or line[_TS_END : _TS_END + 1] != b'"':
        return None
    start = line.find(_EVENT_KEY, _TS_END, _HEAD)
    if start < 0:
        return None
    start += len(_EVENT_KEY)
    end = line.find(b'"', start)
    name = line[start:end]
    if end < 0 or b"\\" in name:
        return None
    return line[len(TS_PREFIX) : _TS_END].decode(), name.decode()


def _parsed_head(line: bytes) -> tuple[str, str] | None:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    if is_ecs(value):
        value = to_native(value)
    stamp, name = value.get("timestamp"), value.get("event")
    return (stamp if isinstance(stamp, str) else "", name if isinstance(name, str) else "?")


def collect(
    files: list[Path],
    *,
    on_bad_line: OnBadLine | None = None,
    progress: Progress | None = None,
) -> Stats:
    """The statistics of ``files`` (as :func:`eventlog.reader.log_files` lists them)."""
    stats = Stats()

    def bad(path: Path, lineno: int, reason: str) -> None:
        # Line number 0 is a file that could not be read at all, not a line.
        if lineno:
            stats.bad_lines += 1
        else:
            stats.unreadable_files += 1
        if on_bad_line is not None:
            on_bad_line(path, lineno, reason)

    for path in files:
        try:
            size = path.lstat().st_size  # a link's target is not ours to size
        except FileNotFoundError:
            alt = path.with_name(path.name + ".gz")
            if not alt.exists():
                continue  # pruned since listed
            path, size = alt, alt.stat().st_size
        except OSError:
            size = 0
        item = FileStats(path=path, size=size)
        stats.files.append(item)
        lineno = 0
        for lineno, line in numbered_lines(path, bad, progress):
            head = _head(line) or _parsed_head(line)
            if head is None:
                bad(path, lineno, "not a JSON object: skipped")
                continue
            stamp, name = head
            item.events += 1
            stats.by_event[name] += 1
            if stamp:
                stats.by_hour[stamp[:13]] += 1
                if item.oldest is None or stamp < item.oldest:
                    item.oldest = stamp
                if item.newest is None or stamp > item.newest:
                    item.newest = stamp
    return stats


def total_size(files: list[Path]) -> int:
    """The bytes on disk of ``files`` (missing ones count 0)."""
    size = 0
    for path in files:
        with contextlib.suppress(OSError):
            size += os.lstat(path).st_size
    return size
