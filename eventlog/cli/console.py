"""Where a subcommand writes: Django's stdout and stderr wrappers, and its style.

Human-readable text goes through :meth:`Console.out` and :meth:`Console.err`
already cleaned (:mod:`eventlog.cli.pretty` cleans what it formats); raw
lines go through :meth:`Console.write_raw` byte for byte. A reader that goes
away (``| head``) ends the command quietly through :meth:`Console.broken_pipe`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import Final, NoReturn

from django.core.management.base import OutputWrapper
from django.core.management.color import Style

from eventlog.cli.pretty import Colorize

__all__ = ["Console"]

_RAW_BATCH: Final = 1000  # lines joined per write() of --json output


class Console:
    """The output streams of one run of the command."""

    def __init__(self, stdout: OutputWrapper, stderr: OutputWrapper, style: Style) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.style = style

    def out(self, text: str, style_func: Callable[[str], str] | None = None) -> None:
        """One line (or lines) of text on stdout."""
        self.stdout.write(text, style_func=style_func)

    def err(self, text: str, style_func: Callable[[str], str] | None = None) -> None:
        """One line (or lines) of text on stderr."""
        self.stderr.write(text, style_func=style_func)

    def warn(self, text: str) -> None:
        """A warning on stderr, styled as one."""
        self.stderr.write(text, style_func=self.style.WARNING)

    def isatty(self) -> bool:
        """Whether stdout is a terminal (the pretty form and colour are for one)."""
        return bool(self.stdout.isatty())

    def colorize(self) -> Colorize | None:
        """The level styles when stdout is a terminal, else None (no colour)."""
        if not self.isatty():
            return None
        styles: dict[str, Callable[[str], str]] = {
            "debug": self.style.HTTP_NOT_MODIFIED,
            "info": self.style.SUCCESS,
            "warning": self.style.WARNING,
            "error": self.style.ERROR,
            "critical": self.style.ERROR,
        }
        return lambda level, text: styles.get(level, str)(text)

    def write_raw(self, lines: Iterable[bytes]) -> None:
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
            if len(batch) >= _RAW_BATCH:
                buffer.write(b"".join(batch))
                batch.clear()
        buffer.write(b"".join(batch))
        buffer.flush()

    def flush(self) -> None:
        """Flush stdout (followed output must not wait in a buffer)."""
        self.stdout.flush()

    @staticmethod
    def broken_pipe() -> NoReturn:
        """The reader went away (``| head``): stop quietly, like other tools.
        Exit status 1, and stdout pointed at /dev/null so that the interpreter's
        own flush at exit cannot fail a second time."""
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        raise SystemExit(1)
