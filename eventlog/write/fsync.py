"""The sink's periodic ``fsync()``: the thread behind ``EVENTLOG_DURABILITY = N``
(milliseconds); the policies themselves are :mod:`eventlog.conf.durability`."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["PeriodicSync"]


class PeriodicSync:
    """A daemon thread calling ``sync()`` every ``interval_ms`` until stopped."""

    def __init__(self, interval_ms: int, sync: Callable[[], None], name: str) -> None:
        self._interval = interval_ms / 1000
        self._sync = sync
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> bool:
        """Start the thread; False when threads cannot start (interpreter exit)."""
        try:
            self._thread.start()
        except RuntimeError:
            return False
        return True

    def stop(self) -> None:
        """Stop after the current round (a last ``sync()`` runs)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sync()
        self._sync()
