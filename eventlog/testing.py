"""Helpers for users' own tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from eventlog import _pipeline

__all__ = ["capture_events"]


@contextlib.contextmanager
def capture_events() -> Iterator[list[dict[str, Any]]]:
    """Collect, as dicts, the events written while the block runs.

    Each dict is the line as written (secrets masked) without the sink's
    ``stream``, ``seq`` and ``hash``. Events deferred to a transaction's
    commit are collected when it commits; in a ``TestCase`` wrap the code in
    ``self.captureOnCommitCallbacks(execute=True)`` too. The files are written
    as usual.
    """
    events: list[dict[str, Any]] = []
    _pipeline._captures.append(events)
    try:
        yield events
    finally:
        _pipeline._captures.remove(events)
