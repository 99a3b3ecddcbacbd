"""Timestamps and time-ordered ids for every line.

The standard library offers neither an RFC 3339 ``...Z`` formatter cheaper
than ``datetime.isoformat()`` + ``replace`` nor ``uuid.uuid7()`` before
Python 3.14; both are on the hot path, so they are done here by hand from a
single ``time.time_ns()`` reading (about a microsecond together).
"""

from __future__ import annotations

import os
import time

__all__ = ["format_ns", "now", "stamp", "uuid7"]

_cached_second = -1
_cached_prefix = ""
_urandom = os.urandom


def _prefix(second: int) -> str:
    global _cached_second, _cached_prefix
    if second != _cached_second:
        _cached_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _cached_second = second
    return _cached_prefix


def format_ns(ns: int) -> str:
    """RFC 3339 in UTC with microseconds and a trailing ``Z`` for ``ns`` since the epoch."""
    second, rest = divmod(ns, 1_000_000_000)
    return f"{_prefix(second)}.{rest // 1000:06d}Z"


def uuid7(ns: int) -> str:
    """A UUIDv7 (RFC 9562) for ``ns``: 48-bit milliseconds, 12-bit sub-millisecond
    fraction (so ids from one clock sort by time), 62 random bits."""
    sub_ms = ((ns % 1_000_000) * 4096) // 1_000_000
    value = ((ns // 1_000_000) << 80) | (0x7 << 76) | (sub_ms << 64) | (0b10 << 62)
    # os.urandom, not `random`: a user's random.seed() or a fork without
    # Python's hooks must not repeat ids.
    h = f"{value | (int.from_bytes(_urandom(8)) >> 2):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def stamp(ns: int) -> tuple[str, str]:
    """``(timestamp, event_id)`` for the instant ``ns``."""
    return format_ns(ns), uuid7(ns)


def now() -> tuple[str, str]:
    """``(timestamp, event_id)`` for this instant, from one clock reading."""
    return stamp(time.time_ns())
