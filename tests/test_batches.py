"""The lines of a transaction are sealed and written together at its commit."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import orjson
import pytest
from django.db import connection, transaction
from django.test import TestCase

from eventlog.signals import event_signal
from eventlog.testing import capture_events
from eventlog.write import pipeline as _pipeline
from tests.helpers import ROOT, all_lines, assert_chains, child_env, raw_lines, run_writers

TXN_WRITER = """
import sys, django
django.setup()
from django.db import transaction
from eventlog.signals import event_signal
name, count = sys.argv[1], int(sys.argv[2])
for t in range(count // 10):
    with transaction.atomic():
        for n in range(10):
            event_signal.send(sender=name, t=t, n=n, pad="p" * 200)
"""


def _ours(lines: list[bytes]) -> list[dict]:
    return [orjson.loads(x) for x in lines]


def _writes_to(path_name: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the write() calls made to the file ``path_name`` from now on."""
    sizes: list[int] = []
    real = os.write

    def counting(fd: int, data: bytes) -> int:
        try:
            if os.readlink(f"/proc/self/fd/{fd}").endswith(path_name):
                sizes.append(len(data))
        except OSError:
            pass
        return real(fd, data)

    monkeypatch.setattr(os, "write", counting)
    return sizes


def _assert_contiguous(lines: list[dict], sender: str, size: int) -> None:
    """Each transaction of ``sender`` sits in ``size`` adjacent lines with consecutive seq."""
    positions: dict[int, list[int]] = {}
    for i, line in enumerate(lines):
        if line.get("sender") == sender:
            positions.setdefault(line["t"], []).append(i)
    assert positions
    for t, where in positions.items():
        assert len(where) == size, t
        assert where == list(range(where[0], where[0] + size)), (t, where)
        block = lines[where[0] : where[0] + size]
        assert [x["n"] for x in block] == list(range(size))
        seqs = [x["seq"] for x in block]
        assert seqs == list(range(seqs[0], seqs[0] + size)), seqs


@pytest.mark.django_db(transaction=True)
def test_a_transaction_is_written_with_one_write_at_commit(eventlog_dir, monkeypatch):
    """Ten events of one transaction: nothing before the commit, then one write()."""
    event_signal.send(sender="warm")  # the file is open and its first line written
    sizes = _writes_to("events.jsonl", monkeypatch)
    with transaction.atomic():
        for n in range(10):
            event_signal.send(sender="t", t=0, n=n)
        assert sizes == []
    assert len(sizes) == 1
    lines = _ours(raw_lines(eventlog_dir))
    assert len(lines) == 11
    _assert_contiguous(lines, "t", 10)
    assert_chains(raw_lines(eventlog_dir))


@pytest.mark.django_db(transaction=True)
def test_transactions_stay_contiguous_beside_other_writers(eventlog_dir):
    """With another process and another thread writing all the while, each
    transaction's lines are adjacent in the file, in send order, with
    consecutive seq, and every stream verifies."""
    env = child_env(eventlog_dir)
    stop_file = eventlog_dir.parent / "stop"
    other = subprocess.Popen([sys.executable, "-c", _SPAM, str(stop_file)], cwd=ROOT, env=env)
    live = eventlog_dir / "events.jsonl"
    deadline = time.monotonic() + 60
    while not (live.exists() and b'"spam"' in live.read_bytes()):
        assert time.monotonic() < deadline
        assert other.poll() is None
        time.sleep(0.05)
    stop = threading.Event()

    def thread_writer() -> None:
        while not stop.is_set():
            event_signal.send(sender="thread", message="x" * 100)
            time.sleep(0.0001)

    worker = threading.Thread(target=thread_writer)
    worker.start()
    try:
        for t in range(40):
            with transaction.atomic():
                for n in range(10):
                    event_signal.send(sender="txn", t=t, n=n, pad="p" * 100)
    finally:
        stop.set()
        stop_file.touch()
        worker.join()
        other.wait(timeout=120)
    lines = _ours(all_lines(eventlog_dir))
    assert {x["sender"] for x in lines} >= {"txn", "thread", "spam"}
    _assert_contiguous(lines, "txn", 10)
    assert_chains(all_lines(eventlog_dir))


# Paced, and stopped by the test: a writer as fast as the machine allows
# would rotate the test's own lines out of the retained files.
_SPAM = """
import os, sys, time, django
django.setup()
from eventlog.signals import event_signal
end = time.monotonic() + 60
n = 0
while time.monotonic() < end and (n % 50 or not os.path.exists(sys.argv[1])):
    event_signal.send(sender="spam", message="y" * 100)
    n += 1
    n % 5 or time.sleep(0.0005)
"""


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_never_enters_the_batch(eventlog_dir, monkeypatch):
    """The lines of a rolled-back savepoint are not written; the rest is one
    write() with consecutive seq, in send order."""
    event_signal.send(sender="warm")
    sizes = _writes_to("events.jsonl", monkeypatch)
    with transaction.atomic():
        event_signal.send(sender="t", t=0, n=0)
        with pytest.raises(RuntimeError), transaction.atomic():
            event_signal.send(sender="gone", t=0, n=99)
            raise RuntimeError
        event_signal.send(sender="t", t=0, n=1)
        with pytest.raises(RuntimeError), transaction.atomic():
            event_signal.send(sender="gone", t=0, n=98)
            raise RuntimeError  # the last events sent are the ones rolled back
    assert len(sizes) == 1
    lines = _ours(raw_lines(eventlog_dir))
    assert [x["sender"] for x in lines] == ["warm", "t", "t"]
    _assert_contiguous(lines, "t", 2)
    assert_chains(raw_lines(eventlog_dir))


@pytest.mark.django_db(transaction=True)
def test_an_outer_rollback_writes_nothing_and_the_next_transaction_is_whole(eventlog_dir):
    """A rolled-back transaction leaves nothing behind: the next one is written alone."""
    with pytest.raises(RuntimeError), transaction.atomic():
        for n in range(5):
            event_signal.send(sender="gone", t=0, n=n)
        raise RuntimeError
    assert raw_lines(eventlog_dir) == []
    with transaction.atomic():
        for n in range(3):
            event_signal.send(sender="t", t=1, n=n)
    lines = _ours(raw_lines(eventlog_dir))
    assert [x["sender"] for x in lines] == ["t"] * 3
    _assert_contiguous(lines, "t", 3)


@pytest.mark.django_db(transaction=True)
def test_nested_atomic_blocks_are_written_at_the_outermost_commit(eventlog_dir, monkeypatch):
    """Released savepoints add to the outermost block's batch: one write, in send order."""
    event_signal.send(sender="warm")
    sizes = _writes_to("events.jsonl", monkeypatch)
    with transaction.atomic():
        event_signal.send(sender="t", t=0, n=0)
        with transaction.atomic():
            event_signal.send(sender="t", t=0, n=1)
            with transaction.atomic():
                event_signal.send(sender="t", t=0, n=2)
            event_signal.send(sender="t", t=0, n=3)
        assert sizes == []
        event_signal.send(sender="t", t=0, n=4)
    assert len(sizes) == 1
    _assert_contiguous(_ours(raw_lines(eventlog_dir)), "t", 5)


@pytest.mark.django_db(transaction=True)
def test_events_outside_a_transaction_are_written_at_once(eventlog_dir, monkeypatch):
    """No transaction, no batch: each event is one write() as it is sent."""
    event_signal.send(sender="warm")
    sizes = _writes_to("events.jsonl", monkeypatch)
    for n in range(3):
        event_signal.send(sender="t", n=n)
        assert len(sizes) == n + 1


@pytest.mark.django_db(transaction=True)
def test_errors_inside_a_transaction_are_not_held_back(eventlog_dir):
    """An error is written when sent, before the transaction's batch."""
    with transaction.atomic():
        event_signal.send(sender="t", t=0, n=0)
        event_signal.send(sender="err", level="error")
        assert [x["sender"] for x in _ours(raw_lines(eventlog_dir))] == ["err"]
    assert [x["sender"] for x in _ours(raw_lines(eventlog_dir))] == ["err", "t"]


@pytest.mark.django_db(transaction=True)
def test_the_batch_keeps_each_events_context_and_capture_sees_it(eventlog_dir):
    """Each deferred event keeps the context of its send; capture_events gets them all."""
    import eventlog

    with capture_events() as events, transaction.atomic():
        with eventlog.context(actor="alice"):
            event_signal.send(sender="t", t=0, n=0)
        with eventlog.context(actor="bob"):
            event_signal.send(sender="t", t=0, n=1)
    assert [e["actor"] for e in events] == ["alice", "bob"]
    assert [x["actor"] for x in _ours(raw_lines(eventlog_dir))] == ["alice", "bob"]


@pytest.mark.django_db(transaction=True)
def test_a_batch_over_the_size_limit_is_written_whole_then_rotated(eventlog_dir, settings):
    """A batch crossing EVENTLOG_MAX_BYTES goes whole into the live file, which
    rotates after it: the transaction is never split across two files."""
    settings.EVENTLOG_MAX_BYTES = 4096
    for t in range(6):
        with transaction.atomic():
            for n in range(10):
                event_signal.send(sender="t", t=t, n=n, pad="p" * 200)
    _pipeline.flush()
    lines = _ours(all_lines(eventlog_dir))
    assert len(lines) == 60
    _assert_contiguous(lines, "t", 10)
    assert_chains(all_lines(eventlog_dir))
    live = raw_lines(eventlog_dir)
    assert live == [] or len(live) % 10 == 0


@pytest.mark.django_db(transaction=True)
def test_a_batch_larger_than_the_pipe_buffer_is_one_write(eventlog_dir, monkeypatch):
    """Far past PIPE_BUF and the line cap together, a regular file still takes the
    batch in one write()."""
    event_signal.send(sender="warm")
    sizes = _writes_to("events.jsonl", monkeypatch)
    with transaction.atomic():
        for n in range(40):
            event_signal.send(sender="t", t=0, n=n, pad="p" * 4000)
    assert len(sizes) == 1
    assert sizes[0] > 40 * 4000
    _assert_contiguous(_ours(raw_lines(eventlog_dir)), "t", 40)


def test_many_processes_writing_transactions_verify_clean(eventlog_dir):
    """Four processes writing transactions of ten with rotation: every line
    found, each transaction contiguous, every chain sound, verify clean."""
    env = child_env(eventlog_dir, EVENTLOG_MAX_BYTES="200000")
    env["DATABASE_URL"] = "sqlite://:memory:"
    run_writers(env, 4, 500, script=TXN_WRITER)
    lines = all_lines(eventlog_dir)
    assert len(lines) == 4 * 500
    parsed = _ours(lines)
    for i in range(4):
        _assert_contiguous(parsed, f"w{i}", 10)
    assert_chains(lines)
    verify = subprocess.run(
        [sys.executable, "manage.py", "eventlog", "verify", "--dir", str(eventlog_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


class CaptureInTestCase(TestCase):
    """A TestCase's transaction never commits: capture_events writes what it would."""

    def test_capture_events_writes_a_transaction_of_a_testcase(self) -> None:
        with capture_events() as events:
            with transaction.atomic():
                for n in range(3):
                    event_signal.send(sender="t", t=0, n=n)
            with transaction.atomic():
                event_signal.send(sender="t", t=1, n=0)
        assert [(e["t"], e["n"]) for e in events] == [(0, 0), (0, 1), (0, 2), (1, 0)]

    def test_capture_on_commit_callbacks_runs_the_batch(self) -> None:
        with (
            capture_events() as events,
            self.captureOnCommitCallbacks(execute=True) as cbs,
            transaction.atomic(),
        ):
            for n in range(3):
                event_signal.send(sender="t", t=0, n=n)
        # In a TestCase each event keeps a callback of its own: the helpers
        # take those registered inside their block (see JoinInTestCase).
        assert len(cbs) == 3
        assert [e["n"] for e in events] == [0, 1, 2]

    def test_a_rolled_back_savepoint_is_not_captured(self) -> None:
        with capture_events() as events, transaction.atomic():
            event_signal.send(sender="t", t=0, n=0)
            try:
                with transaction.atomic():
                    event_signal.send(sender="gone", t=0, n=1)
                    raise RuntimeError
            except RuntimeError:
                pass
        assert [e["sender"] for e in events] == ["t"]
        assert connection.in_atomic_block


@pytest.mark.django_db
def test_django_capture_on_commit_callbacks_with_capture_events(django_capture_on_commit_callbacks):
    """pytest-django's fixture running the callbacks writes each event once, in order."""
    with capture_events() as events, django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            event_signal.send(sender="t", t=0, n=n)
    assert [e["n"] for e in events] == [0, 1, 2, 3]


@pytest.mark.django_db(transaction=True)
def test_the_background_writer_gets_the_whole_transaction(eventlog_dir, settings):
    """Behind the background writer the batch's lines are queued in order."""
    settings.EVENTLOG_WRITER = "background"
    with transaction.atomic():
        for n in range(10):
            event_signal.send(sender="t", t=0, n=n)
    _pipeline.flush()
    _assert_contiguous(_ours(raw_lines(eventlog_dir)), "t", 10)
    assert_chains(raw_lines(eventlog_dir))


@pytest.mark.django_db(transaction=True)
def test_a_failing_batch_never_breaks_the_commit(eventlog_dir, monkeypatch):
    """A batch that cannot be rendered or written is reported as an
    eventlog.error line; the atomic block still exits normally and the next
    transaction is written."""
    from eventlog.write import context as _context
    from eventlog.write.sink import FileSink

    event_signal.send(sender="warm")
    real_write, real_replay = FileSink.write_many, _context.replay
    monkeypatch.setattr(FileSink, "write_many", lambda self, batch: 1 / 0)
    with transaction.atomic():
        event_signal.send(sender="t", t=0, n=0)
    monkeypatch.setattr(FileSink, "write_many", real_write)

    def broken(captured):
        raise LookupError("replay")

    monkeypatch.setattr(_context, "replay", broken)
    with transaction.atomic():
        event_signal.send(sender="t", t=1, n=0)
    monkeypatch.setattr(_context, "replay", real_replay)
    with transaction.atomic():
        event_signal.send(sender="t", t=2, n=0)
    lines = _ours(raw_lines(eventlog_dir))
    assert [x["event"] for x in lines] == [
        "app.event",
        "eventlog.error",
        "eventlog.error",
        "app.event",
    ]
    assert "ZeroDivisionError" in lines[1]["detail"]
    assert "LookupError" in lines[2]["detail"]
    assert lines[3]["t"] == 2
    assert_chains(raw_lines(eventlog_dir))


@pytest.mark.django_db(transaction=True)
def test_sibling_savepoints_and_other_callbacks_keep_each_event_where_it_belongs(
    eventlog_dir, monkeypatch
):
    """Events sent in a released savepoint, in a sibling savepoint at the
    same depth that rolls back, around a project's own callback and after
    the savepoints, are written (or not) as Django runs (or drops) the
    callbacks of where each was sent: one write(), in send order."""
    event_signal.send(sender="warm")
    sizes = _writes_to("events.jsonl", monkeypatch)
    ran: list[str] = []
    with transaction.atomic():
        event_signal.send(sender="t", t=0, n=0)
        with transaction.atomic():
            event_signal.send(sender="t", t=0, n=1)
            event_signal.send(sender="t", t=0, n=2)
        with pytest.raises(RuntimeError), transaction.atomic():
            event_signal.send(sender="gone", t=0, n=97)
            raise RuntimeError
        event_signal.send(sender="t", t=0, n=3)
        transaction.on_commit(lambda: ran.append(f"{len(raw_lines(eventlog_dir))} lines"))
        with transaction.atomic():
            event_signal.send(sender="t", t=0, n=4)
            with pytest.raises(RuntimeError), transaction.atomic():
                event_signal.send(sender="gone", t=0, n=98)
                raise RuntimeError
            event_signal.send(sender="t", t=0, n=5)
        event_signal.send(sender="t", t=0, n=6)
    assert ran == ["1 lines"]  # the project's callback ran in its place, before the write
    assert len(sizes) == 1
    lines = _ours(raw_lines(eventlog_dir))
    assert [x["sender"] for x in lines] == ["warm"] + ["t"] * 7
    _assert_contiguous(lines, "t", 7)
    assert_chains(raw_lines(eventlog_dir))


class JoinInTestCase(TestCase):
    """Events sent in a test before a capture block must not swallow those
    sent inside it: both helpers see only the callbacks registered inside."""

    def test_capture_events_after_an_event_of_the_same_savepoint(self) -> None:
        event_signal.send(sender="before", t=9, n=0)
        with capture_events() as events:
            event_signal.send(sender="t", t=0, n=0)
        assert [e["sender"] for e in events] == ["t"]

    def test_capture_on_commit_callbacks_after_an_event_of_the_same_savepoint(self) -> None:
        event_signal.send(sender="before", t=9, n=0)
        with (
            capture_events() as events,
            self.captureOnCommitCallbacks(execute=True) as cbs,
        ):
            event_signal.send(sender="t", t=0, n=0)
        assert len(cbs) == 1
        assert [e["sender"] for e in events] == ["t"]


@pytest.mark.django_db(transaction=True)
def test_a_commit_is_written_while_another_databases_transaction_is_open(eventlog_dir):
    """An event joins a callback only when no other deferred event of the
    thread came between: the commit of one database then writes its lines
    although a transaction of another database (one event deferred there
    in between) is still open."""

    class Other:  # a second database's connection, in a transaction
        in_atomic_block = True

        def __init__(self) -> None:
            self.run_on_commit: list[tuple[set[str], object, bool]] = []
            self.savepoint_ids: list[str] = []

        def on_commit(self, func: object, robust: bool = False) -> None:
            self.run_on_commit.append((set(self.savepoint_ids), func, robust))

    event_signal.send(sender="warm")
    other = Other()
    with transaction.atomic():
        event_signal.send(sender="t", t=0, n=0)
        _pipeline._defer(other, ("app.event", "info", {"sender": "other"}, {}))
        event_signal.send(sender="t", t=0, n=1)
    lines = _ours(raw_lines(eventlog_dir))
    assert [x["sender"] for x in lines] == ["warm", "t", "t"]
    other.run_on_commit.clear()  # the other database rolls back
    lines = _ours(raw_lines(eventlog_dir))
    assert [x["sender"] for x in lines] == ["warm", "t", "t"]
    assert_chains(raw_lines(eventlog_dir))
