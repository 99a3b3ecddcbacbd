"""Django's model signals -> ``model.*`` events for registered models.

* ``post_save``: ``model.created`` with a ``snapshot``, or ``model.updated``
  with the ``changes`` (old and new values of the changed fields only, from
  the values known since the row was loaded or last saved; a save that
  changes nothing logs nothing);
* ``post_delete``: ``model.deleted`` with the last ``snapshot``;
* ``m2m_changed``: ``model.m2m_added``/``model.m2m_removed``/
  ``model.m2m_cleared`` with the related ids, from the side whose model is
  registered (the instance's side when both are).

Every event is written when its transaction commits (nested atomics and
savepoints included) and at once outside a transaction. A receiver never
raises into the save: a failure is reported by
:func:`eventlog.write.pipeline.internal_error`.

``pre_save`` does one thing: it reads old values the instance never
loaded, the only saves that cost a query: the whole row for an instance that
was never loaded (``Model(pk=5, ...).save()``, fixtures), the columns of
deferred fields assigned without being read (or filled in by Django 6.1's
fetch modes).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import DateTimeField, Field, ManyToManyField, Model, signals
from django.db.models.fields.files import FieldFile
from django.db.models.signals import class_prepared
from django.utils import timezone

from eventlog.audit import registry as _registry
from eventlog.audit import state
from eventlog.audit.app_events import object_id, object_repr
from eventlog.audit.extra import add_extra
from eventlog.audit.registry import Registration
from eventlog.audit.switch import off
from eventlog.core.keys import MASK, MASKED_CHANGE
from eventlog.write.pipeline import emit, internal_error

__all__ = [
    "activate",
    "activate_all",
    "changes",
    "collecting_deletes",
    "connect",
    "connect_m2m",
    "counts",
    "current_values",
    "deactivate",
    "emit_deleted",
    "id_order",
    "snapshot",
    "stored",
]

# Set by the bulk helpers' delete(): post_delete appends (instance, snapshot)
# here instead of emitting one model.deleted per row.
Deletion = tuple[Model, str | None, dict[str, Any]]
_deleting: ContextVar[list[Deletion] | None] = ContextVar("eventlog_bulk_delete", default=None)


def collecting_deletes() -> ContextVar[list[Deletion] | None]:
    """The context variable the bulk helpers set to collect deletions."""
    return _deleting


# Values already in their plain form: the usual field value skips the
# isinstance checks below (this runs for every field of every save, twice).
_SIMPLE: Final = frozenset({str, int, float, bool, type(None), date, datetime, Decimal})


def _plain(value: Any) -> Any:
    """The comparable, JSON-ready form of a field's raw value."""
    if type(value) in _SIMPLE:
        return value
    if isinstance(value, FieldFile):
        return value.name or ""  # what Django stores for "no file"
    if isinstance(value, memoryview):
        return bytes(value)
    return value


# Django's own field classes (not subclasses, whose to_python may differ) and
# the type each stores: a value of exactly that type is already as stored, and
# needs no to_python (a create converts every field).
_NATIVE: Final[dict[type[Field[Any, Any]], type]] = {
    **dict.fromkeys(
        (
            models.AutoField,
            models.BigAutoField,
            models.SmallAutoField,
            models.IntegerField,
            models.BigIntegerField,
            models.SmallIntegerField,
            models.PositiveIntegerField,
            models.PositiveBigIntegerField,
            models.PositiveSmallIntegerField,
        ),
        int,
    ),
    **dict.fromkeys((models.CharField, models.TextField, models.EmailField, models.SlugField), str),
    models.BooleanField: bool,
    models.FloatField: float,
    models.DateField: date,
}


