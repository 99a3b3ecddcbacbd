"""Timestamps and time-ordered ids for every line.

The standard library offers neither an RFC 3339 ``...Z`` formatter cheaper
than ``datetime.isoformat()`` + ``replace`` nor ``uuid.uuid7()`` before
Python 3.14; both are on the hot path, so they are done here by hand from a
single ``time.time_ns()`` reading (about a microsecond together): the text of
the current second and of the current millisecond is kept between calls.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Final

__all__ = ["format_ns", "last_pid", "now", "stamp", "uuid7"]

_cached_second = -1
_cached_prefix = ""
_cached_ms = -1
_cached_ms_hex = ""
_VARIANT = 0b10 << 62


class _Random:
    """62 random bits per id from a private generator seeded by the OS.

    Not the module-level ``random`` (a user's ``random.seed()`` would repeat
    ids) and not ``os.urandom`` per id (a system call per line). Reseeded in a
    forked child, also one forked without Python's hooks (uWSGI without
    ``py-call-osafterfork``): the process id is checked on each call.
    """

    __slots__ = ("bits", "pid")
    bits: Callable[[int], int]
    pid: int

    def __init__(self) -> None:
        self._seed()

    def _seed(self) -> None:
        self.pid = os.getpid()
        # Ids must be unique, not unguessable: seeded from the OS, not a secret.
        self.bits = random.Random(os.urandom(32)).getrandbits  # noqa: S311

    def __call__(self) -> int:
        if os.getpid() != self.pid:
            self._seed()
        return self.bits(62)


_random = _Random()
_getpid: Final = os.getpid


def last_pid() -> int:
    """This process's id as of the last id made (every id checks it with a
    ``getpid()``). The sink compares against it instead of asking the kernel
    again for the same line: one system call per line less, and a fork
    without Python's hooks is still noticed by the line after it."""
    return _random.pid


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


# Per microsecond of a millisecond: the timestamp's last three digits and
# its "Z", and the id's 12-bit fraction of the millisecond and its dash, so
# that a line looks them up instead of formatting two numbers.
_MICROS: Final = [(f"{us:03d}Z", f"{us * 4096 // 1000:03x}-") for us in range(1000)]


def uuid7(ns: int) -> str:
    """A UUIDv7 (RFC 9562) for ``ns``: 48-bit milliseconds, 12-bit fraction
    of the millisecond to the microsecond (so ids from one clock sort by
    time), 62 random bits."""
    global _cached_ms, _cached_ms_hex
    ms, rest = divmod(ns, 1_000_000)
    if ms != _cached_ms:
        h = f"{ms:012x}"
        _cached_ms_hex, _cached_ms = f"{h[:8]}-{h[8:]}-7", ms
    low = f"{_VARIANT | _random():016x}"
    return f"{_cached_ms_hex}{_MICROS[rest // 1000][1]}{low[:4]}-{low[4:]}"


_stamp_ms = -1
_stamp_text = ""
_stamp_hex = ""


def stamp(ns: int) -> tuple[str, str]:
    """``(timestamp, event_id)`` for the instant ``ns``, as :func:`format_ns`
    and :func:`uuid7` give them: the text both share within a millisecond is
    kept, so a line costs one division, two lookups and one format."""
    global _stamp_ms, _stamp_text, _stamp_hex
    ms, rest = divmod(ns, 1_000_000)
    if ms != _stamp_ms:
        second, milli = divmod(ms, 1000)
        h = f"{ms:012x}"
        _stamp_text, _stamp_hex = f"{_prefix(second)}.{milli:03d}", f"{h[:8]}-{h[8:]}-7"
        _stamp_ms = ms
    rand = _random
    if _getpid() != rand.pid:  # _Random.__call__, inline
        rand._seed()
    low = f"{_VARIANT | rand.bits(62):016x}"
    tail, fraction = _MICROS[rest // 1000]
    return _stamp_text + tail, f"{_stamp_hex}{fraction}{low[:4]}-{low[4:]}"


def now() -> tuple[str, str]:
    """``(timestamp, event_id)`` for this instant, from one clock reading."""
    return stamp(time.time_ns())
