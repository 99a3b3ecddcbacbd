"""Stopping a long-running subcommand (``tail -f``) cleanly on a signal."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["Terminated", "until_signalled"]


class Terminated(Exception):
    """SIGTERM arrived inside :func:`until_signalled`."""


def _raise_terminated(_signum: int, _frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def until_signalled() -> Iterator[None]:
    """Inside the block SIGTERM raises :class:`Terminated` and SIGINT raises
    KeyboardInterrupt, even when the process started with SIGINT ignored (a
    background job of a shell script); both handlers are restored afterwards.
    Main thread only: elsewhere signals cannot be handled and the block runs
    as is."""
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
