"""The foreign keys Django's delete collector sets without a signal.

``on_delete=SET_NULL``, ``SET_DEFAULT`` and ``SET(...)`` make
:meth:`django.db.models.deletion.Collector.delete` run an ``UPDATE`` of the
referring rows (``collector.field_updates``) that sends no ``pre_save`` nor
``post_save``. :func:`install` wraps that method once: before the delete it
reads the rows of registered models the update will change (their pk and
old value of the field, in the delete's own transaction), after it emits a
``model.updated`` per row with that change, on commit like every model line.
Only a delete that ran writes lines: ``collect()`` alone (the admin's
confirmation page) logs nothing, and a rolled-back delete nothing either.
A row the same delete removes gets its ``model.deleted`` only. Nothing here
ever fails a delete: a failure is reported by
:func:`eventlog.write.pipeline.internal_error` and the delete goes on.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import models, transaction
from django.db.models import Model
from django.db.models.deletion import Collector

from eventlog.audit import registry, state
from eventlog.audit.app_events import object_id, object_repr
from eventlog.audit.extra import add_extra
from eventlog.audit.receivers import changes, counts, current_values
from eventlog.audit.switch import off
from eventlog.write.pipeline import emit, internal_error

__all__ = ["install"]

# (registration, row, {attname: new value})
Pending = list[tuple[registry.Registration, Model, dict[str, Any]]]
_WRAPPED = "_eventlog_wrapped"


def install() -> None:
    """Wrap ``Collector.delete`` (idempotent)."""
    original = Collector.delete
    if getattr(original, _WRAPPED, False):
        return

    @functools.wraps(original)
    def delete(self: Collector) -> Any:
        if off() or not _touches_registered(self):
            return original(self)
        with transaction.atomic(using=self.using, savepoint=False):
            pending = _before(self)
            result = original(self)
            _after(self, pending)
        return result

    setattr(delete, _WRAPPED, True)
    Collector.delete = delete  # type: ignore[method-assign]


def _touches_registered(collector: Collector) -> bool:
    try:
        return any(
            registry.lookup(field.model) is not None for field, _value in collector.field_updates
        )
    except Exception:
        return False


def _before(collector: Collector) -> Pending:
    """The registered rows the field updates will change, with their new values."""
    try:
        return _rows(collector)
    except Exception as exc:
        internal_error("receiver_failed", exc, "model.updated")
        return []


def _rows(collector: Collector) -> Pending:
    deleted = {(model, obj.pk) for model, objs in collector.data.items() for obj in objs}
    found: dict[tuple[Any, Any], tuple[registry.Registration, Model, dict[str, Any]]] = {}
    for (field, value), instances_list in collector.field_updates.items():
        for batch in instances_list:
            instances: Any = batch  # a QuerySet, or a list of instances
            lazy = isinstance(instances, models.QuerySet) and instances._result_cache is None
            # A clone: Django's own queryset stays unevaluated, and updates by its query.
            rows = list(instances.all()) if lazy else list(instances)
            for row in rows:
                cls = type(row)
                reg = registry.lookup(cls)
                if reg is None or (cls, row.pk) in deleted:
                    continue
                key = (cls._meta.concrete_model or cls, row.pk)
                entry = found.get(key)
                if entry is None:
                    entry = found[key] = (reg, row, {})
                entry[2][field.attname] = _column(field, value)
    return list(found.values())


def _column(field: Any, value: Any) -> Any:
    """What the update stores in ``field``'s column for ``value`` (``SET()``
    may give a model instance: the referenced field's value)."""
    if isinstance(value, Model):
        return getattr(value, field.target_field.attname)
    return value


def _after(collector: Collector, pending: Pending) -> None:
    for reg, row, new in pending:
        try:
            _emit(reg, row, new, collector.using)
        except Exception as exc:
            internal_error("receiver_failed", exc, "model.updated")


def _emit(reg: registry.Registration, row: Model, new: dict[str, Any], using: str) -> None:
    diff = changes(reg, state.baseline(row) or current_values(reg, row), new)
    # The collector's own instances (Django leaves them as loaded): the repr
    # then shows the row as it is now.
    row.__dict__.update(new)
    state.set_baseline(row, new)
    if not counts(reg, diff):
        return
    line = {
        "model": reg.label,
        "object_id": object_id(row),
        "object_repr": object_repr(row),
        "changes": diff,
    }
    emit("model.updated", add_extra(reg.extra, row, line), on_commit=True, using=using)