def stored(f: Field[Any, Any], value: Any) -> Any:
    """``value`` as ``f`` stores it, in the form the database returns it
    (``"42"`` assigned to an ``IntegerField`` is ``42``, ``"1.5"`` to a
    ``DecimalField(decimal_places=2)`` is ``Decimal("1.50")``, a datetime
    is made aware as Django's save does, in UTC). A value the field rejects
    stays as it was: converting never raises into the save (the save itself
    decides, and ``restore`` refuses such a value)."""
    if value is None or _NATIVE.get(type(f)) is type(value):
        return value
    value = _plain(value)
    try:
        python = f.to_python(value)
        if isinstance(python, Decimal):
            places = getattr(f, "decimal_places", None)
            if places is not None and python.is_finite():
                python = python.quantize(Decimal(1).scaleb(-places), context=f.context)  # type: ignore[attr-defined]
        elif isinstance(python, datetime) and isinstance(f, DateTimeField) and settings.USE_TZ:
            if timezone.is_naive(python):
                python = timezone.make_aware(python, timezone.get_default_timezone())
            python = python.astimezone(UTC)
    except Exception:
        return value
    return _plain(python)


def current_values(reg: Registration, instance: Model) -> dict[str, Any]:
    """``{attname: value}`` of the tracked fields loaded on ``instance``
    (deferred fields are left out: reading them would cost a query)."""
    data = instance.__dict__
    out: dict[str, Any] = {}
    for f in reg.fields:
        name = f.attname
        if name in data:
            value = data[name]
            out[name] = value if type(value) in _SIMPLE else _plain(value)
    return out


def snapshot(reg: Registration, values: dict[str, Any]) -> dict[str, Any]:
    """``{field name: stored value}`` with masked fields as ``"***"``
    (``values`` as :func:`current_values` gives them)."""
    out: dict[str, Any] = {}
    masked, mutable = reg.masked, reg.mutable
    for f in reg.fields:
        name = f.attname
        if name in values:
            if f.name in masked:
                out[f.name] = MASK
                continue
            value = stored(f, values[name])
            out[f.name] = copy.deepcopy(value) if name in mutable else value
    return out


def _frozen(reg: Registration, f: Field[Any, Any], value: Any) -> Any:
    """The plain value as it is now: JSON-like values are copied, because
    the line is rendered at the commit and the caller may mutate them before
    that."""
    return copy.deepcopy(value) if f.attname in reg.mutable else value


