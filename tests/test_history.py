"""``eventlog history`` and ``eventlog restore``: an object's timeline, its state
at a time, and writing that state back.

The histories are real lines written through the pipeline (``_pipeline.emit``,
envelope, stream, seq and hash chain), at times set by a test clock, in the
shape of the contract's ``model.*`` catalogue.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models.signals import post_save

import eventlog
from eventlog import reader
from eventlog.read import events as read_events
from eventlog.read import history as _history
from eventlog.write import context as _context
from eventlog.write import pipeline as _pipeline
from speedy.models import Employees
from tests.helpers import ROOT, child_env, raw_lines

LABEL = "speedy.employees"


def ts(minute: int, second: int = 0) -> str:
    """A canonical timestamp on 2026-11-23 at 10:mm:ss."""
    return f"2026-11-23T10:{minute:02d}:{second:02d}.000000Z"


class Clock:
    """Sets the time the pipeline stamps lines with."""

    def __init__(self) -> None:
        self.stamp = ts(0)

    def ns(self) -> int:
        moment = datetime.strptime(self.stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        return int(moment.timestamp() * 1_000_000) * 1000


@pytest.fixture
def clock(monkeypatch) -> Iterator[Clock]:
    """Lines written in the test carry the clock's time (the envelope
    processor is configured with it)."""
    c = Clock()
    monkeypatch.setattr(_pipeline, "time_ns", c.ns)
    _pipeline.configure()
    yield c
    monkeypatch.undo()
    _pipeline.configure()


def emit_at(clock: Clock, stamp: str, event: str, actor: str = "alice", **fields: Any) -> None:
    """Write ``event`` through the pipeline at ``stamp``, by ``actor``."""
    clock.stamp = stamp
    reason = fields.pop("reason", None)
    bound = {"actor": actor} if reason is None else {"actor": actor, "reason": reason}
    with eventlog.context(**bound):
        _pipeline.emit(event, fields)


SNAPSHOT = {
    "id": 42,
    "first_name": "Ann",
    "last_name": "Lee",
    "address": "1 Main St",
    "age": 30,
    "date_of_birth": "1995-05-01",
}


def obj(object_id: str = "42", **fields: Any) -> dict[str, Any]:
    """The keys every model.* event of Employees ``object_id`` has."""
    return {"model": LABEL, "object_id": object_id, "object_repr": "Ann Lee", **fields}


@pytest.fixture
def employee_history(clock, eventlog_dir) -> Path:
    """Employee 42: created, moved, put on a shift, aged by a bulk update, a
    state-like field change, deleted; with events of employees 4 and 420 and
    other events between."""
    emit_at(clock, ts(0), "model.created", snapshot=SNAPSHOT, **obj())
    emit_at(clock, ts(1), "model.created", snapshot={**SNAPSHOT, "id": 4}, **obj("4"))
    emit_at(
        clock,
        ts(5),
        "model.updated",
        actor="bob",
        reason="moved house",
        changes={"address": {"old": "1 Main St", "new": "2 High St"}},
        **obj(),
    )
    emit_at(
        clock,
        ts(6),
        "model.updated",
        changes={"address": {"old": "1 Main St", "new": "elsewhere"}},
        **obj("420"),
    )
    emit_at(clock, ts(7), "shift.created", shift_id=7, shift_date="2026-11-24", employee_id=3)
    emit_at(
        clock,
        ts(10),
        "model.m2m_added",
        field="shifts",
        related_model="speedy.shifts",
        related_ids=["7", "8"],
        **obj(),
    )
    emit_at(
        clock,
        ts(11),
        "model.m2m_removed",
        field="shifts",
        related_model="speedy.shifts",
        related_ids=["8"],
        **obj(),
    )
    emit_at(
        clock,
        ts(15),
        "model.bulk_updated",
        actor="system",
        model=LABEL,
        object_ids=["41", "42"],
        count=2,
        changes={"41": {"age": {"old": 50, "new": 51}}, "42": {"age": {"old": 30, "new": 31}}},
    )
    final = {**SNAPSHOT, "address": "2 High St", "age": 31}
    emit_at(clock, ts(20), "model.deleted", actor="carol", snapshot=final, **obj())
    return eventlog_dir


def history(*args: str, **options: Any) -> str:
    """``eventlog history`` in-process; its stdout."""
    out = io.StringIO()
    call_command("eventlog", "history", *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


# -- the timeline ----------------------------------------------------------------------


def test_history_prints_the_objects_timeline(employee_history):
    """Every event about employee 42 and none about 4 or 420: snapshots,
    changes as old → new with actor and reason, m2m ids, this object's part of
    a bulk update."""
    assert history(LABEL, "42").splitlines() == [
        '2026-11-23 10:00:00.000 model.created  "Ann Lee"  by alice',
        "    id: 42",
        '    first_name: "Ann"',
        '    last_name: "Lee"',
        '    address: "1 Main St"',
        "    age: 30",
        '    date_of_birth: "1995-05-01"',
        '2026-11-23 10:05:00.000 model.updated  "Ann Lee"  by bob  reason="moved house"',
        '    address: "1 Main St" → "2 High St"',
        '2026-11-23 10:10:00.000 model.m2m_added  "Ann Lee"  by alice',
        '    shifts: + ["7","8"] (speedy.shifts)',
        '2026-11-23 10:11:00.000 model.m2m_removed  "Ann Lee"  by alice',
        '    shifts: - ["8"] (speedy.shifts)',
        "2026-11-23 10:15:00.000 model.bulk_updated  by system  (2 object(s))",
        "    age: 30 → 31",
        '2026-11-23 10:20:00.000 model.deleted  "Ann Lee"  by carol',
        "    id: 42",
        '    first_name: "Ann"',
        '    last_name: "Lee"',
        '    address: "2 High St"',
        "    age: 31",
        '    date_of_birth: "1995-05-01"',
    ]


def test_history_json_prints_the_objects_raw_lines(employee_history):
    """--json prints the object's lines byte for byte, in file order."""
    lines = raw_lines(employee_history)
    wanted = [
        line
        for line in lines
        if (parsed := orjson.loads(line)).get("object_id") == "42"
        or "42" in parsed.get("object_ids", [])
    ]
    assert history(LABEL, "42", "--json") == b"".join(wanted).decode()
    assert len(wanted) == 6


