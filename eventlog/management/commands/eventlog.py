"""``manage.py eventlog <subcommand>``: read the event log from the command line.

Subcommands: ``tail`` (the last matching events) and ``verify`` (every line
parses, every stream's ``seq`` is gap-free and every hash chain holds).

Errors in arguments give a one-line message and a non-zero exit (2 for what
argparse rejects, 1 for the rest), never a traceback or a usage dump.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NoReturn

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import Style

from eventlog import _conf, _pipeline, _verify, reader

__all__ = ["Command", "format_event"]

FILES: Final = {"events": _pipeline.EVENTS_FILE, "django": _pipeline.DJANGO_FILE}
BAD_LINES_SHOWN: Final = 10
PROBLEMS_SHOWN: Final = 100
MID_STREAM_SHOWN: Final = 10
VALUE_WIDTH: Final = 80
# Keys the pretty form shows in its own way, or leaves out as noise.
_NOT_EXTRA: Final = frozenset(
    {
        "timestamp",
        "level",
        "event",
        "event_id",
        "schema_version",
        "stream",
        "seq",
        "hash",
        "message",
        "model",
        "object_id",
        "object_repr",
        "instance",
        "actor",
        "actor_id",
        "changes",
        "snapshot",
        "request_id",
        "ip",
        "user_agent",
        "os_user",
        "command",
        "exc_info",
        "stack_info",
    }
)


class _Parser(CommandParser):
    """A CommandParser whose errors on the command line are one line (no usage
    dump; exit status 2); called from code, they raise CommandError as usual."""

    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
        raise CommandError(f"Error: {message}")


# -- pretty form ---------------------------------------------------------------------


def _value(value: Any, width: int = VALUE_WIDTH) -> str:
    """A value as compact JSON (strings quoted, None as null), cut at ``width``."""
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _change_lines(changes: Mapping[str, Any], indent: str) -> list[str]:
    lines: list[str] = []
    for key, change in changes.items():
        if isinstance(change, Mapping) and "old" in change and "new" in change:
            lines.append(f"{indent}{key}: {_value(change['old'])} → {_value(change['new'])}")
        elif isinstance(change, Mapping):  # e.g. per-object changes of a bulk event
            lines.append(f"{indent}{key}:")
            lines.extend(_change_lines(change, indent + "  "))
        else:
            lines.append(f"{indent}{key}: {_value(change)}")
    return lines


def _target(event: Mapping[str, Any]) -> str:
    """``app.model#pk "repr"`` of the object an event is about, or ``""``."""
    instance = event.get("instance")
    source = event if "model" in event or not isinstance(instance, Mapping) else instance
    model, object_id = source.get("model"), source.get("object_id")
    shown = event.get("object_repr", source.get("repr"))
    text = "" if model is None else str(model)
    if object_id is not None:
        text += f"#{object_id}"
    if shown is not None and str(shown) != str(object_id):
        text += f" {_value(str(shown), 60)}" if text else _value(str(shown), 60)
    return text


