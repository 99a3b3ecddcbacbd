"""The bulk helpers: bulk_create, bulk_update, update() and delete() logged."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from eventlog.audit import bulk
from tests.helpers import read
from tests.zoo.models import Bulky, Plain

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("every_line_is_sound"),
]


def bulk_events(directory):
    return [e for e in read(directory) if e["event"].startswith("model.bulk")]


def test_bulk_create_logs_ids_and_values(eventlog_dir):
    """bulk_create logs one model.bulk_created with the new ids and, per
    object, the values created (old null)."""
    objs = Bulky.objects.bulk_create([Bulky(name="a", n=1), Bulky(name="b", n=2)])
    (event,) = bulk_events(eventlog_dir)
    ids = [str(o.pk) for o in objs]
    assert event["event"] == "model.bulk_created"
    assert event["model"] == "zoo.bulky"
    assert event["object_ids"] == ids
    assert event["count"] == 2
    assert event["changes"][ids[1]]["name"] == {"old": None, "new": "b"}
    assert event["changes"][ids[1]]["n"] == {"old": None, "new": 2}


def test_bulk_update_logs_changes_against_loaded_values_without_a_read(eventlog_dir):
    """bulk_update logs the changes of each object from the values it was
    loaded with, running no SELECT of its own; unchanged objects are left out."""
    Bulky.objects.bulk_create([Bulky(name=n, n=0) for n in "abc"])
    a, b, c = Bulky.objects.order_by("name")
    a.n, b.n = 1, 2
    with CaptureQueriesContext(connection) as queries:
        Bulky.objects.bulk_update([a, b, c], ["n"])
    assert not any(q["sql"].startswith("SELECT") for q in queries.captured_queries)
    (event,) = [e for e in bulk_events(eventlog_dir) if e["event"] == "model.bulk_updated"]
    assert event["object_ids"] == [str(a.pk), str(b.pk)]
    assert event["changes"] == {
        str(a.pk): {"n": {"old": 0, "new": 1}},
        str(b.pk): {"n": {"old": 0, "new": 2}},
    }


def test_queryset_update_with_values(eventlog_dir):
    """update(n=5) logs the rows it changed with their old values; rows that
    already had the value are not in changes."""
    Bulky.objects.bulk_create([Bulky(name="a", n=1), Bulky(name="b", n=5), Bulky(name="z", n=1)])
    count = Bulky.objects.filter(name__in=["a", "b"]).update(n=5)
    assert count == 2
    event = bulk_events(eventlog_dir)[-1]
    a = Bulky.objects.get(name="a")
    assert event["event"] == "model.bulk_updated"
    assert event["changes"] == {str(a.pk): {"n": {"old": 1, "new": 5}}}


def test_queryset_update_with_expressions_reads_new_values(eventlog_dir):
    """update(n=F("n") + 1) logs the real new values, read back after the update."""
    Bulky.objects.bulk_create([Bulky(name="a", n=1), Bulky(name="b", n=7)])
    Bulky.objects.update(n=F("n") + 1)
    event = bulk_events(eventlog_dir)[-1]
    a, b = Bulky.objects.order_by("name")
    assert event["changes"] == {
        str(a.pk): {"n": {"old": 1, "new": 2}},
        str(b.pk): {"n": {"old": 7, "new": 8}},
    }


def test_queryset_delete_logs_one_bulk_line(eventlog_dir):
    """delete() on the audited queryset logs one model.bulk_deleted with the
    ids and the last values, instead of a line per row."""
    Bulky.objects.bulk_create([Bulky(name=n) for n in "abc"])
    ids = [str(pk) for pk in Bulky.objects.order_by("pk").values_list("pk", flat=True)]
    deleted, _ = Bulky.objects.filter(name__in=["a", "b"]).delete()
    assert deleted == 2
    events = [
        e for e in read(eventlog_dir) if e["event"] in ("model.bulk_deleted", "model.deleted")
    ]
    assert len(events) == 1
    (event,) = events
    assert event["event"] == "model.bulk_deleted"
    assert event["object_ids"] == ids[:2]
    assert event["changes"][ids[0]]["name"] == {"old": "a", "new": None}


def test_bulk_lines_are_split_into_chunks(eventlog_dir, monkeypatch):
    """A large operation is written as several lines of at most CHUNK objects."""
    monkeypatch.setattr(bulk, "CHUNK", 2)
    Bulky.objects.bulk_create([Bulky(name=str(i)) for i in range(5)])
    events = bulk_events(eventlog_dir)
    assert [e["count"] for e in events] == [2, 2, 1]
    assert sum(len(e["changes"]) for e in events) == 5


def test_bulk_operations_in_a_rolled_back_transaction_log_nothing(eventlog_dir):
    """Bulk lines wait for the commit like every model line."""
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Bulky.objects.bulk_create([Bulky(name="a")])
        Bulky.objects.update(n=3)
        raise ZeroDivisionError
    assert bulk_events(eventlog_dir) == []


def test_unregistered_models_behave_like_django(eventlog_dir):
    """On a model that is not registered the audited manager logs nothing."""
    Plain.objects.bulk_create([Plain(name="a")])
    Plain.objects.update(n=2)
    Plain.objects.bulk_update(list(Plain.objects.all()), ["n"])
    Plain.objects.all().delete()
    assert bulk_events(eventlog_dir) == []


def test_plain_delete_on_a_default_manager_logs_each_row(eventlog_dir):
    """Without the helper, QuerySet.delete() of a registered model still logs:
    Django signals each deleted row, so each gets model.deleted."""
    from tests.zoo.models import Animal

    Animal.objects.create(name="a")
    Animal.objects.create(name="b")
    Animal.objects.all().delete()
    names = [e["snapshot"]["name"] for e in read(eventlog_dir, event="model.deleted")]
    assert sorted(names) == ["a", "b"]
