"""Following the live file: ``reader.follow`` and ``manage.py eventlog tail -f``.

Every line exactly once, in order per stream, across the sink's renames and
logrotate-style renames while real processes write; partial lines wait for
their newline; Ctrl-C and SIGTERM end the command cleanly.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from eventlog import reader
from eventlog.core.files import rotated_files
from eventlog.read import tail as read_tail
from tests.helpers import ROOT, child_env, make_line, paced_writer, run_writers

DEADLINE_S = 120.0


def ts(second: int) -> str:
    """A canonical timestamp on 2026-11-23 at 10:00 plus ``second``."""
    return f"2026-11-23T10:{second // 60:02d}:{second % 60:02d}.000000Z"


class Follower:
    """``reader.follow`` running in a thread, collecting what it yields."""

    def __init__(self, directory: Any, **kwargs: Any) -> None:
        self.events: list[dict[str, Any]] = []
        self.bad: list[str] = []
        self.looks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(directory,), kwargs=kwargs, daemon=True
        )
        self._started = threading.Event()
        self._thread.start()

    def _run(self, directory: Any, **kwargs: Any) -> None:
        kwargs.setdefault("interval", 0.005)
        for _raw, event in reader.follow(
            directory,
            stop=self._stopping,
            on_bad_line=lambda path, lineno, reason: self.bad.append(reason),
            **kwargs,
        ):
            self.events.append(event)

    def _stopping(self) -> bool:
        self.looks += 1
        self._started.set()
        return self._stop.is_set()

    def wait_looks(self, count: int) -> None:
        """Until the follower has looked at the files ``count`` more times."""
        target = self.looks + count
        deadline = time.monotonic() + DEADLINE_S
        while self.looks < target and time.monotonic() < deadline:
            time.sleep(0.001)

    def wait_started(self) -> None:
        """Until the follower has opened the files and looked once."""
        assert self._started.wait(DEADLINE_S)

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        """Until ``count`` events arrived (or the deadline passed); the events."""
        deadline = time.monotonic() + DEADLINE_S
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.events

    def stop(self) -> list[dict[str, Any]]:
        self._stop.set()
        self._thread.join(DEADLINE_S)
        assert not self._thread.is_alive()
        return self.events


def per_sender(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    """The ``n`` of each writer's events, in the order they were followed."""
    out: dict[str, list[int]] = defaultdict(list)
    for event in events:
        out[event["sender"]].append(event["n"])
    return dict(out)


# -- the follower, step by step --------------------------------------------------------


def test_follow_waits_for_the_newline_of_a_partial_line(tmp_path):
    """A line being written (no newline yet) is not yielded, nor lost: it comes
    once whole."""
    live = tmp_path / "events.jsonl"
    line = make_line(ts(1), n=1)
    live.write_bytes(make_line(ts(0), n=0) + line[:20])
    tail = read_tail._Tail(live, None, lambda *a: pytest.fail(f"reported {a}"))
    assert tail.start(0) == []
    assert tail.poll() == []
    with live.open("ab") as f:
        f.write(line[20:])
    assert [event["n"] for _raw, event in tail.poll()] == [1]
    assert tail.poll() == []
    tail.close()


def test_follow_start_gives_the_last_n_across_rotated_files(tmp_path):
    """``n`` events before following come from the live file and, when it has
    fewer, from the newest rotated files, oldest first."""
    write_gz(tmp_path / "events.jsonl.2026-11-23T10-00-05.000000Z.gz", range(0, 5))
    (tmp_path / "events.jsonl").write_bytes(b"".join(make_line(ts(s), n=s) for s in (5, 6)))
    follower = Follower(tmp_path, n=4)
    assert [e["n"] for e in follower.wait_for(4)] == [3, 4, 5, 6]
    with (tmp_path / "events.jsonl").open("ab") as f:
        f.write(make_line(ts(7), n=7))
    assert [e["n"] for e in follower.wait_for(5)] == [3, 4, 5, 6, 7]
    assert [e["n"] for e in follower.stop()] == [3, 4, 5, 6, 7]


def write_gz(path: Path, seconds: Any) -> None:
    """A rotated gzip file with one line per second in ``seconds``."""
    with gzip.open(path, "wb") as f:
        f.write(b"".join(make_line(ts(s), n=s) for s in seconds))


