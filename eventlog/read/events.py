"""Lines to events: the matching events of a log, oldest first, several
directories merged by time, and one object's events and rebuilt state.

Lines written with ``EVENTLOG_FORMAT = "ecs"`` are given in their native
form (:func:`eventlog.core.ecs.to_native`), so filters and printers work on
both formats alike; the raw line is yielded as it is in the file.

A reader takes a snapshot of a directory that writers keep changing: a
rotation or compression that happens while it reads is followed (a file
listed as ``X`` and compressed meanwhile is read from ``X.gz``; files rotated
while earlier ones were read are read before the live file), but a rotation
in the instant between the last listing and opening the live file can still
make it miss the lines of that one file.
"""

from __future__ import annotations

import contextlib
import heapq
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from eventlog.core.ecs import is_ecs, to_native
from eventlog.read import history as _history
from eventlog.read.files import Directories, directories, iter_paths, log_files
from eventlog.read.filters import Filter
from eventlog.read.history import ObjectState
from eventlog.read.lines import OnBadLine, Progress, numbered_lines, salvage, warn_bad_line
from eventlog.read.scan import LineNumbers, candidate_lines
from eventlog.read.times import just_after, parse_time

__all__ = [
    "file_events",
    "iter_events",
    "last_events",
    "merge_by_time",
    "object_events",
    "parse_line",
    "state_at",
]


def parse_line(
    path: Path, lineno: int, line: bytes, flt: Filter | None, report: OnBadLine
) -> tuple[bytes, dict[str, Any]] | None:
    """The ``(raw, event)`` of one whole line when it matches ``flt``, else
    ``None``; bad lines are reported. Lines the prefilter rules out are not
    decoded."""
    if flt is not None and not flt.might_match(line):
        return None
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        salvaged = salvage(line)
        if salvaged is None:
            report(path, lineno, f"not valid JSON ({exc}): skipped")
            return None
        report(
            path,
            lineno,
            f"not valid JSON ({exc}): skipped {len(line) - len(salvaged[0])} bytes "
            "of a torn write before a whole line",
        )
        line, value = salvaged
        if flt is not None and not flt.might_match(line):
            return None
    if not isinstance(value, dict):
        report(path, lineno, f"not a JSON object but {type(value).__name__}: skipped")
        return None
    if is_ecs(value):
        value = to_native(value)
    if flt is None or flt.matches(value):
        return line, value
    return None


