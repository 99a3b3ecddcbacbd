"""The keys a line's writer owns. :meth:`eventlog._values.Masker.merge` keeps
callers' keys off them."""

from __future__ import annotations

from typing import Final

__all__ = ["ENVELOPE", "MOVED_TO", "RESERVED", "SINK_KEYS"]

ENVELOPE: Final = frozenset({"timestamp", "level", "event", "event_id", "schema_version"})
SINK_KEYS: Final = frozenset({"stream", "seq", "hash"})
RESERVED: Final = ENVELOPE | SINK_KEYS
MOVED_TO: Final = "extra"
