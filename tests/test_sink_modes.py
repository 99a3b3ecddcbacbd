"""The sink's modes: durability policies, time-based rotation, age retention,
and their settings."""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson
import pytest

from eventlog import conf
from eventlog.conf import checks as _checks
from eventlog.conf.durability import WRITE, Durability
from eventlog.core.files import rotated_at, rotated_files
from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from eventlog.write.sink import FileSink
from tests.helpers import all_lines, assert_chains, child_env, run_writers


@pytest.fixture
def fsyncs(monkeypatch) -> list[int]:
    """Every descriptor os.fsync is called with (the real fsync still runs)."""
    calls: list[int] = []
    real = os.fsync

    def spy(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return calls


def same_file(fd: int, path: Path) -> bool:
    st, target = os.fstat(fd), path.stat()
    return (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino)


def test_the_default_write_policy_never_fsyncs(tmp_path, fsyncs):
    """EVENTLOG_DURABILITY "write": lines reach the page cache, no fsync() at all."""
    sink = FileSink(tmp_path / "events.jsonl")
    for n in range(5):
        sink.write(b'{"n":%d}' % n)
    sink.close()
    assert fsyncs == []


def test_the_fsync_policy_fsyncs_the_live_file_after_every_line(tmp_path, fsyncs):
    """EVENTLOG_DURABILITY "fsync": one fsync() of the live file per line."""
    path = tmp_path / "events.jsonl"
    sink = FileSink(path, durability=Durability(every_line=True))
    seen = []
    for n in range(5):
        sink.write(b'{"n":%d}' % n)
        seen.append(same_file(fsyncs[-1], path))
    assert len(fsyncs) == 5
    assert all(seen)


def test_the_interval_policy_fsyncs_in_the_background_and_at_close(tmp_path, fsyncs):
    """EVENTLOG_DURABILITY N ms: a background thread fsyncs after writes (once for
    a burst, not per line), and close() syncs what is still unsynced."""
    sink = FileSink(tmp_path / "events.jsonl", durability=Durability(interval_ms=20))
    for n in range(200):
        sink.write(b'{"n":%d}' % n)
    deadline = time.monotonic() + 30
    while not fsyncs and time.monotonic() < deadline:
        time.sleep(0.01)
    assert 1 <= len(fsyncs) < 200
    sink.close()  # its thread could otherwise fsync again while slow's are counted
    slow = FileSink(tmp_path / "django.jsonl", durability=Durability(interval_ms=3_600_000))
    slow.write(b'{"n":1}')
    before = len(fsyncs)
    slow.close()
    assert len(fsyncs) == before + 1


@pytest.mark.parametrize(
    ("value", "policy"),
    [
        (None, WRITE),
        ("write", WRITE),
        ("fsync", Durability(every_line=True)),
        (250, Durability(interval_ms=250)),
    ],
)
def test_durability_setting_reaches_the_sink(settings, value, policy):
    """EVENTLOG_DURABILITY is read by conf.durability() and given to the sink."""
    settings.EVENTLOG_DURABILITY = value
    assert conf.durability() == policy
    sink = _pipeline.get_sink("events.jsonl")
    assert isinstance(sink, FileSink)
    assert sink.durability == policy


def ids(settings_values: dict[str, object], settings) -> list[str]:
    for name, value in settings_values.items():
        setattr(settings, name, value)
    return [m.id or "" for m in _checks.check_settings() if m.id != "eventlog.W001"]


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("EVENTLOG_DURABILITY", "fsynk", "eventlog.E010"),
        ("EVENTLOG_DURABILITY", 0, "eventlog.E010"),
        ("EVENTLOG_DURABILITY", True, "eventlog.E010"),
        ("EVENTLOG_WRITER", "thread", "eventlog.E011"),
        ("EVENTLOG_QUEUE_SIZE", 0, "eventlog.E012"),
        ("EVENTLOG_QUEUE_FULL", "wait", "eventlog.E013"),
        ("EVENTLOG_ROTATION", "logrotate", "eventlog.E014"),
        ("EVENTLOG_ROTATE_INTERVAL", "weekly", "eventlog.E015"),
        ("EVENTLOG_ROTATE_INTERVAL", -5, "eventlog.E015"),
        ("EVENTLOG_MAX_AGE_DAYS", "30", "eventlog.E016"),
    ],
)
def test_invalid_sink_settings_are_reported_by_system_checks(settings, name, value, check_id):
    """Each invalid sink setting gives its own check id, and the accessor falls back."""
    assert ids({name: value}, settings) == [check_id]


def test_valid_sink_settings_pass_the_checks(settings):
    """The documented values pass; "hourly"/"daily" become seconds."""
    assert (
        ids(
            {
                "EVENTLOG_DURABILITY": 100,
                "EVENTLOG_WRITER": "background",
                "EVENTLOG_QUEUE_SIZE": 5,
                "EVENTLOG_QUEUE_FULL": "drop",
                "EVENTLOG_ROTATE_INTERVAL": "daily",
                "EVENTLOG_MAX_AGE_DAYS": 0.5,
            },
            settings,
        )
        == []
    )
    assert conf.rotate_interval() == 86400
    settings.EVENTLOG_ROTATE_INTERVAL = "hourly"
    assert conf.rotate_interval() == 3600