def test_follow_reads_files_rotated_between_two_looks_in_order(tmp_path):
    """Several rotations between two looks: the rest of the old file, each
    rotated file (compressed or not) once, then the new live file; the file
    being read is recognised after compression by its first line."""
    live = tmp_path / "events.jsonl"
    live.write_bytes(make_line(ts(0), n=0))
    tail = read_tail._Tail(live, None, lambda *a: pytest.fail(f"reported {a}"))
    tail.start(0)
    with live.open("ab") as f:
        f.write(make_line(ts(1), n=1))
    first = tmp_path / "events.jsonl.2026-11-23T10-00-02.000000Z"
    os.rename(live, first)
    with gzip.open(first.with_name(first.name + ".gz"), "wb") as f:
        f.write(first.read_bytes())
    first.unlink()  # compressed, as the sink does in the background
    live.write_bytes(make_line(ts(2), n=2))
    os.rename(live, tmp_path / "events.jsonl.2026-11-23T10-00-03.000000Z")
    live.write_bytes(make_line(ts(3), n=3))
    assert [event["n"] for _raw, event in tail.poll()] == [1, 2, 3]
    assert tail.poll() == []
    tail.close()


def test_follow_after_logrotate_rename_and_missing_live_file(tmp_path):
    """logrotate renames the live file to a name of its own and the new file
    appears only later: the old file is read to its end, then the new one."""
    live = tmp_path / "events.jsonl"
    live.write_bytes(make_line(ts(0), n=0))
    tail = read_tail._Tail(live, None, lambda *a: pytest.fail(f"reported {a}"))
    assert [e["n"] for _r, e in tail.start(5)] == [0]
    with live.open("ab") as f:
        f.write(make_line(ts(1), n=1))
    os.rename(live, tmp_path / "events.jsonl.1")
    assert [e["n"] for _r, e in tail.poll()] == [1]
    assert tail.poll() == []
    live.write_bytes(make_line(ts(2), n=2))
    assert [e["n"] for _r, e in tail.poll()] == [2]
    tail.close()


def test_follow_reports_a_torn_final_line_of_a_rotated_file_and_goes_on(tmp_path):
    """A file rotated away with a final line lacking its newline (a crashed
    writer): the fragment is reported and skipped, following goes on."""
    live = tmp_path / "events.jsonl"
    live.write_bytes(make_line(ts(0), n=0) + make_line(ts(1), n=1)[:30])
    reports: list[str] = []
    tail = read_tail._Tail(live, None, lambda path, lineno, reason: reports.append(reason))
    tail.start(0)
    os.rename(live, tmp_path / "events.jsonl.2026-11-23T10-00-02.000000Z")
    live.write_bytes(make_line(ts(2), n=2))
    assert [e["n"] for _r, e in tail.poll()] == [2]
    assert reports == ["incomplete final line (no newline): skipped"]
    tail.close()


def test_follow_reports_a_file_truncated_in_place(tmp_path):
    """copytruncate (which loses lines anyway) is reported, and the file is
    read again from its start."""
    live = tmp_path / "events.jsonl"
    live.write_bytes(make_line(ts(0), n=0) + make_line(ts(1), n=1))
    reports: list[str] = []
    tail = read_tail._Tail(live, None, lambda path, lineno, reason: reports.append(reason))
    tail.start(0)
    with live.open("r+b") as f:
        f.truncate(0)
    live.write_bytes(make_line(ts(2), n=2))
    assert [e["n"] for _r, e in tail.poll()] == [2]
    assert len(reports) == 1
    assert reports[0].startswith("file truncated in place (copytruncate?)")
    tail.close()


def test_follow_applies_the_filter_before_decoding(tmp_path):
    """Only matching events are followed."""
    live = tmp_path / "events.jsonl"
    live.write_bytes(b"")
    follower = Follower(tmp_path, filter=reader.Filter(actor="bob"))
    follower.wait_started()
    with live.open("ab") as f:
        for n in range(6):
            f.write(make_line(ts(n), n=n, actor="bob" if n % 2 else "alice"))
    assert [e["n"] for e in follower.wait_for(3)] == [1, 3, 5]
    assert [e["n"] for e in follower.stop()] == [1, 3, 5]


