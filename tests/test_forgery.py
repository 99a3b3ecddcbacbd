"""Forged lines: with EVENTLOG_HMAC_KEY no line that cannot be verified passes
(a stream may start mid-way only at a keyed checkpoint), and ``event_signal``
cannot write the names of eventlog's own receivers.

The logs are written by the real pipeline and sink (rotation, gzip, several
OS processes where it matters) and then appended to the way an intruder
without the key would.
"""

from __future__ import annotations

import io
import time

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eventlog.core import integrity as _integrity
from eventlog.core.files import rotated_files
from eventlog.read import verify as _verify
from eventlog.read.events import iter_events, state_at
from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from eventlog.write.sink import FileSink
from speedy.models import Employees
from tests.helpers import all_lines, child_env, read, run_writers

KEY = "s3cret"


def write_events(count: int, *, pad: int = 100) -> None:
    for n in range(count):
        event_signal.send(sender="t", n=n, message="hello world", pad="p" * pad)
    _pipeline.flush()


def run_verify(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("eventlog", "verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + err.getvalue() + f"CommandError: {exc}\n"
    return 0, out.getvalue() + err.getvalue()


def fake_line(stream: str = "evil-1-deadbeef", seq: int = 7) -> bytes:
    """A line as someone without the key would append it: any stream, a seq
    past 1, some hash."""
    body = orjson.dumps(
        {
            "timestamp": "2026-01-01T00:00:00.000000Z",
            "level": "info",
            "event": "model.updated",
            "event_id": "019b0000-0000-7000-8000-000000000000",
            "schema_version": 1,
            "model": "speedy.employees",
            "object_id": "1",
            "changes": {"first_name": {"old": "A", "new": "Forged"}},
            "stream": stream,
            "seq": seq,
        }
    )
    return _integrity.seal(body, b"0" * 64)


# -- appended fake streams -------------------------------------------------------------


def test_an_appended_fake_stream_fails_verify_under_a_key(eventlog_dir, settings):
    """With a key, a line of a made-up stream with seq 7 is a failure (exit 1)
    naming the file and line, not a mid-stream start."""
    settings.EVENTLOG_HMAC_KEY = KEY
    write_events(5)
    live = eventlog_dir / "events.jsonl"
    with live.open("ab") as f:
        f.write(fake_line())
    status, output = run_verify("--file", "events")
    assert status == 1, output
    assert f"{live}:6: " in output
    assert "without a keyed checkpoint" in output
    assert "not a failure" not in output


def test_an_appended_fake_stream_is_only_a_mid_stream_start_without_a_key(eventlog_dir):
    """Without a key nothing can tell a fake stream from a pruned one: it is
    reported as starting mid-stream (the documented limit)."""
    write_events(5)
    with (eventlog_dir / "events.jsonl").open("ab") as f:
        f.write(fake_line())
    report = _verify.verify(eventlog_dir, ["events.jsonl"])
    assert report.ok
    assert [s.stream for s in report.mid_stream] == ["evil-1-deadbeef"]


def test_a_forged_checkpoint_fails_under_a_key(eventlog_dir, settings):
    """A checkpoint line made up by someone without the key (an unkeyed
    SHA-256 chain, or a copied real checkpoint with a changed stream) fails."""
    settings.EVENTLOG_HMAC_KEY = KEY
    write_events(3)
    body = orjson.dumps(
        {
            "timestamp": "2026-01-01T00:00:00.000000Z",
            "level": "info",
            "event": "eventlog.checkpoint",
            "event_id": "019b0000-0000-7000-8000-000000000001",
            "schema_version": 1,
            "log": "events.jsonl",
            "prev": "1" * 64,
            "stream": "evil-2-deadbeef",
            "seq": 9,
        }
    )
    forged = _integrity.seal(body, _integrity.chain(b"1" * 64, body))
    with (eventlog_dir / "events.jsonl").open("ab") as f:
        f.write(forged + fake_line("evil-2-deadbeef", 10))
    report = _verify.verify(eventlog_dir, ["events.jsonl"], key=KEY.encode())
    assert [(p.lineno, p.stream) for p in report.problems] == [(4, "evil-2-deadbeef")]


def test_a_checkpoint_copied_into_the_other_log_fails_under_a_key(eventlog_dir, settings):
    """A real keyed checkpoint names its log: copied with the lines after it
    from events.jsonl into django.jsonl it does not verify there."""
    settings.EVENTLOG_HMAC_KEY = KEY
    settings.EVENTLOG_MAX_BYTES = 3_000
    settings.EVENTLOG_BACKUP_COUNT = 1000
    write_events(60)
    rotated = rotated_files(eventlog_dir / "events.jsonl")
    copied = all_lines(eventlog_dir)
    start = next(i for i, line in enumerate(copied) if b'"eventlog.checkpoint"' in line)
    for old in rotated:
        old.unlink()
    (eventlog_dir / "django.jsonl").write_bytes(b"".join(copied[start : start + 3]))
    report = _verify.verify(eventlog_dir, ["django.jsonl"], key=KEY.encode())
    assert not report.ok
    assert report.problems[0].lineno == 1


# -- pruned streams still verify ------------------------------------------------------


def test_a_pruned_stream_starts_at_its_keyed_checkpoint_and_passes(eventlog_dir, settings):
    """With a key, every file a stream continues in begins (for that stream)
    with a keyed checkpoint: after the oldest files are pruned the log still
    verifies, as a mid-stream start at line 1 of the oldest file left."""
    settings.EVENTLOG_HMAC_KEY = KEY
    settings.EVENTLOG_MAX_BYTES = 4_000
    settings.EVENTLOG_BACKUP_COUNT = 1000
    write_events(200)
    rotated = rotated_files(eventlog_dir / "events.jsonl")
    assert len(rotated) >= 5
    report = _verify.verify(eventlog_dir, ["events.jsonl"], key=KEY.encode())
    assert report.ok, [str(p) for p in report.problems]
    assert report.mid_stream == []
    for old in rotated[:3]:
        old.unlink()
    status, output = run_verify("--file", "events")
    assert status == 0, output
    assert f"{rotated[3]}:1: stream " in output
    assert "(1 starting mid-stream): OK" in output


def test_an_edited_checkpoint_fails_under_a_key(eventlog_dir, settings):
    """The checkpoint's own bytes are covered by the key: changing its `prev`
    after pruning fails."""
    settings.EVENTLOG_HMAC_KEY = KEY
    settings.EVENTLOG_MAX_BYTES = 4_000
    settings.EVENTLOG_BACKUP_COUNT = 1000
    write_events(100)
    rotated = rotated_files(eventlog_dir / "events.jsonl")
    rotated[0].unlink()
    live = eventlog_dir / "events.jsonl"
    lines = live.read_bytes().splitlines(keepends=True)
    assert b'"eventlog.checkpoint"' in lines[0]
    value = orjson.loads(lines[0])
    lines[0] = lines[0].replace(value["prev"].encode(), b"2" * 64)
    live.write_bytes(b"".join(lines))
    for old in rotated[1:]:
        old.unlink()
    report = _verify.verify(eventlog_dir, ["events.jsonl"], key=KEY.encode())
    assert [p.lineno for p in report.problems] == [1]


def test_no_checkpoint_lines_without_a_key_and_none_per_line(eventlog_dir, settings):
    """Checkpoints are per file and stream, and only under a key: an unrotated
    keyed log of one stream has none, an unkeyed rotated log has none."""
    settings.EVENTLOG_MAX_BYTES = 4_000
    settings.EVENTLOG_BACKUP_COUNT = 1000
    write_events(100)
    assert not any(b"eventlog.checkpoint" in line for line in all_lines(eventlog_dir))
    settings.EVENTLOG_HMAC_KEY = KEY
    settings.EVENTLOG_MAX_BYTES = 0
    write_events(100)
    keyed = [line for line in all_lines(eventlog_dir) if b"s3cret" not in line]
    assert sum(b"eventlog.checkpoint" in line for line in keyed) == 0


@pytest.mark.slow
def test_several_processes_rotating_under_a_key_verify_after_pruning(tmp_path):
    """4 OS processes share the file with rotation every 16 KB under a key:
    each stream's first line in each file is its checkpoint; the log verifies
    whole and with its oldest files pruned."""
    logs = tmp_path / "logs"
    env = child_env(
        logs,
        EVENTLOG_MAX_BYTES="16384",
        EVENTLOG_BACKUP_COUNT="10000",
        EVENTLOG_HMAC_KEY=KEY,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    run_writers(env, processes=4, count=1000)
    report = _verify.verify(logs, ["events.jsonl"], key=KEY.encode())
    assert report.ok, [str(p) for p in report.problems]
    assert report.streams == 4
    assert report.mid_stream == []
    rotated = rotated_files(logs / "events.jsonl")
    assert len(rotated) > 10
    live = logs / "events.jsonl"  # absent when the last line rotated it away
    for path in [*rotated, *([live] if live.exists() else [])]:
        seen: set[str] = set()
        for line in all_lines_of(path):
            value = orjson.loads(line)
            if value["stream"] not in seen:
                seen.add(value["stream"])
                assert value["seq"] == 1 or value["event"] == "eventlog.checkpoint", (path, value)
    for old in rotated[: len(rotated) // 2]:
        old.unlink()
    report = _verify.verify(logs, ["events.jsonl"], key=KEY.encode())
    assert report.ok, [str(p) for p in report.problems]
    assert len(report.mid_stream) >= 1


def all_lines_of(path):
    import gzip

    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return data.splitlines()


def test_a_checkpoint_follows_a_rename_by_another_tool(tmp_path):
    """A live file renamed away by logrotate: the stream's first line in the
    new file is its checkpoint, and the new file alone verifies."""
    path = tmp_path / "events.jsonl"
    sink = FileSink(path, hmac_key=KEY.encode())
    sink.write(b'{"event":"a","n":1}')
    sink.write(b'{"event":"a","n":2}')
    path.rename(tmp_path / "old.jsonl")
    time.sleep(1.2)  # past the sink's recheck of renames made by others
    sink.write(b'{"event":"a","n":3}')
    sink.close()
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [line["event"] for line in lines] == ["eventlog.checkpoint", "a"]
    assert [line["seq"] for line in lines] == [3, 4]
    report = _verify.verify(tmp_path, ["events.jsonl"], key=KEY.encode())
    assert report.ok, [str(p) for p in report.problems]


def test_lines_dropped_before_a_checkpoint_are_reported_missing_after_pruning(tmp_path):
    """A directory in the way of the live file, a small backlog: lines are
    dropped, then the file comes back. Once the file before is pruned, the
    checkpoint's prev_seq still shows the lines lost before it."""
    import os

    path = tmp_path / "events.jsonl"
    sink = FileSink(path, hmac_key=KEY.encode(), backlog_bytes=60)
    sink.write(b'{"event":"a","n":1}')
    path.rename(tmp_path / "events.jsonl.2026-01-01T00-00-00.000000Z")
    os.mkdir(path)  # the live name is taken: writes fail, the backlog overflows
    time.sleep(1.2)  # past the sink's recheck of renames made by others
    for n in range(2, 8):
        sink.write(b'{"event":"a","n":%d}' % n)
    os.rmdir(path)
    sink.write(b'{"event":"a","n":8}')
    sink.close()
    whole = _verify.verify(tmp_path, ["events.jsonl"], key=KEY.encode())
    assert not whole.ok
    assert any("missing" in str(p) for p in whole.problems), [str(p) for p in whole.problems]
    (tmp_path / "events.jsonl.2026-01-01T00-00-00.000000Z").unlink()
    pruned = _verify.verify(tmp_path, ["events.jsonl"], key=KEY.encode())
    assert not pruned.ok
    assert any("missing line(s) 2.." in str(p) for p in pruned.problems), [
        str(p) for p in pruned.problems
    ]


def test_a_stream_whose_first_lines_were_all_dropped_reports_them_missing(tmp_path):
    """Nothing written before the first successful open (a FIFO in the way):
    the checkpoint has no chain head (prev "", prev_seq 0) and verify says
    which lines were lost, not that the key is wrong."""
    import os

    path = tmp_path / "events.jsonl"
    os.mkfifo(path)
    sink = FileSink(path, hmac_key=KEY.encode(), backlog_bytes=60)
    for n in range(1, 7):
        sink.write(b'{"event":"a","n":%d}' % n)
    path.unlink()
    sink.write(b'{"event":"a","n":7}')
    sink.close()
    report = _verify.verify(tmp_path, ["events.jsonl"], key=KEY.encode())
    messages = [str(p) for p in report.problems]
    assert not report.ok
    assert any("missing line(s) 1.." in m for m in messages), messages
    assert not any("without a keyed checkpoint" in m for m in messages), messages
    assert not any("wrong or missing" in n for n in report.notes), report.notes


# -- reserved names through event_signal ------------------------------------------------


RESERVED = [
    "model.updated",
    "model.created",
    "Model.Deleted",
    "state.changed",
    "auth.login",
    "http.request",
    "eventlog.error",
    "eventlog.checkpoint",
]


@pytest.mark.parametrize("name", RESERVED)
def test_event_signal_cannot_emit_reserved_names(eventlog_dir, name):
    """A reserved name sent through event_signal is written as app.event with
    the requested name under `reserved_event`: kept, never lost, never a
    line of eventlog's own."""
    event_signal.send(
        sender="t",
        event=name,
        model="speedy.employees",
        object_id="1",
        changes={"first_name": {"old": "A", "new": "Forged"}},
    )
    lines = [
        orjson.loads(line) for line in (eventlog_dir / "events.jsonl").read_bytes().splitlines()
    ]
    assert len(lines) == 1
    assert lines[0]["event"] == "app.event"
    assert lines[0]["reserved_event"] == name
    assert lines[0]["changes"] == {"first_name": {"old": "A", "new": "Forged"}}


@pytest.mark.django_db(transaction=True)
def test_history_and_restore_ignore_a_reserved_name_sent_through_event_signal(eventlog_dir):
    """A model.updated sent through event_signal does not change the state
    history --as-of and restore rebuild."""
    import datetime as dt

    employee = Employees.objects.create(
        first_name="Real", last_name="L", age=30, date_of_birth=dt.date(1990, 1, 1)
    )
    event_signal.send(
        sender="t",
        event="model.updated",
        model="speedy.employees",
        object_id=str(employee.pk),
        changes={"first_name": {"old": "Real", "new": "Forged"}},
    )
    _pipeline.flush()
    names = [e["event"] for _raw, e in iter_events(eventlog_dir)]
    assert "model.updated" not in names
    state = state_at(eventlog_dir, "speedy.employees", str(employee.pk))
    assert state.fields["first_name"] == "Real"


def test_ordinary_names_still_pass(eventlog_dir):
    """Names outside the reserved ones are written as given."""
    for name in ("modelx.updated", "models.updated", "shift.created", "statechanged"):
        event_signal.send(sender="t", event=name)
    lines = [
        orjson.loads(line) for line in (eventlog_dir / "events.jsonl").read_bytes().splitlines()
    ]
    assert [line["event"] for line in lines] == [
        "modelx.updated",
        "models.updated",
        "shift.created",
        "statechanged",
    ]
    assert not any("reserved_event" in line for line in lines)


def test_state_changed_cannot_forge_another_field_or_object(eventlog_dir, transactional_db):
    """``state_changed`` is public: a send naming a field that does not hold
    the target, or other model/object_id keys, must not change the state
    history rebuilds (the line is written, as app.event or with the keys
    moved under extra)."""
    import datetime as dt

    from eventlog.reader import state_at
    from eventlog.signals import state_changed
    from speedy.models import Employees

    real = Employees.objects.create(
        first_name="Real", last_name="L", age=30, date_of_birth=dt.date(1990, 1, 1)
    )
    other = Employees.objects.create(first_name="Other", last_name="O", age=40)
    state_changed.send(
        sender=Employees,
        instance=real,
        field="first_name",
        source="Real",
        target="Forged",
        transition="x",
    )
    state_changed.send(
        sender=Employees,
        instance=real,
        field="first_name",
        source="X",
        target="Real",
        transition="x",
        model="speedy.employees",
        object_id=str(other.pk),
    )
    assert state_at(eventlog_dir, "speedy.employees", str(real.pk)).fields["first_name"] == "Real"
    assert state_at(eventlog_dir, "speedy.employees", str(other.pk)).fields["first_name"] == "Other"
    lines = [
        e for e in read(eventlog_dir) if e.get("reserved_event") or e["event"] == "state.changed"
    ]
    assert [e["event"] for e in lines] == ["app.event", "state.changed"]
    assert lines[0]["reserved_event"] == "state.changed"
    assert lines[1]["object_id"] == str(real.pk)
    assert lines[1]["extra"] == {"model": "speedy.employees", "object_id": str(other.pk)}
