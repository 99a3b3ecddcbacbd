"""Four twins of one model, each audited by one tool, the way its docs say.

* ``Plain``: not audited (the baseline);
* ``Logged``: eventlog, through ``EVENTLOG_MODELS`` in the bench settings;
* ``Audited``: django-auditlog, ``auditlog.register(Audited)`` below;
* ``Historied``: django-simple-history, ``history = HistoricalRecords()``.

The peers' twins exist only when the peer is installed.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from bench.settings import PEERS


class Person(models.Model):
    """The fields of speedy's Employees."""

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    address = models.CharField(max_length=255, blank=True, default="")
    age = models.PositiveSmallIntegerField()
    date_of_birth = models.DateField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Plain(Person):
    """Not audited."""


class Logged(Person):
    """Audited by eventlog (``EVENTLOG_MODELS``)."""


TWINS: dict[str, type[Person]] = {"plain": Plain, "eventlog": Logged}

if PEERS["auditlog"]:
    from auditlog.registry import auditlog

    class Audited(Person):
        """Audited by django-auditlog."""

    auditlog.register(Audited)
    TWINS["auditlog"] = Audited

if PEERS["simple_history"]:
    from simple_history.models import HistoricalRecords

    class Historied(Person):
        """Audited by django-simple-history."""

        history: Any = HistoricalRecords()

    TWINS["simple_history"] = Historied