def file_events(
    path: Path, flt: Filter | None, report: OnBadLine, progress: Progress | None = None
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """The ``(raw, event)`` of the lines of one file that match ``flt``, in
    file order: read line by line, or through the block scan when the filter
    has anchors."""
    anchors = () if flt is None else flt.anchors()
    if not anchors:
        for lineno, line in numbered_lines(path, report, progress):
            found = parse_line(path, lineno, line, flt, report)
            if found is not None:
                yield found
        return
    numbers = LineNumbers(path)  # one count for all of the file's bad lines
    with contextlib.closing(numbers):
        for offset, line in candidate_lines(path, anchors, report, progress):

            def report_here(p: Path, _lineno: int, reason: str, offset: int = offset) -> None:
                report(p, numbers(offset), reason)

            found = parse_line(path, 0, line, flt, report_here)
            if found is not None:
                yield found


def _time_key(item: tuple[bytes, Mapping[str, Any]]) -> str:
    stamp = item[1].get("timestamp")
    return stamp if isinstance(stamp, str) else ""


def merge_by_time(
    sources: Sequence[Iterable[tuple[bytes, dict[str, Any]]]],
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """Events of several directories merged by ``timestamp``; each source's
    own order is kept (lines of one directory are never reordered)."""
    if len(sources) == 1:
        return iter(sources[0])
    return heapq.merge(*sources, key=_time_key)


def _dir_events(
    directory: Path,
    name: str,
    filter: Filter | None,
    report: OnBadLine,
    progress: Progress | None,
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    for path, is_live in iter_paths(directory / name):
        if is_live or filter is None or not filter.skips_file(path, name):
            yield from file_events(path, filter, report, progress)


def iter_events(
    directory: Directories,
    *,
    name: str = "events.jsonl",
    filter: Filter | None = None,
    on_bad_line: OnBadLine | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """``(raw line, parsed event)`` for every matching line of the log ``name``
    in ``directory``, oldest file first and in file order within a file.

    ``raw`` is the line exactly as in the file, ``\\n`` included. Lines that
    are not a JSON object are reported through ``on_bad_line`` (or as a
    :class:`BadLineWarning`) and skipped; so is a torn final line. With a
    ``since`` filter, rotated files whose name says they were rotated before
    ``since`` are not opened at all. A missing directory yields nothing.

    Several directories (one per host, say) are read side by side and their
    events merged by ``timestamp`` (each directory's own order is kept).
    ``progress(nbytes)`` is called as the files are read (see
    :data:`Progress`).
    """
    report = on_bad_line or warn_bad_line
    return merge_by_time(
        [_dir_events(d, name, filter, report, progress) for d in directories(directory)]
    )


def _last_in_dir(
    directory: Path,
    n: int,
    name: str,
    filter: Filter | None,
    report: OnBadLine,
) -> list[tuple[bytes, dict[str, Any]]]:
    chunks: list[deque[tuple[bytes, dict[str, Any]]]] = []
    need = n
    for path in reversed(log_files(directory, name)):
        if filter is not None and filter.skips_file(path, name):
            break  # older files were rotated earlier still
        found = deque(file_events(path, filter, report), maxlen=need)
        chunks.append(found)
        need -= len(found)
        if need <= 0:
            break
    return [item for chunk in reversed(chunks) for item in chunk]


def last_events(
    directory: Directories,
    n: int,
    *,
    name: str = "events.jsonl",
    filter: Filter | None = None,
    on_bad_line: OnBadLine | None = None,
) -> list[tuple[bytes, dict[str, Any]]]:
    """The last ``n`` matching events of :func:`iter_events`, oldest first.

    Reads the newest file first and older files only while fewer than ``n``
    events were found, so it is cheap on a long history; holds at most ``n``
    events per directory in memory.
    """
    if n <= 0:
        return []
    report = on_bad_line or warn_bad_line
    found = [_last_in_dir(d, n, name, filter, report) for d in directories(directory)]
    merged = list(merge_by_time(found))
    return merged[-n:]


def object_events(
    directory: Directories,
    model: str,
    object_id: str,
    *,
    until: str | None = None,
    on_bad_line: OnBadLine | None = None,
    progress: Progress | None = None,
) -> Iterator[dict[str, Any]]:
    """The events about one object, oldest first: ``model.*`` lines of
    ``model`` (``app_label.modelname``) naming ``object_id`` (bulk events
    through ``object_ids``), ``state.changed`` and ``app.event`` lines about it.
    Lines that cannot be about it are skipped before being decoded; ``until``
    (anything :func:`parse_time` accepts) stops at events at or after it."""
    flt = Filter(model=model, object_id=object_id, until=until)
    for _raw, event in iter_events(
        directory, filter=flt, on_bad_line=on_bad_line, progress=progress
    ):
        yield event


def state_at(
    directory: Directories,
    model: str,
    object_id: str,
    *,
    at: str | None = None,
    event_id: str | None = None,
    on_bad_line: OnBadLine | None = None,
    progress: Progress | None = None,
) -> ObjectState:
    """The state of one object rebuilt from its events (see
    :mod:`eventlog.read.history`): after all of them, after those at or before
    ``at`` (anything :func:`parse_time` accepts), or after the event
    ``event_id`` (``LookupError`` when the log has no such event about it)."""
    model, object_id = str(model).lower(), str(object_id)
    until = None if at is None else parse_time(at)
    events = object_events(
        directory,
        model,
        object_id,
        until=None if until is None else just_after(until),
        on_bad_line=on_bad_line,
        progress=progress,
    )
    return _history.replay(events, model, object_id, until=until, event_id=event_id)
