"""The file sink: rotation, compression, retention, several real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

import orjson
import pytest

from eventlog.core.files import rotated_files
from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from eventlog.write import sink as _sink
from eventlog.write.sink import FileSink
from tests.helpers import ROOT, all_lines, assert_chains, child_env, run_writers


def test_size_rotation_compresses_and_keeps_every_line_in_order(eventlog_dir, settings):
    """Past EVENTLOG_MAX_BYTES the live file is renamed to a name that sorts by age and
    gzipped off the hot path; reading rotated then live files gives every line once, in order."""
    settings.EVENTLOG_MAX_BYTES = 20_000
    settings.EVENTLOG_BACKUP_COUNT = 100
    for n in range(400):
        event_signal.send(sender="t", n=n, pad="p" * 100)
    _pipeline.flush()
    rotated = rotated_files(eventlog_dir / "events.jsonl")
    assert len(rotated) >= 5
    assert all(p.name.endswith("Z.gz") or p.name.endswith(".gz") for p in rotated)
    assert [p.name for p in rotated] == sorted(p.name for p in rotated)
    lines = all_lines(eventlog_dir)
    assert [orjson.loads(x)["n"] for x in lines] == list(range(400))
    assert_chains(lines)
    for path in rotated:
        assert path.stat().st_mode & 0o777 == 0o640


def test_backup_count_keeps_only_the_newest_rotated_files(eventlog_dir, settings):
    """Only EVENTLOG_BACKUP_COUNT rotated files are kept; the oldest go first."""
    settings.EVENTLOG_MAX_BYTES = 5_000
    settings.EVENTLOG_BACKUP_COUNT = 2
    for n in range(300):
        event_signal.send(sender="t", n=n, pad="p" * 100)
        _pipeline.flush()
    rotated = rotated_files(eventlog_dir / "events.jsonl")
    assert len(rotated) == 2
    kept = [orjson.loads(x)["n"] for x in all_lines(eventlog_dir)]
    assert kept == list(range(kept[0], 300))  # a contiguous tail: the oldest were pruned


def test_a_line_is_never_split_across_files(eventlog_dir, settings):
    """Every file, rotated or live, holds whole newline-terminated JSON lines only."""
    settings.EVENTLOG_MAX_BYTES = 3_000
    for n in range(100):
        event_signal.send(sender="t", n=n, pad="x" * 700)
    _pipeline.flush()
    for line in all_lines(eventlog_dir):
        assert line.endswith(b"\n")
        orjson.loads(line)


@pytest.mark.slow
def test_several_processes_rotating_lose_and_duplicate_nothing(tmp_path):
    """4 OS processes x 3,000 lines with rotation every 64 KB: every line arrives
    exactly once, whole, and each process's stream is gap-free and chained."""
    logs = tmp_path / "logs"
    env = child_env(
        logs,
        EVENTLOG_MAX_BYTES="65536",
        EVENTLOG_BACKUP_COUNT="10000",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    run_writers(env, processes=4, count=3000)
    # Rotations done by the last writers may still be uncompressed: the reader takes both.
    lines = all_lines(logs)
    parsed = [orjson.loads(x) for x in lines]
    assert len(parsed) == 12_000
    assert Counter((p["sender"], p["n"]) for p in parsed) == Counter(
        {(f"w{i}", n): 1 for i in range(4) for n in range(3000)}
    )
    assert len(rotated_files(logs / "events.jsonl")) > 10
    assert_chains(lines)


def test_an_external_rename_is_followed(tmp_path):
    """When logrotate renames the live file, the next line goes to a new file at the path."""
    path = tmp_path / "events.jsonl"
    sink = FileSink(path)
    sink.write(b'{"n":1}')
    path.rename(tmp_path / "events.jsonl.1")
    sink.write(b'{"n":2}')
    assert orjson.loads(path.read_bytes())["n"] == 2
    assert orjson.loads((tmp_path / "events.jsonl.1").read_bytes())["n"] == 1


def test_a_symlink_planted_at_the_live_path_is_not_followed(tmp_path, capfd):
    """A symlink at the live path is refused (O_NOFOLLOW): its target is never written."""
    target = tmp_path / "victim"
    target.write_bytes(b"")
    (tmp_path / "events.jsonl").symlink_to(target)
    sink = FileSink(tmp_path / "events.jsonl")
    sink.write(b'{"n":1}')
    assert target.read_bytes() == b""
    assert sink.stats.failures == 1
    assert "cannot write" in capfd.readouterr().err


def test_rotated_files_lists_only_the_sinks_own_names_in_age_order(tmp_path):
    """Foreign siblings are ignored, -N suffixes sort numerically, and a file
    present both plain and gzipped is listed once, as the .gz."""
    live = tmp_path / "events.jsonl"
    names = [
        "events.jsonl.2026-01-01T00-00-00.000001Z.gz",
        "events.jsonl.2026-01-01T00-00-00.000001Z-2",
        "events.jsonl.2026-01-01T00-00-00.000001Z-10",
        "events.jsonl.2026-01-02T00-00-00.000000Z",
        "events.jsonl.2026-01-02T00-00-00.000000Z.gz",
        "events.jsonl.bak",
        "events.jsonl.2026-01-03T00-00-00.000000Z.gz.123.456.tmp",
        "events.jsonl.swp",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in rotated_files(live)] == [
        "events.jsonl.2026-01-01T00-00-00.000001Z.gz",
        "events.jsonl.2026-01-01T00-00-00.000001Z-2",
        "events.jsonl.2026-01-01T00-00-00.000001Z-10",
        "events.jsonl.2026-01-02T00-00-00.000000Z.gz",
    ]


def test_a_failure_report_that_writes_to_the_same_sink_does_not_deadlock(tmp_path):
    """The failure callback runs outside the sink's lock, so a report routed
    back into the failing sink (a handler on the same file) cannot hang."""
    import threading

    blocker = tmp_path / "blocked"
    blocker.write_text("")
    reports: list[str] = []

    def report(sink: FileSink, message: str) -> None:
        reports.append(message)
        sink.write(b'{"event":"report"}')

    sink = FileSink(blocker / "events.jsonl", on_failure=report)
    done = threading.Event()

    def run() -> None:
        sink.write(b'{"n":1}')
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(10), "write() deadlocked while reporting its own failure"
    assert len(reports) == 1  # the nested failure is within the same burst
    assert sink.stats.backlog == 2


TORN = """
import resource, sys
from pathlib import Path
from eventlog.write.sink import FileSink
sink = FileSink(Path(sys.argv[1]), max_bytes=int(sys.argv[2]))
sink.write(b'{"n":1}')
size = Path(sys.argv[1]).stat().st_size
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, resource.RLIM_INFINITY))
sink.write(b'{"n":2,"pad":"' + b"x" * 400 + b'"}')  # only 100 bytes fit: torn
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
sink.write(b'{"n":3}')
"""


@pytest.mark.slow
@pytest.mark.parametrize("max_bytes", [0, 10_000_000], ids=["general path", "per-line path"])
def test_a_short_write_on_a_full_disk_never_glues_lines_together(tmp_path, max_bytes):
    """RLIMIT_FSIZE cuts a line mid-write: the fragment stays a line of its own
    and the retried line and the next one are whole and in order (also on
    the per-line path size rotation takes)."""
    import signal

    path = tmp_path / "events.jsonl"
    result = subprocess.run(
        [sys.executable, "-c", TORN, str(path), str(max_bytes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN),
    )
    assert result.returncode == 0, result.stderr
    assert "cannot write" in result.stderr
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    parsed = []
    for line in lines[:-1]:
        try:
            parsed.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            assert line.startswith(b'{"n":2')  # the torn fragment, alone on its line
    assert [p["n"] for p in parsed] == [1, 2, 3]
    assert [p["seq"] for p in parsed] == [1, 2, 3]


def test_a_fork_without_python_hooks_starts_a_new_stream(tmp_path):
    """A process whose pid changed without at-fork hooks (uWSGI's default)
    notices at the next write and starts its own stream from seq 1."""
    sink = FileSink(tmp_path / "events.jsonl")
    sink.write(b'{"n":1}')
    first = sink.stream
    sink._pid = -1  # what a hook-less fork looks like from inside
    sink.write(b'{"n":2}')
    second = orjson.loads((tmp_path / "events.jsonl").read_bytes().splitlines()[1])
    assert second["stream"] != first
    assert second["seq"] == 1


def _lines_of(path):
    return [orjson.loads(x)["n"] for x in path.read_bytes().splitlines()]


def test_size_rotation_checks_the_shared_counter_not_lstat_per_line(tmp_path, monkeypatch):
    """With size rotation a writer does not stat the path for each line: it
    reads the rotation counter, and still follows another writer's rotation."""
    path = tmp_path / "events.jsonl"
    calls = []
    with monkeypatch.context() as m:
        # The clock stands still, so that a stall cannot bring the periodic recheck.
        now = _sink.time.monotonic()
        m.setattr(_sink.time, "monotonic", lambda: now)
        a = FileSink(path, max_bytes=2000)
        b = FileSink(path, max_bytes=2000)  # another process, as far as the file goes
        a.write(b'{"n":0}')
        b.write(b'{"n":1}')
        real_lstat = _sink.os.lstat
        m.setattr(_sink.os, "lstat", lambda p: calls.append(str(p)) or real_lstat(p))
        for n in range(2, 5):
            b.write(b'{"n":%d}' % n)
    assert str(path) not in calls
    a.write(b'{"n":5,"pad":"' + b"x" * 2000 + b'"}')  # over the limit: a rotates
    a.wait()
    b.write(b'{"n":6}')  # the counter moved: b checks, reopens, writes to the new file
    assert _lines_of(path) == [6]
    (rotated,) = rotated_files(path)
    assert rotated.name.endswith(".gz")
    assert (tmp_path / ".events.jsonl.gen").exists()
    assert [orjson.loads(x)["n"] for x in all_lines(tmp_path)] == [0, 1, 2, 3, 4, 5, 6]


def test_a_live_file_deleted_by_hand_is_noticed_within_the_recheck_time(tmp_path, monkeypatch):
    """A rename or deletion no eventlog process made does not move the counter;
    the writer's periodic lstat (at least every RECHECK_S) finds it."""
    path = tmp_path / "events.jsonl"
    sink = FileSink(path, max_bytes=1 << 20)
    sink.write(b'{"n":1}')
    path.unlink()
    now = _sink.time.monotonic()
    monkeypatch.setattr(_sink.time, "monotonic", lambda: now + _sink.RECHECK_S + 1)
    sink.write(b'{"n":2}')
    assert _lines_of(path) == [2]


def test_a_rename_the_counter_cannot_announce_is_compressed_only_after_the_recheck(
    tmp_path, monkeypatch
):
    """If the counter cannot move (its file unwritable), lines a writer still
    adds to the renamed file before its next lstat are kept: the file is
    compressed only once every writer has checked."""
    monkeypatch.setattr(_sink.Generation, "bump", lambda self: False)
    path = tmp_path / "events.jsonl"
    a, b = FileSink(path, max_bytes=300), FileSink(path, max_bytes=300)
    a.write(b'{"n":1}')
    b.write(b'{"n":2}')
    a.write(b'{"n":3,"pad":"' + b"x" * 300 + b'"}')  # a rotates; b is not told
    time.sleep(0.3)  # long enough for an immediate compression of the tiny file
    b.write(b'{"n":4}')  # b still trusts its descriptor: into the renamed file
    a.wait()
    b.write(b'{"n":5}')
    assert sorted(orjson.loads(x)["n"] for x in all_lines(tmp_path)) == [1, 2, 3, 4, 5]
