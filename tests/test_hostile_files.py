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

from eventlog.read import scan as _scan
from eventlog.reader import Filter, iter_events, log_files
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


def test_a_fifo_named_like_a_rotated_file_stops_neither_compression_nor_verify(tmp_path):
    """The compressor skips it, compresses and prunes the rest; verify and the
    readers report it in one line and read the rest."""
    os.mkfifo(tmp_path / ROTATED)
    plain = events(tmp_path / "events.jsonl.2020-01-02T00-00-00.000000Z", make_line("x", seq=1))
    code = f"""
from pathlib import Path
from eventlog.write.rotation import compress_and_prune
from eventlog.read.verify import verify
from eventlog.reader import iter_events
d = Path({str(tmp_path)!r})
compress_and_prune(d / "events.jsonl", keep=10)
report = verify(d)
print(report.lines, len(list(iter_events(d, on_bad_line=lambda *a: None))))
print(*report.problems, sep="\\n")
"""
    done = run_child(code)
    assert done.returncode == 0, done.stderr
    counts, *problems = done.stdout.strip().split("\n")
    assert counts.split() == ["1", "1"]
    assert f"{tmp_path / ROTATED}: cannot open: not a regular file but a FIFO" in problems
    assert not plain.exists()
    assert (tmp_path / (plain.name + ".gz")).is_file()
    assert (tmp_path / ROTATED).is_fifo()


def test_a_fifo_at_the_live_file_is_one_line_of_a_readers_report(tmp_path):
    os.mkfifo(tmp_path / "events.jsonl")
    code = f"""
from eventlog.read.verify import verify
report = verify({str(tmp_path)!r})
print(report.ok, [str(p) for p in report.problems])
"""
    done = run_child(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("False [")
    assert "not a regular file" in done.stdout


# -- symbolic links ------------------------------------------------------------------


def test_a_symlink_named_like_a_rotated_file_is_not_followed(tmp_path):
    """Neither the compressor nor a reader reads what the link points at."""
    private = tmp_path / "private"
    private.mkdir()
    secret = events(private / "secret", b'{"timestamp":"x","password":"hunter2"}\n')
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / ROTATED).symlink_to(secret)
    events(logs / "events.jsonl", make_line("y"))
    compress_and_prune(logs / "events.jsonl", keep=10)
    assert {p.name for p in logs.iterdir()} == {ROTATED, "events.jsonl"}
    assert (logs / ROTATED).is_symlink()
    assert secret.read_bytes().startswith(b'{"timestamp":"x"')
    reports: list[tuple[Path, int, str]] = []
    found = list(iter_events(logs, on_bad_line=lambda *a: reports.append(a)))
    assert [raw for raw, _ in found] == [make_line("y")]
    assert reports == [(logs / ROTATED, 0, "cannot open: a symbolic link, not followed")]


def test_a_symlink_at_the_live_file_is_reported_and_not_read(tmp_path):
    secret = events(tmp_path / "secret", make_line("z", password="hunter2"))
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "events.jsonl").symlink_to(secret)
    reports: list[tuple[Path, int, str]] = []
    found = list(iter_events(logs, on_bad_line=lambda *a: reports.append(a)))
    assert found == []
    assert reports == [(logs / "events.jsonl", 0, "cannot open: a symbolic link, not followed")]


def test_a_rotated_file_swapped_for_a_symlink_after_listing_is_not_followed(tmp_path):
    """Between listing and opening: the open itself refuses the link."""
    secret = events(tmp_path / "secret", make_line("z", password="hunter2"))
    listed = events(tmp_path / ROTATED, make_line("a"))
    [path] = log_files(tmp_path)
    listed.unlink()
    listed.symlink_to(secret)
    reports: list[tuple[Path, int, str]] = []
    from eventlog.read.lines import numbered_lines

    assert list(numbered_lines(path, lambda *a: reports.append(a))) == []
    assert [r[2] for r in reports] == ["cannot open: a symbolic link, not followed"]


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


def test_verify_memory_stays_bounded_on_a_file_of_empty_lines(tmp_path):
    """A few KB of gzip holding a million empty lines: every line is counted
    as a problem, the report keeps the first ones in detail."""
    lines = 1_000_000
    (tmp_path / (ROTATED + ".gz")).write_bytes(gzip.compress(b"\n" * lines, 9))
    code = f"""
import resource
from eventlog.read.verify import verify
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = verify({str(tmp_path)!r})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(report.problem_count, len(report.problems), report.files[0].problems, after - before)
print(report.summary())
"""
    done = run_child(code)
    assert done.returncode == 0, done.stderr
    counted, kept, in_file, grown_kib = (int(x) for x in done.stdout.split("\n")[0].split())
    assert counted == in_file == lines
    assert 0 < kept < 10_000
    assert grown_kib < 50 * 1024, f"verify grew by {grown_kib} KiB"
    assert f"{lines} problem(s) in 1 file(s)" in done.stdout


def test_history_counts_line_numbers_of_bad_candidate_lines_in_one_pass(tmp_path, monkeypatch):
    """Each bad line that matches the filter is reported with its line number,
    and the file is not read again from its start for each of them."""
    good = make_line("2026-11-23T10:00:00.000000Z", model="app.thing", object_id="7")
    bad = b'{"model":"app.thing","object_id":"7", torn\n'
    lines = [good if n % 3 else bad for n in range(3000)]
    events(tmp_path / "events.jsonl", *lines)
    opened = 0
    real = _scan.open_file

    def counting(path: Path):  # type: ignore[no-untyped-def]
        nonlocal opened
        opened += 1
        return real(path)

    monkeypatch.setattr(_scan, "open_file", counting)
    reports: list[tuple[Path, int, str]] = []
    flt = Filter(model="app.thing", object_id="7")
    found = list(iter_events(tmp_path, filter=flt, on_bad_line=lambda *a: reports.append(a)))
    assert len(found) == 2000
    assert [r[1] for r in reports] == [n + 1 for n in range(0, 3000, 3)]
    assert opened <= 3


def test_tail_follow_does_not_block_on_a_fifo_at_the_live_file(tmp_path):
    """``tail -f`` reports the FIFO once and keeps looking, without blocking."""
    os.mkfifo(tmp_path / "events.jsonl")
    code = f"""
from eventlog.read.tail import follow
reports = []
polls = iter(range(5))
found = list(follow({str(tmp_path)!r}, on_bad_line=lambda *a: reports.append(a[2]),
                    interval=0.01, stop=lambda: next(polls, None) is None))
print(len(found), reports)
"""
    done = run_child(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0 ['cannot open: not a regular file but a FIFO']"
