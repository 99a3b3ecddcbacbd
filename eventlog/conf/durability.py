"""Durability policies of the sink: when ``fsync()`` is called.

``EVENTLOG_DURABILITY``:

* ``"write"`` (default): a line is in the kernel's page cache when ``write()``
  returns, so it survives a crash of the *process* (``SIGKILL``, segfault,
  OOM kill) but not of the machine. No ``fsync()``: the fastest.
* ``"fsync"``: ``fsync()`` after every line; survives a power cut, costs a
  disk flush per event (milliseconds on most disks).
* an integer ``N`` (milliseconds): a background thread calls ``fsync()`` at
  most ``N`` ms after a write; a power cut loses at most the last ``N`` ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["WRITE", "Durability"]


@dataclass(frozen=True, slots=True)
class Durability:
    """When the sink calls ``fsync()``: never (``write``), after every line, or
    every ``interval_ms`` milliseconds after a write."""

    every_line: bool = False
    interval_ms: int = 0

    @classmethod
    def parse(cls, value: object) -> Durability | None:
        """The policy named by a setting's value, or ``None`` if it names none."""
        if value == "write":
            return WRITE
        if value == "fsync":
            return cls(every_line=True)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return cls(interval_ms=value)
        return None

    def __str__(self) -> str:
        if self.every_line:
            return "fsync"
        return f"fsync every {self.interval_ms} ms" if self.interval_ms else "write"


WRITE: Final = Durability()
