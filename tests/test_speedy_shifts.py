"""speedy's shift flow: new employees land on shifts, expired shifts are wiped.

Shift events are written when the transaction commits, so every test that
reads lines back runs with ``transaction=True`` (real commits).
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from speedy.models import Employees, Shifts, ShiftsEmployees
from tests.helpers import assert_chains, assert_envelope, raw_lines, read

SENDER = "speedy.signals.shifts"
SHIFT_EVENTS = ("shift.created", "shift.assigned", "shifts.wiped")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("every_line_is_sound", "one_date"),
]


def _employee(n: int = 1) -> Employees:
    return Employees.objects.create(
        first_name=f"First{n}",
        last_name=f"Last{n}",
        address=f"{n} Main Street",
        age=30 + n,
        date_of_birth=date(1990, 1, 1) + dt.timedelta(days=n),
    )


def _lines(directory: Path, event: str) -> list[dict[str, Any]]:
    lines = read(directory, event=event)
    for line in lines:
        assert_envelope(line)
    return lines


def _shift_lines(directory: Path) -> list[dict[str, Any]]:
    lines = [line for line in read(directory) if line["event"] in SHIFT_EVENTS]
    for line in lines:
        assert_envelope(line)
    return lines


def _shift_of(employee: Employees) -> Shifts:
    (assignment,) = ShiftsEmployees.objects.filter(employee=employee)
    return assignment.shift


def _count(shift: Shifts) -> int:
    return ShiftsEmployees.objects.filter(shift=shift).count()


def test_first_employee_creates_todays_shift_and_is_assigned(eventlog_dir):
    """With no shift at all, the first employee creates one dated today and is
    assigned to it: a shift.created line then a shift.assigned line."""
    today = timezone.localdate()
    employee = _employee()

    (shift,) = Shifts.objects.all()
    assert shift.shift_date == today
    assert _shift_of(employee) == shift

    lines = _shift_lines(eventlog_dir)
    assert [line["event"] for line in lines] == ["shift.created", "shift.assigned"]
    for line in lines:
        assert line["sender"] == SENDER
        assert line["level"] == "info"
        assert line["shift_id"] == shift.pk
        assert line["shift_date"] == today.isoformat()
        assert line["employee_id"] == employee.pk
        assert "using" not in line
    assert lines[0]["seq"] < lines[1]["seq"]
    assert_chains(raw_lines(eventlog_dir))


def test_three_employees_per_shift_then_the_next_day(eventlog_dir):
    """Employees 1-3 share a shift; the 4th creates the shift of latest date + 1
    day, and the 7th a third shift two days after the first."""
    today = timezone.localdate()
    employees = [_employee(n) for n in range(1, 8)]

    shifts = list(Shifts.objects.order_by("shift_date"))
    assert [s.shift_date for s in shifts] == [today + dt.timedelta(days=d) for d in (0, 1, 2)]
    assert [_count(s) for s in shifts] == [3, 3, 1]
    assert [_shift_of(e) for e in employees] == [shifts[0]] * 3 + [shifts[1]] * 3 + [shifts[2]]

    created = _lines(eventlog_dir, "shift.created")
    assert [(c["employee_id"], c["shift_id"], c["shift_date"]) for c in created] == [
        (employees[i].pk, shifts[j].pk, shifts[j].shift_date.isoformat())
        for i, j in ((0, 0), (3, 1), (6, 2))
    ]
    assigned = _lines(eventlog_dir, "shift.assigned")
    assert [(a["employee_id"], a["shift_id"]) for a in assigned] == [
        (e.pk, _shift_of(e).pk) for e in employees
    ]
    assert_chains(raw_lines(eventlog_dir))


def test_earliest_shift_with_room_is_chosen(eventlog_dir):
    """When a place frees up on a full earlier shift, the next employee goes
    there rather than to a later shift that also has room."""
    employees = [_employee(n) for n in range(1, 5)]  # shift 1 full, shift 2 has one
    first, second = Shifts.objects.order_by("shift_date")
    ShiftsEmployees.objects.filter(employee=employees[1]).delete()
    assert (_count(first), _count(second)) == (2, 1)

    newcomer = _employee(5)

    assert _shift_of(newcomer) == first
    assert (_count(first), _count(second)) == (3, 1)
    assert Shifts.objects.count() == 2
    last = _lines(eventlog_dir, "shift.assigned")[-1]
    assert (last["employee_id"], last["shift_id"]) == (newcomer.pk, first.pk)
    assert last["shift_date"] == first.shift_date.isoformat()
    assert len(_lines(eventlog_dir, "shift.created")) == 2  # none for the newcomer
    assert_chains(raw_lines(eventlog_dir))


def test_saving_an_employee_wipes_expired_shifts(eventlog_dir):
    """Shifts dated before today are deleted when an employee is saved; one
    shifts.wiped line has their count and sorted ids."""
    today = timezone.localdate()
    old = [Shifts.objects.create(shift_date=today - dt.timedelta(days=d)) for d in (2, 5, 1)]
    current = Shifts.objects.create(shift_date=today)

    employee = _employee()

    assert list(Shifts.objects.all()) == [current]
    assert _shift_of(employee) == current
    (wiped,) = _lines(eventlog_dir, "shifts.wiped")
    assert wiped["sender"] == SENDER
    assert wiped["count"] == 3
    assert wiped["shift_ids"] == sorted(s.pk for s in old)
    assert wiped["message"] == "wiped 3 expired shift(s)"
    # the wipe happens before the assignment (pre_save vs post_save)
    events = [line["event"] for line in _shift_lines(eventlog_dir)]
    assert events == ["shifts.wiped", "shift.assigned"]
    assert_chains(raw_lines(eventlog_dir))


def test_wiping_an_expired_shift_drops_its_assignments(eventlog_dir):
    """An expired shift's assignments go with it (cascade), and the employee
    on it is not reassigned by a later save."""
    veteran = _employee(1)
    Shifts.objects.update(shift_date=timezone.localdate() - dt.timedelta(days=3))
    (expired,) = Shifts.objects.all()

    _employee(2)

    assert not Shifts.objects.filter(pk=expired.pk).exists()
    assert not ShiftsEmployees.objects.filter(employee=veteran).exists()
    (wiped,) = _lines(eventlog_dir, "shifts.wiped")
    assert wiped["shift_ids"] == [expired.pk]


def test_no_wipe_line_when_nothing_expired(eventlog_dir):
    """Today's and future shifts are kept, and no shifts.wiped line is written."""
    today = timezone.localdate()
    kept = [Shifts.objects.create(shift_date=today + dt.timedelta(days=d)) for d in (0, 3)]

    _employee()

    assert list(Shifts.objects.order_by("shift_date")) == kept
    assert _lines(eventlog_dir, "shifts.wiped") == []
    assert [line["event"] for line in _shift_lines(eventlog_dir)] == ["shift.assigned"]
    assert_chains(raw_lines(eventlog_dir))


