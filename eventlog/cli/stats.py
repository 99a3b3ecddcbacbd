"""``eventlog stats``: files, sizes, event counts by name and by hour, time span."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import orjson

from eventlog import reader
from eventlog.cli import argtypes, dirs
from eventlog.cli.badlines import BadLines
from eventlog.cli.base import Defaults, Failure
from eventlog.cli.console import Console
from eventlog.cli.pretty import short, size
from eventlog.cli.progress import ProgressBar
from eventlog.core.sanitize import clean
from eventlog.read.stats import Stats, collect

__all__ = ["NAME", "add_parser", "run"]

NAME: Final = "stats"
HOUR_BAR_WIDTH: Final = 30
"""Characters of the bar of the busiest hour."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The parser of ``stats``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="files, sizes, event counts by name and by hour, time span"
    )
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")
    argtypes.add_file_argument(parser, allow_all=False)
    dirs.add_argument(parser)
    return parser


def run(options: Mapping[str, Any], console: Console, defaults: Defaults) -> None:
    """Count the lines of every file of the log, by event name and by hour,
    and print the table (or ``--json``: one JSON object)."""
    (name,) = argtypes.log_names(options.get("file"), default="events", allow_all=False)
    where = dirs.resolve(options.get("dirs"), defaults.directory)
    files = [p for d in where for p in reader.log_files(d, name)]
    bad = BadLines(console.warn)
    with ProgressBar.for_files(console.stderr, files) as bar:
        result = collect(files, on_bad_line=bad, progress=bar)
    bad.finish()
    try:
        if options.get("json"):
            data = {"directories": [str(d) for d in where], **result.as_dict()}
            console.out(orjson.dumps(data).decode())
        else:
            _write_table(console, result, where, name)
    except BrokenPipeError:
        console.broken_pipe()
    if bad.unreadable:
        raise Failure(f"{bad.unreadable} log file(s) could not be read, see above")


def _events(count: int) -> str:
    return "event" if count == 1 else "events"


def _write_table(console: Console, result: Stats, where: list[Path], name: str) -> None:
    out = console.out
    shown = clean(", ".join(str(d) for d in where))
    if not result.files:
        out(f"No {name} files in {shown}")
        return
    out(f"{name} in {shown}:")
    width = max(len(clean(str(f.path))) for f in result.files)
    for f in result.files:
        span = f"{short(f.oldest)} → {short(f.newest)}" if f.events else "-"
        path = clean(str(f.path)).ljust(width)
        out(f"  {path}  {size(f.size):>9}  {f.events:>9} {_events(f.events):<6}  {span}")
    out(
        f"Total: {len(result.files)} file(s), {size(result.size)}, "
        f"{result.events} {_events(result.events)}, "
        f"from {short(result.oldest)} to {short(result.newest)}"
    )
    if result.bad_lines:
        out(f"Skipped: {result.bad_lines} bad line(s)", style_func=console.style.WARNING)
    if result.unreadable_files:
        out(f"Unreadable: {result.unreadable_files} file(s)", style_func=console.style.WARNING)
    if result.by_event:
        out("Events by name:")
        names = {key: clean(key) for key in result.by_event}
        ew = max(len(shown_name) for shown_name in names.values())
        for key, count in sorted(result.by_event.items(), key=lambda kv: (-kv[1], kv[0])):
            out(f"  {names[key].ljust(ew)}  {count:>9}")
    if result.by_hour:
        out("Events by hour (UTC):")
        peak = max(result.by_hour.values())
        for hour, count in sorted(result.by_hour.items()):
            bar = "█" * max(1, round(HOUR_BAR_WIDTH * count / peak))
            out(f"  {clean(hour.replace('T', ' '))}h  {count:>9}  {bar}")
