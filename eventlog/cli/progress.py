"""A progress bar on stderr for long scans of the log files (or of rows)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from eventlog import reader
from eventlog.cli.pretty import size

__all__ = ["ProgressBar"]


class ProgressBar:
    """A ``progress`` callback for :mod:`eventlog.reader`, counting bytes of the
    files on disk: drawn only when the stream is a terminal and the scan has
    run for :attr:`DELAY` seconds, redrawn at most every :attr:`EVERY` seconds,
    cleared by :meth:`clear` (call it before writing output) and at the end of
    a ``with`` block. ``unit`` names an amount (bytes by default)."""

    DELAY: ClassVar[float] = 0.5
    EVERY: ClassVar[float] = 0.1
    WIDTH: ClassVar[int] = 30

    def __init__(self, stream: Any, total: int, unit: Callable[[int], str] = size) -> None:
        self._stream = stream
        self._total = total
        self._unit = unit
        isatty = getattr(stream, "isatty", None)
        self.enabled = total > 0 and callable(isatty) and bool(isatty())
        self._done = 0
        self._start = time.monotonic()
        self._drawn_at = 0.0
        self._shown = 0

    @classmethod
    def for_files(cls, stream: Any, files: Iterable[Path]) -> ProgressBar:
        """A bar over ``files`` (missing ones count nothing)."""
        total = 0
        for path in files:
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return cls(stream, total)

    @classmethod
    def for_scan(cls, stream: Any, dirs: Sequence[Path], names: Sequence[str]) -> ProgressBar:
        """A bar over every file of the logs ``names`` in ``dirs``."""
        return cls.for_files(
            stream, (p for d in dirs for n in names for p in reader.log_files(d, n))
        )

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
            f"{self._unit(self._done)} of {self._unit(self._total)}"
        )
        self._write(f"\r{text}")
        self._shown = len(text)

    def _write(self, text: str) -> None:
        # A bar is a nicety: a stderr that fails or is closed must not end the scan.
        with contextlib.suppress(OSError, ValueError):
            self._stream.write(text, ending="", style_func=lambda x: x)
            self._stream.flush()

    def clear(self) -> None:
        """Erase the bar, if drawn."""
        if self._shown:
            self._write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()
