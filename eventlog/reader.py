"""Reading the log files back: the API of ``manage.py eventlog`` and of scripts.

The files are ``<EVENTLOG_DIR>/events.jsonl`` (live) and its rotated
siblings ``events.jsonl.<UTC stamp>[-N][.gz]``, whose names sort by age;
``django.jsonl`` follows the same scheme. Everything here streams: a file is
read line by line (gzip included), never whole into memory, and reading
never raises because of what is *in* a file::

    from eventlog.reader import Filter, iter_events

    for raw, event in iter_events("logs", filter=Filter(model="speedy.employee",
                                                        object_id="42", since="1d")):
        print(event["timestamp"], event["event"])

Following the live file as it is written (``tail -f``), several hosts'
directories merged by time, and an object's events and rebuilt state::

    for raw, event in follow(["/mnt/web1/logs", "/mnt/web2/logs"], n=10):
        ...
    state = state_at("logs", "speedy.employee", "42", at="2026-11-23T10:00Z")
    state.fields, state.deleted

Problems with a line (not JSON, not an object, a torn final line, a file
that cannot be opened) go to ``on_bad_line(path, lineno, reason)`` and the
line is skipped; without a callback they are issued as
:class:`BadLineWarning` warnings. ``lineno`` is 1-based, or 0 when the
problem concerns the whole file.

Lines written with ``EVENTLOG_FORMAT = "ecs"`` are given in their native
form (:func:`eventlog.core.ecs.to_native`), so filters and printers work on both
formats alike; the raw line is yielded as it is in the file.

The module depends on orjson, :mod:`eventlog.write.sink` and
:mod:`eventlog.core.ecs` only (and StringZilla's search when it can be
imported), not on Django settings, so it works in a plain Python script too.

A reader takes a snapshot of a directory that writers keep changing: a
rotation or compression that happens while it reads is followed (a file
listed as ``X`` and compressed meanwhile is read from ``X.gz``; files rotated
while earlier ones were read are read before the live file), but a rotation
in the instant between the last listing and opening the live file can still
make it miss the lines of that one file.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import heapq
import io
import os
import re
import time
import warnings
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Final, cast

import orjson

from eventlog.core.ecs import is_ecs, to_native
from eventlog.core.files import ROTATED_SUFFIX, rotated_files
from eventlog.read import history as _history
from eventlog.read.history import ObjectState

__all__ = [
    "BadLineWarning",
    "Directories",
    "Filter",
    "ObjectState",
    "OnBadLine",
    "Progress",
    "directories",
    "follow",
    "follow_batches",
    "iter_events",
    "iter_lines",
    "iter_paths",
    "last_events",
    "log_files",
    "object_events",
    "parse_time",
    "state_at",
]

OnBadLine = Callable[[Path, int, str], None]
"""``on_bad_line(path, lineno, reason)``: called for each skipped line."""

Progress = Callable[[int], None]
"""``progress(nbytes)``: called now and then with how many more bytes of the
files on disk (compressed bytes for gzip) were read, for a progress bar."""

Directories = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""One log directory, or several (one per host) whose events are merged by time."""

_PROGRESS_EVERY: Final = 4095  # lines between progress calls, minus one (a mask)

MAX_LINE_BYTES: Final = 16 * 1024 * 1024
"""Longer lines are reported and skipped rather than read into memory
(the writers' cap is 64 KiB by default)."""

_TS_PREFIX: Final = b'{"timestamp":"'
_ECS_PREFIX: Final = b'{"@timestamp":"'
_ECS_KEY: Final = b'"@timestamp":'
_TS_LEN: Final = len("2026-11-23T10:15:00.123456Z")
_RFC3339: Final = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)"
    r"(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?"
    r"\s*([Zz]|[+-]\d\d:?\d\d)?"
)
_RELATIVE: Final = re.compile(r"(?:\d+[smhdw])+")
_RELATIVE_PART: Final = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_FORMS: Final = (
    "expected RFC 3339 (2026-11-23T10:15:00Z, 2026-11-23T11:15:00+01:00), "
    "a date (2026-11-23), 'now' or a time ago (30s, 10m, 2h, 3d, 1w, 1h30m)"
)


