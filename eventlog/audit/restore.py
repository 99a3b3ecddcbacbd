"""Writing an object's logged state back: the logic of ``eventlog restore``.

:func:`plan` checks that a state rebuilt by :mod:`eventlog.read.history` can be
written back faithfully and works out what would change; :func:`apply`
writes it in a transaction, bound to ``reason="restore to <ts>"`` so the
save is logged like any other change (``model.updated``, or
``model.created`` for a row recreated from its snapshot).

A restore that changes a django-fsm state field (an ``FSMFieldMixin``
field) of an existing row also sends :data:`eventlog.signals.state_changed`
with ``transition="admin_override"``: it bypasses the state machine, as the
admin's forced override does, and its line carries the restore reason. A row
recreated from its snapshot is a ``model.created``, not a transition.

Refused (:class:`CannotRestore`, one line each): a state without a snapshot
(the files of its creation were pruned), masked (``"***"``) or truncated
values, model fields the log never had (excluded from logging, or added
since), logged fields the model no longer has, values the field rejects, and
a target time at which the row did not exist.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, router, transaction

from eventlog.read.history import ObjectState
from eventlog.signals import state_changed
from eventlog.write.context import context

__all__ = ["CannotRestore", "Change", "Plan", "apply", "plan"]


class CannotRestore(Exception):
    """The state cannot be written back faithfully; the message says why."""


@dataclass(frozen=True, slots=True)
class Change:
    """One field that the restore changes."""

    name: str
    current: Any
    restored: Any


@dataclass(slots=True)
class Plan:
    """What a restore writes: the values of every concrete field, and the
    fields that differ from the row as it is now (all, when it is gone)."""

    model: type[models.Model]
    pk: Any
    at: str
    values: dict[str, Any]
    """``attname``: Python value, for every concrete field but the pk."""
    exists: bool
    """Whether the row exists now (else it is recreated)."""
    changes: list[Change] = field(default_factory=list)
    ignored_m2m: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}#{self.pk}"


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and not f.many_to_many and f.column is not None
    ]


def _logged(state: ObjectState, f: models.Field[Any, Any]) -> tuple[bool, Any]:
    for key in (f.name, f.attname):
        if key in state.fields:
            return True, state.fields[key]
    return False, None


def _python(f: models.Field[Any, Any], value: Any) -> Any:
    if value is None:
        return None
    if f.is_relation and f.remote_field is not None:
        target = f.target_field  # type: ignore[attr-defined]
        return target.to_python(value)
    return f.to_python(value)


def plan(model: type[models.Model], pk_text: str, state: ObjectState, at: str) -> Plan:
    """Check ``state`` (of ``model`` ``pk_text``, rebuilt as of ``at``) and
    compare it with the row now; :class:`CannotRestore` when it cannot be
    written back faithfully."""
    label = f"{model._meta.label_lower}#{pk_text}"
    assert model._meta.pk is not None
    try:
        pk = model._meta.pk.to_python(pk_text)
    except ValidationError as exc:
        raise CannotRestore(
            f"invalid primary key {pk_text!r} for {label}: {exc.messages[0]}"
        ) from exc
    if state.events == 0:
        raise CannotRestore(f"no events about {label} at or before {at}")
    if state.deleted:
        raise CannotRestore(
            f"{label} was deleted at {_when(state)}: there is no state to restore at {at}"
        )
    if not state.complete:
        raise CannotRestore(
            f"the log holds no snapshot of {label} (created before the oldest file "
            "or before it was registered?): its full state cannot be rebuilt "
            "(`manage.py eventlog snapshot` records one)"
        )
    bad = state.unfaithful()
    if bad:
        listed = ", ".join(f"{name} ({why})" for name, why in sorted(bad.items()))
        raise CannotRestore(f"cannot restore {label} faithfully: values not in the log: {listed}")
    concrete = _fields(model)
    missing = [f.name for f in concrete if not _logged(state, f)[0]]
    if missing:
        raise CannotRestore(
            f"cannot restore {label} faithfully: fields not in the log (excluded from "
            f"logging, or added since): {', '.join(missing)}"
        )
    m2m = {f.name for f in model._meta.many_to_many}
    known = {f.name for f in concrete} | {f.attname for f in concrete} | m2m
    assert model._meta.pk is not None
    known |= {model._meta.pk.name, model._meta.pk.attname}
    gone = sorted(set(state.fields) - known)
    if gone:
        raise CannotRestore(
            f"cannot restore {label} faithfully: logged fields no longer on the model "
            f"(schema changed since): {', '.join(gone)}"
        )
    values: dict[str, Any] = {}
    for f in concrete:
        try:
            values[f.attname] = _python(f, _logged(state, f)[1])
        except ValidationError as exc:
            raise CannotRestore(
                f"cannot restore {label}: logged value of {f.name} is not valid now: "
                f"{exc.messages[0]}"
            ) from exc
    current = model._default_manager.filter(pk=pk).first()
    result = Plan(
        model=model,
        pk=pk,
        at=at,
        values=values,
        exists=current is not None,
        ignored_m2m=sorted((m2m & set(state.fields)) | set(state.m2m)),
    )
    for f in concrete:
        now = None if current is None else f.value_from_object(current)
        if current is None or now != values[f.attname]:
            result.changes.append(Change(f.name, now, values[f.attname]))
    return result


def _when(state: ObjectState) -> str:
    last = state.last or {}
    return str(last.get("timestamp", "?"))


def apply(restore: Plan, *, reason: str | None = None) -> models.Model:
    """Write the plan in one transaction, logged with ``reason`` (by default
    ``"restore to <at>"``): the row's fields are set (only the changed ones
    saved), or the row is recreated with its primary key."""
    model = restore.model
    with (
        context(reason=f"restore to {restore.at}" if reason is None else reason),
        transaction.atomic(using=router.db_for_write(model)),
    ):
        obj = model._default_manager.select_for_update().filter(pk=restore.pk).first()
        if obj is None:
            obj = model(**restore.values)
            obj.pk = restore.pk
            obj.save(force_insert=True)
            return obj
        sources = [(f, f.value_from_object(obj)) for f in _state_fields(model)]
        changed = []
        for f in _fields(model):
            value = restore.values[f.attname]
            if f.value_from_object(obj) != value:
                setattr(obj, f.attname, value)
                changed.append(f.name)
        if changed:
            obj.save(update_fields=changed)
            for f, source in sources:
                target = restore.values[f.attname]
                if source != target:
                    state_changed.send(
                        sender=model,
                        instance=obj,
                        field=f.name,
                        source=source,
                        target=target,
                        transition="admin_override",
                    )
        return obj


def _state_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The model's django-fsm state fields (none when django-fsm is not loaded:
    a model with such a field has imported it)."""
    fsm = sys.modules.get("django_fsm")
    mixin = getattr(fsm, "FSMFieldMixin", None)
    if not isinstance(mixin, type):
        return []
    return [f for f in _fields(model) if isinstance(f, mixin)]