def test_follow_several_directories(tmp_path):
    """Two hosts' directories are followed together; the backlog is merged by time."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "events.jsonl").write_bytes(make_line(ts(0), n=0) + make_line(ts(2), n=2))
    (b / "events.jsonl").write_bytes(make_line(ts(1), n=1) + make_line(ts(3), n=3))
    follower = Follower([a, b], n=3)
    assert [e["n"] for e in follower.wait_for(3)] == [1, 2, 3]
    with (b / "events.jsonl").open("ab") as f:
        f.write(make_line(ts(4), n=4))
    with (a / "events.jsonl").open("ab") as f:
        f.write(make_line(ts(5), n=5))
    assert sorted(e["n"] for e in follower.wait_for(5)) == [1, 2, 3, 4, 5]
    assert sorted(e["n"] for e in follower.stop()) == [1, 2, 3, 4, 5]


# -- real writers ------------------------------------------------------------------------


@pytest.mark.slow
def test_follow_logrotate_renames_while_four_processes_write(tmp_path):
    """logrotate-style renames (no lock, a name of its own) while 4 processes
    write, each as soon as the follower has looked at the new file (a file of
    a foreign name cannot be found again, so at most one rename per look):
    every line followed exactly once, in order per writer."""
    directory = tmp_path / "logs"
    directory.mkdir()
    follower = Follower(directory)
    follower.wait_started()
    done = threading.Event()

    def rotate() -> None:
        n = 0
        live = directory / "events.jsonl"
        while not done.is_set():
            if live.exists():
                follower.wait_looks(2)  # it has seen this file
                n += 1
                os.rename(live, directory / f"events.jsonl.{n}")
            else:
                time.sleep(0.001)

    rotator = threading.Thread(target=rotate, daemon=True)
    rotator.start()
    try:
        run_writers(
            child_env(directory, EVENTLOG_MAX_BYTES="0"), 4, 300, script=paced_writer(50, 0.1)
        )
    finally:
        done.set()
        rotator.join()
    events = follower.wait_for(1200)
    follower.stop()
    assert len(list(directory.glob("events.jsonl.*"))) > 5  # it did rotate
    assert per_sender(events) == {f"w{i}": list(range(300)) for i in range(4)}
    assert follower.bad == []


def start_following(directory: Path, *args: str, **popen: Any) -> subprocess.Popen[bytes]:
    """Start ``manage.py eventlog tail -f -n 1 <args>`` on ``directory`` holding
    one marker event, and return once the child printed it: it prints the
    backlog after opening the live file, so it is following from then on."""
    with (directory / "events.jsonl").open("ab") as f:
        f.write(make_line(ts(0), "app.event", sender="marker", n=-1))
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "eventlog", "tail", "-f", "-n", "1", *args],
        cwd=ROOT,
        env=child_env(directory),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )
    marker = list(read_lines(proc, 1))
    assert marker, proc.communicate(timeout=DEADLINE_S)
    assert b"marker" in marker[0]
    return proc


def read_lines(proc: subprocess.Popen[bytes], count: int) -> Iterator[bytes]:
    """Up to ``count`` lines of the child's stdout (stops at its end)."""
    assert proc.stdout is not None
    for _ in range(count):
        line = proc.stdout.readline()
        if not line:
            return
        yield line


@pytest.mark.slow
def test_tail_follow_command_while_four_processes_rotate(tmp_path):
    """`manage.py eventlog tail -f` in a real process follows while 4 processes
    write with a rotation every few lines: every line exactly once, in order
    per writer, raw JSON since stdout is a pipe; Ctrl-C ends it with exit 0
    and nothing on stderr."""
    directory = tmp_path / "logs"
    directory.mkdir()
    proc = start_following(directory, "--event", "app.event")
    try:
        env = child_env(directory, EVENTLOG_MAX_BYTES="3000", EVENTLOG_BACKUP_COUNT="100000")
        run_writers(env, 4, 300)
        lines = list(read_lines(proc, 1200))
        rotated = rotated_files(directory / "events.jsonl")
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        proc.kill() if proc.poll() is None else None
    assert len(rotated) > 50  # many rotations happened while following
    events = [orjson.loads(line) for line in lines]
    assert per_sender(events) == {f"w{i}": list(range(300)) for i in range(4)}
    assert proc.returncode == 0
    assert err == b""


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_tail_follow_command_ends_cleanly_on_signals(tmp_path, sig):
    """SIGTERM and SIGINT (Ctrl-C) end `tail -f` with exit 0 and no traceback,
    also when the shell started it with SIGINT ignored (a background job)."""
    directory = tmp_path / "logs"
    directory.mkdir()
    proc = start_following(
        directory, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)
    )
    try:
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0
    assert b"Traceback" not in err
    assert err == b""


@pytest.mark.slow
def test_tail_follow_command_pretty_and_several_directories(tmp_path):
    """`tail -f --pretty --dir A --dir B` prints the last events of both hosts
    merged by time in the human form, then new ones as they come."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "events.jsonl").write_bytes(make_line(ts(0), "shift.created", shift_id=1))
    (b / "events.jsonl").write_bytes(make_line(ts(1), "shift.created", shift_id=2))
    dirs = ["--dir", str(a), "--dir", str(b)]
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "eventlog", "tail", "-f", "--pretty", "-n", "5", *dirs],
        cwd=ROOT,
        env=child_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        first = list(read_lines(proc, 2))
        with (b / "events.jsonl").open("ab") as f:
            f.write(make_line(ts(2), "shift.assigned", shift_id=2, employee_id=7))
        first += list(read_lines(proc, 1))
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        proc.kill() if proc.poll() is None else None
    text = b"".join(first).decode()
    assert text.splitlines() == [
        "2026-11-23 10:00:00.000 INFO  shift.created  shift_id=1",
        "2026-11-23 10:00:01.000 INFO  shift.created  shift_id=2",
        "2026-11-23 10:00:02.000 INFO  shift.assigned  shift_id=2 employee_id=7",
    ]
    assert proc.returncode == 0, err
