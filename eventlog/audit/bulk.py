"""Bulk operations that are logged: a queryset mixin and a ready-made manager.

Django sends no signal for ``bulk_create``, ``bulk_update`` or
``QuerySet.update()``, so on a plain manager those change rows without a
line (``QuerySet.delete()`` does send ``post_delete`` per row: a registered
model logs one ``model.deleted`` per deleted row). Give the model a manager
built on :class:`AuditedQuerySet` (or mix :class:`AuditedQuerySetMixin` into
your own queryset) and they log ``model.bulk_created``,
``model.bulk_updated`` and ``model.bulk_deleted`` with ``object_ids``,
``count`` and per-object ``changes`` (keyed by object id) where they are
known:

* ``bulk_create``: the values created (``old`` is ``null``); ids as the
  database returned them (``null`` where it does not return ids). With
  ``ignore_conflicts`` or ``update_conflicts`` which rows were inserted,
  skipped or updated is unknown: one ``model.bulk_upserted`` line says so
  (``conflicts``, the ids known, ``update_fields``), with no values;
* ``bulk_update``: the old values from when the objects were loaded, no
  query;
* ``update(**values)``: reads the primary keys and the old values of the
  updated columns only (one narrow ``SELECT ... FOR UPDATE`` where the
  database supports it, in the same transaction), and reads the new values
  back only when they are expressions (``F("n") + 1``);
* ``delete()``: one ``model.bulk_deleted`` for the queryset's model with the
  last values (``new`` is ``null``) instead of a line per row; cascaded
  deletions of other registered models keep their own ``model.deleted``.

Each event is written when the transaction commits; large operations are
split into lines of at most :data:`CHUNK` objects. On a model that is not
registered the methods behave exactly like Django's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from django.db import models, transaction

from eventlog.audit import receivers, state
from eventlog.audit import registry as _registry
from eventlog.audit.app_events import object_id
from eventlog.audit.registry import Registration
from eventlog.audit.switch import off
from eventlog.write.pipeline import emit, internal_error

__all__ = ["CHUNK", "AuditedManager", "AuditedQuerySet", "AuditedQuerySetMixin"]

CHUNK: Final = 500
"""Objects per ``model.bulk_*`` line."""

_M = TypeVar("_M", bound=models.Model, covariant=True)

_quiet: ContextVar[bool] = ContextVar("eventlog_bulk_quiet", default=False)

if TYPE_CHECKING:
    _Base = models.QuerySet[Any]
else:
    _Base = object


def _emit_bulk(
    event: str,
    reg: Registration,
    ids: Sequence[str | None],
    per_object: dict[str, dict[str, Any]] | None,
    using: str,
) -> None:
    for start in range(0, max(len(ids), 1), CHUNK):
        part = list(ids[start : start + CHUNK])
        fields: dict[str, Any] = {"model": reg.label, "object_ids": part, "count": len(part)}
        if per_object:
            fields["changes"] = {
                i: per_object[i] for i in part if i is not None and i in per_object
            }
        emit(event, fields, on_commit=True, using=using)


def _conflicts(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """``"ignore"``/``"update"`` when bulk_create was asked to handle conflicts
    (``bulk_create(objs, batch_size, ignore_conflicts, update_conflicts, ...)``)."""
    if kwargs.get("ignore_conflicts") or (len(args) > 1 and args[1]):
        return "ignore"
    if kwargs.get("update_conflicts") or (len(args) > 2 and args[2]):
        return "update"
    return None


def _is_expression(value: Any) -> bool:
    return hasattr(value, "resolve_expression")  # Django's own test for expressions


class AuditedQuerySetMixin(_Base):
    """Mix into a ``QuerySet`` subclass so its bulk operations are logged."""

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        """``QuerySet.bulk_create``, then one ``model.bulk_created`` per chunk."""
        objs = list(objs)
        created: list[Any] = super().bulk_create(objs, *args, **kwargs)
        reg = _registry.lookup(self.model)
        conflicts = _conflicts(args, kwargs)
        quiet = off()
        if reg is not None and created and conflicts:
            if quiet:
                return created  # which rows were written is not known: no baseline either
            try:  # which rows were inserted, skipped or updated is not known
                ids = sorted(
                    {i for i in map(object_id, created) if i is not None}, key=receivers.id_order
                )
                fields: dict[str, Any] = {
                    "model": reg.label,
                    "object_ids": ids,
                    "count": len(created),
                    "conflicts": conflicts,
                }
                if conflicts == "update":
                    fields["update_fields"] = list(kwargs.get("update_fields") or ())
                emit("model.bulk_upserted", fields, on_commit=True, using=self.db)
            except Exception as exc:
                internal_error("receiver_failed", exc, "model.bulk_upserted")
        elif reg is not None and created:
            try:
                per: dict[str, dict[str, Any]] = {}
                for obj in created:
                    values = receivers.current_values(reg, obj)
                    state.set_baseline(obj, values, replace=True)
                    if obj.pk is not None and not quiet:
                        per[str(obj.pk)] = receivers.changes(reg, {}, values)
                if not quiet:
                    _emit_bulk(
                        "model.bulk_created", reg, [object_id(o) for o in created], per, self.db
                    )
            except Exception as exc:
                internal_error("receiver_failed", exc, "model.bulk_created")
        return created

    def bulk_update(
        self, objs: Iterable[Any], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        """``QuerySet.bulk_update``, then ``model.bulk_updated`` with the
        changes against the values each object was loaded with."""
        objs = list(objs)
        fields = list(fields)
        token = _quiet.set(True)  # Django's bulk_update calls update() per batch
        try:
            count: int = super().bulk_update(objs, fields, batch_size)
        finally:
            _quiet.reset(token)
        reg = _registry.lookup(self.model)
        if reg is not None and objs:
            try:
                attnames = {_registry.attname(self.model, f) for f in fields}
                per: dict[str, dict[str, Any]] = {}
                quiet = off()
                for obj in objs:
                    new = {
                        k: v for k, v in receivers.current_values(reg, obj).items() if k in attnames
                    }
                    state.settle(obj)
                    previous = state.baseline(obj)
                    diff = {} if quiet else receivers.changes(reg, previous or {}, new)
                    state.set_baseline(obj, new)
                    state.remember(obj, self.db, previous)
                    if diff and receivers.counts(reg, diff):
                        per[str(obj.pk)] = diff
                if per:
                    _emit_bulk(
                        "model.bulk_updated", reg, sorted(per, key=receivers.id_order), per, self.db
                    )
            except Exception as exc:
                internal_error("receiver_failed", exc, "model.bulk_updated")
        return count

    def update(self, **kwargs: Any) -> int:
        """``QuerySet.update``, then ``model.bulk_updated`` with the rows'
        changes (see the module docstring for what it reads)."""
        reg = _registry.lookup(self.model)
        if reg is None or _quiet.get() or off():
            return int(super().update(**kwargs))
        with transaction.atomic(using=self.db, savepoint=False):
            try:
                attnames = [_registry.attname(self.model, name) for name in kwargs]
                # FOR UPDATE is refused with DISTINCT or aggregates (PostgreSQL);
                # the savepoint keeps a failed read from aborting the caller's
                # transaction, so Django's own update still runs.
                locks = self._locks() and not self.query.distinct and not self.query.annotations
                qs = self.select_for_update() if locks else self
                with transaction.atomic(using=self.db):
                    before = {
                        str(row[0]): dict(zip(attnames, row[1:], strict=True))
                        for row in qs.values_list("pk", *attnames).order_by()
                    }
            except Exception as exc:
                internal_error("receiver_failed", exc, "model.bulk_updated")
                return int(super().update(**kwargs))
            count = int(super().update(**kwargs))
            try:
                self._log_update(reg, before, kwargs, attnames)
            except Exception as exc:
                internal_error("receiver_failed", exc, "model.bulk_updated")
        return count

    def _locks(self) -> bool:
        from django.db import connections

        return bool(connections[self.db].features.has_select_for_update)

    def _log_update(
        self,
        reg: Registration,
        before: dict[str, dict[str, Any]],
        kwargs: dict[str, Any],
        attnames: list[str],
    ) -> None:
        if not before:
            return
        if any(_is_expression(v) for v in kwargs.values()):
            after = {
                str(row[0]): dict(zip(attnames, row[1:], strict=True))
                for row in self.model._base_manager.using(self.db)
                .filter(pk__in=[self.model._meta.pk.to_python(k) for k in before])
                .values_list("pk", *attnames)
            }
        else:
            values = {
                _registry.attname(self.model, name): value.pk
                if isinstance(value, models.Model)
                else value
                for name, value in kwargs.items()
            }
            after = dict.fromkeys(before, values)
        per = {}
        for pk, old in before.items():
            diff = receivers.changes(reg, old, after.get(pk, {}))
            if receivers.counts(reg, diff):
                per[pk] = diff
        if per:
            _emit_bulk("model.bulk_updated", reg, sorted(per, key=receivers.id_order), per, self.db)

    def delete(self) -> tuple[int, dict[str, int]]:
        """``QuerySet.delete``, logged as one ``model.bulk_deleted`` per chunk
        for the queryset's model."""
        reg = _registry.lookup(self.model)
        if reg is None or off():
            return super().delete()
        var = receivers.collecting_deletes()
        collected: list[receivers.Deletion] = []
        token = var.set(collected)
        try:
            with transaction.atomic(using=self.db, savepoint=False):
                result = super().delete()
        finally:
            var.reset(token)
        try:
            mine: list[tuple[str | None, dict[str, Any]]] = []
            for instance, object_id, shot in collected:
                other = _registry.lookup(type(instance))
                if other is reg:
                    mine.append((object_id, shot))
                elif other is not None:  # a cascade: logged as usual
                    receivers.emit_deleted(other, instance, object_id, shot, self.db)
            ids = sorted((pk for pk, _ in mine), key=receivers.id_order)
            per = {
                pk: {name: {"old": value, "new": None} for name, value in shot.items()}
                for pk, shot in mine
                if pk is not None
            }
            if ids:
                _emit_bulk("model.bulk_deleted", reg, ids, per, self.db)
        except Exception as exc:
            internal_error("receiver_failed", exc, "model.bulk_deleted")
        return result


class AuditedQuerySet(AuditedQuerySetMixin, models.QuerySet[_M], Generic[_M]):
    """A ``QuerySet`` whose bulk operations are logged."""


AuditedManager = models.Manager.from_queryset(AuditedQuerySet)
"""A manager over :class:`AuditedQuerySet`: ``objects = AuditedManager()``."""
