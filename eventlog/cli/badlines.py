"""The report of lines the readers skipped, on stderr."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from eventlog.core.sanitize import clean

__all__ = ["SHOWN", "BadLines"]

SHOWN: Final = 10
"""Skipped lines reported one by one before the rest are only counted."""


class BadLines:
    """An ``on_bad_line`` callback for :mod:`eventlog.reader`: reports the first
    :data:`SHOWN` skipped lines (``limit``; ``None`` reports all), then, at
    :meth:`finish`, how many more there were. ``unreadable`` counts the files
    that could not be read at all (reported with line number 0)."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self.count = 0
        self.unreadable = 0
        self.limit: int | None = SHOWN

    def __call__(self, path: os.PathLike[str], lineno: int, reason: str) -> None:
        self.count += 1
        if lineno == 0:
            self.unreadable += 1
        if self.limit is None or self.count <= self.limit:
            where = f"{path}:{lineno}" if lineno else str(path)
            self._write(clean(f"eventlog: {where}: {reason}"))

    def finish(self) -> None:
        """Report the skipped lines not shown, if any."""
        if self.limit is not None and self.count > self.limit:
            self._write(f"eventlog: {self.count - self.limit} more bad line(s) not shown")
