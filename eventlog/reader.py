"""Reading the log files back: the API of ``manage.py eventlog`` and of scripts.

The files are ``<EVENTLOG_DIR>/events.jsonl`` (live) and its rotated
siblings ``events.jsonl.<UTC stamp>[-N][.gz]``, whose names sort by age;
``django.jsonl`` follows the same scheme. Everything here streams: a file is
read line by line (gzip included), never whole into memory, and reading
never raises because of what is *in* a file::

    from eventlog.reader import Filter, iter_events

    for raw, event in iter_events("logs", filter=Filter(model="speedy.employees",
                                                         object_id="42", since="1d")):
        print(event["timestamp"], event["event"])

Following the live file as it is written (``tail -f``), several hosts'
directories merged by time, and an object's events and rebuilt state::

    for raw, event in follow(["/mnt/web1/logs", "/mnt/web2/logs"], n=10):
        ...
    state = state_at("logs", "speedy.employees", "42", at="2026-11-23T10:00Z")
    state.fields, state.deleted

Problems with a line (not JSON, not an object, a torn final line, a file
that cannot be opened) go to ``on_bad_line(path, lineno, reason)`` and the
line is skipped; without a callback they are issued as
:class:`BadLineWarning` warnings. ``lineno`` is 1-based, or 0 when the
problem concerns the whole file.

Lines written with ``EVENTLOG_FORMAT = "ecs"`` are given in their native
form (:func:`eventlog.core.ecs.to_native`), so filters and printers work on both
formats alike; the raw line is yielded as it is in the file.

The names are those of the modules of :mod:`eventlog.read` (see there),
gathered here; they depend on orjson and :mod:`eventlog.core` only (and
StringZilla's search when it can be imported), not on Django settings, so
this works in a plain Python script too. How a reader sees a directory that
writers keep rotating: :mod:`eventlog.read.events`.
"""

from __future__ import annotations

from eventlog.core.ecs import is_ecs as is_ecs
from eventlog.core.ecs import to_native as to_native
from eventlog.core.files import ROTATED_SUFFIX as ROTATED_SUFFIX
from eventlog.core.files import rotated_files as rotated_files
from eventlog.read.events import iter_events, last_events, object_events, state_at
from eventlog.read.files import Directories, directories, iter_paths, log_files
from eventlog.read.filters import Filter
from eventlog.read.history import ObjectState
from eventlog.read.lines import MAX_LINE_BYTES as MAX_LINE_BYTES
from eventlog.read.lines import BadLineWarning, OnBadLine, Progress, iter_lines
from eventlog.read.tail import follow, follow_batches
from eventlog.read.times import parse_time

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
