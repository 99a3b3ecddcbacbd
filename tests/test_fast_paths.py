"""The private shortcuts of the per-line path, each checked against what it stands for."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import connections, transaction

from eventlog.write import pipeline as _pipeline


def test_the_atomic_block_shortcut_is_taken_and_agrees_with_django(db):
    """The thread's connection read from Django's (and asgiref's) private
    storage is the one transaction.get_connection() gives. This test fails when
    Django or asgiref change that layout: the pipeline then falls back to the
    public call, which is correct but slower."""
    assert _pipeline._thread_connection(None) is transaction.get_connection()
    assert _pipeline._thread_connection("default") is connections["default"]
    seen: list[object] = []

    def other() -> None:
        connections["default"]  # creates this thread's connection
        seen.append(_pipeline._thread_connection(None) is transaction.get_connection())
        connections["default"].close()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == [True]


@pytest.mark.django_db(transaction=True)
def test_in_atomic_block_follows_the_block_in_every_case():
    """In and out of blocks, an alias never used in the thread, and inside a
    running event loop (where asgiref keeps connections per context): the
    answer is Django's own."""
    assert _pipeline.in_atomic_block(None) is False
    with transaction.atomic():
        assert _pipeline.in_atomic_block(None) is True
        assert _pipeline.in_atomic_block("default") is True
    assert _pipeline.in_atomic_block(None) is False

    results: list[bool] = []

    def fresh_thread() -> None:
        results.append(_pipeline.in_atomic_block(None))
        connections.close_all()

    thread = threading.Thread(target=fresh_thread)
    thread.start()
    thread.join()
    assert results == [False]

    async def in_loop() -> bool:
        assert _pipeline._thread_connection(None) is None  # the shortcut stands aside
        return _pipeline.in_atomic_block(None)

    assert asyncio.run(in_loop()) is transaction.get_connection().in_atomic_block
