"""``history`` and ``restore`` on what model auditing really writes: saves,
deletes and bulk operations of the registered ``speedy.Employees`` through the
ORM, committed, read back from the files."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command

import eventlog
from eventlog import reader
from eventlog.bulk import AuditedQuerySet
from eventlog.write import pipeline as _pipeline
from speedy.models import Employees

LABEL = "speedy.employees"


def events(directory: Path, pk: int) -> list[dict[str, Any]]:
    """The events about employee ``pk`` in the files."""
    _pipeline.flush()
    return list(reader.object_events(directory, LABEL, str(pk)))


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("eventlog", *args, stdout=out, stderr=io.StringIO())
    _pipeline.flush()
    return out.getvalue()


def hire() -> Employees:
    return Employees.objects.create(
        first_name="Ann",
        last_name="Lee",
        address="1 Main St",
        age=30,
        date_of_birth=date(1995, 5, 1),
    )


@pytest.mark.django_db(transaction=True)
def test_history_and_restore_of_a_real_update_and_delete(eventlog_dir):
    """Created, updated with a reason, deleted: history shows it all; the
    row is recreated as it was after the update, and the recreation is
    itself logged with reason 'restore to <ts>'."""
    ann = hire()
    with eventlog.context(reason="moved house"):
        ann.address = "2 High St"
        ann.save()
    pk = ann.pk
    ann.delete()
    logged = events(eventlog_dir, pk)
    assert [e["event"] for e in logged] == ["model.created", "model.updated", "model.deleted"]
    timeline = run("history", LABEL, str(pk))
    assert '    address: "1 Main St" → "2 High St"' in timeline
    assert 'reason="moved house"' in timeline
    moved = logged[1]["timestamp"]
    state = reader.state_at(eventlog_dir, LABEL, str(pk), at=moved)
    assert state.fields["address"] == "2 High St"
    assert state.exists

    out = run("restore", LABEL, str(pk), "--to", moved, "--yes")
    assert out.startswith(f"Recreating {LABEL}#{pk} to its state at {moved}:")
    row = Employees.objects.get(pk=pk)
    assert (row.first_name, row.address, row.age) == ("Ann", "2 High St", 30)
    recreated = events(eventlog_dir, pk)[3]
    assert recreated["event"] == "model.created"
    assert recreated["reason"] == f"restore to {moved}"


@pytest.mark.django_db(transaction=True)
def test_restore_of_a_real_update_is_logged_as_an_update(eventlog_dir):
    """An updated row set back to its creation state by event id: one
    model.updated with the changes back and the restore reason."""
    ann = hire()
    ann.age = 44
    ann.address = "elsewhere"
    ann.save()
    created = events(eventlog_dir, ann.pk)[0]
    run("restore", LABEL, str(ann.pk), "--to", created["event_id"], "--yes")
    ann.refresh_from_db()
    assert (ann.age, ann.address) == (30, "1 Main St")
    undo = events(eventlog_dir, ann.pk)[-1]
    assert undo["event"] == "model.updated"
    assert undo["changes"] == {
        "address": {"old": "elsewhere", "new": "1 Main St"},
        "age": {"old": 44, "new": 30},
    }
    assert undo["reason"] == f"restore to {created['timestamp']}"


@pytest.mark.django_db(transaction=True)
def test_history_of_real_bulk_operations(eventlog_dir):
    """bulk_update and a bulk delete through the audited queryset appear in
    the object's history with its own changes, and a row deleted in bulk is
    recreated from the bulk event's last values."""
    ann, bob = hire(), hire()
    ann.age, bob.age = 31, 41
    AuditedQuerySet(model=Employees).bulk_update([ann, bob], ["age"])
    AuditedQuerySet(model=Employees).filter(pk__in=[ann.pk, bob.pk]).delete()
    logged = events(eventlog_dir, ann.pk)
    assert [e["event"] for e in logged] == [
        "model.created",
        "model.bulk_updated",
        "model.bulk_deleted",
    ]
    timeline = run("history", LABEL, str(ann.pk))
    assert "    age: 30 → 31" in timeline
    assert (
        "→ 41" not in timeline
    )  # bob's part of the bulk update is not shown (a bare "41" can be in a timestamp)
    gone = reader.state_at(eventlog_dir, LABEL, str(ann.pk))
    assert gone.deleted
    assert gone.complete
    assert gone.fields["age"] == 31

    run("restore", LABEL, str(ann.pk), "--to", logged[1]["event_id"], "--yes")
    assert Employees.objects.get(pk=ann.pk).age == 31


@pytest.mark.django_db(transaction=True)
def test_history_tail_and_stats_read_ecs_files(eventlog_dir, settings):
    """With EVENTLOG_FORMAT = "ecs" the same commands work: the block scan
    keeps ECS lines as candidates and they are read in their native form."""
    settings.EVENTLOG_FORMAT = "ecs"
    ann = hire()
    ann.age = 31
    ann.save()
    _pipeline.flush()
    assert (eventlog_dir / "events.jsonl").read_bytes().startswith(b'{"@timestamp":"')
    timeline = run("history", LABEL, str(ann.pk))
    assert "model.created" in timeline
    assert "    age: 30 → 31" in timeline
    assert reader.state_at(eventlog_dir, LABEL, str(ann.pk)).fields["age"] == 31
    assert "model.updated" in run("tail", "--pretty", "--object-id", str(ann.pk))
    stats = orjson.loads(run("stats", "--json"))
    assert stats["by_event"]["model.updated"] == 1
    assert stats["oldest"] is not None
