"""The keys a line's writer owns, and the one place that keeps callers off them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["ENVELOPE", "MOVED_TO", "RESERVED", "SINK_KEYS", "merge"]

ENVELOPE: Final = frozenset({"timestamp", "level", "event", "event_id", "schema_version"})
SINK_KEYS: Final = frozenset({"stream", "seq", "hash"})
RESERVED: Final = ENVELOPE | SINK_KEYS
MOVED_TO: Final = "extra"


def merge(out: dict[str, Any], *sources: Mapping[Any, Any]) -> dict[str, Any]:
    """Add the keys of ``sources`` to ``out``, later sources winning.

    A key that would overwrite the envelope or the sink's keys (from event
    fields, bound context or a log record's extras alike) goes under
    ``"extra"`` instead, merged into a copy of the caller's own ``"extra"``
    (a dict) or beside it (``{"value": ...}``); nothing the caller passed is
    mutated. Keys are made strings.
    """
    moved: dict[str, Any] = {}
    for source in sources:
        for key, value in source.items():
            name = key if isinstance(key, str) else str(key)
            if name in RESERVED:
                moved[name] = value
            else:
                out[name] = value
    if moved:
        own = out.get(MOVED_TO)
        if own is None:
            out[MOVED_TO] = moved
        elif isinstance(own, Mapping):
            out[MOVED_TO] = {**own, **moved}
        else:
            out[MOVED_TO] = {"value": own, **moved}
    return out