def test_history_of_an_object_without_events(employee_history):
    """An object the log never mentions: one line saying so, exit 0."""
    assert history(LABEL, "999") == f"No events about {LABEL}#999 in {employee_history}\n"


def test_history_decodes_only_lines_that_can_match(employee_history, monkeypatch):
    """The byte prefilter keeps lines of other objects and events from being
    JSON-decoded at all."""
    assert len(raw_lines(employee_history)) == 9
    decoded: list[bytes] = []
    real = read_events.orjson.loads

    def counting(data: bytes) -> Any:
        decoded.append(data)
        return real(data)

    monkeypatch.setattr(read_events.orjson, "loads", counting)
    history(LABEL, "42", "--json")
    monkeypatch.undo()
    assert len(decoded) == 6


def test_history_reads_rotated_files_and_several_directories(clock, tmp_path, settings):
    """Rotated gzip files are read, and with --dir repeated two hosts'
    directories are merged by time."""
    a, b = tmp_path / "host-a", tmp_path / "host-b"
    settings.EVENTLOG_MAX_BYTES = 1
    settings.EVENTLOG_DIR = str(a)
    emit_at(clock, ts(0), "model.created", snapshot=SNAPSHOT, **obj())
    emit_at(clock, ts(4), "model.updated", changes={"age": {"old": 30, "new": 32}}, **obj())
    _pipeline.flush()  # the compression of a's rotated files is done
    settings.EVENTLOG_DIR = str(b)
    emit_at(clock, ts(2), "model.updated", changes={"age": {"old": 30, "new": 31}}, **obj())
    assert any(p.name.endswith(".gz") for p in a.iterdir())
    out = history(LABEL, "42", "--dir", str(a), "--dir", str(b))
    heads = [line.split("  ")[0] for line in out.splitlines() if not line.startswith(" ")]
    assert heads == [
        "2026-11-23 10:00:00.000 model.created",
        "2026-11-23 10:02:00.000 model.updated",
        "2026-11-23 10:04:00.000 model.updated",
    ]
    assert "age: 31 → 32" not in out  # the lines are shown as logged
    state = reader.state_at([a, b], LABEL, "42")
    assert state.fields["age"] == 32


