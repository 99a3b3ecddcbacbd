"""``eventlog restore``: write an object's logged state at a time back to the database.

The one subcommand that writes: it rebuilds the state from the log like
``history --as-of`` and hands it to :mod:`eventlog.audit.restore`, which
checks that it can be written back faithfully and saves it, logged as an
ordinary change.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from django.apps import apps

from eventlog import reader
from eventlog.audit import restore as _restore
from eventlog.cli import argtypes, dirs
from eventlog.cli.badlines import BadLines
from eventlog.cli.base import Defaults, Failure
from eventlog.cli.confirm import confirm, require_terminal
from eventlog.cli.console import Console
from eventlog.cli.pretty import value
from eventlog.cli.progress import ProgressBar
from eventlog.core.files import EVENTS_FILE
from eventlog.core.sanitize import clean, one_line

__all__ = ["NAME", "add_parser", "run"]

NAME: Final = "restore"
_EVENT_ID: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The parser of ``restore``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
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
    parser.add_argument("label", metavar="LABEL", help="app_label.modelname")
    parser.add_argument("pk", metavar="PK", help="the object's primary key")
    parser.add_argument("--to", required=True, metavar="TS|EVENT_ID", help="time or event id")
    parser.add_argument("--dry-run", action="store_true", help="show the changes only")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    dirs.add_argument(parser)
    return parser


def _state(
    where: list[Path], label: str, pk: str, to: str, console: Console
) -> tuple[reader.ObjectState, str]:
    """The state rebuilt at ``to`` (a time, or just after an event id) and the
    time it stands for."""
    bad = BadLines(console.warn)
    with ProgressBar.for_scan(console.stderr, where, (EVENTS_FILE,)) as bar:
        if _EVENT_ID.fullmatch(to):
            try:
                state = reader.state_at(
                    where, label, pk, event_id=to.lower(), on_bad_line=bad, progress=bar
                )
            except LookupError as exc:
                raise Failure(one_line(str(exc))) from exc
            at = str((state.last or {}).get("timestamp", to))
        else:
            at = argtypes.time(to, "--to", " or an event id")
            state = reader.state_at(where, label, pk, at=at, on_bad_line=bad, progress=bar)
    bad.finish()
    return state, at


def run(options: Mapping[str, Any], console: Console, defaults: Defaults) -> None:
    """Show what writing the state at ``--to`` back would change, then (after a
    yes on a terminal, or with ``--yes``; never with ``--dry-run``) write it."""
    label, pk = argtypes.object_ref(options)
    where = dirs.resolve(options.get("dirs"), defaults.directory)
    to = str(options.get("to") or "").strip()
    if not to:
        raise Failure("--to needs a time or an event id")
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError) as exc:
        raise Failure(f"unknown model {label!r}") from exc
    state, at = _state(where, label, pk, to, console)
    try:
        plan = _restore.plan(model, pk, state, at)
    except _restore.CannotRestore as exc:
        raise Failure(one_line(str(exc))) from exc
    out = console.out
    shown_at = clean(at)
    if not plan.changes:
        out(clean(f"{plan.label} is already as it was at {at}: nothing to restore"))
        return
    dry = bool(options.get("dry_run"))
    ask = not dry and not options.get("yes")
    if ask:
        require_terminal("restore")
    if plan.exists:
        verb = "Would restore" if dry else "Restoring"
    else:
        verb = "Would recreate" if dry else "Recreating"
    out(clean(f"{verb} {plan.label} to its state at {shown_at}:"))
    for change in plan.changes:
        name = clean(change.name)
        if plan.exists:
            out(f"    {name}: {value(change.current)} → {value(change.restored)}")
        else:
            out(f"    {name}: {value(change.restored)}")
    if plan.ignored_m2m:
        out(clean(f"  (many-to-many fields left as they are: {', '.join(plan.ignored_m2m)})"))
    if dry:
        return
    if ask:
        confirm(console, f"Write these {len(plan.changes)} field(s) to {plan.label}?", "restore")
    try:
        _restore.apply(plan)
    except Exception as exc:  # a database error: the transaction is rolled back
        raise Failure(one_line(f"could not restore {plan.label}: {exc}")) from exc
    out(clean(f"Restored {plan.label} (logged with reason 'restore to {at}')"))
