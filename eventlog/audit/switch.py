"""``with eventlog.disabled():``: no ``model.*`` line for the work inside.

A context variable, so it holds per thread and per asyncio task and is
inherited by ``sync_to_async`` (which runs the function in a copy of the
caller's context). While it is set the receivers and the bulk helpers still
keep each saved instance's baseline (:mod:`eventlog.audit.state`): a row
saved inside is logged against the values it was saved with once auditing
is back on. ``event_signal`` events are written as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

__all__ = ["disabled", "off"]

_off: Final[ContextVar[bool]] = ContextVar("eventlog_disabled", default=False)

off: Final = _off.get
"""Whether auditing is switched off here (a bare ``ContextVar.get``: the
receivers ask on every save)."""


@contextmanager
def disabled() -> Iterator[None]:
    """Write no ``model.*`` line for the work inside (nests; also a decorator)."""
    token = _off.set(True)
    try:
        yield
    finally:
        _off.reset(token)
