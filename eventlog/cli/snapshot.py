"""``eventlog snapshot``: one ``model.snapshot`` line per existing row.

Like :mod:`~eventlog.cli.restore` it writes, through
:mod:`eventlog.audit.snapshot` only: the rows of the registered models (or of
the labels given) become baselines that ``history``, ``--as-of`` and
``restore`` start from, for rows that existed before they were logged.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any, Final

from eventlog.audit import snapshot as _snapshot
from eventlog.cli.base import Defaults, Failure
from eventlog.cli.console import Console
from eventlog.cli.progress import ProgressBar
from eventlog.core.sanitize import clean, one_line

__all__ = ["NAME", "add_parser", "run"]

NAME: Final = "snapshot"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The parser of ``snapshot``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="write a model.snapshot line per existing row of the registered models",
        description=(
            "Write the current state of every row of the registered models (or of "
            "the LABELs given: app_label.modelname or app_label) as one "
            "model.snapshot line each, in primary-key order, so that history, "
            "--as-of and restore work for rows that existed before they were logged."
        ),
    )
    parser.add_argument("labels", nargs="*", metavar="LABEL", help="app_label[.modelname]")
    parser.add_argument(
        "--batch",
        type=int,
        default=_snapshot.BATCH,
        metavar="N",
        help=f"rows fetched per query (default {_snapshot.BATCH})",
    )
    return parser


def _batch(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise Failure(f"--batch must be a whole number >= 1, not {value!r}")
    return value


def run(options: Mapping[str, Any], console: Console, defaults: Defaults) -> None:
    """Snapshot the rows, with a progress bar on a terminal, then say how many
    lines each model got (also those done before a failure)."""
    if _snapshot.disabled_here():
        raise Failure(
            "eventlog is disabled here (eventlog.disabled()): no model.snapshot line is written"
        )
    batch = _batch(options.get("batch", _snapshot.BATCH))
    labels = options.get("labels") or ()
    if isinstance(labels, str):
        labels = (labels,)
    try:
        regs = _snapshot.registrations(str(label) for label in labels)
    except LookupError as exc:
        raise Failure(one_line(str(exc.args[0] if exc.args else exc))) from exc
    stream = console.stderr
    isatty = getattr(stream, "isatty", None)
    terminal = callable(isatty) and bool(isatty())
    total = sum(_snapshot.count(r) for r in regs) if terminal else 0
    written: list[tuple[str, int]] = []
    with ProgressBar(stream, total, unit=lambda n: f"{n:,}") as bar:
        for reg in regs:
            try:
                written.append((reg.label, _snapshot.write(reg, batch, bar)))
            except Exception as exc:  # a database error: no table, lost connection...
                bar.clear()
                for label, n in written:
                    console.out(clean(f"{label}: {n} model.snapshot line(s)"))
                raise Failure(one_line(f"could not snapshot {reg.label}: {exc}")) from exc
    for label, n in written:
        console.out(clean(f"{label}: {n} model.snapshot line(s)"))
