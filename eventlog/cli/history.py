"""``eventlog history``: an object's timeline, or its state at a time (``--as-of``)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import orjson
from django.apps import apps

from eventlog import reader
from eventlog.cli import argtypes, dirs
from eventlog.cli.badlines import BadLines
from eventlog.cli.base import Defaults, Failure
from eventlog.cli.console import Console
from eventlog.cli.pretty import describe_state, format_history_event
from eventlog.cli.progress import ProgressBar
from eventlog.core.files import EVENTS_FILE
from eventlog.core.sanitize import clean

__all__ = ["NAME", "add_parser", "run"]

NAME: Final = "history"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The parser of ``history``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="an object's timeline, or its state at a time (--as-of)",
        description=(
            "Print every event about one object, oldest first, from all files: "
            "created (with its snapshot), each change with actor and reason, m2m "
            "changes, state transitions, bulk operations, deletion. With --as-of, "
            "print the object's field values rebuilt at that time instead."
        ),
    )
    parser.add_argument("label", metavar="LABEL", help="app_label.modelname")
    parser.add_argument("pk", metavar="PK", help="the object's primary key")
    parser.add_argument("--as-of", dest="as_of", metavar="TS", help="state at this time")
    parser.add_argument(
        "--json", action="store_true", help="raw lines (with --as-of: the state as JSON)"
    )
    dirs.add_argument(parser)
    return parser


def run(options: Mapping[str, Any], console: Console, defaults: Defaults) -> None:
    """Print the object's timeline (raw lines with ``--json``), or with
    ``--as-of`` its state rebuilt at that time (as JSON with ``--json``)."""
    label, pk = argtypes.object_ref(options)
    where = dirs.resolve(options.get("dirs"), defaults.directory)
    raw = bool(options.get("json"))
    bad = BadLines(console.warn)
    as_of = options.get("as_of")
    try:
        if as_of is not None:
            at = argtypes.time(str(as_of), "--as-of")
            found = _as_of(console, where, label, pk, at, raw, bad, _installed(label))
        else:
            found = _timeline(console, where, label, pk, raw, bad, _installed(label))
    except BrokenPipeError:
        console.broken_pipe()
    bad.finish()
    if bad.unreadable:
        raise Failure(f"{bad.unreadable} log file(s) could not be read, see above")
    if not found:
        raise Failure(f"unknown model {label!r} and no events about {label}#{pk} in the log")


def _installed(label: str) -> bool:
    """Whether ``label`` names an installed model. One that is not may still
    have a history (a model since removed), so this alone is no error."""
    try:
        apps.get_model(label)
    except (LookupError, ValueError):
        return False
    return True


def _timeline(
    console: Console,
    where: list[Path],
    label: str,
    pk: str,
    raw: bool,
    bad: BadLines,
    installed: bool,
) -> bool:
    """Print the timeline; False when there was nothing to print about a
    label that is no installed model (the caller's error)."""
    flt = reader.Filter(model=label, object_id=pk)
    count = 0
    with ProgressBar.for_scan(console.stderr, where, (EVENTS_FILE,)) as bar:
        events = reader.iter_events(where, filter=flt, on_bad_line=bad, progress=bar)
        if raw:
            seen = [0]

            def counted() -> Iterator[bytes]:
                for line, _event in events:
                    seen[0] += 1
                    yield line

            console.write_raw(counted())
            return seen[0] > 0 or installed
        colorize = console.colorize()
        for _line, event in events:
            bar.clear()
            console.out(format_history_event(event, pk, colorize=colorize))
            count += 1
    if count == 0 and installed:
        shown = ", ".join(str(d) for d in where)
        console.out(clean(f"No events about {label}#{pk} in {shown}"))
    return count > 0 or installed


def _any_event(where: list[Path], label: str, pk: str, bad: BadLines) -> bool:
    flt = reader.Filter(model=label, object_id=pk)
    return next(iter(reader.iter_events(where, filter=flt, on_bad_line=bad)), None) is not None


def _as_of(
    console: Console,
    where: list[Path],
    label: str,
    pk: str,
    at: str,
    raw: bool,
    bad: BadLines,
    installed: bool,
) -> bool:
    """Print the state at ``at``; False, printing nothing, when no event made
    it and the label is no installed model."""
    with ProgressBar.for_scan(console.stderr, where, (EVENTS_FILE,)) as bar:
        state = reader.state_at(where, label, pk, at=at, on_bad_line=bad, progress=bar)
    if state.events == 0 and not installed and not _any_event(where, label, pk, bad):
        return False
    if raw:
        console.out(orjson.dumps({"as_of": at, **state.as_dict()}).decode())
    else:
        console.out("\n".join(describe_state(state, at)))
    return True
