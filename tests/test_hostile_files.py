"""Hostile entries in the log directory: FIFOs and symbolic links where log
files belong, a compression killed half-way, files crafted to blow up the
readers' memory or time.

Whatever could block runs in a child process with a timeout, so that a
regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from eventlog.reader import iter_events
from eventlog.write.rotation import compress_and_prune
from tests.helpers import ROOT, child_env, make_line

ROTATED = "events.jsonl.2020-01-01T00-00-00.000000Z"
TIMEOUT = 60


def run_child(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter; a child that blocks fails the test."""
    try:
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env or {**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the child process blocked")


def events(path: Path, *lines: bytes) -> Path:
    data = b"".join(lines)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


# -- FIFOs ---------------------------------------------------------------------------


def test_a_fifo_at_the_live_file_does_not_block_event_signal_send(tmp_path):
    """The sink fails the write (the line stays in the backlog, reported on
    stderr) and writes it once the FIFO is replaced by nothing."""
    os.mkfifo(tmp_path / "events.jsonl")
    code = f"""
import django, os, sys
django.setup()
from eventlog.signals import event_signal
from eventlog.write import pipeline
event_signal.send(sender="t", message="first")
os.unlink({str(tmp_path / "events.jsonl")!r})
event_signal.send(sender="t", message="second")
pipeline.flush()
"""
    done = run_child(code, child_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "not a regular file" in done.stderr
    with (tmp_path / "events.jsonl").open("rb") as written:
        messages = [orjson.loads(line).get("message") for line in written]
    assert [m for m in messages if m] == ["first", "second"]


def test_a_fifo_with_a_reader_at_the_live_file_is_refused(tmp_path):
    """With a reader on the FIFO the open succeeds: the sink still refuses to
    write lines into a pipe."""
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        code = f"""
from pathlib import Path
from eventlog.write.sink import FileSink
sink = FileSink(Path({str(fifo)!r}))
sink.write(b'{{"n":1}}')
print(sink.stats.failures, sink.stats.backlog)
"""
        done = run_child(code)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["1", "1"]
        assert "not a regular file" in done.stderr
        assert os.read(reader, 100) == b""  # nothing went into the pipe
    finally:
        os.close(reader)


# -- symbolic links ------------------------------------------------------------------


# -- a compression killed between writing X.gz and removing X -------------------------


def test_a_killed_compression_is_finished_by_the_next_pass(tmp_path):
    """Both X and X.gz: the next pass removes X (X.gz is complete: it was
    renamed into place whole), and readers read the lines once."""
    line = make_line("2020-01-01T00:00:00.000000Z")
    events(tmp_path / ROTATED, line)
    events(tmp_path / (ROTATED + ".gz"), line)
    events(tmp_path / "events.jsonl", make_line("2020-01-02T00:00:00.000000Z"))
    compress_and_prune(tmp_path / "events.jsonl", keep=10)
    assert not (tmp_path / ROTATED).exists()
    assert gzip.decompress((tmp_path / (ROTATED + ".gz")).read_bytes()) == line
    assert [raw for raw, _ in iter_events(tmp_path)] == [
        line,
        make_line("2020-01-02T00:00:00.000000Z"),
    ]


def test_pruning_a_file_left_by_a_killed_compression_deletes_both_forms(tmp_path):
    """Else the plain copy comes back as a rotated file once its .gz is gone."""
    line = make_line("2020-01-01T00:00:00.000000Z")
    events(tmp_path / ROTATED, line)
    events(tmp_path / (ROTATED + ".gz"), line)
    from eventlog.write.rotation import prune

    prune(tmp_path / "events.jsonl", keep=0)
    assert list(tmp_path.iterdir()) == []


# -- files crafted for the readers -----------------------------------------------------
