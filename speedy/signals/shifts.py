"""Shift receivers: the employees/shifts flow of the classic signals tutorial.

* ``pre_save`` of :class:`~speedy.models.Employees`: shifts dated before
  today are deleted (``shifts.wiped`` with ``count`` and ``shift_ids``).
* ``post_save`` (created) of an employee: assign them to the earliest shift
  with fewer than three employees; when every shift is full, create one on
  the latest shift date + 1 day (today when there is none) and assign there
  (``shift.created``, ``shift.assigned`` with ``shift_id``, ``shift_date``,
  ``employee_id``).

Events are sent through :data:`eventlog.signals.event_signal` and written
when the transaction commits.

Both run under one lock (:func:`_serialize`): with several workers, row locks
alone cannot keep the rules, since two creators that both find every shift
full would each create a next-day shift (a row that does not exist yet cannot
be locked), and two wipes would each report the same expired shifts.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any, Final

from django.db import connections, transaction
from django.db.models import Count
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from eventlog.signals import event_signal
from speedy.models import MAX_PER_SHIFT, Employees, Shifts, ShiftsEmployees

__all__ = ["assign_shift", "connect", "wipe_expired_shifts"]

SHIFTS_LOCK: Final = zlib.crc32(b"speedy.shifts")
"""The PostgreSQL advisory lock key of the shift rules."""


def _serialize(using: str) -> None:
    """Hold the shift rules' lock until the current transaction ends.

    On PostgreSQL a transaction-scoped advisory lock: released by the commit
    or rollback itself, so no path can leave it held, and taken before any
    row is read, so assigners and wipes queue on it in one order and cannot
    deadlock each other. SQLite needs none: it lets one writer in at a time.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SHIFTS_LOCK])


def wipe_expired_shifts(sender: type[Employees], instance: Employees, **kwargs: Any) -> None:
    """Delete the shifts dated before today, before any employee is saved."""
    if kwargs.get("raw"):
        return  # loading fixtures
    using = kwargs.get("using") or "default"
    with transaction.atomic(using=using):
        _serialize(using)
        expired = Shifts.objects.using(using).filter(shift_date__lt=timezone.localdate())
        ids = sorted(expired.values_list("pk", flat=True))
        if not ids:
            return
        Shifts.objects.using(using).filter(pk__in=ids).delete()
        _wiped(ids, using)


def _wiped(ids: list[int], using: str) -> None:
    event_signal.send(
        sender=__name__,
        event="shifts.wiped",
        message=f"wiped {len(ids)} expired shift(s)",
        count=len(ids),
        shift_ids=ids,
        using=using,
    )


def _current(using: str) -> Any:
    """The shifts of today and later: an expired one is about to be wiped."""
    return Shifts.objects.using(using).filter(shift_date__gte=timezone.localdate())


def _pick_shift(using: str) -> Shifts | None:
    """The earliest current shift with room, its row locked in date order (for
    writers that do not take the shift rules' lock, such as the admin)."""
    shifts = list(_current(using).select_for_update().order_by("shift_date", "id"))
    if not shifts:
        return None
    counts = dict(
        ShiftsEmployees.objects.using(using)
        .filter(shift__in=shifts)
        .values("shift")
        .annotate(n=Count("id"))
        .values_list("shift", "n")
    )
    return next((s for s in shifts if counts.get(s.pk, 0) < MAX_PER_SHIFT), None)


def assign_shift(
    sender: type[Employees], instance: Employees, created: bool, **kwargs: Any
) -> None:
    """Put a newly created employee on a shift, creating the next day's if all are full."""
    if not created or kwargs.get("raw"):
        return
    using = kwargs.get("using") or "default"
    with transaction.atomic(using=using):
        _serialize(using)
        shift = _pick_shift(using)
        if shift is None:
            latest = _current(using).order_by("-shift_date").first()
            day = latest.shift_date + dt.timedelta(days=1) if latest else timezone.localdate()
            shift = Shifts.objects.using(using).create(shift_date=day)
            event_signal.send(
                sender=__name__,
                event="shift.created",
                message=f"created shift {shift.pk} on {day.isoformat()}",
                shift_id=shift.pk,
                shift_date=shift.shift_date,
                employee_id=instance.pk,
                using=using,
            )
        ShiftsEmployees.objects.using(using).create(employee=instance, shift=shift)
        event_signal.send(
            sender=__name__,
            event="shift.assigned",
            message=f"assigned {instance} to shift {shift.pk}",
            shift_id=shift.pk,
            shift_date=shift.shift_date,
            employee_id=instance.pk,
            using=using,
        )


def connect() -> None:
    """Connect the shift receivers."""
    pre_save.connect(wipe_expired_shifts, sender=Employees, dispatch_uid="speedy.wipe_shifts")
    post_save.connect(assign_shift, sender=Employees, dispatch_uid="speedy.assign_shift")
