"""Edge cases found in review: pickling, live JSON values, upserts, m2m
exclusion, attname masks, nested captures, empty refreshes, fetch modes."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import django
import pytest
from django.db import transaction

import eventlog
from eventlog.testing import capture_events
from eventlog.write import pipeline as _pipeline
from tests.helpers import read
from tests.zoo.models import Animal, Bulky, Enclosure, Keeper

pytestmark = pytest.mark.django_db(transaction=True)


def ev(directory: Path, name: str) -> list[dict[str, Any]]:
    _pipeline.flush()
    return [e for e in read(directory) if e["event"] == name]


def test_an_instance_saved_in_a_transaction_can_be_pickled(eventlog_dir):
    """An instance saved inside atomic() still pickles (cache.set, task queues)
    and its copy carries no pending-transaction state."""
    with transaction.atomic():
        keeper = Keeper.objects.create(name="a")
        copy = pickle.loads(pickle.dumps(keeper))
    pickle.dumps(keeper)
    assert copy.name == "a"


def test_a_pickled_instance_names_no_module_of_eventlog_and_saves_again(eventlog_dir):
    """Pending-transaction state pickles as a builtin (a cached instance then
    survives eventlog's internal moves), and the unpickled copy can be saved
    in a transaction again, and copied."""
    import copy as copying

    with transaction.atomic():
        keeper = Keeper.objects.create(name="a")
        data = pickle.dumps(keeper)
    assert b"eventlog." not in data  # module paths; attribute names are _eventlog_*
    clone = pickle.loads(data)
    with transaction.atomic():
        clone.name = "b"
        clone.save()
        copying.deepcopy(clone)
    assert ev(eventlog_dir, "model.updated")[0]["changes"] == {"name": {"old": "a", "new": "b"}}


def test_a_json_value_changed_before_commit_is_logged_as_saved(eventlog_dir):
    """Mutating a JSON value after save() but before the commit does not
    change the value logged for that save."""
    with transaction.atomic():
        animal = Animal.objects.create(name="x", data={"v": 1})
        animal.data["v"] = 2
    assert ev(eventlog_dir, "model.created")[0]["snapshot"]["data"] == {"v": 1}


def test_bulk_create_ignoring_conflicts_claims_no_creation(eventlog_dir):
    """A row skipped by ignore_conflicts is not logged as created with values
    that were never written."""
    bulky = Bulky.objects.create(name="old")
    Bulky.objects.bulk_create([Bulky(pk=bulky.pk, name="new")], ignore_conflicts=True)
    assert Bulky.objects.get(pk=bulky.pk).name == "old"
    assert ev(eventlog_dir, "model.bulk_created") == []
    (upsert,) = ev(eventlog_dir, "model.bulk_upserted")
    assert upsert["conflicts"] == "ignore"
    assert "new" not in str(upsert)


def test_an_upsert_is_not_logged_as_a_creation_with_null_old_values(eventlog_dir):
    """bulk_create(update_conflicts=True) over an existing row does not claim
    it was created from nothing."""
    bulky = Bulky.objects.create(name="same", n=1)
    Bulky.objects.bulk_create(
        [Bulky(pk=bulky.pk, name="same", n=2)],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["n"],
    )
    assert ev(eventlog_dir, "model.bulk_created") == []
    (upsert,) = ev(eventlog_dir, "model.bulk_upserted")
    assert (upsert["conflicts"], upsert["update_fields"]) == ("update", ["n"])
    assert upsert["object_ids"] == [str(bulky.pk)]


def test_an_excluded_m2m_field_is_not_logged(eventlog_dir):
    """exclude=[m2m field] stops its model.m2m_* lines."""
    eventlog.register(Enclosure, exclude=["animals"])
    try:
        enclosure = Enclosure.objects.create(code="E1")
        enclosure.animals.add(Animal.objects.create(name="a"))
        assert ev(eventlog_dir, "model.m2m_added") == []
    finally:
        eventlog.register(Enclosure)


def test_a_mask_given_by_attname_masks_the_field(eventlog_dir):
    """mask=["keeper_id"] masks the keeper field like mask=["keeper"]."""
    eventlog.register(Animal, exclude=["notes"], mask=["keeper_id"])
    try:
        keeper = Keeper.objects.create(name="k")
        Animal.objects.create(name="a", keeper=keeper)
        assert ev(eventlog_dir, "model.created")[-1]["snapshot"]["keeper"] == "***"
    finally:
        eventlog.register(Animal, exclude=["notes"])


def test_nested_captures_keep_the_outer_one(eventlog_dir):
    """An outer capture_events() still collects after a nested one ends."""
    with capture_events() as outer:
        with capture_events():
            _pipeline.emit("x.one")
        _pipeline.emit("x.two")
    assert [e["event"] for e in outer] == ["x.one", "x.two"]
    assert _pipeline.captures == []


def test_refreshing_no_fields_keeps_the_old_values(eventlog_dir):
    """refresh_from_db(fields=[]) reloads nothing and must not hide the
    unsaved change from the next save."""
    bulky = Bulky.objects.create(name="a")
    bulky = Bulky.objects.get(pk=bulky.pk)
    bulky.name = "b"
    bulky.refresh_from_db(fields=[])
    bulky.save()
    (updated,) = ev(eventlog_dir, "model.updated")
    assert updated["changes"] == {"name": {"old": "a", "new": "b"}}


def test_a_deferred_field_assigned_without_loading_has_its_old_value(eventlog_dir):
    """A deferred field set without being read first is logged with its true
    old value (read once, narrowly, at the save)."""
    Animal.objects.create(name="a", legs=4)
    animal = Animal.objects.only("name").get()
    animal.legs = 3
    animal.save()
    assert ev(eventlog_dir, "model.updated")[-1]["changes"] == {"legs": {"old": 4, "new": 3}}


def test_partial_and_reordered_rows_keep_their_own_old_values(eventlog_dir):
    """A row loaded with some fields (only()) or with its columns in another
    order (raw()) gives each changed field its own old value."""
    Animal.objects.create(name="a", legs=4, weight=2.5)
    animal = Animal.objects.only("weight", "legs").get()
    animal.legs, animal.weight = 3, 1.5
    animal.save()
    assert ev(eventlog_dir, "model.updated")[-1]["changes"] == {
        "legs": {"old": 4, "new": 3},
        "weight": {"old": 2.5, "new": 1.5},
    }
    columns = ", ".join(reversed([f.column for f in Animal._meta.concrete_fields]))
    raw = next(iter(Animal.objects.raw(f"SELECT {columns} FROM zoo_animal")))
    raw.name = "b"
    raw.save()
    assert ev(eventlog_dir, "model.updated")[-1]["changes"] == {"name": {"old": "a", "new": "b"}}


@pytest.mark.skipif(django.VERSION < (6, 1), reason="fetch modes are new in Django 6.1")
def test_fields_fetched_for_peers_are_not_spurious_changes(eventlog_dir):
    """Django 6.1 FETCH_PEERS loads a deferred field on every peer without
    refresh_from_db: saving one logs only what changed."""
    from django.db.models import FETCH_PEERS  # type: ignore[attr-defined]

    Animal.objects.create(name="a", legs=4)
    Animal.objects.create(name="b", legs=4)
    animals = list(Animal.objects.fetch_mode(FETCH_PEERS).only("name"))
    assert animals[0].legs == 4
    animals[0].name = "aa"
    animals[0].save()
    assert ev(eventlog_dir, "model.updated")[-1]["changes"] == {"name": {"old": "a", "new": "aa"}}