def format_event(
    event: Mapping[str, Any], *, colorize: Callable[[str, str], str] | None = None
) -> str:
    """One event in the human form of ``tail``, without a final newline::

        2026-11-23 10:15:00.123 INFO  model.updated  speedy.employee#42 "Bob"  actor=bob
            name: "Bob" → "Robert"

    The first line holds the time (UTC, milliseconds), the level, the event
    name, the object, the actor, the message and the other keys as
    ``key=value`` (values as compact JSON, long ones cut with ``…``); the
    lines below show ``changes`` (and a ``state.changed`` transition) as
    ``field: old → new``, then any ``exc_info``. ``colorize(level, text)``
    styles the level column.
    """
    stamp = event.get("timestamp")
    if isinstance(stamp, str) and len(stamp) >= 23 and stamp[10:11] == "T":
        when = f"{stamp[:10]} {stamp[11:23]}"
    else:
        when = str(stamp)
    level = str(event.get("level", "?"))
    column = level.upper().ljust(5)
    if colorize is not None:
        column = colorize(level.lower(), column)
    head = f"{when} {column} {event.get('event', '?')}"
    parts = [head]
    target = _target(event)
    if target:
        parts.append(target)
    if event.get("actor") is not None:
        parts.append(f"actor={event['actor']}")
    if event.get("message") is not None:
        parts.append(str(event["message"]).replace("\n", " ⏎ "))
    transition = "source" in event and "target" in event
    extras = [
        f"{key}={_value(value)}"
        for key, value in event.items()
        if key not in _NOT_EXTRA and not (key in {"field", "source", "target"} and transition)
    ]
    if extras:
        parts.append(" ".join(extras))
    lines = ["  ".join(parts)]
    if transition:
        field = event.get("field", "state")
        lines.append(f"    {field}: {_value(event['source'])} → {_value(event['target'])}")
    changes = event.get("changes")
    if isinstance(changes, Mapping):
        lines.extend(_change_lines(changes, "    "))
    for key in ("exc_info", "stack_info"):
        text = event.get(key)
        if isinstance(text, str) and text:
            lines.extend("    " + row for row in text.splitlines())
    return "\n".join(lines)


def _level_styles(style: Style) -> dict[str, Callable[[str], str]]:
    return {
        "debug": style.HTTP_NOT_MODIFIED,
        "info": style.SUCCESS,
        "warning": style.WARNING,
        "error": style.ERROR,
        "critical": style.ERROR,
    }


# -- the command ---------------------------------------------------------------------


