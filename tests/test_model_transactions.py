"""Only committed changes are logged: atomics, savepoints, rollbacks, m2m."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.helpers import read
from tests.zoo.models import Animal, Enclosure, Keeper, Visitor

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("every_line_is_sound"),
]


class Boom(Exception):
    pass


def audit(directory):
    return [
        (e["event"], e.get("snapshot", {}).get("name") or e.get("changes") or e.get("related_ids"))
        for e in read(directory)
        if e["event"].startswith("model.")
    ]


def test_outside_a_transaction_lines_are_written_at_once(eventlog_dir):
    """Autocommit: the line exists as soon as save() returns."""
    Animal.objects.create(name="a")
    assert audit(eventlog_dir) == [("model.created", "a")]


def test_lines_wait_for_the_commit(eventlog_dir):
    """Inside atomic(), nothing is written until the block commits."""
    with transaction.atomic():
        Animal.objects.create(name="a")
        assert audit(eventlog_dir) == []
    assert audit(eventlog_dir) == [("model.created", "a")]


def test_a_rolled_back_transaction_logs_nothing(eventlog_dir):
    """Changes of a transaction that rolls back never reach the file."""
    animal = Animal.objects.create(name="a")
    with pytest.raises(Boom), transaction.atomic():
        animal.name = "b"
        animal.save()
        Animal.objects.create(name="c")
        animal.delete()
        raise Boom
    assert audit(eventlog_dir) == [("model.created", "a")]


def test_a_rolled_back_savepoint_drops_only_its_changes(eventlog_dir):
    """Nested atomics: the inner block's changes vanish with its savepoint,
    the outer block's stay, at each level of nesting."""
    with transaction.atomic():
        Animal.objects.create(name="outer")
        with pytest.raises(Boom), transaction.atomic():
            Animal.objects.create(name="inner-rolled-back")
            raise Boom
        with transaction.atomic():
            Animal.objects.create(name="inner-kept")
            with pytest.raises(Boom), transaction.atomic():
                Animal.objects.create(name="deepest-rolled-back")
                raise Boom
            with transaction.atomic():
                Animal.objects.create(name="deepest-kept")
    assert audit(eventlog_dir) == [
        ("model.created", "outer"),
        ("model.created", "inner-kept"),
        ("model.created", "deepest-kept"),
    ]


def test_an_outer_rollback_drops_committed_savepoints(eventlog_dir):
    """A savepoint released inside a transaction that then rolls back logs nothing."""
    with pytest.raises(Boom), transaction.atomic():
        with transaction.atomic():
            Animal.objects.create(name="released")
        raise Boom
    assert audit(eventlog_dir) == []


def test_the_context_is_the_one_of_the_save_not_of_the_commit(eventlog_dir):
    """The actor and reason bound around the save are on the line, even
    though it is written at the commit, outside the block."""
    import eventlog

    with transaction.atomic():
        with eventlog.context(actor="alice", reason="fix typo"):
            Animal.objects.create(name="a")
        Animal.objects.create(name="b")
    first, second = read(eventlog_dir)
    assert (first["actor"], first["reason"]) == ("alice", "fix typo")
    assert second["actor"] == "CLI"
    assert "reason" not in second


def test_m2m_forward_side(eventlog_dir):
    """add/remove/clear on the forward side log m2m_added/removed/cleared
    with the related ids, and clear names what it removed."""
    enclosure = Enclosure.objects.create(code="E")
    a, b, c = (Animal.objects.create(name=n) for n in "abc")
    enclosure.animals.add(a, b)
    enclosure.animals.remove(a)
    enclosure.animals.add(c)
    enclosure.animals.clear()
    events = [e for e in read(eventlog_dir) if e["event"].startswith("model.m2m")]
    assert [(e["event"], e["related_ids"]) for e in events] == [
        ("model.m2m_added", sorted([str(a.pk), str(b.pk)], key=lambda s: (len(s), s))),
        ("model.m2m_removed", [str(a.pk)]),
        ("model.m2m_added", [str(c.pk)]),
        ("model.m2m_cleared", sorted([str(b.pk), str(c.pk)], key=lambda s: (len(s), s))),
    ]
    for event in events:
        assert event["model"] == "zoo.enclosure"
        assert event["object_id"] == "E"
        assert event["field"] == "animals"
        assert event["related_model"] == "zoo.animal"