class BadLineWarning(UserWarning):
    """Issued for a skipped line when no ``on_bad_line`` callback is given."""


def _warn(path: Path, lineno: int, reason: str) -> None:
    where = f"{path}:{lineno}" if lineno else str(path)
    warnings.warn(f"{where}: {reason}", BadLineWarning, stacklevel=2)


# -- time ----------------------------------------------------------------------------


def _canonical(moment: datetime) -> str:
    u = moment.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"
    )


def parse_time(text: str, now: datetime | None = None) -> str:
    """The instant ``text`` names, as the canonical ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

    Accepted: RFC 3339 with ``Z`` or an offset, with or without seconds and
    fraction (``2026-11-23T10:15:00.5Z``, ``2026-11-23 11:15+01:00``); a bare
    date (``2026-11-23``, midnight UTC); a date-time without offset, taken as
    UTC like every timestamp in the files; ``now``; and a time ago, one or more
    ``<number><unit>`` with unit ``s``, ``m``, ``h``, ``d`` or ``w``
    (``30s``, ``10m``, ``2h``, ``3d``, ``1w``, ``1h30m``), counted back from
    ``now`` (default: the current time; a naive ``now`` is taken as UTC).
    Fractions beyond microseconds are truncated.

    Canonical strings compare like the instants they name, so the result can
    be compared with a line's ``timestamp`` as a string.

    Raises :class:`ValueError` with a one-line message on anything else.
    """
    if not isinstance(text, str):
        raise ValueError(f"invalid time {text!r}: {_FORMS}")
    value = text.strip()
    shown = repr(value if len(value) <= 60 else value[:57] + "...")
    try:
        if value.lower() == "now" or _RELATIVE.fullmatch(value):
            base = now if now is not None else datetime.now(UTC)
            if base.tzinfo is None:
                base = base.replace(tzinfo=UTC)
            seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _RELATIVE_PART.findall(value))
            return _canonical(base - timedelta(seconds=seconds))
        match = _RFC3339.fullmatch(value)
        if match is None:
            raise ValueError(f"invalid time {shown}: {_FORMS}")
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        tz: timezone = UTC
        if offset and offset not in "Zz":
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
        return _canonical(moment)
    except OverflowError as exc:
        raise ValueError(f"invalid time {shown}: out of range") from exc
    except ValueError as exc:
        if str(exc).startswith("invalid time "):
            raise
        raise ValueError(f"invalid time {shown}: {exc}") from exc


# -- files ---------------------------------------------------------------------------


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


def _rotation_stamp(path: Path, name: str) -> str | None:
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


def _open(path: Path) -> io.BufferedIOBase:
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


def _disk_position(stream: io.BufferedIOBase) -> int:
    """How far into the file on disk ``stream`` has read (the compressed
    bytes for gzip)."""
    raw = getattr(stream, "fileobj", None) or stream
    try:
        return int(raw.tell())
    except (OSError, ValueError):
        return 0


def _numbered_lines(
    path: Path, report: OnBadLine, progress: Progress | None = None
) -> Iterator[tuple[int, bytes]]:
    try:
        stream = _open(path)
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
                    position = _disk_position(stream)
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
            report(path, lineno + 1, f"cannot read further: {exc}")


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
    for _lineno, line in _numbered_lines(Path(path), on_bad_line or _warn):
        yield line


# -- filtering -----------------------------------------------------------------------


def _same_id(value: Any, wanted: str) -> bool:
    if isinstance(value, str):
        return value == wanted
    return isinstance(value, int) and not isinstance(value, bool) and str(value) == wanted