class _BadLines:
    """Reports skipped lines on stderr: the first few, then a count."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self.count = 0
        self.unreadable = 0

    def __call__(self, path: os.PathLike[str], lineno: int, reason: str) -> None:
        self.count += 1
        if lineno == 0:
            self.unreadable += 1
        if self.count <= BAD_LINES_SHOWN:
            where = f"{path}:{lineno}" if lineno else str(path)
            self._write(f"eventlog: {where}: {reason}")

    def finish(self) -> None:
        if self.count > BAD_LINES_SHOWN:
            self._write(f"eventlog: {self.count - BAD_LINES_SHOWN} more bad line(s) not shown")


class Command(BaseCommand):
    help = (
        "Read the event log in EVENTLOG_DIR (live, rotated and compressed files alike). "
        "Subcommands: tail, verify."
    )
    # Reading files needs no database and must work when other checks fail.
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # One-line errors for the top level too (unknown or missing subcommand).
        parser.__class__ = _Parser
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(
            dest="subcommand", metavar="SUBCOMMAND", parser_class=_Parser, required=True
        )
        tail = subparsers.add_parser(
            "tail",
            help="print the last matching events, oldest first",
            description=(
                "Print the last N matching events, oldest first: pretty on a terminal, "
                "the raw JSON lines byte for byte with --json or when output is not a "
                "terminal. Times: RFC 3339 (2026-11-23T10:15:00Z), a date (2026-11-23) "
                "or a time ago (30s, 10m, 2h, 3d, 1w); --since is inclusive, --until "
                "exclusive."
            ),
        )
        tail.add_argument(
            "-n",
            "--lines",
            dest="n",
            type=int,
            default=10,
            metavar="N",
            help="how many events (default 10; 0 prints nothing)",
        )
        tail.add_argument("--event", metavar="GLOB", help="event name glob, e.g. 'model.*'")
        tail.add_argument("--model", metavar="LABEL", help="model label, e.g. speedy.employee")
        tail.add_argument("--object-id", dest="object_id", metavar="ID", help="object pk")
        tail.add_argument("--actor", metavar="NAME", help="username, CLI or system")
        tail.add_argument("--since", metavar="TS", help="events at or after this time")
        tail.add_argument("--until", metavar="TS", help="events before this time")
        tail.add_argument(
            "--file",
            choices=sorted(FILES),
            default="events",
            help="events.jsonl (default) or django.jsonl",
        )
        form = tail.add_mutually_exclusive_group()
        form.add_argument("--json", action="store_true", help="print the raw JSON lines")
        form.add_argument("--pretty", action="store_true", help="print the human form")
        self._add_common_options(tail)
        verify = subparsers.add_parser(
            "verify",
            help="check that every line parses, seq is gap-free and hash chains hold",
            description=(
                "Check the log files, rotated and compressed ones included: every line "
                "parses, every stream's seq is gap-free and every hash chain holds "
                "(keyed with EVENTLOG_HMAC_KEY when set). Prints a summary and, for each "
                "problem, the file and line; exits 0 when the log is intact, 1 otherwise. "
                "A stream whose earlier files were pruned is reported as starting "
                "mid-stream, not as broken."
            ),
        )
        verify.add_argument(
            "--file",
            choices=["all", *sorted(FILES)],
            default="all",
            help="events.jsonl, django.jsonl or both (default all)",
        )
        verify.add_argument(
            "--dir",
            dest="directory",
            metavar="PATH",
            help="the log directory (default EVENTLOG_DIR)",
        )
        self._add_common_options(verify)

    @staticmethod
    def _add_common_options(parser: CommandParser) -> None:
        """Accept Django's usual options after the subcommand too (``eventlog
        tail --no-color``); defaults stay those of the top-level parser."""
        hidden: dict[str, Any] = {"default": argparse.SUPPRESS, "help": argparse.SUPPRESS}
        parser.add_argument("-v", "--verbosity", type=int, choices=[0, 1, 2, 3], **hidden)
        parser.add_argument("--settings", **hidden)
        parser.add_argument("--pythonpath", **hidden)
        parser.add_argument("--traceback", action="store_true", **hidden)
        parser.add_argument("--no-color", action="store_true", **hidden)
        parser.add_argument("--force-color", action="store_true", **hidden)

    def handle(self, *args: Any, **options: Any) -> None:
        subcommand = options.get("subcommand")
        if subcommand == "tail":
            self.tail(**options)
            return
        if subcommand == "verify":
            self.verify(**options)
            return
        raise CommandError(f"unknown subcommand {subcommand!r} (choose from: tail, verify)")

    # -- tail ---------------------------------------------------------------------------

    def _filter(self, options: Mapping[str, Any]) -> reader.Filter:
        try:
            return reader.Filter(
                event=options.get("event"),
                model=options.get("model"),
                object_id=options.get("object_id"),
                actor=options.get("actor"),
                since=options.get("since"),
                until=options.get("until"),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

    def tail(self, **options: Any) -> None:
        """``tail``: the last ``n`` matching events, oldest first."""
        n = options.get("n", 10)
        if isinstance(n, str) and n.strip().isdigit():
            n = int(n)
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise CommandError(f"-n must be a whole number >= 0, not {n!r}")
        file = options.get("file") or "events"
        if file not in FILES:
            raise CommandError(f"--file must be one of {', '.join(sorted(FILES))}, not {file!r}")
        if options.get("json") and options.get("pretty"):
            raise CommandError("--json and --pretty exclude each other")
        flt = self._filter(options)
        pretty = bool(options.get("pretty")) or (not options.get("json") and self.stdout.isatty())
        bad = _BadLines(lambda text: self.stderr.write(text, style_func=self.style.WARNING))
        events = reader.last_events(
            _conf.directory(), n, name=FILES[file], filter=flt, on_bad_line=bad
        )
        try:
            if pretty:
                self._write_pretty(event for _raw, event in events)
            else:
                self._write_raw(raw for raw, _event in events)
        except BrokenPipeError:
            self._broken_pipe()
        bad.finish()
        if bad.unreadable:
            raise CommandError(f"{bad.unreadable} log file(s) could not be read, see above")

    # -- verify ---------------------------------------------------------------------------

    def verify(self, **options: Any) -> None:
        """``verify``: check the files and print a report; a CommandError (exit
        status 1) when anything is wrong, after the report."""
        file = options.get("file") or "all"
        if file == "all":
            names: Sequence[str] = (FILES["events"], FILES["django"])
        elif file in FILES:
            names = (FILES[file],)
        else:
            choices = ", ".join(["all", *sorted(FILES)])
            raise CommandError(f"--file must be one of {choices}, not {file!r}")
        given = options.get("directory")
        directory = Path(given) if given else _conf.directory()
        key = _conf.hmac_key()
        try:
            report = _verify.verify(directory, names, key=key)
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        try:
            self._write_report(report, names, int(options.get("verbosity", 1)))
        except BrokenPipeError:
            self._broken_pipe()
        if not report.ok:
            broken = sum(1 for f in report.files if f.problems)
            raise CommandError(
                f"the log is not intact: {len(report.problems)} problem(s) "
                f"in {broken} file(s), see above"
            )

    def _write_report(self, report: _verify.Report, names: Sequence[str], verbosity: int) -> None:
        out = self.stdout.write
        chain = (
            "HMAC-SHA256 keyed with EVENTLOG_HMAC_KEY"
            if report.keyed
            else "SHA-256, no EVENTLOG_HMAC_KEY"
        )
        if verbosity >= 1:
            out(f"Verifying {' and '.join(names)} in {report.directory} (chain: {chain})")
        if not report.files:
            out(f"Nothing to verify: no {' or '.join(names)} files in {report.directory}")
            return
        if verbosity >= 1:
            for summary in report.files:
                text = (
                    f"  {summary.path}: {summary.lines} line(s), {len(summary.streams)} stream(s)"
                )
                if summary.problems:
                    out(f"{text}, {summary.problems} problem(s)", style_func=self.style.ERROR)
                else:
                    out(text)
            if report.mid_stream:
                out("Streams starting mid-stream (not a failure):")
                shown = (
                    report.mid_stream if verbosity >= 2 else report.mid_stream[:MID_STREAM_SHOWN]
                )
                for start in shown:
                    out(f"  {start}")
                if len(shown) < len(report.mid_stream):
                    out(f"  ... and {len(report.mid_stream) - len(shown)} more (-v 2 shows all)")
        if report.problems:
            out("Problems:", style_func=self.style.ERROR)
            shown_problems = report.problems if verbosity >= 2 else report.problems[:PROBLEMS_SHOWN]
            for problem in shown_problems:
                out(f"  {problem}")
            if len(shown_problems) < len(report.problems):
                more = len(report.problems) - len(shown_problems)
                out(f"  ... and {more} more problem(s) (-v 2 shows all)")
        for note in report.notes:
            out(f"Note: {note}", style_func=self.style.WARNING)
        style = self.style.SUCCESS if report.ok else self.style.ERROR
        out(report.summary(), style_func=style)

    def _write_pretty(self, events: Iterable[Mapping[str, Any]]) -> None:
        colorize = None
        if self.stdout.isatty():
            styles = _level_styles(self.style)
            colorize = lambda level, text: styles.get(level, str)(text)  # noqa: E731
        for event in events:
            self.stdout.write(format_event(event, colorize=colorize))

    def _write_raw(self, lines: Iterable[bytes]) -> None:
        """Write the lines byte for byte: to the binary buffer under stdout when
        there is one, else decoded (orjson wrote them as valid UTF-8)."""
        buffer = getattr(self.stdout, "buffer", None)
        if buffer is None:
            for line in lines:
                self.stdout.write(line.decode(), ending="")
            return
        self.stdout.flush()
        batch: list[bytes] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= 1000:
                buffer.write(b"".join(batch))
                batch.clear()
        buffer.write(b"".join(batch))
        buffer.flush()

    def _broken_pipe(self) -> NoReturn:
        """The reader went away (``| head``): stop quietly, like other tools."""
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        raise SystemExit(1)
