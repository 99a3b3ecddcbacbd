"""``eventlog prune``: delete rotated files wholly older than a number of days."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from eventlog import reader
from eventlog.cli import argtypes, dirs
from eventlog.cli.base import Defaults, Failure
from eventlog.cli.confirm import confirm, require_terminal
from eventlog.cli.console import Console
from eventlog.cli.pretty import size
from eventlog.core.sanitize import clean
from eventlog.read.prune import candidates, delete

__all__ = ["NAME", "add_parser", "run"]

NAME: Final = "prune"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The parser of ``prune``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME,
        help="delete rotated files wholly older than a number of days",
        description=(
            "Delete the rotated files (never the live file) whose rotation time, "
            "in their name, is more than DAYS days ago: every line in them is older. "
            "Asks on a terminal; elsewhere needs --yes."
        ),
    )
    parser.add_argument("--older-than", dest="older_than", metavar="DAYS", required=True)
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    argtypes.add_file_argument(parser, allow_all=True)
    dirs.add_argument(parser)
    return parser


def run(options: Mapping[str, Any], console: Console, defaults: Defaults) -> None:
    """List the rotated files older than ``--older-than`` days and delete them:
    after a yes on a terminal, at once with ``--yes``, never with ``--dry-run``."""
    days = argtypes.days(options.get("older_than"))
    names = argtypes.log_names(options.get("file"), default="all", allow_all=True)
    where = dirs.resolve(options.get("dirs"), defaults.directory)
    cutoff = reader.parse_time((datetime.now(UTC) - timedelta(days=days)).isoformat())
    found = candidates(where, names, cutoff)
    out = console.out
    if not found:
        shown = ", ".join(str(d) for d in where)
        out(clean(f"Nothing to prune: no rotated file in {shown} older than {cutoff}"))
        return
    total = sum(c.size for c in found)
    dry = bool(options.get("dry_run"))
    ask = not dry and not options.get("yes")
    if ask:
        require_terminal("delete files")
    if dry or ask:
        verb = "would delete" if dry else "to delete"
        for candidate in found:
            out(clean(f"{verb} {candidate.path} ({size(candidate.size)})"))
    if dry:
        out(f"Would delete {len(found)} file(s), {size(total)} (rotated before {cutoff})")
        return
    if ask:
        confirm(console, f"Delete {len(found)} file(s), {size(total)}?", "delete files")
    freed = 0
    for candidate in found:
        try:
            freed += delete(candidate)
        except OSError as exc:
            raise Failure(clean(f"cannot delete {candidate.path}: {exc.strerror or exc}")) from exc
        out(clean(f"deleted {candidate.path} ({size(candidate.size)})"))
    out(f"Deleted {len(found)} file(s), {size(freed)} freed", style_func=console.style.SUCCESS)
