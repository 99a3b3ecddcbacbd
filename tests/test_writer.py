"""The background writer: order and chains kept, block or drop when full,
drops reported, flushed at exit and on SIGTERM (real processes)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest

from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from eventlog.write import writer as _writer
from eventlog.write.sink import FileSink
from eventlog.write.writer import BackgroundWriter
from tests.helpers import ROOT, assert_chains, child_env, raw_lines, read


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (created 0640 if missing): writers,
    which need the shared lock, wait until the block ends, as they would
    behind a slow disk."""
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.005)


def test_background_writer_keeps_order_and_chains(eventlog_dir, settings):
    """EVENTLOG_WRITER "background": every event is written in order, with a
    gap-free seq and an intact chain, by the time flush() returns."""
    settings.EVENTLOG_WRITER = "background"
    assert isinstance(_pipeline.get_sink("events.jsonl"), BackgroundWriter)
    for n in range(2000):
        event_signal.send(sender="t", n=n)
    _pipeline.flush()
    assert [line["n"] for line in read(eventlog_dir)] == list(range(2000))
    assert_chains(raw_lines(eventlog_dir))


def test_a_full_queue_in_drop_mode_drops_counts_and_reports(tmp_path, capfd):
    """EVENTLOG_QUEUE_FULL "drop": past the queue size lines are dropped and
    counted, the caller never waits; the written lines stay gap-free and the
    drop is reported once the writer catches up."""
    path = tmp_path / "events.jsonl"
    reports: list[tuple[int, str]] = []
    writer = BackgroundWriter(
        FileSink(path),
        queue_size=10,
        drop_when_full=True,
        on_drop=lambda _w, count, message: reports.append((count, message)),
    )
    with held(path):
        writer.write(b'{"n":0}')
        until(lambda: writer.queued == 0)  # the writer thread waits on the lock with it
        for n in range(1, 51):
            writer.write(b'{"n":%d}' % n)
        assert writer.queued == 10
        assert writer.dropped == 40
    writer.wait()
    lines = raw_lines(tmp_path)
    assert [orjson.loads(x)["n"] for x in lines] == list(range(11))
    assert [orjson.loads(x)["seq"] for x in lines] == list(range(1, 12))
    assert_chains(lines)
    assert reports == [(40, reports[0][1])]
    assert "40 line(s) dropped" in reports[0][1]
    assert "40 line(s) dropped" in capfd.readouterr().err


def test_a_full_queue_in_block_mode_makes_the_caller_wait_and_loses_nothing(tmp_path):
    """EVENTLOG_QUEUE_FULL "block" (default): a caller facing a full queue waits
    for room; nothing is dropped."""
    path = tmp_path / "events.jsonl"
    writer = BackgroundWriter(FileSink(path), queue_size=5)
    with held(path):
        writer.write(b'{"n":0}')
        until(lambda: writer.queued == 0)
        producer = threading.Thread(
            target=lambda: [writer.write(b'{"n":%d}' % n) for n in range(1, 21)]
        )
        producer.start()
        until(lambda: writer.queued == 5)
        assert producer.is_alive()  # waiting for room, not dropping
    producer.join(30)
    writer.wait()
    assert writer.dropped == 0
    assert [orjson.loads(x)["n"] for x in raw_lines(tmp_path)] == list(range(21))


def test_drops_are_reported_as_eventlog_error_and_on_django_jsonl(eventlog_dir, settings):
    """Through the pipeline, a drop burst becomes an ``eventlog.error`` line
    (error ``queue_full``, the count) in events.jsonl and a record in
    django.jsonl; written + dropped events add up to those sent."""
    settings.EVENTLOG_WRITER = "background"
    settings.EVENTLOG_QUEUE_SIZE = 5
    settings.EVENTLOG_QUEUE_FULL = "drop"
    sink = _pipeline.get_sink("events.jsonl")
    assert isinstance(sink, BackgroundWriter)
    with held(eventlog_dir / "events.jsonl"):
        for n in range(50):
            event_signal.send(sender="t", n=n)
    _pipeline.flush()
    lines = read(eventlog_dir)
    written = [x for x in lines if x["event"] == "app.event"]
    (error,) = [x for x in lines if x["event"] == "eventlog.error"]
    assert error["error"] == "queue_full"
    assert len(written) + error["dropped"] == 50
    assert error["dropped"] == sink.dropped > 0
    assert_chains(raw_lines(eventlog_dir))
    django = read(eventlog_dir, "django.jsonl")
    assert any(x.get("error") == "queue_full" for x in django)


