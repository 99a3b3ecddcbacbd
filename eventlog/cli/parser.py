"""The argument parsers of the command: one-line errors, Django's options everywhere."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from django.core.management.base import CommandError, CommandParser

__all__ = ["Parser", "add_common_options"]


class Parser(CommandParser):
    """A CommandParser whose errors on the command line are one line (no usage
    dump; exit status 2); called from code, they raise CommandError as usual."""

    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
        raise CommandError(f"Error: {message}")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Accept Django's usual options after the subcommand too (``eventlog
    tail --no-color``); their defaults stay those of the top-level parser."""
    hidden: dict[str, Any] = {"default": argparse.SUPPRESS, "help": argparse.SUPPRESS}
    parser.add_argument("-v", "--verbosity", type=int, choices=[0, 1, 2, 3], **hidden)
    parser.add_argument("--settings", **hidden)
    parser.add_argument("--pythonpath", **hidden)
    parser.add_argument("--traceback", action="store_true", **hidden)
    parser.add_argument("--no-color", action="store_true", **hidden)
    parser.add_argument("--force-color", action="store_true", **hidden)