# -- the state at a time -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "fields"),
    [
        (ts(4), {"address": "1 Main St", "age": 30}),
        (ts(5), {"address": "2 High St", "age": 30}),  # inclusive
        (ts(16), {"address": "2 High St", "age": 31}),
    ],
)
def test_state_at_replays_snapshot_and_changes(employee_history, at, fields):
    """The state at a time: the creation snapshot with every change up to and
    including that time applied in order."""
    state = reader.state_at(employee_history, LABEL, "42", at=at)
    assert state.exists
    assert state.complete
    assert state.fields == {**SNAPSHOT, **fields}


def test_state_at_tracks_m2m_and_deletion(employee_history):
    """m2m ids as added and removed; after the deletion the row is gone and
    the deletion snapshot holds its last values."""
    assert reader.state_at(employee_history, LABEL, "42", at=ts(12)).m2m == {"shifts": ["7"]}
    gone = reader.state_at(employee_history, LABEL, "42")
    assert gone.deleted
    assert not gone.exists
    assert gone.fields["age"] == 31


def test_replay_state_changed_bulk_created_and_partial_history():
    """state.changed sets its field; a bulk creation without a snapshot and a
    history whose creation was pruned give a state that is not complete."""
    events = [
        {"event": "model.bulk_created", "object_ids": ["1", "2"], "count": 2},
        {"event": "state.changed", "field": "current_state", "source": "a", "target": "b"},
        {"event": "model.updated", "changes": {"failed_logins": {"old": 0, "new": 2}}},
    ]
    state = _history.replay(events, "speedy.userfsm", "1")
    assert state.exists
    assert not state.complete
    assert state.fields == {"current_state": "b", "failed_logins": 2}


def test_history_as_of_prints_the_rebuilt_state(employee_history):
    """--as-of prints the field values at that time, or says the row was
    deleted, or that nothing was logged yet."""
    assert history(LABEL, "42", "--as-of", "2026-11-23T10:07:00Z").splitlines() == [
        f"{LABEL}#42 as of {ts(7)}: exists",
        f'  after 2 event(s), the last model.updated at {ts(5)}  by bob  reason="moved house"',
        "    id: 42",
        '    first_name: "Ann"',
        '    last_name: "Lee"',
        '    address: "2 High St"',
        "    age: 30",
        '    date_of_birth: "1995-05-01"',
    ]
    deleted = history(LABEL, "42", "--as-of", "2026-11-23T10:30:00Z")
    assert deleted.startswith(
        f"{LABEL}#42 as of {ts(30)}: deleted at {ts(20)} by carol; its last values:"
    )
    assert history(LABEL, "42", "--as-of", "2026-11-23T09:00:00Z") == (
        f"No events about {LABEL}#42 at or before 2026-11-23T09:00:00.000000Z\n"
    )


def test_history_as_of_json(employee_history):
    """--as-of --json: the state as one JSON object."""
    state = orjson.loads(history(LABEL, "42", "--as-of", ts(12), "--json"))
    assert state == {
        "as_of": ts(12),
        "model": LABEL,
        "object_id": "42",
        "exists": True,
        "deleted": False,
        "complete": True,
        "events": 4,
        "last_event_id": state["last_event_id"],
        "last_timestamp": ts(11),
        "fields": {**SNAPSHOT, "address": "2 High St"},
        "m2m": {"shifts": ["7"]},
    }


# -- restore -----------------------------------------------------------------------------


