"""A registered many-to-many through model: the rows add() and set() create
are logged as model.created (Django creates them with bulk_create, no signal)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

import eventlog
from eventlog.audit import registry
from eventlog.write import pipeline as _pipeline
from speedy.models import Employees, Shifts, ShiftsEmployees
from tests.helpers import assert_schema, raw_lines, read
from tests.zoo.models import Animal, Enclosure

pytestmark = pytest.mark.django_db(transaction=True)


def lines(directory: Path, model: str, shift: Shifts | None = None) -> list[dict[str, Any]]:
    """The lines of ``model``; with ``shift``, of its rows on that shift only
    (creating an employee puts them on a shift of the demo's choosing)."""
    _pipeline.flush()
    return [
        e
        for e in read(directory)
        if e.get("model") == model and (shift is None or e["snapshot"]["shift"] == shift.pk)
    ]


@pytest.fixture
def through_registered() -> Iterator[None]:
    eventlog.register(ShiftsEmployees)
    eventlog.register(Enclosure.animals.through)
    yield
    # No unregister() on this branch: the receivers find no registration.
    registry._registry.pop(ShiftsEmployees, None)
    registry._registry.pop(Enclosure.animals.through, None)


def employee(name: str) -> Employees:
    return Employees.objects.create(first_name=name, last_name="x", age=30)


def test_add_and_set_log_the_rows_they_create(eventlog_dir, through_registered):
    e1, e2, e3 = employee("a"), employee("b"), employee("c")
    shift = Shifts.objects.create()
    shift.employees_shift.add(e1, e2)
    shift.employees_shift.add(e1)  # already there: no row, no line
    shift.employees_shift.set([e2, e3])
    events = [
        (e["event"], e["snapshot"]["employee"])
        for e in lines(eventlog_dir, "speedy.shiftsemployees", shift)
    ]
    # add() inserts the rows of a set of ids: their order is the database's.
    assert sorted(events[:2]) == [("model.created", e1.pk), ("model.created", e2.pk)]
    assert events[2:] == [("model.deleted", e1.pk), ("model.created", e3.pk)]
    rows = {r.employee_id: r.pk for r in ShiftsEmployees.objects.filter(shift=shift)}
    created = [
        e
        for e in lines(eventlog_dir, "speedy.shiftsemployees", shift)
        if e["event"] == "model.created"
    ]
    assert len(created) == 3
    for e in created:
        assert e["snapshot"]["employee"] in {e1.pk, e2.pk, e3.pk}
        if e["snapshot"]["employee"] != e1.pk:  # e1's row is gone since
            assert e["object_id"] == str(rows[e["snapshot"]["employee"]])
        assert e["snapshot"]["shift"] == shift.pk
    # The m2m line of the registered side is still written.
    assert [e["event"] for e in lines(eventlog_dir, "speedy.shifts")].count("model.m2m_added") == 2
    shift.employees_shift.clear()
    gone = lines(eventlog_dir, "speedy.shiftsemployees", shift)[-2:]
    assert sorted(e["snapshot"]["employee"] for e in gone if e["event"] == "model.deleted") == [
        e2.pk,
        e3.pk,
    ]
    assert_schema(raw_lines(eventlog_dir))


def test_the_reverse_side_and_an_auto_created_through(eventlog_dir, through_registered):
    e1 = employee("a")
    shift = Shifts.objects.create()
    e1.shifts.add(shift)
    (line,) = lines(eventlog_dir, "speedy.shiftsemployees", shift)
    assert line["event"] == "model.created"
    assert line["snapshot"]["shift"] == shift.pk
    enclosure = Enclosure.objects.create(code="E1")
    animal = Animal.objects.create(name="a")
    enclosure.animals.add(animal)
    (auto,) = lines(eventlog_dir, "zoo.enclosure_animals")
    assert auto["event"] == "model.created"
    assert auto["snapshot"] == {
        "id": auto["snapshot"]["id"],
        "enclosure": "E1",
        "animal": animal.pk,
    }


def test_a_rolled_back_add_logs_nothing(eventlog_dir, through_registered):
    e1 = employee("a")
    shift = Shifts.objects.create()
    with pytest.raises(RuntimeError), transaction.atomic():
        shift.employees_shift.add(e1)
        raise RuntimeError
    assert lines(eventlog_dir, "speedy.shiftsemployees", shift) == []


def test_an_unregistered_through_is_not_logged(eventlog_dir):
    e1 = employee("a")
    shift = Shifts.objects.create()
    shift.employees_shift.add(e1)
    assert lines(eventlog_dir, "speedy.shiftsemployees", shift) == []