def changes(
    reg: Registration, old: dict[str, Any], new: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """``{field name: {"old": .., "new": ..}}`` of the fields in ``new`` whose
    stored value differs, old and new as stored (see :func:`stored`); masked
    fields show as changed with ``"***"`` values. A field whose old value is
    unknown is reported with ``"old": null``."""
    out: dict[str, dict[str, Any]] = {}
    for f in reg.fields:
        name = f.attname
        if name not in new:
            continue
        before = old.get(name)
        if type(before) not in _SIMPLE:
            before = _plain(before)
        after = new[name]
        known = name in old
        if known and before == after:
            continue  # the common case pays no conversion
        before, after = stored(f, before), stored(f, after)
        if known and before == after:
            continue  # "1.50" assigned where Decimal("1.5") was loaded, etc.
        out[f.name] = (
            dict(MASKED_CHANGE)
            if f.name in reg.masked
            else {"old": _frozen(reg, f, before), "new": _frozen(reg, f, after)}
        )
    return out


def counts(reg: Registration, diff: dict[str, dict[str, Any]]) -> bool:
    """Whether ``diff`` is a change worth a line: not empty, and not only
    ``auto_now`` timestamps (which move on every save, changed or not)."""
    return bool(diff) and not reg.auto_now.issuperset(diff)


def on_pre_save(sender: type[Model], instance: Model, raw: bool, using: str, **_: Any) -> None:
    """Read the old values the instance never loaded (see the module docstring)."""
    try:
        if state.INSERTING in instance.__dict__ or instance.pk is None or off():
            return  # switched off: post_save keeps what was saved, no old row needed
        reg = _registry.lookup(type(instance))
        if reg is None:
            return
        base = state.baseline(instance)
        adding = instance._state.adding
        if base is None:
            pk = instance._meta.pk
            if adding and pk is not None and pk.has_default():
                return  # Django forces an INSERT: there is no old row
            names = [f.attname for f in reg.fields]
        elif adding:
            return
        elif reg.attnames <= base.keys():
            return  # the usual update: every old value known
        else:
            data = instance.__dict__
            names = [f.attname for f in reg.fields if f.attname in data and f.attname not in base]
        if not names:
            return
        row = (
            type(instance)._base_manager.using(using).filter(pk=instance.pk).values(*names).first()
        )
        if row is not None:
            state.set_baseline(instance, row, replace=base is None)
    except Exception as exc:
        internal_error("receiver_failed", exc, "model.updated")


def on_post_save(
    sender: type[Model],
    instance: Model,
    created: bool,
    using: str,
    update_fields: frozenset[str] | None = None,
    **_: Any,
) -> None:
    """``model.created`` or ``model.updated`` (only when something changed)."""
    try:
        reg = _registry.lookup(type(instance))
        if reg is None:
            return
        state.settle(instance)
        previous = state.baseline(instance)
        new = current_values(reg, instance)
        if update_fields is not None:
            saved = {_registry.attname(type(instance), n) for n in update_fields}
            new = {k: v for k, v in new.items() if k in saved}
        if off():
            state.set_baseline(instance, new, replace=created)
            state.remember(instance, using, None if created else previous)
            return
        if created:
            state.set_baseline(instance, new, replace=True)
            fields = {"snapshot": snapshot(reg, new)}
            event = "model.created"
        else:
            diff = changes(reg, previous or {}, new)
            state.set_baseline(instance, new)
            if not counts(reg, diff):
                return
            fields = {"changes": diff}
            event = "model.updated"
        state.remember(instance, using, None if created else previous)
        line = {
            "model": reg.label,
            "object_id": object_id(instance),
            "object_repr": object_repr(instance),
            **fields,
        }
        emit(event, add_extra(reg.extra, instance, line), on_commit=True, using=using)
    except Exception as exc:
        internal_error("receiver_failed", exc, "model.created" if created else "model.updated")


def on_post_delete(sender: type[Model], instance: Model, using: str, **_: Any) -> None:
    """``model.deleted`` with the row as last known (loaded or saved), or the
    instance's values where the row was never loaded."""
    try:
        reg = _registry.lookup(type(instance))
        if reg is None or off():
            return
        state.settle(instance)
        values = {**current_values(reg, instance), **(state.baseline(instance) or {})}
        shot = snapshot(reg, values)
        collecting = _deleting.get()
        if collecting is not None:
            collecting.append((instance, object_id(instance), shot))
            return
        emit_deleted(reg, instance, object_id(instance), shot, using)
    except Exception as exc:
        internal_error("receiver_failed", exc, "model.deleted")


def emit_deleted(
    reg: Registration, instance: Model, object_id: str | None, shot: dict[str, Any], using: str
) -> None:
    """Emit ``model.deleted`` for ``instance`` (on commit)."""
    line = {
        "model": reg.label,
        "object_id": object_id,
        "object_repr": object_repr(instance),
        "snapshot": shot,
    }
    emit("model.deleted", add_extra(reg.extra, instance, line), on_commit=True, using=using)


M2M_EVENTS: Final = {
    "post_add": "model.m2m_added",
    "post_remove": "model.m2m_removed",
    "post_clear": "model.m2m_cleared",
}
# pre_clear -> post_clear: the ids a clear() is about to remove.
_clearing: ContextVar[dict[tuple[int, type[Model]], list[Any]] | None] = ContextVar(
    "eventlog_m2m_clearing", default=None
)


def id_order(pk: str | None) -> tuple[int, str]:
    """Sort key of ids in numeric order where they are numbers (``"9"``
    before ``"10"``); ``None`` first."""
    return (0, "") if pk is None else (len(pk), pk)


def _ids(values: Iterable[Any]) -> list[str]:
    return sorted((str(v) for v in values), key=id_order)


def _through_columns(m2m: ManyToManyField[Any, Any], reverse: bool) -> tuple[str, str]:
    """(column naming the instance, attname naming the related object) in
    the through table."""
    through: type[Model] = m2m.remote_field.through  # type: ignore[assignment]
    source, target = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
    if reverse:
        source, target = target, source
    return source, _registry.attname(through, target)


_through_fields: dict[type[Model], ManyToManyField[Any, Any]] = {}


def on_m2m_changed(
    sender: type[Model],
    instance: Model,
    action: str,
    reverse: bool,
    model: type[Model],
    pk_set: set[Any] | None,
    using: str,
    **_: Any,
) -> None:
    """``model.m2m_*`` from the registered side(s) of the relation."""
    try:
        if (action not in M2M_EVENTS and action != "pre_clear") or off():
            return
        m2m = _through_fields.get(sender)
        if m2m is None:
            return
        key = (id(instance), sender)
        if action == "pre_clear":
            source, target = _through_columns(m2m, reverse)
            ids = list(
                sender._base_manager.using(using)
                .filter(**{source: instance.pk})
                .values_list(target, flat=True)
            )
            pending = _clearing.get()
            if pending is None:
                pending = {}
                _clearing.set(pending)
            pending[key] = ids
            return
        if action == "post_add" and pk_set:
            through = _registry.lookup(sender)
            try:
                if through is not None:
                    _created_rows(through, m2m, instance, reverse, pk_set, using)
            except Exception as exc:  # the m2m line below is still written
                internal_error("receiver_failed", exc, "model.created")
        if action == "post_clear":
            related: Iterable[Any] = (_clearing.get() or {}).pop(key, [])
        else:
            related = pk_set or ()
        related = list(related)
        if not related and action != "post_clear":
            return
        owner = _registry.lookup(m2m.model)
        if owner is not None and m2m not in owner.m2m:
            return  # excluded by the registration of the model that declares it
        own = _registry.lookup(type(instance))
        other = _registry.lookup(model)
        name = m2m.remote_field.get_accessor_name() if reverse else m2m.name
        if own is not None:
            line = {
                "model": own.label,
                "object_id": object_id(instance),
                "object_repr": object_repr(instance),
                "field": name,
                "related_model": model._meta.label_lower,
                "related_ids": _ids(related),
            }
            emit(
                M2M_EVENTS[action],
                add_extra(own.extra, instance, line),
                on_commit=True,
                using=using,
            )
            return
        if other is None:
            return
        # Only the related side is audited: one event per related object, as
        # its own field saw the change (a clear of this side removes it there).
        other_name = m2m.name if reverse else m2m.remote_field.get_accessor_name()
        event = "model.m2m_added" if action == "post_add" else "model.m2m_removed"
        for pk in _ids(related):
            emit(
                event,
                {
                    "model": other.label,
                    "object_id": pk,
                    "field": other_name,
                    "related_model": type(instance)._meta.label_lower,
                    "related_ids": [str(instance.pk)],
                },
                on_commit=True,
                using=using,
            )
    except Exception as exc:
        internal_error("receiver_failed", exc, M2M_EVENTS.get(action, "model.m2m_changed"))


def _created_rows(
    reg: Registration,
    m2m: ManyToManyField[Any, Any],
    instance: Model,
    reverse: bool,
    pk_set: set[Any],
    using: str,
) -> None:
    """``model.created`` for the rows of a registered through model that an
    ``add()``/``set()`` just made with ``bulk_create`` (no ``post_save``):
    ``pk_set`` names only the related objects that had no row."""
    source, target = _through_columns(m2m, reverse)
    rows = (
        reg.model._base_manager.using(using)
        .filter(**{source: instance.pk, f"{target}__in": list(pk_set)})
        .order_by("pk")
    )
    for row in rows:
        values = current_values(reg, row)
        state.set_baseline(row, values, replace=True)
        line = {
            "model": reg.label,
            "object_id": object_id(row),
            "object_repr": object_repr(row),
            "snapshot": snapshot(reg, values),
        }
        emit("model.created", add_extra(reg.extra, row, line), on_commit=True, using=using)


def connect(model: type[Model]) -> None:
    """Connect the save/delete receivers for ``model`` (stable ``dispatch_uid``)."""
    signals.pre_save.connect(on_pre_save, sender=model, dispatch_uid="eventlog.model.pre_save")
    signals.post_save.connect(on_post_save, sender=model, dispatch_uid="eventlog.model.post_save")
    signals.post_delete.connect(
        on_post_delete, sender=model, dispatch_uid="eventlog.model.post_delete"
    )


def connect_m2m(m2m: ManyToManyField[Any, Any]) -> None:
    """Connect the m2m receiver for the ``through`` model of ``m2m``."""
    through = m2m.remote_field.through
    if isinstance(through, type):
        _through_fields[through] = m2m
        signals.m2m_changed.connect(
            on_m2m_changed, sender=through, dispatch_uid="eventlog.model.m2m_changed"
        )


def activate(reg: Registration) -> None:
    """Resolve ``reg`` and connect what audits it (idempotent)."""
    with _registry.lock():
        reg.resolve()
        state.wrap(reg.model)
        connect(reg.model)
        for model in apps.get_models(include_auto_created=False):
            if model._meta.proxy and model._meta.concrete_model is reg.model:
                connect(model)
        for m2m in _m2m_of(reg.model):
            connect_m2m(m2m)
        for m2m in _m2m_through(reg.model):
            connect_m2m(m2m)


def deactivate(model: type[Model]) -> None:
    """Disconnect what audits ``model`` (and its proxies and m2m relations)
    where no registration still needs it: a proxy registered itself keeps its
    receivers, a relation with another registered side keeps its own."""
    with _registry.lock():
        for cls in (model, *apps.get_models(include_auto_created=False)):
            if (cls is model or cls._meta.concrete_model is model) and (
                _registry.lookup(cls) is None
            ):
                _disconnect(cls)
        for m2m in _m2m_of(model):
            through = m2m.remote_field.through
            sides = (m2m.model, m2m.remote_field.model)
            if isinstance(through, type) and not any(
                isinstance(side, type) and _registry.lookup(side) for side in sides
            ):
                signals.m2m_changed.disconnect(
                    sender=through, dispatch_uid="eventlog.model.m2m_changed"
                )
                _through_fields.pop(through, None)


def _disconnect(model: type[Model]) -> None:
    for signal, uid in (
        (signals.pre_save, "eventlog.model.pre_save"),
        (signals.post_save, "eventlog.model.post_save"),
        (signals.post_delete, "eventlog.model.post_delete"),
    ):
        signal.disconnect(sender=model, dispatch_uid=uid)


def activate_all() -> None:
    """Activate every registration (``AppConfig.ready()``)."""
    for reg in _registry.registrations():
        activate(reg)


def _m2m_of(model: type[Model]) -> list[ManyToManyField[Any, Any]]:
    """Many-to-many fields of ``model`` and those of other models pointing at it."""
    found = list(model._meta.many_to_many)
    for rel in model._meta.related_objects:
        if rel.many_to_many and isinstance(rel.field, ManyToManyField):
            found.append(rel.field)
    return found


def _m2m_through(model: type[Model]) -> list[ManyToManyField[Any, Any]]:
    """Many-to-many fields whose ``through`` model is ``model``."""
    return [
        f
        for other in apps.get_models(include_auto_created=False)
        for f in other._meta.many_to_many
        if isinstance(f, ManyToManyField) and f.remote_field.through is model
    ]


def _on_class_prepared(sender: type[Model], **_kwargs: Any) -> None:
    """A proxy defined after its concrete model was registered is audited too."""
    concrete = sender._meta.concrete_model
    proxied = sender._meta.proxy and concrete is not None and _registry.is_registered(concrete)
    if proxied and apps.ready:
        connect(sender)


class_prepared.connect(_on_class_prepared, dispatch_uid="eventlog.class_prepared")
