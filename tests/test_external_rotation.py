"""EVENTLOG_ROTATION = "external": the sink never rotates and follows the
renames of logrotate (emulated, and the real binary) while processes write."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from eventlog.core.files import rotated_files
from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from eventlog.write.rotation import rotated_name
from eventlog.write.sink import FileSink
from tests.helpers import ROOT, all_lines, assert_chains, child_env, paced_writer
from tests.test_torture import verify


def test_external_mode_never_rotates_by_itself(settings, eventlog_dir):
    """With EVENTLOG_ROTATION "external", EVENTLOG_MAX_BYTES and the interval are
    ignored: the sink never renames the file."""
    settings.EVENTLOG_ROTATION = "external"
    settings.EVENTLOG_MAX_BYTES = 1000
    settings.EVENTLOG_ROTATE_INTERVAL = 1
    for n in range(100):
        event_signal.send(sender="t", n=n, pad="p" * 100)
    _pipeline.flush()
    sink = _pipeline.get_sink("events.jsonl")
    assert isinstance(sink, FileSink)
    assert (sink.max_bytes, sink.rotate_interval_s) == (0, 0)
    assert rotated_files(eventlog_dir / "events.jsonl") == []
    assert (eventlog_dir / "events.jsonl").stat().st_size > 10_000


def start_writers(tmp_path: Path, logs: Path, count: int) -> list[subprocess.Popen[bytes]]:
    env = child_env(
        logs,
        EVENTLOG_ROTATION="external",
        EVENTLOG_MAX_BYTES="1000",  # ignored in external mode
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    return [
        subprocess.Popen(
            [sys.executable, "-c", paced_writer(1000, 0.25), f"w{i}", str(count)], cwd=ROOT, env=env
        )
        for i in range(4)
    ]


def assert_everything_once(logs: Path, writers: int, count: int) -> None:
    lines = all_lines(logs)
    parsed = [orjson.loads(x) for x in lines]
    assert Counter((p["sender"], p["n"]) for p in parsed) == Counter(
        {(f"w{i}", n): 1 for i in range(writers) for n in range(count)}
    )
    assert_chains(lines)
    result = verify(logs)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_renames_by_an_external_rotator_lose_and_duplicate_nothing(tmp_path):
    """4 processes write while the live file is renamed away every 20 ms (what
    logrotate does, without copytruncate): each writer notices the new inode
    and reopens; every line is in exactly one file, chains and verify hold."""
    logs = tmp_path / "logs"
    writers = start_writers(tmp_path, logs, 5000)
    live = logs / "events.jsonl"
    renames = 0
    while any(proc.poll() is None for proc in writers):
        time.sleep(0.02)
        if live.exists():
            os.rename(live, rotated_name(live))
            renames += 1
    assert all(proc.wait() == 0 for proc in writers)
    assert renames > 5
    assert len(rotated_files(live)) == renames  # none made by the sink itself
    assert_everything_once(logs, 4, 5000)


LOGROTATE_CONF = """\
{live} {{
    rotate 1000
    dateext
    dateformat .%Y-%m-%dT%H-%M-%S.000000Z
    nocreate
    compress
    delaycompress
    missingok
    notifempty
}}
"""


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("logrotate") is None,
    reason="logrotate is not installed (.ci/run installs it with apt-get)",
)
def test_real_logrotate_with_the_documented_stanza(tmp_path):
    """The README's logrotate stanza, run by the real logrotate (own state file)
    several times while 4 processes write: every line survives once, rotated
    files carry the sink's naming scheme, and verify is clean."""
    logs = tmp_path / "logs"
    live = logs / "events.jsonl"
    conf = tmp_path / "logrotate.conf"
    conf.write_text(LOGROTATE_CONF.format(live=live))
    writers = start_writers(tmp_path, logs, 8000)
    runs = 0
    env = {**os.environ, "TZ": "UTC"}
    writing = True
    while writing:
        writing = any(proc.poll() is None for proc in writers)
        time.sleep(1.05)  # dateext names have whole seconds
        if live.exists():  # after the writers ended, once more for their last lines
            subprocess.run(
                ["logrotate", "-f", "-s", str(tmp_path / "state"), str(conf)],
                check=True,
                env=env,
                capture_output=True,
            )
            runs += 1
    assert all(proc.wait() == 0 for proc in writers)
    assert runs >= 2
    rotated = rotated_files(live)
    assert len(rotated) == runs
    assert any(p.name.endswith(".gz") for p in rotated)  # delaycompress: all but the newest
    assert_everything_once(logs, 4, 8000)
