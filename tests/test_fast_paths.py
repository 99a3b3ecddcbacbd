"""The private shortcuts of the per-line path, each checked against what it stands for."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

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


def test_event_names_checked_once_still_rule_every_line(eventlog_dir):
    """The cache of checked names gives the second line what the first got,
    for valid, invalid and reserved names alike, and stays bounded under a
    flood of distinct names (those past its size are checked every time)."""
    from eventlog.audit import app_events
    from eventlog.signals import event_signal
    from tests.helpers import read

    for _ in range(2):
        event_signal.send("t", event="shop.sold")
        event_signal.send("t", event="model.deleted", model="auth.user")
        event_signal.send("t", event="bad name!")
        event_signal.send("t", event="MODEL.Created")
    lines = read(eventlog_dir)
    assert [x["event"] for x in lines] == ["shop.sold", "app.event", "app.event", "app.event"] * 2
    assert [x.get("reserved_event") for x in lines][1::4] == ["model.deleted"] * 2
    assert [x.get("invalid_event") for x in lines][2::4] == ["bad name!"] * 2
    assert [x.get("reserved_event") for x in lines][3::4] == ["MODEL.Created"] * 2
    for n in range(app_events._NAMES_MAX + 50):
        event_signal.send("t", event=f"flood.n{n}")
    event_signal.send("t", event="model.flood")
    assert len(app_events._NAMES) <= app_events._NAMES_MAX
    last = read(eventlog_dir)[-2:]
    assert last[0]["event"] == f"flood.n{app_events._NAMES_MAX + 49}"
    assert (last[1]["event"], last[1]["reserved_event"]) == ("app.event", "model.flood")


def test_write_event_keeps_the_level_filter(eventlog_dir, settings):
    """Below EVENTLOG_LEVEL nothing is processed or written; at or above it is."""
    from eventlog.signals import event_signal
    from tests.helpers import read

    settings.EVENTLOG_LEVEL = "warning"
    for level in ("debug", "info", "warning", "error", "critical"):
        event_signal.send("t", level=level, on_commit=False)
    assert [x["level"] for x in read(eventlog_dir)] == ["warning", "error", "critical"]


def test_a_reserved_key_seen_nested_is_still_moved_at_the_top(eventlog_dir):
    """Keys met inside nested values are remembered as innocent, but never a
    reserved one: the one-set check cannot let a top-level ``seq`` or
    ``hash`` through to overwrite the sink's."""
    from eventlog.signals import event_signal
    from tests.helpers import assert_chains, raw_lines, read

    event_signal.send("t", inner={"seq": 7, "hash": "h", "level": "x", "stream": "s"})
    event_signal.send("t", seq=7, hash="h", stream="s", n=1)
    event_signal.send("t", seq=8, hash="h2", stream="s2", n=2)
    lines = read(eventlog_dir)
    assert lines[0]["inner"] == {"seq": 7, "hash": "h", "level": "x", "stream": "s"}
    for line, (seq, digest, stream) in zip(
        lines[1:], [(7, "h", "s"), (8, "h2", "s2")], strict=True
    ):
        assert line["extra"] == {"seq": seq, "hash": digest, "stream": stream}
        assert line["seq"] != seq
    assert_chains(raw_lines(eventlog_dir))


@pytest.mark.django_db(transaction=True)
def test_the_commit_callback_lists_are_what_deferred_events_join():
    """Deferred events join the connection's last ``on_commit`` entry when it
    is one of eventlog's at the same savepoint. This reads Django's private
    ``run_on_commit`` (entries ``(savepoint ids, callback, robust)``) and
    ``savepoint_ids`` (the open savepoints, innermost last), and relies on
    Django swapping the callback list out before it runs the callbacks (a
    callback opening a new transaction starts an empty list). This test fails
    when Django changes any of that."""
    conn = transaction.get_connection()
    ran: list[str] = []
    with transaction.atomic():
        assert conn.savepoint_ids == []
        conn.on_commit(lambda: ran.append("outer"))
        entry = conn.run_on_commit[-1]
        assert type(entry) is tuple
        assert len(entry) == 3
        assert entry[0] == set()
        with transaction.atomic():
            assert type(conn.savepoint_ids) is list
            assert len(conn.savepoint_ids) == 1
            sid = conn.savepoint_ids[-1]
            conn.on_commit(lambda: ran.append("inner"))
            assert conn.run_on_commit[-1][0] == {sid}

            def opens_another() -> None:
                with transaction.atomic():
                    assert conn.run_on_commit == []  # not the list being run
                    conn.on_commit(lambda: ran.append("later"))
                ran.append("opened")

            conn.on_commit(opens_another)
        with transaction.atomic():
            assert conn.savepoint_ids[-1] != sid  # ids are not reused
        # The outermost block says whether a TestCase opened it (no joining there).
        assert conn.atomic_blocks[0]._from_testcase is False
    assert ran == ["outer", "inner", "later", "opened"]


@pytest.mark.django_db(transaction=True)
def test_without_the_private_lists_each_event_registers_its_own_callback(monkeypatch):
    """Where a connection does not keep its callbacks as Django does today,
    every deferred event still rides on a callback of its own."""
    registered: list[Any] = []

    class Foreign:
        in_atomic_block = True

        def on_commit(self, func: object) -> None:
            registered.append(func)

    conn = Foreign()
    for n in range(3):
        _pipeline._defer(conn, ("app.event", "info", {"n": n}, {}))
    assert len(registered) == 3
    assert [d.items[0][2]["n"] for d in registered] == [0, 1, 2]
    for d in registered:
        d.settled = True  # nothing to write at collection
