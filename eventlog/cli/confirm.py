"""Asking before a subcommand deletes or writes anything.

Only a terminal is asked: with stdin a pipe or a file there is nobody to
answer, so the subcommand refuses instead of reading its input as a yes.
"""

from __future__ import annotations

import sys

from eventlog.cli.base import Failure
from eventlog.cli.console import Console

__all__ = ["confirm", "require_terminal"]


def require_terminal(what: str) -> None:
    """Raise :class:`Failure` when stdin is not a terminal to ask on."""
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        raise Failure(
            f"refusing to {what} without confirmation: stdin is not a terminal "
            "(pass --yes, or --dry-run to see what it would do)"
        )


def confirm(console: Console, question: str, what: str) -> None:
    """Ask ``question [y/N]`` on the terminal; anything but ``y`` or ``yes``
    (Ctrl-C and end of input included) raises :class:`Failure`: nothing done."""
    require_terminal(what)
    console.stdout.write(f"{question} [y/N] ", ending="")
    console.flush()
    try:
        answer = sys.stdin.readline()
    except (KeyboardInterrupt, EOFError):
        answer = ""
    if answer.strip().lower() not in {"y", "yes"}:
        raise Failure(f"aborted: nothing done ({what} not confirmed)")
