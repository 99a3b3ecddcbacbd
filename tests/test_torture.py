"""Torture tests of the file sink with real OS processes: many writers, fast
rotation, and writers killed with SIGKILL mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from eventlog.core.files import rotated_files
from tests.helpers import ROOT, WRITER, all_lines, assert_chains, child_env, run_writers

WRITERS = 8
EVENTS = 20_000


def verify(directory: Path) -> subprocess.CompletedProcess[str]:
    """``python manage.py eventlog verify --dir DIRECTORY``, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "manage.py", "eventlog", "verify", "--dir", str(directory)],
        cwd=ROOT,
        env=child_env(directory),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_eight_processes_rotating_every_100_kb_lose_duplicate_and_tear_nothing(tmp_path):
    """8 OS processes x 20,000 events through the real pipeline, rotating every
    100 KB (hundreds of rotations, gzip in the background): every event arrives
    exactly once, every line is whole, each stream is gap-free and chained, and
    ``manage.py eventlog verify`` agrees."""
    logs = tmp_path / "logs"
    env = child_env(
        logs,
        EVENTLOG_MAX_BYTES="100000",
        EVENTLOG_BACKUP_COUNT="1000000",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    run_writers(env, processes=WRITERS, count=EVENTS)
    lines = all_lines(logs)  # asserts every file ends with a newline
    parsed = [orjson.loads(x) for x in lines]  # raises on a torn line
    assert Counter((p["sender"], p["n"]) for p in parsed) == Counter(
        {(f"w{i}", n): 1 for i in range(WRITERS) for n in range(EVENTS)}
    )
    assert len({p["stream"] for p in parsed}) == WRITERS
    assert len(rotated_files(logs / "events.jsonl")) > 300
    assert_chains(lines)
    result = verify(logs)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_writers_killed_with_sigkill_leave_only_whole_lines_that_verify(tmp_path):
    """4 writers rotating every 20 KB are SIGKILLed mid-run (some mid-gzip):
    every line left in every file parses, each stream is gap-free up to where
    it stopped and ``verify`` is clean."""
    logs = tmp_path / "logs"
    env = child_env(
        logs,
        EVENTLOG_MAX_BYTES="20000",
        EVENTLOG_BACKUP_COUNT="1000000",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, f"w{i}", "10000000"], cwd=ROOT, env=env)
        for i in range(4)
    ]
    try:
        deadline = time.monotonic() + 120
        seen: set[int] = set()  # writers seen writing (a loaded machine starts them late)
        while time.monotonic() < deadline:
            try:
                live = (logs / "events.jsonl").read_bytes()
            except FileNotFoundError:
                live = b""
            seen.update(i for i in range(4) if f'"sender":"w{i}"'.encode() in live)
            if len(seen) == 4 and len(rotated_files(logs / "events.jsonl")) >= 40:
                break
            time.sleep(0.05)
    finally:
        for proc in writers:
            os.kill(proc.pid, signal.SIGKILL)
        for proc in writers:
            proc.wait(timeout=60)
    assert all(proc.returncode == -signal.SIGKILL for proc in writers)
    lines = all_lines(logs)
    parsed = [orjson.loads(x) for x in lines]
    by_sender = Counter(p["sender"] for p in parsed)
    assert set(by_sender) == {f"w{i}" for i in range(4)}
    for sender in by_sender:  # each writer's events: a gap-free prefix 0..k
        ns = sorted(p["n"] for p in parsed if p["sender"] == sender)
        assert ns == list(range(len(ns)))
    assert_chains(lines)
    result = verify(logs)
    assert result.returncode == 0, result.stdout + result.stderr
