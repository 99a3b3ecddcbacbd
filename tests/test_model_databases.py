"""What differs between the databases, run on both (CI runs the suite on
SQLite and on PostgreSQL): the locking read of ``update()``, ``DISTINCT``
updates, ids from ``bulk_create``, savepoints, JSON and timezone-aware
values logged as stored and read back."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from eventlog.reader import state_at
from tests.helpers import read
from tests.zoo.models import Animal, Bulky

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("every_line_is_sound"),
]


def _events(directory, name):
    return [e for e in read(directory) if e["event"] == name]


def test_update_reads_the_rows_it_changes_with_a_lock_where_there_is_one(eventlog_dir):
    Bulky.objects.bulk_create([Bulky(name=f"b{i}", n=i) for i in range(3)])
    with CaptureQueriesContext(connection) as queries:
        Bulky.objects.filter(n__gte=1).update(n=9)
    reads = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1
    assert ("FOR UPDATE" in reads[0]) == connection.features.has_select_for_update
    (event,) = _events(eventlog_dir, "model.bulk_updated")
    assert event["count"] == 2
    assert {v["n"]["new"] for v in event["changes"].values()} == {9}


def test_a_distinct_update_is_logged_without_a_locking_read(eventlog_dir):
    """PostgreSQL refuses FOR UPDATE with DISTINCT: the read goes without it."""
    Bulky.objects.bulk_create([Bulky(name="x", n=1), Bulky(name="x", n=2)])
    with transaction.atomic():
        count = Bulky.objects.filter(name="x").distinct().update(n=5)
        assert Bulky.objects.filter(n=5).count() == 2  # the caller's transaction is usable
    assert count == 2
    (event,) = _events(eventlog_dir, "model.bulk_updated")
    assert sorted(event["object_ids"]) == sorted(str(b.pk) for b in Bulky.objects.all())


def test_bulk_create_ids_are_the_rows_ids(eventlog_dir):
    objs = Bulky.objects.bulk_create([Bulky(name="a"), Bulky(name="b")])
    assert all(o.pk is not None for o in objs)
    (event,) = _events(eventlog_dir, "model.bulk_created")
    assert event["object_ids"] == [str(o.pk) for o in objs]
    assert set(Bulky.objects.values_list("pk", flat=True)) == {o.pk for o in objs}


def test_savepoints_keep_only_what_committed(eventlog_dir):
    with transaction.atomic():
        kept = Animal.objects.create(name="kept")
        try:
            with transaction.atomic():
                Animal.objects.create(name="dropped")
                raise RuntimeError
        except RuntimeError:
            pass
        kept.name = "kept2"
        kept.save()
    names = [e["snapshot"]["name"] for e in _events(eventlog_dir, "model.created")]
    assert names == ["kept"]
    (updated,) = _events(eventlog_dir, "model.updated")
    assert updated["changes"]["name"] == {"old": "kept", "new": "kept2"}


def test_json_and_aware_values_are_logged_as_stored_and_restored(eventlog_dir):
    paris = ZoneInfo("Europe/Paris")
    seen = dt.datetime(2026, 3, 29, 2, 30, 15, 123456, tzinfo=dt.UTC).astimezone(paris)
    data = {"nested": {"list": [1, 2.5, None, "é"], "flag": True}, "": "empty key"}
    animal = Animal.objects.create(
        name="json",
        data=data,
        seen=seen,
        price=decimal.Decimal("12.30"),
        tag=uuid.UUID(int=7),
        lifespan=dt.timedelta(days=3, seconds=5),
    )
    (created,) = _events(eventlog_dir, "model.created")
    snap = created["snapshot"]
    assert snap["data"] == data
    assert snap["seen"] == "2026-03-29T02:30:15.123456Z"
    assert snap["price"] == "12.30"
    assert snap["tag"] == str(uuid.UUID(int=7))
    first = created["event_id"]
    animal.data = {"other": []}
    animal.seen = seen + dt.timedelta(hours=1)
    animal.save()
    (updated,) = _events(eventlog_dir, "model.updated")
    assert updated["changes"]["seen"]["old"] == "2026-03-29T02:30:15.123456Z"
    assert updated["changes"]["seen"]["new"] == "2026-03-29T03:30:15.123456Z"

    # Restore writes these back through to_python (Animal's excluded notes
    # stop a full restore here: tests/test_history_real.py restores on both).
    state = state_at(eventlog_dir, "zoo.animal", str(animal.pk), event_id=first)
    field = Animal._meta.get_field
    assert field("data").to_python(state.fields["data"]) == data
    assert field("seen").to_python(state.fields["seen"]) == seen
    assert field("lifespan").to_python(state.fields["lifespan"]) == dt.timedelta(days=3, seconds=5)
    assert field("price").to_python(state.fields["price"]) == decimal.Decimal("12.30")