def test_m2m_reverse_side(eventlog_dir):
    """Changes made from the related side are logged from that side, under
    its accessor name."""
    animal = Animal.objects.create(name="a")
    Enclosure.objects.create(code="E1")
    Enclosure.objects.create(code="E2")
    animal.enclosures.add("E1", "E2")
    animal.enclosures.remove("E2")
    events = [e for e in read(eventlog_dir) if e["event"].startswith("model.m2m")]
    assert [(e["event"], e["model"], e["field"], e["related_ids"]) for e in events] == [
        ("model.m2m_added", "zoo.animal", "enclosures", ["E1", "E2"]),
        ("model.m2m_removed", "zoo.animal", "enclosures", ["E2"]),
    ]
    assert all(e["related_model"] == "zoo.enclosure" for e in events)


def test_m2m_from_an_unregistered_side_is_logged_on_the_registered_one(eventlog_dir):
    """Visitor is not registered; adding keepers to a visitor logs, for each
    keeper, the change of its reverse accessor."""
    k1 = Keeper.objects.create(name="k1")
    visitor = Visitor.objects.create(name="v")
    visitor.keepers.add(k1)
    visitor.keepers.clear()
    events = [e for e in read(eventlog_dir) if e["event"].startswith("model.m2m")]
    assert [(e["event"], e["model"], e["object_id"], e["field"]) for e in events] == [
        ("model.m2m_added", "zoo.keeper", str(k1.pk), "visitors"),
        ("model.m2m_removed", "zoo.keeper", str(k1.pk), "visitors"),
    ]
    assert all(e["related_ids"] == [str(visitor.pk)] for e in events)


def test_m2m_in_a_rolled_back_transaction_logs_nothing(eventlog_dir):
    """An m2m change rolled back with its transaction never reaches the file."""
    enclosure = Enclosure.objects.create(code="E")
    animal = Animal.objects.create(name="a")
    with pytest.raises(Boom), transaction.atomic():
        enclosure.animals.add(animal)
        raise Boom
    assert [e for e in read(eventlog_dir) if e["event"].startswith("model.m2m")] == []


def test_a_change_rolled_back_is_logged_when_saved_again(eventlog_dir):
    """An object whose save was rolled back still differs from the database:
    saving it again later logs the change against the committed values."""
    animal = Animal.objects.create(name="a", legs=4)
    with pytest.raises(Boom), transaction.atomic():
        animal.legs = 3
        animal.save()
        animal.legs = 2
        animal.save()
        raise Boom
    animal.save()  # the database still says 4
    (updated,) = read(eventlog_dir, event="model.updated")
    assert updated["changes"] == {"legs": {"old": 4, "new": 2}}


def test_a_rolled_back_savepoint_restores_the_outer_blocks_values(eventlog_dir):
    """Saves in an outer block and a rolled-back inner savepoint: the next
    save compares with what the outer block saved."""
    animal = Animal.objects.create(name="a", legs=4)
    with transaction.atomic():
        animal.legs = 3
        animal.save()
        with pytest.raises(Boom), transaction.atomic():
            animal.legs = 1
            animal.save()
            raise Boom
        animal.save()
    changes = [e["changes"] for e in read(eventlog_dir, event="model.updated")]
    assert changes == [{"legs": {"old": 4, "new": 3}}, {"legs": {"old": 3, "new": 1}}]


def test_a_create_rolled_back_is_logged_as_created_when_saved_again(eventlog_dir):
    """An object created in a rolled-back transaction and saved again is
    logged as created, with the values saved."""
    animal = Animal(name="a", legs=4)
    with pytest.raises(Boom), transaction.atomic():
        animal.save()
        raise Boom
    animal.save()
    (created,) = read(eventlog_dir, event="model.created")
    assert created["snapshot"]["legs"] == 4
    assert read(eventlog_dir, event="model.updated") == []
