"""``eventlog tail``: the last matching events, oldest first; ``-f`` follows."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from eventlog import reader
from eventlog.cli import argtypes, dirs
from eventlog.cli.badlines import BadLines
from eventlog.cli.base import Defaults, Failure
from eventlog.cli.console import Console
from eventlog.cli.interrupt import Terminated, until_signalled
from eventlog.cli.pretty import format_event

__all__ = ["NAME", "add_parser", "run"]

NAME: Final = "tail"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The parser of ``tail``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="print the last matching events, oldest first",
        description=(
            "Print the last N matching events, oldest first: pretty on a terminal, "
            "the raw JSON lines byte for byte with --json or when output is not a "
            "terminal. Times: RFC 3339 (2026-11-23T10:15:00Z), a date (2026-11-23) "
            "or a time ago (30s, 10m, 2h, 3d, 1w); --since is inclusive, --until "
            "exclusive."
        ),
    )
    parser.add_argument(
        "-n",
        "--lines",
        dest="n",
        type=int,
        default=10,
        metavar="N",
        help="how many events (default 10; 0 prints nothing)",
    )
    parser.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep printing events as they are written, across rotations (Ctrl-C stops)",
    )
    parser.add_argument("--event", metavar="GLOB", help="event name glob, e.g. 'model.*'")
    parser.add_argument("--model", metavar="LABEL", help="model label, e.g. speedy.employees")
    parser.add_argument("--object-id", dest="object_id", metavar="ID", help="object pk")
    parser.add_argument("--actor", metavar="NAME", help="username, CLI or system")
    parser.add_argument("--since", metavar="TS", help="events at or after this time")
    parser.add_argument("--until", metavar="TS", help="events before this time")
    argtypes.add_file_argument(parser, allow_all=False)
    dirs.add_argument(parser)
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the raw JSON lines")
    form.add_argument("--pretty", action="store_true", help="print the human form")
    return parser


def run(options: Mapping[str, Any], console: Console, defaults: Defaults) -> None:
    """Print the last ``-n`` matching events, oldest first, then with ``-f``
    each new one. The pretty form with ``--pretty`` or on a terminal, else
    the raw lines. Files that could not be read are a :class:`Failure` after
    the output."""
    n = argtypes.count(options.get("n", 10))
    (name,) = argtypes.log_names(options.get("file"), default="events", allow_all=False)
    if options.get("json") and options.get("pretty"):
        raise Failure("--json and --pretty exclude each other")
    flt = argtypes.event_filter(options)
    where = dirs.resolve(options.get("dirs"), defaults.directory)
    pretty = bool(options.get("pretty")) or (not options.get("json") and console.isatty())
    bad = BadLines(console.warn)
    if options.get("follow"):
        _follow(console, where, name, flt, n, pretty, bad)
        return
    events = reader.last_events(where, n, name=name, filter=flt, on_bad_line=bad)
    try:
        if pretty:
            _write_pretty(console, (event for _raw, event in events))
        else:
            console.write_raw(raw for raw, _event in events)
    except BrokenPipeError:
        console.broken_pipe()
    bad.finish()
    if bad.unreadable:
        raise Failure(f"{bad.unreadable} log file(s) could not be read, see above")


def _write_pretty(console: Console, events: Iterable[Mapping[str, Any]]) -> None:
    colorize = console.colorize()
    for event in events:
        console.out(format_event(event, colorize=colorize))


def _follow(
    console: Console,
    where: list[Path],
    name: str,
    flt: reader.Filter,
    n: int,
    pretty: bool,
    bad: BadLines,
) -> None:
    """``tail -f``: the last ``n`` events, then each new one as it is written,
    until Ctrl-C (SIGINT) or SIGTERM; both end with exit status 0."""
    bad.limit = None  # a long-running follower reports every bad line
    with until_signalled():
        try:
            batches = reader.follow_batches(where, name=name, filter=flt, on_bad_line=bad, n=n)
            for batch in batches:
                if pretty:
                    _write_pretty(console, (event for _raw, event in batch))
                    console.flush()
                else:
                    console.write_raw(raw for raw, _event in batch)
        except (KeyboardInterrupt, Terminated):
            pass
        except BrokenPipeError:
            console.broken_pipe()
    with contextlib.suppress(BrokenPipeError, ValueError):
        console.flush()
