"""``manage.py eventlog <subcommand>``: the dispatcher of :mod:`eventlog.cli`.

Builds one subparser per subcommand module, runs the chosen one, and turns
its expected failures into one-line ``CommandError`` (exit status 1);
argparse errors are one line with exit status 2.
"""

from __future__ import annotations

from typing import Any, Final

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eventlog import conf
from eventlog.cli import SUBCOMMANDS, history, prune, restore, snapshot, stats, tail, verify
from eventlog.cli.base import Defaults, Failure, Subcommand
from eventlog.cli.console import Console
from eventlog.cli.parser import Parser, add_common_options
from eventlog.core.sanitize import one_line

__all__ = ["Command"]

MODULES: Final[dict[str, Subcommand]] = {
    m.NAME: m for m in (tail, history, restore, snapshot, verify, prune, stats)
}


class Command(BaseCommand):
    help = (
        "Read the event log in EVENTLOG_DIR (live, rotated and compressed files alike). "
        f"Subcommands: {', '.join(SUBCOMMANDS)}."
    )
    # Reading files needs no database and must work when other checks fail.
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = Parser  # one-line errors for the top level too
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(
            dest="subcommand", metavar="SUBCOMMAND", parser_class=Parser, required=True
        )
        for name in SUBCOMMANDS:
            add_common_options(MODULES[name].add_parser(subparsers))

    def handle(self, *args: Any, **options: Any) -> None:
        module = MODULES.get(str(options.get("subcommand")))
        if module is None:
            raise CommandError(
                f"unknown subcommand {options.get('subcommand')!r} "
                f"(choose from: {', '.join(SUBCOMMANDS)})"
            )
        console = Console(self.stdout, self.stderr, self.style)
        try:
            module.run(options, console, Defaults(conf.directory, conf.hmac_key))
        except Failure as exc:
            raise CommandError(one_line(str(exc))) from exc