def test_updating_an_employee_wipes_but_does_not_assign(eventlog_dir):
    """Saving an existing employee wipes expired shifts too, but assigns no
    new shift and creates none."""
    today = timezone.localdate()
    employee = _employee()
    shift = _shift_of(employee)
    expired = Shifts.objects.create(shift_date=today - dt.timedelta(days=2))
    before = len(_shift_lines(eventlog_dir))

    employee.address = "1 New Road"
    employee.save()

    assert list(Shifts.objects.all()) == [shift]
    assert ShiftsEmployees.objects.filter(employee=employee).count() == 1
    new = _shift_lines(eventlog_dir)[before:]
    assert [line["event"] for line in new] == ["shifts.wiped"]
    assert new[0]["count"] == 1
    assert new[0]["shift_ids"] == [expired.pk]
    assert_chains(raw_lines(eventlog_dir))


def test_rolled_back_employee_writes_no_shift_lines(eventlog_dir):
    """An employee created inside a transaction that rolls back leaves no
    shift, no assignment and no shift lines, not even for the wipe."""
    Shifts.objects.create(shift_date=timezone.localdate() - dt.timedelta(days=2))

    with pytest.raises(RuntimeError, match="boom"), transaction.atomic():
        _employee()
        assert ShiftsEmployees.objects.count() == 1  # the receivers did run
        raise RuntimeError("boom")

    assert not Employees.objects.exists()
    assert not ShiftsEmployees.objects.exists()
    assert Shifts.objects.count() == 1  # the expired shift's deletion rolled back too
    assert _shift_lines(eventlog_dir) == []


def test_committed_transaction_writes_its_shift_lines_on_commit(eventlog_dir):
    """Inside an outer transaction the lines wait for its commit."""
    with transaction.atomic():
        employee = _employee()
        assert _shift_lines(eventlog_dir) == []
    events = [line["event"] for line in _shift_lines(eventlog_dir)]
    assert events == ["shift.created", "shift.assigned"]
    assert {line["employee_id"] for line in _shift_lines(eventlog_dir)} == {employee.pk}


def test_actor_outside_requests_is_cli(eventlog_dir):
    """Shift lines written outside a request name the CLI as actor and IP,
    with the OS user and command, and carry no request keys."""
    _employee()
    lines = _shift_lines(eventlog_dir)
    assert len(lines) == 2
    for line in lines:
        assert line["actor"] == "CLI"
        assert line["ip"] == "CLI"
        assert isinstance(line["os_user"], str)
        assert line["os_user"]
        assert isinstance(line["command"], str)
        assert line["command"]
        assert "request_id" not in line
        assert "actor_id" not in line
        assert "user_agent" not in line


def test_the_tutorial_calls_work_as_written(eventlog_dir):
    """The tutorial creates an employee without a date of birth and a shift
    with no arguments: today's date, 8 hours, a wage bonus of 50.00."""
    employee = Employees.objects.create(
        first_name="Ann", last_name="Lee", address="1 Main Street", age=30
    )
    assert Employees.objects.get(pk=employee.pk).date_of_birth is None
    shift = Shifts.objects.create()
    shift = Shifts.objects.get(pk=shift.pk)
    assert (shift.shift_date, shift.total_hours) == (timezone.localdate(), 8)
    assert shift.wage_bonus == Decimal("50.00")
    created = read(eventlog_dir, event="model.created")
    snaps = {
        line["model"]: line["snapshot"]
        for line in created
        if line["object_id"] in {str(employee.pk), str(shift.pk)}
    }
    assert snaps["speedy.employees"]["date_of_birth"] is None
    assert snaps["speedy.shifts"]["wage_bonus"] == "50.00"
    assert snaps["speedy.shifts"]["shift_date"] == timezone.localdate().isoformat()
