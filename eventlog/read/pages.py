"""Newest-first pages of a log, as a browser shows them, and one event found
by its id.

An unfiltered page is read from the end of the live file backwards, then
from the rotated files newest first, so the newest page costs the same on a
log of any size: only the blocks that hold its lines are read. A gzip file
cannot be read backwards; it is read forward, and only when the page reaches
into it, keeping just the lines still wanted. A filtered page goes through
the block scan (:func:`eventlog.read.events.iter_events`) over the whole log
and holds only the page's own events: the first page in one pass, a deeper
one in two (count, then collect), so memory stays bounded by the page, not
by its depth or the log.

Lines are yielded as the other readers yield them (ECS lines in native form,
bad lines reported and skipped). Lines read backwards have no line number:
``on_bad_line`` is given ``0`` for them.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

import orjson

from eventlog.read.events import iter_events, parse_line
from eventlog.read.files import log_files, open_regular
from eventlog.read.filters import Filter
from eventlog.read.lines import MAX_LINE_BYTES, OnBadLine, numbered_lines, warn_bad_line
from eventlog.read.scan import candidate_lines

__all__ = ["Page", "find_event", "newest"]

_BLOCK: Final = 1 << 16
"""Bytes read at a time backwards: a page of a hundred lines is one or two reads."""

Found = tuple[bytes, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Page:
    """Events ``offset`` to ``offset + limit`` of a log counted from the newest.

    ``events`` are ``(raw line, event)``, newest first; ``more`` says whether
    older events follow; ``total`` is the number of matching events of the
    whole log for a filtered page (which reads it all), ``None`` otherwise."""

    events: list[Found]
    offset: int
    limit: int
    more: bool
    total: int | None = None


def _is_empty(flt: Filter | None) -> bool:
    if flt is None:
        return True
    return all(getattr(flt, f.name) is None for f in fields(flt) if f.init)


def _backwards(path: Path, report: OnBadLine) -> Iterator[bytes]:
    """The whole lines of plain file ``path``, last first, each with its ``\\n``.

    The size is taken when the file is opened: lines appended meanwhile are
    not read (they are newer than the page being built). The bytes after the
    last newline are a torn or unfinished line, reported and skipped."""
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        yield from _forwards_reversed(path, report)  # compressed since it was listed
        return
    except OSError as exc:
        report(path, 0, f"cannot open: {exc.strerror or exc}")
        return
    with open(fd, "rb", buffering=0) as stream:
        try:
            position = os.fstat(fd).st_size
        except OSError as exc:
            report(path, 0, f"cannot read: {exc.strerror or exc}")
            return
        carry = b""  # the start of a line begun before the block just read
        first = True
        skipping = False  # inside a line longer than MAX_LINE_BYTES
        while position > 0:
            size = min(_BLOCK, position)
            position -= size
            try:
                stream.seek(position)
                block = stream.read(size)
            except OSError as exc:
                report(path, 0, f"cannot read further: {exc.strerror or exc}")
                return
            if len(block) != size:  # truncated under us: what is left is stale
                report(path, 0, "file shrank while read: stopped")
                return
            if skipping:
                parts = block.split(b"\n")
                if len(parts) == 1:
                    continue
                parts.pop()  # the over-long line's first bytes
                skipping = False
            else:
                parts = (block + carry).split(b"\n")
            if first:
                first = False
                if parts.pop():
                    report(path, 0, "incomplete final line (no newline): skipped")
            carry = parts[0]
            for part in reversed(parts[1:]):
                yield part + b"\n"
            if len(carry) > MAX_LINE_BYTES:
                report(path, 0, f"line longer than {MAX_LINE_BYTES} bytes: skipped")
                carry = b""
                skipping = True
        if carry and not skipping:
            yield carry + b"\n"


def _forwards_reversed(path: Path, report: OnBadLine, want: int = 64) -> Iterator[bytes]:
    """The whole lines of ``path`` (gzip), last first: read forward keeping
    the last ``want`` lines, and read again keeping more only if the caller
    asks for more than that."""
    done = 0
    while True:
        kept = deque((raw for _n, raw in numbered_lines(path, report)), maxlen=want)
        older = len(kept) == want  # the file may hold lines before those kept
        lines = list(kept)
        for raw in reversed(lines[: len(lines) - done]):
            done += 1
            yield raw
        if not older:
            return
        want *= 4


def _lines_newest_first(
    directory: Path, name: str, report: OnBadLine
) -> Iterator[tuple[Path, bytes]]:
    for path in reversed(log_files(directory, name)):
        if path.name.endswith(".gz"):
            lines = _forwards_reversed(path, report)
        else:
            lines = _backwards(path, report)
        for raw in lines:
            yield path, raw


def _filtered(
    directory: str | os.PathLike[str],
    name: str,
    filter: Filter | None,
    offset: int,
    limit: int,
    report: OnBadLine,
) -> Page:
    """A filtered page holding at most ``limit`` events in memory, however
    deep: the first page in one pass (the newest ``limit`` matches kept), a
    deeper one in two, counting the matches and then keeping those the page
    shows (lines appended in between are after them and change nothing; a
    file pruned in between shifts the page by its matches)."""

    def matches() -> Iterator[Found]:
        return iter_events(directory, name=name, filter=filter, on_bad_line=report)

    if offset == 0:
        kept: deque[Found] = deque(maxlen=limit)
        total = 0
        for found in matches():
            kept.append(found)
            total += 1
        return Page(list(reversed(kept)), offset, limit, total > limit, total)
    total = sum(1 for _ in matches())
    first, end = max(total - offset - limit, 0), max(total - offset, 0)
    shown: list[Found] = []
    if end > 0:
        for index, found in enumerate(matches()):
            if index >= end:
                break
            if index >= first:
                shown.append(found)
    shown.reverse()
    return Page(shown, offset, limit, total > offset + limit, total)


def newest(
    directory: str | os.PathLike[str],
    *,
    offset: int,
    limit: int,
    name: str = "events.jsonl",
    filter: Filter | None = None,
    on_bad_line: OnBadLine | None = None,
) -> Page:
    """Events ``offset`` to ``offset + limit`` of log ``name`` in ``directory``,
    newest first, with ``filter`` applied (see the module's docstring for how
    each kind of page is read). A missing directory is an empty page."""
    if offset < 0 or limit < 1:
        raise ValueError(f"offset must be >= 0 and limit >= 1, not {offset} and {limit}")
    report = on_bad_line or warn_bad_line
    if not _is_empty(filter):
        return _filtered(directory, name, filter, offset, limit, report)
    events: list[Found] = []
    skipped = 0
    more = False
    for path, raw in _lines_newest_first(Path(directory), name, report):
        parsed = parse_line(path, 0, raw, None, report)
        if parsed is None:
            continue
        if skipped < offset:
            skipped += 1
        elif len(events) < limit:
            events.append(parsed)
        else:
            more = True
            break
    return Page(events, offset, limit, more)


def find_event(
    directory: str | os.PathLike[str],
    event_id: str,
    *,
    name: str = "events.jsonl",
    on_bad_line: OnBadLine | None = None,
) -> tuple[Path, bytes, dict[str, Any]] | None:
    """``(file, raw line, event)`` of the event whose ``event_id`` is
    ``event_id``, looked for through the block scan from the newest file
    back; ``None`` when no file of the log has it."""
    report = on_bad_line or warn_bad_line
    quoted = orjson.dumps(str(event_id))
    # ECS lines hold it as event.id.
    anchors = (b'"event_id":' + quoted, b'"id":' + quoted)
    for path in reversed(log_files(directory, name)):
        for _offset, raw in candidate_lines(path, anchors, report, None):
            found = parse_line(path, 0, raw, None, report)
            if found is not None and found[1].get("event_id") == event_id:
                return path, found[0], found[1]
    return None