def test_external_rotation_warns_about_the_settings_it_ignores(settings):
    """W010: with EVENTLOG_ROTATION "external" the interval and max age are logrotate's."""
    assert ids({"EVENTLOG_ROTATION": "external", "EVENTLOG_MAX_AGE_DAYS": 7}, settings) == [
        "eventlog.W010"
    ]


# -- time-based rotation ------------------------------------------------------


def away_from_a_boundary(interval_s: int, margin_s: float = 2.0) -> None:
    """Wait until the real clock is ``margin_s`` inside its current period, so
    that no real period boundary falls between the test's writes."""
    while not margin_s < time.time() % interval_s < interval_s - margin_s:
        time.sleep(0.05)


def age(path: Path, seconds: float) -> None:
    """Set the file's mtime ``seconds`` into the past (its last write was then)."""
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_a_file_last_written_in_an_earlier_period_is_rotated_before_the_next_line(tmp_path):
    """EVENTLOG_ROTATE_INTERVAL: the first write of a new period renames the file
    holding the earlier period's lines, so the new line starts the new file."""
    path = tmp_path / "events.jsonl"
    sink = FileSink(path, rotate_interval_s=3600)
    away_from_a_boundary(3600)
    sink.write(b'{"n":1}')
    sink.write(b'{"n":2}')
    assert rotated_files(path) == []  # same period: no rotation
    age(path, 7200)
    sink.write(b'{"n":3}')
    sink.wait()
    (rotated,) = rotated_files(path)
    assert [orjson.loads(x)["n"] for x in all_lines(tmp_path)] == [1, 2, 3]
    assert [orjson.loads(x)["n"] for x in path.read_bytes().splitlines()] == [3]
    assert rotated.name.endswith(".gz")
    assert_chains(all_lines(tmp_path))


def test_only_one_of_several_writers_rotates_at_a_period_boundary(tmp_path):
    """Two writers (as two processes would) both write after the boundary: the
    first rotates, the second sees a file of the new period and writes to it."""
    path = tmp_path / "events.jsonl"
    a, b = FileSink(path, rotate_interval_s=60), FileSink(path, rotate_interval_s=60)
    away_from_a_boundary(60)
    a.write(b'{"n":1}')
    b.write(b'{"n":2}')
    age(path, 120)
    a.write(b'{"n":3}')
    b.write(b'{"n":4}')
    a.wait()
    assert len(rotated_files(path)) == 1
    assert [orjson.loads(x)["n"] for x in path.read_bytes().splitlines()] == [3, 4]


def test_an_empty_live_file_is_not_rotated_at_a_boundary(tmp_path):
    """A period with no lines makes no empty rotated file."""
    path = tmp_path / "events.jsonl"
    path.touch()
    age(path, 7200)
    FileSink(path, rotate_interval_s=3600).write(b'{"n":1}')
    assert rotated_files(path) == []


def test_rotated_files_older_than_max_age_are_pruned_when_a_sink_starts(tmp_path):
    """EVENTLOG_MAX_AGE_DAYS: rotated files whose rotation time is older go,
    newer ones and foreign files stay, even in a process that never rotates."""
    path = tmp_path / "events.jsonl"

    def stamp(days: float) -> str:
        t = time.gmtime(time.time() - days * 86400)
        return time.strftime("%Y-%m-%dT%H-%M-%S.000000Z", t)

    old = tmp_path / f"events.jsonl.{stamp(10)}.gz"
    recent = tmp_path / f"events.jsonl.{stamp(1)}.gz"
    foreign = tmp_path / "events.jsonl.bak"
    for f in (old, recent, foreign):
        f.write_bytes(b"")
    assert rotated_at(path, old) == pytest.approx(time.time() - 10 * 86400, abs=2)
    sink = FileSink(path, max_bytes=10_000_000, max_age_days=5)
    sink.write(b'{"n":1}')
    sink.wait()
    assert not old.exists()
    assert recent.exists()
    assert foreign.exists()


def test_time_rotation_and_max_age_from_settings(settings, eventlog_dir):
    """EVENTLOG_ROTATE_INTERVAL and EVENTLOG_MAX_AGE_DAYS reach the events sink."""
    settings.EVENTLOG_ROTATE_INTERVAL = "hourly"
    settings.EVENTLOG_MAX_AGE_DAYS = 30
    event_signal.send(sender="t", n=1)
    sink = _pipeline.get_sink("events.jsonl")
    assert isinstance(sink, FileSink)
    assert (sink.rotate_interval_s, sink.max_age_s) == (3600, 30 * 86400)
    age(eventlog_dir / "events.jsonl", 7200)
    event_signal.send(sender="t", n=2)
    _pipeline.flush()
    assert len(rotated_files(eventlog_dir / "events.jsonl")) == 1


@pytest.mark.slow
def test_processes_writing_with_fsync_policies_keep_every_line(tmp_path):
    """Real processes with EVENTLOG_DURABILITY "fsync" and "50" (ms) and rotation:
    every line arrives once and every chain holds."""
    for policy in ("fsync", "50"):
        logs = tmp_path / policy
        env = child_env(
            logs,
            EVENTLOG_DURABILITY=policy,
            EVENTLOG_MAX_BYTES="50000",
            EVENTLOG_BACKUP_COUNT="1000",
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        )
        run_writers(env, processes=2, count=300)
        lines = all_lines(logs)
        assert len(lines) == 600
        assert_chains(lines)
