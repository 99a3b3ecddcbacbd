"""Checked values of the subcommands' options, each error a one-line :class:`Failure`.

The checks run in the subcommands rather than as argparse ``type=``
functions because ``call_command("eventlog", "tail", n=-5)`` passes values
that argparse never sees; so a bad value given either way gets the same
message. (What argparse itself rejects, such as ``-n ten``, is reported by
:class:`eventlog.cli.parser.Parser`.)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any, Final

from eventlog import reader
from eventlog.cli.base import Failure
from eventlog.core.files import FILES
from eventlog.core.sanitize import one_line

__all__ = [
    "MAX_COUNT",
    "MAX_DAYS",
    "add_file_argument",
    "count",
    "days",
    "event_filter",
    "log_names",
    "object_ref",
    "time",
]

MAX_DAYS: Final = 100_000
"""The largest ``--older-than``: beyond it the cut-off falls before year 1."""
MAX_COUNT: Final = sys.maxsize
"""The largest ``-n``: the most items a list or deque can hold."""


def time(text: Any, option: str | None = None, hint: str = "") -> str:
    """``text`` as a canonical time (:func:`eventlog.reader.parse_time`), or a
    :class:`Failure` such as ``--as-of: invalid time 'x': expected ...``
    (``option`` first when given, ``hint`` last)."""
    try:
        return reader.parse_time(text)
    except ValueError as exc:
        prefix = f"{option}: " if option else ""
        raise Failure(f"{prefix}{one_line(str(exc))}{hint}") from exc


def event_filter(options: Mapping[str, Any]) -> reader.Filter:
    """The :class:`eventlog.reader.Filter` of ``--event``, ``--model``,
    ``--object-id``, ``--actor``, ``--since`` and ``--until``."""
    try:
        return reader.Filter(
            event=options.get("event"),
            model=options.get("model"),
            object_id=options.get("object_id"),
            actor=options.get("actor"),
            since=options.get("since"),
            until=options.get("until"),
        )
    except ValueError as exc:  # a bad --since or --until: the message names the value
        raise Failure(one_line(str(exc))) from exc


def count(value: Any, option: str = "-n") -> int:
    """A whole number from 0 to :data:`MAX_COUNT` (an int, or its digits as a string)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Failure(f"{option} must be a whole number >= 0, not {value!r}")
    if value > MAX_COUNT:
        raise Failure(f"{option} must be at most {MAX_COUNT}, not {value!r}")
    return value


def days(value: Any, option: str = "--older-than") -> float:
    """A number of days between 0 and :data:`MAX_DAYS`."""
    text = str(value if value is not None else "")
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not number >= 0 or number > MAX_DAYS:  # 'not >=' also catches NaN
        raise Failure(f"{option} must be a number of days >= 0, not {text!r}")
    return number


def add_file_argument(parser: argparse.ArgumentParser, *, allow_all: bool) -> None:
    """``--file``: ``events`` or ``django``; with ``allow_all`` also ``all``,
    the default (both files), else ``events`` is."""
    if allow_all:
        parser.add_argument(
            "--file",
            choices=["all", *sorted(FILES)],
            default="all",
            help="events.jsonl, django.jsonl or both (default all)",
        )
    else:
        parser.add_argument(
            "--file",
            choices=sorted(FILES),
            default="events",
            help="events.jsonl (default) or django.jsonl",
        )


def log_names(value: Any, *, default: str, allow_all: bool) -> tuple[str, ...]:
    """The file names ``--file`` selects: ``events``, ``django`` or, when
    ``allow_all``, ``all`` (both)."""
    file = value or default
    if allow_all and file == "all":
        return tuple(FILES.values())
    if file in FILES:
        return (FILES[file],)
    keys = sorted(FILES)
    choices = ", ".join(["all", *keys] if allow_all else keys)
    raise Failure(f"--file must be one of {choices}, not {file!r}")


def object_ref(options: Mapping[str, Any]) -> tuple[str, str]:
    """``(label, pk)`` of the positional ``LABEL PK``: ``app_label.modelname``
    lower-cased, and a non-empty primary key."""
    label = str(options.get("label") or "").strip().lower()
    pk = str(options.get("pk") if options.get("pk") is not None else "").strip()
    if label.count(".") != 1 or not all(label.split(".")):
        raise Failure(f"LABEL must be app_label.modelname, not {label!r}")
    if not pk:
        raise Failure("PK must not be empty")
    return label, pk
