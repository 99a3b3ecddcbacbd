"""Helpers for users' own tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import connections

from eventlog.write import pipeline as _pipeline

__all__ = ["capture_events"]


def _ours(func: Any) -> bool:
    return isinstance(func, _pipeline.Deferred)


def _only_test_transactions(connection: Any) -> bool:
    """True when every open atomic block is one a ``TestCase`` opened (and
    will roll back): the commit that would write the deferred events never
    comes."""
    blocks = getattr(connection, "atomic_blocks", [])
    return bool(blocks) and all(getattr(b, "_from_testcase", False) for b in blocks)


def _run_deferred(before: dict[str, set[int]]) -> None:
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block or not _only_test_transactions(connection):
            continue
        seen = before.get(connection.alias, set())
        pending = connection.run_on_commit
        mine = [e for e in pending if id(e) not in seen and _ours(e[1])]
        if not mine:
            continue
        connection.run_on_commit = [e for e in pending if all(e is not m for m in mine)]
        for entry in mine:
            entry[1]()


@contextlib.contextmanager
def capture_events() -> Iterator[list[dict[str, Any]]]:
    """Collect, as dicts, the events written while the block runs.

    Each dict is the line as written (secrets masked) without the sink's
    ``stream``, ``seq`` and ``hash``; the files are written as usual.

    Events deferred to a transaction's commit are collected when it commits.
    Inside a ``TestCase`` (or pytest-django's ``django_db`` without
    ``transaction=True``), whose transaction never commits, the events that
    would be written at its commit (those of blocks that did not roll back)
    are written when the ``with`` block ends, and only eventlog's own
    ``on_commit`` callbacks are run, not the project's.
    """
    events: list[dict[str, Any]] = []
    before = {
        c.alias: {id(e) for e in c.run_on_commit} for c in connections.all(initialized_only=True)
    }
    _pipeline.captures.append(events)
    try:
        yield events
        _run_deferred(before)
    finally:
        for index, captured in enumerate(_pipeline.captures):
            if captured is events:  # by identity: an equal list may be nested
                del _pipeline.captures[index]
                break