@dataclass(frozen=True, slots=True)
class Filter:
    """Which events to keep; unset criteria match everything, set ones must all hold.

    * ``event``: a glob (``fnmatch``, case-sensitive) on the event name,
      e.g. ``model.*`` or ``state.changed``;
    * ``model``: an ``app_label.modelname`` label, compared lower-cased with the
      event's ``model`` or its ``instance`` sub-object's ``model`` (app.event);
    * ``object_id``: compared as a string with ``object_id``, the ``instance``
      sub-object's ``object_id`` or an entry of ``object_ids`` (bulk events);
    * ``actor``: equal to the event's ``actor``;
    * ``since`` (inclusive) and ``until`` (exclusive): anything
      :func:`parse_time` accepts, normalized to the canonical form when the
      filter is made (so ``"1h"`` means an hour before that moment).

    :meth:`matches` decides on a parsed event; :meth:`might_match` is a cheap
    test of the raw line that is false only when :meth:`matches` would be
    false too, so lines can be skipped before parsing them.
    """

    event: str | None = None
    model: str | None = None
    object_id: str | None = None
    actor: str | None = None
    since: str | None = None
    until: str | None = None
    _native_needles: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    _model_needle: bytes | None = field(init=False, repr=False, compare=False)
    _id_needles: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    _bare_id: bytes = field(init=False, repr=False, compare=False)
    _since: bytes | None = field(init=False, repr=False, compare=False)
    _until: bytes | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.model is not None:
            set_(self, "model", str(self.model).lower())
        if self.object_id is not None:
            set_(self, "object_id", str(self.object_id))
        if self.since is not None:
            set_(self, "since", parse_time(self.since))
        if self.until is not None:
            set_(self, "until", parse_time(self.until))
        # Needles: the compact ``"key":value`` bytes orjson writes for a set
        # criterion. ``actor`` and ``event`` have other keys in ECS lines
        # (``user.name``, ``event.action``), so theirs hold for native lines
        # only; ``model`` and the object id sit under the same key names in
        # both formats (ECS nests them under ``eventlog``), so theirs hold
        # for every line eventlog writes.
        native: list[bytes] = []
        if self.actor is not None:
            native.append(b'"actor":' + orjson.dumps(self.actor))
        if self.event is not None:
            literal = re.split(r"[*?\[]", self.event, maxsplit=1)[0]
            if literal == self.event:
                native.append(b'"event":' + orjson.dumps(literal))
            elif literal:
                native.append(b'"event":' + orjson.dumps(literal)[:-1])
        set_(self, "_native_needles", tuple(native))
        model = None if self.model is None else b'"model":' + orjson.dumps(self.model)
        set_(self, "_model_needle", model)
        id_needles: tuple[bytes, ...] = ()
        bare = b""
        if self.object_id is not None:
            quoted = orjson.dumps(self.object_id)
            bare = quoted[1:-1]
            id_needles = (b'"object_id":' + quoted,)
            if self.object_id.isascii() and self.object_id.isdigit():
                id_needles += (b'"object_id":' + bare,)  # an integer id
        set_(self, "_id_needles", id_needles)
        set_(self, "_bare_id", bare)
        set_(self, "_since", None if self.since is None else self.since.encode())
        set_(self, "_until", None if self.until is None else self.until.encode())

    def anchors(self) -> tuple[bytes, ...]:
        """Byte strings one of which every line the filter matches contains,
        if eventlog wrote it (empty when the filter has no such criterion):
        the object id's forms when set, else the actor, the model or the
        event name, in that order of preference. Used to find candidate lines
        in large blocks before looking at each line: each anchor costs a
        search through every block, so there are as few as can be.

        Anchors are the compact forms orjson writes (no escapes in the value,
        no spaces around ``:``): a line written otherwise by another program
        is not found through them (see :meth:`might_match`)."""
        if self._id_needles:
            # Format-independent: no anchor for ECS lines needed.
            return (*self._id_needles, b'"object_ids":')
        if self.actor is not None:
            return (self._native_needles[0], _ECS_KEY)
        if self._model_needle is not None:
            return (self._model_needle,)
        if self._native_needles:
            return (self._native_needles[0], _ECS_KEY)
        return ()

    def might_match(self, line: bytes) -> bool:
        """False when the raw line certainly does not match; true otherwise.

        A pre-filter that only rejects, so lines can be skipped before they
        are decoded: it looks for the compact ``"key":value`` forms orjson
        writes (the needles) and at the leading ``timestamp`` for
        ``since``/``until``. It is exact for lines without a backslash and
        without spaces between JSON tokens: there every string, the filter's
        values included, is written literally, whatever the key order. A line
        with a backslash may spell a value with escapes (``"\\u0034242"``
        for ``"4242"``), so a missing needle does not rule it out: it is left
        to :meth:`matches`. The needles of ``actor`` and ``event`` are not
        applied to a line that may be ECS (it has an ``"@timestamp":`` key),
        whose keys for them differ.
        """
        if not self._needles_present(line) and b"\\" not in line:
            return False
        if (self._since is not None or self._until is not None) and line.startswith(_TS_PREFIX):
            end = len(_TS_PREFIX) + _TS_LEN
            stamp = line[len(_TS_PREFIX) : end]
            # A torn write followed by a whole line has a second timestamp:
            # leave such lines to the parser.
            if line[end : end + 1] == b'"' and line.find(_TS_PREFIX, 1) < 0:
                if self._since is not None and stamp < self._since:
                    return False
                if self._until is not None and stamp >= self._until:
                    return False
        return True

    def _needles_present(self, line: bytes) -> bool:
        if self._model_needle is not None and self._model_needle not in line:
            return False
        # "object_id":"42" (top level, inside "instance" or ECS's "eventlog"),
        # or 42 in "object_ids".
        if self._id_needles and not (
            any(needle in line for needle in self._id_needles)
            or (b'"object_ids":' in line and self._bare_id in line)
        ):
            return False
        if self._native_needles and _ECS_KEY not in line:
            return all(needle in line for needle in self._native_needles)
        return True

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether the parsed ``event`` meets every criterion of the filter."""
        if self.since is not None or self.until is not None:
            stamp = event.get("timestamp")
            if not isinstance(stamp, str):
                return False
            if self.since is not None and stamp < self.since:
                return False
            if self.until is not None and stamp >= self.until:
                return False
        if self.event is not None:
            name = event.get("event")
            if not isinstance(name, str) or not fnmatchcase(name, self.event):
                return False
        if self.actor is not None and event.get("actor") != self.actor:
            return False
        instance = event.get("instance")
        if not isinstance(instance, Mapping):
            instance = {}
        if self.model is not None and self.model not in (
            event.get("model"),
            instance.get("model"),
        ):
            return False
        if self.object_id is not None:
            wanted = self.object_id
            ids = event.get("object_ids")
            if not (
                _same_id(event.get("object_id"), wanted)
                or _same_id(instance.get("object_id"), wanted)
                or (isinstance(ids, list) and any(_same_id(i, wanted) for i in ids))
            ):
                return False
        return True

    def skips_file(self, path: Path, name: str) -> bool:
        """Whether rotated file ``path`` of log ``name`` holds only lines older
        than ``since``, judging by the rotation time in its name."""
        if self.since is None:
            return False
        stamp = _rotation_stamp(path, name)
        return stamp is not None and stamp < self.since


# -- events --------------------------------------------------------------------------


def _salvage(line: bytes) -> tuple[bytes, dict[str, Any]] | None:
    """A whole line written after the torn fragment a crashed writer left.

    Each line is one ``write()`` on an append-only descriptor, so a crash in
    the middle of one leaves a fragment that the next line is appended to.
    ``{"timestamp":"`` cannot occur inside a JSON string (quotes are escaped),
    so each occurrence is the start of an object; the first one that parses
    to the end of the line is the line that followed the fragment.
    """
    prefix = _ECS_PREFIX if _ECS_PREFIX in line else _TS_PREFIX
    start = line.find(prefix, 1)
    while start > 0:
        try:
            value = orjson.loads(line[start:])
        except orjson.JSONDecodeError:
            start = line.find(prefix, start + 1)
            continue
        return (line[start:], value) if isinstance(value, dict) else None
    return None


def _parse(
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
        salvaged = _salvage(line)
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


def _file_events(
    path: Path, flt: Filter | None, report: OnBadLine, progress: Progress | None = None
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    anchors = () if flt is None else flt.anchors()
    if not anchors:
        for lineno, line in _numbered_lines(path, report, progress):
            found = _parse(path, lineno, line, flt, report)
            if found is not None:
                yield found
        return
    for offset, line in _candidate_lines(path, anchors, report, progress):

        def report_here(p: Path, _lineno: int, reason: str, offset: int = offset) -> None:
            report(p, _line_number(p, offset), reason)

        found = _parse(path, 0, line, flt, report_here)
        if found is not None:
            yield found


_BLOCK: Final = 1 << 20

_Find = Callable[[bytearray, bytes, int, int], int]


def _pick_find() -> _Find:
    """The substring search of the block scan: StringZilla's (SIMD, about
    10 GB/s here) when it can be imported, else ``bytearray.find``.

    Why a library: ``bytes.find`` (a Horspool variant) runs at about
    3.4 GB/s on log lines, grep's own speed, and the scan makes one search
    per anchor (an object id has three forms), so with it a history lookup
    takes three to four times ``grep -F``; StringZilla's search is a few
    times faster for the same result (tests/test_scan.py checks it against
    ``bytearray.find``)."""
    try:
        from stringzilla import find
    except ImportError:  # pragma: no cover - a dependency, absent only if broken
        return bytearray.find
    return cast(_Find, find)


_find: _Find = _pick_find()


def _line_number(path: Path, offset: int) -> int:
    """The 1-based number of the line starting at byte ``offset`` of the
    (decompressed) file: counted again only when a line must be reported."""
    count = 0
    try:
        with _open(path) as stream:
            done = 0
            while done < offset:
                chunk = stream.read(min(_BLOCK, offset - done))
                if not chunk:
                    break
                count += chunk.count(b"\n")
                done += len(chunk)
    except (OSError, EOFError, zlib.error):
        pass
    return count + 1


def _candidate_lines(
    path: Path, anchors: tuple[bytes, ...], report: OnBadLine, progress: Progress | None
) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` for the whole lines of ``path`` that contain one of
    ``anchors``, ``offset`` being where the line starts in the (decompressed)
    file.

    Why not line by line: a Python loop over every line costs microseconds a
    line, while ``bytes.find`` over 1 MiB blocks runs at memory speed, like
    grep; only the few lines found are cut out, and lines are not even
    counted (:func:`_line_number` does it when one must be reported). The
    file is read into one reused buffer (``readinto``: no new block object,
    no copy of a block to join it to the previous one's partial last line,
    which alone is moved to the front). Each anchor is one search through the
    block, so :meth:`Filter.anchors` keeps them few. Torn final lines and
    over-long lines are reported as :func:`_numbered_lines` does.
    """
    try:
        stream = _open(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        report(path, 0, f"cannot open: {exc.strerror or exc}")
        return
    buf = bytearray(max(_BLOCK, 1))
    filled = 0  # buf[:filled] holds data: a partial line carried over, then new bytes
    base = 0  # offset of buf[0] in the file
    told = 0
    skipping = False  # inside a line longer than MAX_LINE_BYTES
    with stream:
        while True:
            if filled == len(buf):  # a line longer than the buffer: make room
                buf = buf + bytes(len(buf))
            try:
                with memoryview(buf) as view:
                    got = stream.readinto(view[filled:])
            except (OSError, EOFError, zlib.error) as exc:
                report(path, _line_number(path, base), f"cannot read further: {exc}")
                return
            if progress is not None:
                position = _disk_position(stream)
                if position > told:
                    progress(position - told)
                    told = position
            if not got:
                if filled and not skipping:
                    reason = "incomplete final line (no newline): skipped"
                    report(path, _line_number(path, base), reason)
                return
            filled += got
            end = buf.rfind(b"\n", 0, filled) + 1
            if end == 0:
                if skipping or filled >= MAX_LINE_BYTES:
                    if not skipping:
                        reason = f"line longer than {MAX_LINE_BYTES} bytes: skipped"
                        report(path, _line_number(path, base), reason)
                    skipping = True
                    base += filled
                    filled = 0
                    if len(buf) > _BLOCK:
                        buf = bytearray(max(_BLOCK, 1))
                continue
            start = buf.find(b"\n", 0, end) + 1 if skipping else 0  # the rest of a long line
            skipping = False
            for line_start in _lines_with(buf, anchors, start, end):
                line_end = buf.find(b"\n", line_start, end) + 1
                with memoryview(buf) as view:
                    line = view[line_start:line_end].tobytes()
                yield base + line_start, line
            buf[: filled - end] = buf[end:filled]  # the partial last line, to the front
            base += end
            filled -= end


def _lines_with(buf: bytearray, anchors: tuple[bytes, ...], start: int, end: int) -> list[int]:
    """Where the lines of ``buf[start:end]`` (whole lines) that contain one of
    ``anchors`` start, in order."""
    starts: set[int] = set()
    find = _find
    for anchor in anchors:
        at = find(buf, anchor, start, end)
        while at >= 0:
            line_start = buf.rfind(b"\n", start, at) + 1 or start
            starts.add(line_start)
            at = find(buf, anchor, buf.find(b"\n", at, end) + 1, end)
    return sorted(starts)


def _key(path: Path) -> str:
    return path.name.removesuffix(".gz")


def iter_paths(live: Path) -> Iterator[tuple[Path, bool]]:
    """``(path, is_live)`` for each file of the log whose live file is ``live``,
    oldest first. The directory is listed again after each pass, so a file
    rotated while older ones were read is still read, once, before the live
    file (yielded last, if it exists)."""
    done: set[str] = set()
    while True:
        pending = [p for p in rotated_files(live) if _key(p) not in done]
        if not pending:
            break
        for path in pending:
            done.add(_key(path))
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


def _time_key(item: tuple[bytes, Mapping[str, Any]]) -> str:
    stamp = item[1].get("timestamp")
    return stamp if isinstance(stamp, str) else ""


def _merge(
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
            yield from _file_events(path, filter, report, progress)


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
    report = on_bad_line or _warn
    return _merge([_dir_events(d, name, filter, report, progress) for d in directories(directory)])


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
        found = deque(_file_events(path, filter, report), maxlen=need)
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
    report = on_bad_line or _warn
    found = [_last_in_dir(d, n, name, filter, report) for d in directories(directory)]
    merged = list(_merge(found))
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


def _just_after(stamp: str) -> str:
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return _canonical(moment + timedelta(microseconds=1))


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
        until=None if until is None else _just_after(until),
        on_bad_line=on_bad_line,
        progress=progress,
    )
    return _history.replay(events, model, object_id, until=until, event_id=event_id)


# -- following -----------------------------------------------------------------------

_READ_CHUNK: Final = 1 << 16


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


class _Tail:
    """Follows the live file of one log across rotations.

    The sink rotates by renaming the live file under an exclusive ``flock``
    (no line enters it afterwards) and logrotate renames it without one
    (writers notice at their next line, under a shared ``flock``). So when the
    path stops naming the file being read: take and drop an exclusive
    ``flock`` on it (writes in flight are done, later ones go to the new
    file), read it to its end, then read the rotated files that appeared since
    (other than the one just finished) and only then the new live file.

    Why not a library (watchdog, inotify): polling one ``stat`` per interval
    is portable, costs nothing, and a notification would still need the same
    listing to catch files rotated between two reads.
    """

    def __init__(self, live: Path, flt: Filter | None, report: OnBadLine) -> None:
        self.live = live
        self.flt = flt
        self.report = report
        self.fd = -1
        self.ident = (-1, -1)
        self.pos = 0
        self.lineno = 0
        self.buf = b""
        self.skipping = False  # inside a line longer than MAX_LINE_BYTES
        self.seen: set[str] = set()

    # -- files ---------------------------------------------------------------------

    def _open_stable(self) -> tuple[int, list[Path]]:
        """Open the live file (``-1`` when there is none) and list the rotated
        files not seen yet, with no rotation in between: each of them is older
        than the file opened."""
        attempt = 0
        while True:
            try:
                fd = os.open(self.live, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                fd = -1
            except OSError as exc:
                self.report(self.live, 0, f"cannot open: {exc.strerror or exc}")
                fd = -1
            new = [p for p in rotated_files(self.live) if _key(p) not in self.seen]
            if fd < 0:
                self.seen.update(_key(p) for p in new)
                return fd, new
            try:
                still = _identity(os.stat(self.live)) == _identity(os.fstat(fd))
            except OSError:
                still = False
            if still:
                self.seen.update(_key(p) for p in new)
                return fd, new
            os.close(fd)  # rotated meanwhile: list again
            attempt += 1
            if attempt > 3:
                time.sleep(0.001)

    def _adopt(self, fd: int) -> None:
        self.fd = fd
        self.ident = _identity(os.fstat(fd))
        self.pos = 0
        self.lineno = 0
        self.buf = b""
        self.skipping = False

    def _first_line(self) -> bytes:
        """The first line of the open file (it never changes)."""
        data = b""
        while b"\n" not in data and len(data) < MAX_LINE_BYTES:
            chunk = os.pread(self.fd, _READ_CHUNK, len(data))
            if not chunk:
                break
            data += chunk
        return data.split(b"\n", 1)[0]

    def _is_same_file(self, path: Path, first: bytes) -> bool:
        """Whether rotated file ``path`` is the file just finished: the same
        inode, or (compressed since) the same first line, which holds a unique
        ``event_id``."""
        try:
            if not path.name.endswith(".gz"):
                return _identity(os.stat(path)) == self.ident
        except OSError:
            pass
        for _lineno, line in _numbered_lines(path, lambda *_: None):
            return line.rstrip(b"\n") == first
        return first == b""

    # -- reading -------------------------------------------------------------------

    def _lines(self, final: bool = False) -> list[tuple[int, bytes]]:
        """The whole lines appended to the open file since the last call; with
        ``final`` (the file is rotated away) a trailing partial line is torn."""
        out: list[tuple[int, bytes]] = []
        if self.fd < 0:
            return out
        try:
            size = os.fstat(self.fd).st_size
        except OSError:
            size = self.pos
        if size < self.pos:
            self.report(
                self.live,
                self.lineno,
                "file truncated in place (copytruncate?): reading it again from its start; "
                "lines may be lost or repeated",
            )
            self.pos, self.lineno, self.buf, self.skipping = 0, 0, b"", False
        while True:
            chunk = os.pread(self.fd, _READ_CHUNK, self.pos)
            if not chunk:
                break
            self.pos += len(chunk)
            data = self.buf + chunk
            start = 0
            while (end := data.find(b"\n", start)) >= 0:
                self.lineno += 1
                if self.skipping:
                    self.skipping = False
                else:
                    out.append((self.lineno, data[start : end + 1]))
                start = end + 1
            self.buf = data[start:]
            if len(self.buf) >= MAX_LINE_BYTES:
                if not self.skipping:
                    self.report(
                        self.live,
                        self.lineno + 1,
                        f"line longer than {MAX_LINE_BYTES} bytes: skipped",
                    )
                self.skipping, self.buf = True, b""
        if final and self.buf and not self.skipping:
            self.report(self.live, self.lineno + 1, "incomplete final line (no newline): skipped")
            self.buf = b""
        return out

    def _events(self, lines: list[tuple[int, bytes]]) -> list[tuple[bytes, dict[str, Any]]]:
        out = []
        for lineno, line in lines:
            found = _parse(self.live, lineno, line, self.flt, self.report)
            if found is not None:
                out.append(found)
        return out

    def _rotated(self) -> bool:
        try:
            return _identity(os.stat(self.live)) != self.ident
        except FileNotFoundError:
            return True
        except OSError:
            return False

    # -- the two entry points ------------------------------------------------------

    def start(self, n: int) -> list[tuple[bytes, dict[str, Any]]]:
        """Open the live file; the last ``n`` matching events so far."""
        fd, older = self._open_stable()
        current: list[tuple[bytes, dict[str, Any]]] = []
        if fd >= 0:
            self._adopt(fd)
            current = self._events(self._lines())
        if n <= 0:
            return []
        found = deque(current, maxlen=n)
        chunks = [found]
        need = n - len(found)
        for path in reversed(older):
            if need <= 0:
                break
            chunk = deque(_file_events(path, self.flt, self.report), maxlen=need)
            chunks.append(chunk)
            need -= len(chunk)
        return [item for chunk in reversed(chunks) for item in chunk]

    def poll(self) -> list[tuple[bytes, dict[str, Any]]]:
        """The matching events written since the last call, in file order."""
        out: list[tuple[bytes, dict[str, Any]]] = []
        if self.fd < 0:
            fd, new = self._open_stable()
            for path in new:
                out.extend(_file_events(path, self.flt, self.report))
            if fd < 0:
                return out
            self._adopt(fd)
        out.extend(self._events(self._lines()))
        if not self._rotated():
            return out
        # Rotated: let writes in flight on the old file finish, then drain it.
        with contextlib.suppress(OSError):
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        out.extend(self._events(self._lines(final=True)))
        first = self._first_line()
        fd, new = self._open_stable()
        if new and self._is_same_file(new[0], first):
            new = new[1:]
        os.close(self.fd)
        self.fd = -1
        for path in new:
            out.extend(_file_events(path, self.flt, self.report))
        if fd >= 0:
            self._adopt(fd)
            out.extend(self._events(self._lines()))
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def follow_batches(
    directory: Directories,
    *,
    name: str = "events.jsonl",
    filter: Filter | None = None,
    on_bad_line: OnBadLine | None = None,
    n: int = 0,
    interval: float = 0.2,
    stop: Callable[[], bool] | None = None,
) -> Iterator[list[tuple[bytes, dict[str, Any]]]]:
    """Like :func:`follow`, in batches: each list holds what was found in one
    look at the files (never empty), so a caller can flush after each."""
    report = on_bad_line or _warn
    tails = [_Tail(d / name, filter, report) for d in directories(directory)]
    try:
        first = [t.start(n) for t in tails]
        backlog = list(_merge(first))[-n:] if n > 0 else []
        if backlog:
            yield backlog
        while stop is None or not stop():
            batch = list(_merge([t.poll() for t in tails]))
            if batch:
                yield batch
            else:
                time.sleep(interval)
    finally:
        for t in tails:
            t.close()


def follow(
    directory: Directories,
    *,
    name: str = "events.jsonl",
    filter: Filter | None = None,
    on_bad_line: OnBadLine | None = None,
    n: int = 0,
    interval: float = 0.2,
    stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """The last ``n`` matching events, then each matching event as it is
    written, until ``stop()`` is true (checked every ``interval`` seconds when
    idle) or the generator is closed.

    Follows the live file across the sink's rotations and renames by
    logrotate without losing or repeating a line: rotated files that appear
    are read in order (compressed or not) before the new live file. Files
    renamed to names the sink does not make (logrotate's ``events.jsonl.1``)
    cannot be found again, so of those at most one rename per look is
    followed, which daily logrotate runs never come near. A line
    being written is read once its ``\\n`` is there; a final line without
    one in a file that was rotated away is torn and reported. A live file
    truncated in place (copytruncate, which loses lines anyway) is read again
    from its start, with a report. Files pruned before they could be read are
    lost to the follower. With several directories each is followed and the
    events found in one look are merged by time.
    """
    for batch in follow_batches(
        directory,
        name=name,
        filter=filter,
        on_bad_line=on_bad_line,
        n=n,
        interval=interval,
        stop=stop,
    ):
        yield from batch