def test_the_sigterm_handler_is_installed_only_from_the_main_thread(monkeypatch):
    """signal.signal() works only in the main thread: from another thread the
    writer leaves SIGTERM alone (atexit still flushes) and does not fail."""
    monkeypatch.setattr(_writer, "_installed", False)
    before = signal.getsignal(signal.SIGTERM)
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(_writer.install_sigterm_handler()))
    thread.start()
    thread.join()
    assert result == [False]
    assert signal.getsignal(signal.SIGTERM) is before


QUEUE_THEN_WAIT = """
import signal, sys, time
if sys.argv[1] == "chained":
    def previous(signum, frame):
        print("previous handler ran", flush=True)
        sys.exit(3)
    signal.signal(signal.SIGTERM, previous)
import django
django.setup()
from eventlog.signals import event_signal
for n in range(int(sys.argv[2])):
    event_signal.send(sender="w", n=n)
print("queued", flush=True)
if sys.argv[1] == "exit":
    sys.exit(0)
time.sleep(120)
"""


def run_child(tmp_path: Path, mode: str, count: int) -> subprocess.Popen[str]:
    logs = tmp_path / "logs"
    env = child_env(
        logs,
        EVENTLOG_WRITER="background",
        EVENTLOG_QUEUE_SIZE="100000",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    return subprocess.Popen(
        [sys.executable, "-c", QUEUE_THEN_WAIT, mode, str(count)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "status"), [("default", -signal.SIGTERM), ("chained", 3)])
def test_sigterm_writes_the_queue_then_chains_to_the_previous_handler(tmp_path, mode, status):
    """A process whose writer is stuck (the file locked) gets SIGTERM with
    thousands of lines queued: the handler writes them all, then the previous
    handler runs (the default one terminates the process by SIGTERM; a
    project's own handler is called)."""
    logs = tmp_path / "logs"
    with held(logs / "events.jsonl"):
        child = run_child(tmp_path, mode, 3000)
        assert child.stdout is not None
        assert child.stdout.readline() == "queued\n"
        child.send_signal(signal.SIGTERM)
        time.sleep(0.2)  # let the handler start waiting for the writer (not asserted)
    assert child.wait(timeout=60) == status
    rest = child.stdout.read()
    assert ("previous handler ran" in rest) == (mode == "chained")
    lines = raw_lines(logs)
    assert [orjson.loads(x)["n"] for x in lines] == list(range(3000))
    assert_chains(lines)


@pytest.mark.slow
def test_lines_queued_at_exit_are_written(tmp_path):
    """A process exiting normally with lines still queued writes them (atexit)."""
    logs = tmp_path / "logs"
    with held(logs / "events.jsonl"):
        child = run_child(tmp_path, "exit", 3000)
        assert child.stdout is not None
        assert child.stdout.readline() == "queued\n"
    assert child.wait(timeout=60) == 0
    lines = raw_lines(logs)
    assert [orjson.loads(x)["n"] for x in lines] == list(range(3000))
    assert_chains(lines)


def test_the_writer_hands_queued_lines_to_the_sink_in_batches(tmp_path, monkeypatch):
    """Lines queued while the writer is busy go out together, one write() per
    batch, in order, each with its own seq and a chain that holds."""
    writes: list[int] = []
    real_write = os.write
    path = tmp_path / "events.jsonl"
    sink = FileSink(path)
    writer = BackgroundWriter(sink)
    with held(path):  # the writer thread blocks on the lock; lines pile up
        for n in range(500):
            writer.write(b'{"n":%d}' % n)
        monkeypatch.setattr(os, "write", lambda fd, data: writes.append(fd) or real_write(fd, data))
    writer.close()
    lines = path.read_bytes().splitlines()
    assert [orjson.loads(x)["n"] for x in lines] == list(range(500))
    assert [orjson.loads(x)["seq"] for x in lines] == list(range(1, 501))
    assert_chains(lines)
    assert 1 <= len(writes) < 10


def test_a_line_queued_while_the_writer_goes_to_sleep_is_not_stranded(tmp_path):
    """The writer is woken only when it sleeps; a line queued just as it goes
    to sleep is still written without waiting for the next one (one line at
    a time, each awaited, from two threads)."""
    path = tmp_path / "events.jsonl"
    writer = BackgroundWriter(FileSink(path))

    def written() -> int:
        return path.read_bytes().count(b"\n") if path.exists() else 0

    def produce(tag: int) -> None:
        for n in range(60):
            writer.write(b'{"t":%d,"n":%d}' % (tag, n))
            deadline = time.monotonic() + 30
            while b'"t":%d,"n":%d,' % (tag, n) not in (path.read_bytes() if path.exists() else b""):
                assert time.monotonic() < deadline, f"line {tag}/{n} stranded in the queue"
                time.sleep(0.0005)

    threads = [threading.Thread(target=produce, args=(tag,)) for tag in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert written() == 120
    writer.close()


def test_a_batch_cut_short_by_a_full_disk_keeps_exactly_the_lines_not_written(
    tmp_path, monkeypatch
):
    """When write() of a batch stops part way (disk full), the lines already in
    the file are not written again; the cut one and the rest are, whole, once
    space returns."""
    path = tmp_path / "events.jsonl"
    sink = FileSink(path)
    sink.write(b'{"n":0}')
    first = len(path.read_bytes())
    real_write = os.write
    calls = {"n": 0}

    def short_then_full(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[: first + 20]))  # 1 line and a bit
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", short_then_full)
    sink.write_many([b'{"n":1}', b'{"n":2}', b'{"n":3}'])
    assert sink.stats.backlog == 2
    monkeypatch.setattr(os, "write", real_write)
    sink.write(b'{"n":4}')
    parsed = []
    for raw in path.read_bytes().splitlines():
        try:
            parsed.append(orjson.loads(raw))
        except orjson.JSONDecodeError:
            assert raw.startswith(b'{"n":2')  # the fragment, on a line of its own
    assert [p["n"] for p in parsed] == [0, 1, 2, 3, 4]
    assert [p["seq"] for p in parsed] == [1, 2, 3, 4, 5]


def test_a_failure_before_any_byte_after_a_short_write_keeps_the_whole_batch(tmp_path, monkeypatch):
    """A write that fails before writing anything (here the lock) keeps every
    line of its batch, also after an earlier write was cut short: the bytes
    that earlier write got out do not count for this one."""
    from eventlog.write import sink as _sink

    path = tmp_path / "events.jsonl"
    sink = FileSink(path)
    sink.write(b'{"n":0}')
    first = len(path.read_bytes())
    real_write, real_flock = os.write, fcntl.flock
    calls = {"n": 0}

    def short_then_full(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[: first + 20]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", short_then_full)
    sink.write_many([b'{"n":1}', b'{"n":2}', b'{"n":3}'])  # 1 written, 2 torn, 3 kept
    monkeypatch.setattr(os, "write", real_write)
    sink.write(b'{"n":4}')  # space is back: 2 and 3 go first, then 4

    def no_lock(fd: int, op: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(_sink.fcntl, "flock", no_lock)
    sink.write_many([b'{"n":5}', b'{"n":6}'])
    assert sink.stats.backlog == 2
    monkeypatch.setattr(_sink.fcntl, "flock", real_flock)
    sink.write(b'{"n":7}')
    parsed = []
    for raw in path.read_bytes().splitlines():
        with contextlib.suppress(orjson.JSONDecodeError):
            parsed.append(orjson.loads(raw)["n"])
    assert parsed == [0, 1, 2, 3, 4, 5, 6, 7]