def restore(*args: str, **options: Any) -> str:
    """``eventlog restore`` in-process; its stdout."""
    out = io.StringIO()
    call_command("eventlog", "restore", *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def saves() -> Any:
    """The bound context (actor, reason) at each save of an employee."""
    seen: list[dict[str, Any]] = []

    def record(sender: Any, instance: Employees, **kwargs: Any) -> None:
        seen.append({"pk": instance.pk, "created": kwargs["created"], **_context.current()})

    post_save.connect(record, sender=Employees, dispatch_uid="test_history.saves")
    yield seen
    post_save.disconnect(sender=Employees, dispatch_uid="test_history.saves")


def make_employee(**fields: Any) -> Employees:
    values = {
        "first_name": "Ann",
        "last_name": "Lee",
        "address": "9 Wrong Rd",
        "age": 99,
        "date_of_birth": date(1995, 5, 1),
        **fields,
    }
    return Employees.objects.create(**values)


@pytest.mark.django_db(transaction=True)
def test_restore_an_updated_row(employee_history, saves):
    """The row's fields are set back to their values at the time, in one
    save bound to reason 'restore to <ts>'."""
    make_employee(pk=42)
    saves.clear()
    out = restore(LABEL, "42", "--to", "2026-11-23T10:07:00Z", "--yes")
    assert out.splitlines() == [
        f"Restoring {LABEL}#42 to its state at {ts(7)}:",
        '    address: "9 Wrong Rd" → "2 High St"',
        "    age: 99 → 30",
        f"Restored {LABEL}#42 (logged with reason 'restore to {ts(7)}')",
    ]
    row = Employees.objects.get(pk=42)
    assert (row.address, row.age, row.first_name) == ("2 High St", 30, "Ann")
    assert len(saves) == 1
    assert saves[0]["reason"] == f"restore to {ts(7)}"
    assert saves[0]["created"] is False


@pytest.mark.django_db(transaction=True)
def test_restore_recreates_a_deleted_row_from_an_event_id(employee_history, saves):
    """--to EVENT_ID: the state right after that event; a deleted row is
    recreated with its primary key and every field."""
    bulk = next(
        e for _r, e in reader.iter_events(employee_history) if e["event"].endswith("bulk_updated")
    )
    out = restore(LABEL, "42", "--to", bulk["event_id"], "--yes")
    assert out.startswith(f"Recreating {LABEL}#42 to its state at {ts(15)}:\n")
    assert "  (many-to-many fields left as they are: shifts)\n" in out
    row = Employees.objects.get(pk=42)
    assert (row.address, row.age, row.date_of_birth) == ("2 High St", 31, date(1995, 5, 1))
    assert saves[0]["created"] is True
    assert saves[0]["reason"] == f"restore to {ts(15)}"


@pytest.mark.django_db(transaction=True)
def test_restore_dry_run_changes_nothing(employee_history):
    """--dry-run shows the changes and writes nothing."""
    make_employee(pk=42)
    out = restore(LABEL, "42", "--to", ts(7), "--dry-run")
    assert out.startswith(f"Would restore {LABEL}#42 to its state at {ts(7)}:\n")
    assert Employees.objects.get(pk=42).age == 99


@pytest.mark.django_db(transaction=True)
def test_restore_when_nothing_differs(employee_history):
    """A row already in that state: said so, nothing written."""
    make_employee(pk=42, address="2 High St", age=30)
    assert restore(LABEL, "42", "--to", ts(7)) == (
        f"{LABEL}#42 is already as it was at {ts(7)}: nothing to restore\n"
    )


@pytest.mark.django_db(transaction=True)
def test_restore_without_yes_on_a_pipe_refuses(employee_history, monkeypatch):
    """Without --yes and with stdin not a terminal, nothing is written or
    printed and a one-line error says why."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    make_employee(pk=42)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^refusing to restore without confirmation"):
        call_command("eventlog", "restore", LABEL, "42", "--to", ts(7), stdout=out)
    assert out.getvalue() == ""
    assert Employees.objects.get(pk=42).age == 99


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [("model.created", {"snapshot": {**SNAPSHOT, "address": "***"}})],
            r"values not in the log: address \(masked\)$",
        ),
        (
            [("model.created", {"snapshot": {k: v for k, v in SNAPSHOT.items() if k != "age"}})],
            r"fields not in the log \(excluded from logging, or added since\): age$",
        ),
        (
            [("model.created", {"snapshot": {**SNAPSHOT, "nickname": "Annie"}})],
            r"logged fields no longer on the model \(schema changed since\): nickname$",
        ),
        (
            [("model.updated", {"changes": {"age": {"old": 1, "new": 2}}})],
            r"the log holds no snapshot of speedy.employees#42",
        ),
        (
            [("model.created", {"snapshot": {**SNAPSHOT, "age": "old"}})],
            r"logged value of age is not valid now",
        ),
        (
            [
                ("model.created", {"snapshot": SNAPSHOT}),
                ("model.deleted", {"snapshot": SNAPSHOT}),
            ],
            r"was deleted at .*: there is no state to restore",
        ),
        ([], r"^no events about speedy.employees#42 at or before"),
    ],
)
def test_restore_refuses_what_it_cannot_rebuild_faithfully(clock, events, message):
    """Masked values, fields missing from the snapshot, fields the model no
    longer has, no snapshot at all, invalid values, a deleted state: a
    one-line refusal, nothing written."""
    for minute, (event, fields) in enumerate(events):
        emit_at(clock, ts(minute), event, **obj(), **fields)
    with pytest.raises(CommandError, match=message) as info:
        restore(LABEL, "42", "--to", ts(30), "--yes")
    assert "\n" not in str(info.value)
    assert not Employees.objects.filter(pk=42).exists()


@pytest.mark.django_db(transaction=True)
def test_restore_confirms_on_a_terminal(employee_history, monkeypatch):
    """On a terminal it asks; anything but yes aborts with nothing written."""
    make_employee(pk=42)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty("n\n"))
    with pytest.raises(CommandError, match=r"^aborted: nothing done"):
        restore(LABEL, "42", "--to", ts(7))
    assert Employees.objects.get(pk=42).age == 99
    monkeypatch.setattr(sys, "stdin", Tty("y\n"))
    assert "Write these 2 field(s) to speedy.employees#42? [y/N] Restored" in restore(
        LABEL, "42", "--to", ts(7)
    )
    assert Employees.objects.get(pk=42).age == 30


# -- bad arguments -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["history", "employees", "1"], r"^LABEL must be app_label.modelname, not 'employees'$"),
        (["history", LABEL, " "], r"^PK must not be empty$"),
        (["history", LABEL, "1", "--as-of", "soon"], r"^--as-of: invalid time 'soon'"),
        (["history", LABEL], r"^Error: the following arguments are required: PK$"),
        (["restore", "nope.nothing", "1", "--to", "1d"], r"^unknown model 'nope.nothing'$"),
        (["restore", LABEL, "1", "--to", "soon"], r"^--to: invalid time 'soon'.* or an event id$"),
        (["restore", LABEL, "1"], r"^Error: the following arguments are required: --to$"),
        (
            ["restore", LABEL, "1", "--to", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"],
            r"^no event 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b about speedy.employees#1",
        ),
    ],
)
@pytest.mark.django_db
def test_history_and_restore_bad_arguments_are_one_line_errors(args, message):
    """Bad arguments: a one-line CommandError."""
    with pytest.raises(CommandError, match=message) as info:
        call_command("eventlog", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert "\n" not in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "status", "fragment"),
    [
        (["history", "employees", "1"], 1, "CommandError: LABEL must be app_label.modelname"),
        (["history", LABEL, "1", "--as-of", "x"], 1, "CommandError: --as-of: invalid time"),
        (["history", LABEL], 2, "the following arguments are required: PK"),
        (["restore", LABEL, "1", "--to", "x"], 1, "CommandError: --to: invalid time 'x'"),
        (["restore", "a.b", "1", "--to", "1d"], 1, "CommandError: unknown model 'a.b'"),
        (["restore", LABEL, "1", "--to", "1d", "--bogus"], 2, "unrecognized arguments: --bogus"),
    ],
)
def test_history_and_restore_bad_arguments_on_the_command_line(tmp_path, args, status, fragment):
    """In a real process: one line on stderr, a non-zero exit, no traceback."""
    result = subprocess.run(
        [sys.executable, "manage.py", "eventlog", *args],
        cwd=ROOT,
        env=child_env(tmp_path),
        capture_output=True,
        timeout=60,
        check=False,
    )
    stderr = result.stderr.decode()
    assert result.returncode == status
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert fragment in stderr
