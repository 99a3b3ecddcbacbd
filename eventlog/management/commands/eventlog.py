"""``manage.py eventlog <subcommand>``: read the event log from the command line.

Subcommands: ``tail`` (the last matching events; ``-f`` follows), ``history``
(an object's timeline or its state at a time), ``restore`` (write that state
back), ``verify`` (every line parses, every stream's ``seq`` is gap-free and
every hash chain holds), ``prune`` (delete old rotated files) and ``stats``.
``--dir`` may be repeated to merge several hosts' directories by time.

Errors in arguments give a one-line message and a non-zero exit (2 for what
argparse rejects, 1 for the rest), never a traceback or a usage dump.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Final, NoReturn

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import Style

from eventlog import conf, reader
from eventlog.core.files import FILES
from eventlog.read import verify as _verify

__all__ = ["Command", "describe_state", "format_event", "format_history_event"]

SUBCOMMANDS: Final = ("tail", "history", "restore", "verify", "prune", "stats")
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


# -- history form --------------------------------------------------------------------

_EVENT_ID: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_M2M_SIGN: Final = {"model.m2m_added": "+", "model.m2m_removed": "-"}


def _when(stamp: Any) -> str:
    if isinstance(stamp, str) and len(stamp) >= 23 and stamp[10:11] == "T":
        return f"{stamp[:10]} {stamp[11:23]}"
    return str(stamp)


def _short(stamp: str | None) -> str:
    return "-" if stamp is None else _when(stamp)[:19]


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _shown(dirs: Sequence[Path]) -> str:
    return ", ".join(str(d) for d in dirs)


def _who(event: Mapping[str, Any]) -> str:
    parts = []
    if event.get("actor") is not None:
        parts.append(f"by {event['actor']}")
    if event.get("reason") is not None:
        parts.append(f"reason={_value(str(event['reason']), 60)}")
    if event.get("request_id") is not None:
        parts.append(f"request_id={event['request_id']}")
    return "  ".join(parts)


def format_history_event(
    event: Mapping[str, Any],
    object_id: str,
    *,
    colorize: Callable[[str, str], str] | None = None,
) -> str:
    """One event of an object's timeline (``history``), without a final newline::

        2026-11-23 10:15:00.123 model.updated  by bob  reason="typo"
            address: "1 Main St" → "1 Main Street"

    Snapshots (creation, deletion) list every field; updates, bulk updates
    (this object's entry) and state transitions show ``field: old → new``;
    m2m events ``field: + [ids]`` / ``- [ids]`` / ``cleared``. Other events
    take the form of ``tail``.
    """
    name = str(event.get("event", "?"))
    if not (name.startswith("model.") or name == "state.changed"):
        return format_event(event, colorize=colorize)
    shown = name
    if colorize is not None:
        shown = colorize(str(event.get("level", "info")).lower(), name)
    head = f"{_when(event.get('timestamp'))} {shown}"
    if event.get("object_repr") is not None:
        head += f"  {_value(str(event['object_repr']), 60)}"
    who = _who(event)
    lines = [f"{head}  {who}" if who else head]
    indent = "    "
    snapshot = event.get("snapshot")
    if isinstance(snapshot, Mapping):
        lines.extend(f"{indent}{key}: {_value(value)}" for key, value in snapshot.items())
    changes = event.get("changes")
    if name.startswith("model.bulk_"):
        ids = event.get("object_ids")
        count = event.get("count", len(ids) if isinstance(ids, list) else "?")
        lines[0] += f"  ({count} object(s))"
        if isinstance(changes, Mapping):
            own = changes.get(object_id)
            if isinstance(own, Mapping):
                lines.extend(_change_lines(own, indent))
            elif not any(isinstance(v, Mapping) and "old" not in v for v in changes.values()):
                lines.extend(_change_lines(changes, indent))
    elif isinstance(changes, Mapping):
        lines.extend(_change_lines(changes, indent))
    if name in ("model.m2m_added", "model.m2m_removed", "model.m2m_cleared"):
        field = event.get("field", "?")
        related = event.get("related_model")
        suffix = f" ({related})" if related else ""
        if name == "model.m2m_cleared":
            lines.append(f"{indent}{field}: cleared{suffix}")
        else:
            ids = _value(event.get("related_ids", []))
            lines.append(f"{indent}{field}: {_M2M_SIGN[name]} {ids}{suffix}")
    if name == "state.changed":
        transition = event.get("transition")
        line = f"{indent}{event.get('field', 'state')}: "
        line += f"{_value(event.get('source'))} → {_value(event.get('target'))}"
        lines.append(f"{line}  ({transition})" if transition else line)
    return "\n".join(lines)


def describe_state(state: reader.ObjectState, at: str) -> list[str]:
    """The lines ``history --as-of`` prints for a rebuilt state."""
    label = f"{state.model}#{state.object_id}"
    if state.events == 0:
        return [f"No events about {label} at or before {at}"]
    last = state.last or {}
    if state.deleted:
        status = f"deleted at {last.get('timestamp')}"
        status += f" by {last['actor']}" if last.get("actor") is not None else ""
        status += "; its last values:"
    elif not state.complete:
        status = (
            "partly known (no snapshot in the log: the files of its creation were "
            "pruned?); the fields changed since:"
        )
    else:
        status = "exists"
    lines = [f"{label} as of {at}: {status}"]
    tail = (
        f"  after {state.events} event(s), the last {last.get('event')} at {last.get('timestamp')}"
    )
    who = _who(last)
    lines.append(f"{tail}  {who}" if who else tail)
    for key, value in state.fields.items():
        lines.append(f"    {key}: {_value(value)}")
    for key, ids in state.m2m.items():
        lines.append(f"    {key} (m2m, as far as logged): {_value(ids)}")
    for key, why in sorted(state.unfaithful().items()):
        lines.append(f"  note: {key} is {why} in the log; its real value is unknown")
    return lines


class _ProgressBar:
    """A progress bar on stderr for long scans: drawn only when stderr is a
    terminal and the scan has run for a while; cleared before output and at
    the end. Progress is in bytes of the files on disk."""

    DELAY: Final = 0.5
    EVERY: Final = 0.1
    WIDTH: Final = 30

    def __init__(self, stream: Any, total: int) -> None:
        self._stream = stream
        self._total = total
        isatty = getattr(stream, "isatty", None)
        self.enabled = total > 0 and callable(isatty) and bool(isatty())
        self._done = 0
        self._start = time.monotonic()
        self._drawn_at = 0.0
        self._shown = 0

    @classmethod
    def for_scan(cls, stream: Any, dirs: Sequence[Path], names: Sequence[str]) -> _ProgressBar:
        total = 0
        for d in dirs:
            for name in names:
                for path in reader.log_files(d, name):
                    with contextlib.suppress(OSError):
                        total += path.stat().st_size
        return cls(stream, total)

    def __call__(self, nbytes: int) -> None:
        self._done += nbytes
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._start >= self.DELAY and now - self._drawn_at >= self.EVERY:
            self._drawn_at = now
            self._draw()

    def _draw(self) -> None:
        fraction = min(1.0, self._done / self._total)
        filled = int(self.WIDTH * fraction)
        text = (
            f"[{'#' * filled}{' ' * (self.WIDTH - filled)}] {int(100 * fraction):3d}% "
            f"{_size(self._done)} of {_size(self._total)}"
        )
        self._write(f"\r{text}")
        self._shown = len(text)

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.write(text, ending="", style_func=lambda x: x)
            self._stream.flush()

    def clear(self) -> None:
        if self._shown:
            self._write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()


# -- the command ---------------------------------------------------------------------


class _Terminated(Exception):
    """SIGTERM arrived while following."""


def _raise_terminated(_signum: int, _frame: FrameType | None) -> None:
    raise _Terminated


@contextlib.contextmanager
def _until_signalled() -> Iterator[None]:
    """Inside the block SIGTERM raises :class:`_Terminated` and SIGINT raises
    KeyboardInterrupt, even when the process started with SIGINT ignored (a
    background job of a shell script); both are restored afterwards. Main
    thread only: elsewhere signals cannot be handled and the block runs as is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous_term = signal.signal(signal.SIGTERM, _raise_terminated)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


class _BadLines:
    """Reports skipped lines on stderr: the first few, then a count."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self.count = 0
        self.unreadable = 0
        self.limit: int | None = BAD_LINES_SHOWN

    def __call__(self, path: os.PathLike[str], lineno: int, reason: str) -> None:
        self.count += 1
        if lineno == 0:
            self.unreadable += 1
        if self.limit is None or self.count <= self.limit:
            where = f"{path}:{lineno}" if lineno else str(path)
            self._write(f"eventlog: {where}: {reason}")

    def finish(self) -> None:
        if self.limit is not None and self.count > self.limit:
            self._write(f"eventlog: {self.count - self.limit} more bad line(s) not shown")


class Command(BaseCommand):
    help = (
        "Read the event log in EVENTLOG_DIR (live, rotated and compressed files alike). "
        "Subcommands: tail, history, restore, verify, prune, stats."
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
        tail.add_argument(
            "-f",
            "--follow",
            action="store_true",
            help="keep printing events as they are written, across rotations (Ctrl-C stops)",
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
        self._add_dirs(tail)
        form = tail.add_mutually_exclusive_group()
        form.add_argument("--json", action="store_true", help="print the raw JSON lines")
        form.add_argument("--pretty", action="store_true", help="print the human form")
        self._add_common_options(tail)
        self._add_history(subparsers)
        self._add_restore(subparsers)
        self._add_prune(subparsers)
        self._add_stats(subparsers)
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
        handler = {
            "history": self.history,
            "restore": self.restore,
            "prune": self.prune,
            "stats": self.stats,
        }.get(str(subcommand))
        if handler is not None:
            handler(**options)
            return
        raise CommandError(
            f"unknown subcommand {subcommand!r} (choose from: {', '.join(SUBCOMMANDS)})"
        )

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
        dirs = self._dirs(options)
        pretty = bool(options.get("pretty")) or (not options.get("json") and self.stdout.isatty())
        bad = _BadLines(lambda text: self.stderr.write(text, style_func=self.style.WARNING))
        if options.get("follow"):
            self._follow(dirs, FILES[file], flt, n, pretty, bad)
            return
        events = reader.last_events(dirs, n, name=FILES[file], filter=flt, on_bad_line=bad)
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

    def _follow(
        self,
        dirs: list[Path],
        name: str,
        flt: reader.Filter,
        n: int,
        pretty: bool,
        bad: _BadLines,
    ) -> None:
        """``tail -f``: print the last ``n`` events, then each new one as it is
        written, until Ctrl-C (SIGINT) or SIGTERM; both end with exit 0."""
        bad.limit = None  # a long-running follower reports every bad line
        with _until_signalled():
            try:
                batches = reader.follow_batches(dirs, name=name, filter=flt, on_bad_line=bad, n=n)
                for batch in batches:
                    if pretty:
                        self._write_pretty(event for _raw, event in batch)
                        self.stdout.flush()
                    else:
                        self._write_raw(raw for raw, _event in batch)
            except (KeyboardInterrupt, _Terminated):
                pass
            except BrokenPipeError:
                self._broken_pipe()
        with contextlib.suppress(BrokenPipeError, ValueError):
            self.stdout.flush()

    def _dirs(self, options: Mapping[str, Any]) -> list[Path]:
        """The ``--dir`` directories given (several for multi-host), or EVENTLOG_DIR."""
        given = options.get("dirs") or options.get("directory")
        if not given:
            return [conf.directory()]
        if isinstance(given, str | os.PathLike):
            given = [given]
        dirs = [Path(d) for d in given]
        for d in dirs:
            if not str(d) or (d.exists() and not d.is_dir()):
                raise CommandError(f"--dir {str(d)!r} is not a directory")
        return dirs

    @staticmethod
    def _add_dirs(parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            dest="dirs",
            action="append",
            metavar="PATH",
            help="a log directory (default EVENTLOG_DIR); repeat it to merge several "
            "hosts' directories by time",
        )

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
        directory = Path(given) if given else conf.directory()
        key = conf.hmac_key()
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

    # -- parsers of history, restore, prune, stats ----------------------------------------

    def _add_history(self, subparsers: Any) -> None:
        history = subparsers.add_parser(
            "history",
            help="an object's timeline, or its state at a time (--as-of)",
            description=(
                "Print every event about one object, oldest first, from all files: "
                "created (with its snapshot), each change with actor and reason, m2m "
                "changes, state transitions, bulk operations, deletion. With --as-of, "
                "print the object's field values rebuilt at that time instead."
            ),
        )
        history.add_argument("label", metavar="LABEL", help="app_label.modelname")
        history.add_argument("pk", metavar="PK", help="the object's primary key")
        history.add_argument("--as-of", dest="as_of", metavar="TS", help="state at this time")
        history.add_argument(
            "--json", action="store_true", help="raw lines (with --as-of: the state as JSON)"
        )
        self._add_dirs(history)
        self._add_common_options(history)

    def _add_restore(self, subparsers: Any) -> None:
        restore = subparsers.add_parser(
            "restore",
            help="write an object's logged state at a time back to the database",
            description=(
                "Rebuild the object's field values at TS (or after the event EVENT_ID) "
                "from the log and save them in a transaction, recreating the row when it "
                "was deleted; the save is logged as an ordinary change with reason "
                "'restore to <ts>'. Refuses when the state cannot be rebuilt faithfully "
                "(masked or truncated values, fields not logged, a changed schema). "
                "Many-to-many relations are not restored."
            ),
        )
        restore.add_argument("label", metavar="LABEL", help="app_label.modelname")
        restore.add_argument("pk", metavar="PK", help="the object's primary key")
        restore.add_argument("--to", required=True, metavar="TS|EVENT_ID", help="time or event id")
        restore.add_argument("--dry-run", action="store_true", help="show the changes only")
        restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        self._add_dirs(restore)
        self._add_common_options(restore)

    def _add_prune(self, subparsers: Any) -> None:
        prune = subparsers.add_parser(
            "prune",
            help="delete rotated files wholly older than a number of days",
            description=(
                "Delete the rotated files (never the live file) whose rotation time, "
                "in their name, is more than DAYS days ago: every line in them is older. "
                "Asks on a terminal; elsewhere needs --yes."
            ),
        )
        prune.add_argument("--older-than", dest="older_than", metavar="DAYS", required=True)
        prune.add_argument("--dry-run", action="store_true", help="list what would be deleted")
        prune.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        prune.add_argument(
            "--file",
            choices=["all", *sorted(FILES)],
            default="all",
            help="events.jsonl, django.jsonl or both (default all)",
        )
        self._add_dirs(prune)
        self._add_common_options(prune)

    def _add_stats(self, subparsers: Any) -> None:
        stats = subparsers.add_parser(
            "stats",
            help="files, sizes, event counts by name and by hour, time span",
        )
        stats.add_argument("--json", action="store_true", help="print the statistics as JSON")
        stats.add_argument(
            "--file",
            choices=sorted(FILES),
            default="events",
            help="events.jsonl (default) or django.jsonl",
        )
        self._add_dirs(stats)
        self._add_common_options(stats)

    # -- history ---------------------------------------------------------------------------

    @staticmethod
    def _object(options: Mapping[str, Any]) -> tuple[str, str]:
        label = str(options.get("label") or "").strip().lower()
        pk = str(options.get("pk") if options.get("pk") is not None else "").strip()
        if label.count(".") != 1 or not all(label.split(".")):
            raise CommandError(f"LABEL must be app_label.modelname, not {label!r}")
        if not pk:
            raise CommandError("PK must not be empty")
        return label, pk

    def history(self, **options: Any) -> None:
        """``history``: the object's timeline, or its state ``--as-of``."""
        label, pk = self._object(options)
        dirs = self._dirs(options)
        bad = _BadLines(lambda text: self.stderr.write(text, style_func=self.style.WARNING))
        as_of = options.get("as_of")
        try:
            if as_of is not None:
                self._as_of(dirs, label, pk, str(as_of), bool(options.get("json")), bad)
            else:
                self._timeline(dirs, label, pk, bool(options.get("json")), bad)
        except BrokenPipeError:
            self._broken_pipe()
        bad.finish()

    def _timeline(self, dirs: list[Path], label: str, pk: str, raw: bool, bad: _BadLines) -> None:
        flt = reader.Filter(model=label, object_id=pk)
        with _ProgressBar.for_scan(self.stderr, dirs, (FILES["events"],)) as bar:
            events = reader.iter_events(dirs, filter=flt, on_bad_line=bad, progress=bar)
            if raw:
                self._write_raw(line for line, _event in events)
                return
            count = 0
            colorize = self._colorize()
            for _line, event in events:
                bar.clear()
                self.stdout.write(format_history_event(event, pk, colorize=colorize))
                count += 1
        if count == 0:
            self.stdout.write(f"No events about {label}#{pk} in {_shown(dirs)}")

    def _as_of(
        self, dirs: list[Path], label: str, pk: str, when: str, raw: bool, bad: _BadLines
    ) -> None:
        try:
            at = reader.parse_time(when)
        except ValueError as exc:
            raise CommandError(f"--as-of: {exc}") from exc
        with _ProgressBar.for_scan(self.stderr, dirs, (FILES["events"],)) as bar:
            state = reader.state_at(dirs, label, pk, at=at, on_bad_line=bad, progress=bar)
        if raw:
            self.stdout.write(orjson.dumps({"as_of": at, **state.as_dict()}).decode())
            return
        self.stdout.write("\n".join(describe_state(state, at)))

    # -- restore ---------------------------------------------------------------------------

    def restore(self, **options: Any) -> None:
        """``restore``: write the object's logged state at ``--to`` back."""
        from django.apps import apps

        from eventlog.audit import restore as _restore

        label, pk = self._object(options)
        dirs = self._dirs(options)
        to = str(options.get("to") or "").strip()
        if not to:
            raise CommandError("--to needs a time or an event id")
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError) as exc:
            raise CommandError(f"unknown model {label!r}") from exc
        bad = _BadLines(lambda text: self.stderr.write(text, style_func=self.style.WARNING))
        with _ProgressBar.for_scan(self.stderr, dirs, (FILES["events"],)) as bar:
            if _EVENT_ID.fullmatch(to):
                try:
                    state = reader.state_at(
                        dirs, label, pk, event_id=to.lower(), on_bad_line=bad, progress=bar
                    )
                except LookupError as exc:
                    raise CommandError(str(exc)) from exc
                at = str((state.last or {}).get("timestamp", to))
            else:
                try:
                    at = reader.parse_time(to)
                except ValueError as exc:
                    raise CommandError(f"--to: {exc} or an event id") from exc
                state = reader.state_at(dirs, label, pk, at=at, on_bad_line=bad, progress=bar)
        bad.finish()
        try:
            plan = _restore.plan(model, pk, state, at)
        except _restore.CannotRestore as exc:
            raise CommandError(str(exc)) from exc
        out = self.stdout.write
        if not plan.changes:
            out(f"{plan.label} is already as it was at {at}: nothing to restore")
            return
        ask = not options.get("dry_run") and not options.get("yes")
        if ask:
            self._can_ask("restore")
        verb = "Would recreate" if options.get("dry_run") else "Recreating"
        if plan.exists:
            verb = "Would restore" if options.get("dry_run") else "Restoring"
        out(f"{verb} {plan.label} to its state at {at}:")
        for change in plan.changes:
            if plan.exists:
                out(f"    {change.name}: {_value(change.current)} → {_value(change.restored)}")
            else:
                out(f"    {change.name}: {_value(change.restored)}")
        if plan.ignored_m2m:
            out(f"  (many-to-many fields left as they are: {', '.join(plan.ignored_m2m)})")
        if options.get("dry_run"):
            return
        if ask:
            self._confirm(f"Write these {len(plan.changes)} field(s) to {plan.label}?", "restore")
        try:
            _restore.apply(plan)
        except Exception as exc:  # a database error: one line, the transaction is rolled back
            raise CommandError(f"could not restore {plan.label}: {exc}".splitlines()[0]) from exc
        out(f"Restored {plan.label} (logged with reason 'restore to {at}')")

    @staticmethod
    def _can_ask(what: str) -> None:
        """Refuse (one-line CommandError) when stdin is not a terminal to ask on."""
        stdin = sys.stdin
        if stdin is None or not stdin.isatty():
            raise CommandError(
                f"refusing to {what} without confirmation: stdin is not a terminal "
                "(pass --yes, or --dry-run to see what it would do)"
            )

    def _confirm(self, question: str, what: str) -> None:
        """Ask on a terminal; anything but yes aborts (one-line CommandError)."""
        self._can_ask(what)
        stdin = sys.stdin
        self.stdout.write(f"{question} [y/N] ", ending="")
        self.stdout.flush()
        try:
            answer = stdin.readline()
        except (KeyboardInterrupt, EOFError):
            answer = ""
        if answer.strip().lower() not in {"y", "yes"}:
            raise CommandError(f"aborted: nothing done ({what} not confirmed)")

    # -- prune -----------------------------------------------------------------------------

    def prune(self, **options: Any) -> None:
        """``prune``: delete rotated files wholly older than ``--older-than`` days."""
        from datetime import UTC, datetime, timedelta

        from eventlog.read import prune as _prune

        text = str(options.get("older_than") if options.get("older_than") is not None else "")
        try:
            days = float(text)
        except ValueError:
            days = -1.0
        if not days >= 0 or days > 100_000:
            raise CommandError(f"--older-than must be a number of days >= 0, not {text!r}")
        file = options.get("file") or "all"
        if file not in ("all", *FILES):
            choices = ", ".join(["all", *sorted(FILES)])
            raise CommandError(f"--file must be one of {choices}, not {file!r}")
        names = tuple(FILES.values()) if file == "all" else (FILES[file],)
        dirs = self._dirs(options)
        cutoff = reader.parse_time((datetime.now(UTC) - timedelta(days=days)).isoformat())
        found = _prune.candidates(dirs, names, cutoff)
        out = self.stdout.write
        if not found:
            out(f"Nothing to prune: no rotated file in {_shown(dirs)} older than {cutoff}")
            return
        total = sum(c.size for c in found)
        dry = bool(options.get("dry_run"))
        if not dry and not options.get("yes"):
            self._can_ask("delete files")
        for candidate in found:
            out(f"{'would delete' if dry else 'delete'} {candidate.path} ({_size(candidate.size)})")
        if dry:
            out(f"Would delete {len(found)} file(s), {_size(total)} (rotated before {cutoff})")
            return
        if not options.get("yes"):
            self._confirm(f"Delete {len(found)} file(s), {_size(total)}?", "delete files")
        freed = 0
        for candidate in found:
            try:
                freed += _prune.delete(candidate)
            except OSError as exc:
                raise CommandError(
                    f"cannot delete {candidate.path}: {exc.strerror or exc}"
                ) from exc
        out(f"Deleted {len(found)} file(s), {_size(freed)} freed", style_func=self.style.SUCCESS)

    # -- stats -----------------------------------------------------------------------------

    def stats(self, **options: Any) -> None:
        """``stats``: files, sizes, event counts by name and by hour, time span."""
        from eventlog.read import stats as _stats

        file = options.get("file") or "events"
        if file not in FILES:
            raise CommandError(f"--file must be one of {', '.join(sorted(FILES))}, not {file!r}")
        dirs = self._dirs(options)
        files = [p for d in dirs for p in reader.log_files(d, FILES[file])]
        bad = _BadLines(lambda text: self.stderr.write(text, style_func=self.style.WARNING))
        with _ProgressBar(self.stderr, _stats.total_size(files)) as bar:
            result = _stats.collect(files, on_bad_line=bad, progress=bar)
        bad.finish()
        try:
            if options.get("json"):
                self.stdout.write(
                    orjson.dumps(
                        {"directories": [str(d) for d in dirs], **result.as_dict()}
                    ).decode()
                )
            else:
                self._write_stats(result, dirs, FILES[file])
        except BrokenPipeError:
            self._broken_pipe()

    def _write_stats(self, result: Any, dirs: list[Path], name: str) -> None:
        out = self.stdout.write
        if not result.files:
            out(f"No {name} files in {_shown(dirs)}")
            return
        out(f"{name} in {_shown(dirs)}:")
        width = max(len(str(f.path)) for f in result.files)
        for f in result.files:
            span = f"{_short(f.oldest)} → {_short(f.newest)}" if f.events else "-"
            out(f"  {str(f.path).ljust(width)}  {_size(f.size):>9}  {f.events:>9} events  {span}")
        out(
            f"Total: {len(result.files)} file(s), {_size(result.size)}, {result.events} events, "
            f"from {_short(result.oldest)} to {_short(result.newest)}"
        )
        if result.bad_lines:
            out(f"Skipped: {result.bad_lines} bad line(s)", style_func=self.style.WARNING)
        if result.by_event:
            out("Events by name:")
            ew = max(len(k) for k in result.by_event)
            for key, count in sorted(result.by_event.items(), key=lambda kv: (-kv[1], kv[0])):
                out(f"  {key.ljust(ew)}  {count:>9}")
        if result.by_hour:
            out("Events by hour (UTC):")
            peak = max(result.by_hour.values())
            for hour, count in sorted(result.by_hour.items()):
                bar = "█" * max(1, round(30 * count / peak))
                out(f"  {hour.replace('T', ' ')}h  {count:>9}  {bar}")

    def _colorize(self) -> Callable[[str, str], str] | None:
        if not self.stdout.isatty():
            return None
        styles = _level_styles(self.style)
        return lambda level, text: styles.get(level, str)(text)
