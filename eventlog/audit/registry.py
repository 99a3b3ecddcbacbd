"""Which models are audited, and how: :func:`register` and its registrations.

A registration names the model's tracked fields (``include``/``exclude``)
and the fields whose values are never written (``mask`` plus every field
named like a secret, :func:`eventlog.conf.mask_fields`). Fields are resolved
lazily, when Django's app registry is ready, because a class decorator runs
before the related models (and the m2m ``through`` models) exist.

Registering installs, on the model class:

* a ``from_db`` wrapper that keeps the loaded row's values on the instance
  (one attribute per row, no copy, no query: the old values of an update are
  known without a ``SELECT``; only JSON-like fields, which can be mutated in
  place, are copied on load), and a ``refresh_from_db`` wrapper that keeps
  them current;
* ``pre_save``/``post_save``/``post_delete`` receivers for the model and its
  proxies, and ``m2m_changed`` receivers for the ``through`` models of its
  many-to-many fields, forward and reverse
  (:mod:`eventlog.audit.receivers`).

Registering the same model twice with the same options is harmless; with other
options the later call wins. A multi-table child is audited only when it is
registered itself (its events then carry the parent's fields); a proxy is
logged under its concrete model's label unless it is registered itself.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar, overload

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models import Field, ManyToManyField, Model
from django.db.models.signals import class_prepared
from django.utils.inspect import func_accepts_kwargs, func_supports_parameter

from eventlog import conf
from eventlog.write.values import Masker

__all__ = [
    "Registration",
    "activate_all",
    "attname",
    "baseline",
    "has_field",
    "lookup",
    "register",
    "register_from_settings",
    "registrations",
    "remember",
    "set_baseline",
    "settle",
    "spec_models",
]

M = TypeVar("M", bound=type[Model])

BASELINE: Final = "_eventlog_baseline"
"""Instance attribute: the row as last loaded or saved, ``{attname: value}``
(or, straight from ``from_db``, the row's values, their attnames under
:data:`BASELINE_NAMES`)."""
BASELINE_NAMES: Final = "_eventlog_baseline_names"
INSERTING: Final = "_eventlog_inserting"
"""Instance attribute set while a save with ``force_insert`` runs."""
MUTABLE_TYPES: Final = frozenset({"JSONField", "ArrayField", "HStoreField"})

_lock = threading.RLock()
_registry: dict[type[Model], Registration] = {}
_wrapped: set[type[Model]] = set()


@dataclass(eq=False)
class Registration:
    """How one model is audited. ``fields`` and ``masked`` are filled in by
    :meth:`resolve` once the app registry is ready."""

    model: type[Model]
    include: tuple[str, ...] | None
    exclude: tuple[str, ...]
    mask: tuple[str, ...]
    label: str = ""
    fields: tuple[Field[Any, Any], ...] = ()
    masked: frozenset[str] = frozenset()
    mutable: frozenset[str] = frozenset()
    m2m: tuple[ManyToManyField[Any, Any], ...] = ()
    resolved: bool = field(default=False)

    def resolve(self) -> None:
        """Resolve field names; raise ``ImproperlyConfigured`` naming an unknown one."""
        opts = self.model._meta
        for name in (*(self.include or ()), *self.exclude, *self.mask):
            if not has_field(self.model, name):
                raise ImproperlyConfigured(
                    f"eventlog.register({opts.label}): unknown field {name!r}"
                ) from None
        wanted = None if self.include is None else set(self.include)
        skipped = set(self.exclude)
        tracked = tuple(
            f
            for f in opts.concrete_fields
            if (wanted is None or f.name in wanted or f.attname in wanted)
            and f.name not in skipped
            and f.attname not in skipped
        )
        secret = Masker(conf.mask_fields())  # the pipeline's own rule for secret names
        self.label = opts.label_lower
        self.fields = tracked
        masks = set(self.mask)
        self.masked = frozenset(
            f.name
            for f in tracked
            if f.name in masks or f.attname in masks or secret.is_secret(f.name)
        )
        self.mutable = frozenset(
            f.attname for f in tracked if f.get_internal_type() in MUTABLE_TYPES
        )
        self.m2m = tuple(
            f
            for f in opts.many_to_many
            if (wanted is None or f.name in wanted) and f.name not in skipped
        )
        self.resolved = True


def _names(value: Iterable[str] | str | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    names = tuple(value)
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"eventlog.register: {what} must be field names")
    return names


@overload
def register(
    model: M,
    *,
    include: Iterable[str] | None = ...,
    exclude: Iterable[str] = ...,
    mask: Iterable[str] = ...,
) -> M: ...


@overload
def register(
    model: None = ...,
    *,
    include: Iterable[str] | None = ...,
    exclude: Iterable[str] = ...,
    mask: Iterable[str] = ...,
) -> Callable[[M], M]: ...


def register(
    model: M | None = None,
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    mask: Iterable[str] = (),
) -> M | Callable[[M], M]:
    """Audit ``model``: every committed create, update, delete and m2m change
    becomes a ``model.*`` line.

    ``include`` limits the tracked fields (default: every concrete field),
    ``exclude`` drops some, ``mask`` names fields whose values are written as
    ``"***"`` (fields named like secrets are masked anyway); a masked field
    still shows in ``changes`` when it changed. Usable as a call,
    ``register(Employee, exclude=["notes"])``, or as a class decorator,
    ``@register`` or ``@register(mask=["pin"])``. Returns the model.
    """
    options = (
        None if include is None else _names(include, "include"),
        _names(exclude, "exclude"),
        _names(mask, "mask"),
    )

    def decorate(cls: M) -> M:
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise TypeError(f"eventlog.register: {cls!r} is not a model class")
        if cls._meta.abstract:
            raise TypeError(f"eventlog.register: {cls.__name__} is abstract")
        with _lock:
            old = _registry.get(cls)
            if old is not None and (old.include, old.exclude, old.mask) == options:
                return cls
            reg = Registration(cls, *options)
            if apps.ready:
                reg.resolve()  # an unknown field raises before anything changes
            _registry[cls] = reg
            if apps.ready:
                activate(reg)
        return cls

    if model is None:
        return decorate
    return decorate(model)


def registrations() -> list[Registration]:
    """Every registration, in registration order."""
    return list(_registry.values())


def lookup(cls: type[Model]) -> Registration | None:
    """The registration that audits instances of ``cls`` (its own, or for a
    proxy its concrete model's), resolved; ``None`` when not audited."""
    reg = _registry.get(cls)
    if reg is None and cls._meta.proxy:
        reg = _registry.get(cls._meta.concrete_model)  # type: ignore[arg-type]
    if reg is not None and not reg.resolved:
        with _lock:
            if not reg.resolved:
                reg.resolve()
    return reg


def activate(reg: Registration) -> None:
    """Resolve ``reg`` and connect what audits it (idempotent)."""
    from eventlog.audit import receivers as _model_receivers

    with _lock:
        reg.resolve()
        _wrap(reg.model)
        _model_receivers.connect(reg.model)
        for model in apps.get_models(include_auto_created=False):
            if model._meta.proxy and model._meta.concrete_model is reg.model:
                _model_receivers.connect(model)
        for m2m in _m2m_of(reg.model):
            _model_receivers.connect_m2m(m2m)


def activate_all() -> None:
    """Activate every registration (``AppConfig.ready()``)."""
    for reg in registrations():
        activate(reg)


def _m2m_of(model: type[Model]) -> list[ManyToManyField[Any, Any]]:
    """Many-to-many fields of ``model`` and those of other models pointing at it."""
    found = list(model._meta.many_to_many)
    for rel in model._meta.related_objects:
        if rel.many_to_many and isinstance(rel.field, ManyToManyField):
            found.append(rel.field)
    return found


def _on_class_prepared(sender: type[Model], **_kwargs: Any) -> None:
    """A proxy defined after its concrete model was registered is audited too."""
    if sender._meta.proxy and sender._meta.concrete_model in _registry and apps.ready:
        from eventlog.audit import receivers as _model_receivers

        _model_receivers.connect(sender)


class_prepared.connect(_on_class_prepared, dispatch_uid="eventlog.class_prepared")


def _wrap(model: type[Model]) -> None:
    """Install the ``from_db``/``refresh_from_db``/``save_base`` wrappers on
    ``model`` once.

    A wrapper rather than a ``post_init`` receiver: ``post_init`` runs for
    every instance built, loaded or not, and costs a signal dispatch per row;
    this costs one attribute per loaded row (see the load benchmark).
    """
    if model in _wrapped:
        return
    original_from_db = model.from_db.__func__  # type: ignore[attr-defined]
    original_refresh = model.refresh_from_db

    # Django 6.1 passes fetch_mode= to a from_db() that accepts it; pass it on
    # only where the wrapped one does (a project's own from_db may not).
    passes_kwargs = func_accepts_kwargs(original_from_db) or func_supports_parameter(
        original_from_db, "fetch_mode"
    )

    def keep(cls: type[Model], instance: Model, field_names: Any, values: Any) -> None:
        reg = _registry.get(cls) or _registry.get(cls._meta.concrete_model)  # type: ignore[arg-type]
        state = instance.__dict__
        if reg is not None and reg.mutable:
            state[BASELINE] = _copy_mutable(reg, dict(zip(field_names, values, strict=False)))
        else:
            # Two references, no new object: a (names, values) pair per row
            # would be one more container for the garbage collector to track
            # and walk while a large queryset loads (+30% on 10,000 rows).
            state[BASELINE] = values
            state[BASELINE_NAMES] = field_names

    # Two shapes, so that loading a row under Django < 6.1 builds no kwargs dict.
    if passes_kwargs:

        def from_db(
            cls: type[Model], db: str | None, field_names: Any, values: Any, **kwargs: Any
        ) -> Model:
            instance: Model = original_from_db(cls, db, field_names, values, **kwargs)
            keep(cls, instance, field_names, values)
            return instance

    else:

        def from_db(  # type: ignore[misc]
            cls: type[Model], db: str | None, field_names: Any, values: Any
        ) -> Model:
            instance: Model = original_from_db(cls, db, field_names, values)
            keep(cls, instance, field_names, values)
            return instance

    def refresh_from_db(self: Model, *args: Any, **kwargs: Any) -> None:
        original_refresh(self, *args, **kwargs)
        fields = kwargs.get("fields", args[1] if len(args) > 1 else None)
        if fields is not None and not fields:
            return  # nothing was reloaded
        names = (
            {attname(type(self), n) for n in fields}
            if fields is not None
            else {f.attname for f in self._meta.concrete_fields}
        )
        set_baseline(self, {n: self.__dict__[n] for n in names if n in self.__dict__})

    original_save_base = model.save_base

    def save_base(self: Model, *args: Any, **kwargs: Any) -> None:
        # create() forces an INSERT: there is no old row to read in pre_save.
        forced = kwargs.get("force_insert", args[1] if len(args) > 1 else False)
        if forced:
            self.__dict__[INSERTING] = True
        try:
            original_save_base(self, *args, **kwargs)
        finally:
            if forced:
                self.__dict__.pop(INSERTING, None)

    model.save_base = save_base  # type: ignore[method-assign]
    model.from_db = classmethod(from_db)  # type: ignore[method-assign,assignment,arg-type]
    model.refresh_from_db = refresh_from_db  # type: ignore[method-assign]
    _wrapped.add(model)


def _copy_mutable(reg: Registration, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its JSON-like values copied: they can be changed in place,
    and the baseline must keep what the database holds."""
    return {k: copy.deepcopy(v) if k in reg.mutable else v for k, v in row.items()}


def baseline(instance: Model) -> dict[str, Any] | None:
    """The instance's row as last loaded or saved (``None`` if never)."""
    state = instance.__dict__
    base = state.get(BASELINE)
    if base is None or isinstance(base, dict):
        return base
    row = dict(zip(state.pop(BASELINE_NAMES, ()), base, strict=False))
    state[BASELINE] = row
    return row


def set_baseline(instance: Model, values: dict[str, Any], *, replace: bool = False) -> None:
    """Record ``values`` (``{attname: value}``) as known to be in the database."""
    reg = lookup(type(instance))
    if reg is not None and reg.mutable:
        values = _copy_mutable(reg, values)
    old = None if replace else baseline(instance)
    state = instance.__dict__
    state[BASELINE] = values if old is None else {**old, **values}
    state.pop(BASELINE_NAMES, None)


def spec_models(spec: conf.ModelSpec) -> list[type[Model]]:
    """The models an ``EVENTLOG_MODELS`` label names (``LookupError`` if none)."""
    if "." in spec.label:
        return [apps.get_model(spec.label)]
    return list(apps.get_app_config(spec.label).get_models())


def attname(model: type[Model], name: str) -> str:
    """The attribute name (``keeper_id``) of field ``name`` (``keeper``) of ``model``."""
    return str(getattr(model._meta.get_field(name), "attname", name))


def has_field(model: type[Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return any(f.attname == name for f in model._meta.concrete_fields)
    return True


def register_from_settings() -> None:
    """Register the models of ``EVENTLOG_MODELS``; invalid entries are skipped
    (the system checks report them)."""
    for spec in conf.models():
        try:
            models = spec_models(spec)
        except (LookupError, ValueError):
            continue
        for model in models:
            if model._meta.abstract:
                continue
            register(
                model,
                include=None
                if spec.include is None
                else [n for n in spec.include if has_field(model, n)],
                exclude=[n for n in spec.exclude if has_field(model, n)],
                mask=[n for n in spec.mask if has_field(model, n)],
            )


PENDING: Final = "_eventlog_pending"
"""Instance attribute: baselines replaced by saves whose transaction has not
committed yet, ``[(committed flag, weakref to its on_commit callback,
previous baseline), ...]``."""


class _Pending(list[Any]):
    """The pending entries of an instance: never pickled or deep-copied (they
    describe this process's open transactions, and hold weak references)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Pending, ())

    def __deepcopy__(self, memo: Any) -> _Pending:
        return _Pending()


class _Committed:
    """An ``on_commit`` callback that only records that its save committed.

    Django drops the callbacks of a rolled-back transaction or savepoint; this
    one is referenced only from Django's list, so once dropped its weak
    reference dies: a dead reference without the flag means the save was
    rolled back. (Django has no ``on_rollback`` hook to tell us directly.)
    """

    __slots__ = ("__weakref__", "flag")

    def __init__(self, flag: list[bool]) -> None:
        self.flag = flag

    def __call__(self) -> None:
        self.flag[0] = True


def remember(instance: Model, using: str, previous: dict[str, Any] | None) -> None:
    """Note that a save inside a transaction replaced ``previous`` as the
    baseline, so :func:`settle` can restore it if that transaction rolls back."""
    from django.db import transaction

    if not transaction.get_connection(using).in_atomic_block:
        return
    flag = [False]
    callback = _Committed(flag)
    instance.__dict__.setdefault(PENDING, _Pending()).append(
        (flag, weakref.ref(callback), previous)
    )
    transaction.on_commit(callback, using=using)


def settle(instance: Model) -> None:
    """Restore the baseline of before the earliest save that was rolled back
    (its values never reached the database); forget committed saves."""
    pending = instance.__dict__.get(PENDING)
    if not pending:
        return
    for index, (flag, ref, previous) in enumerate(pending):
        if not flag[0] and ref() is None:  # rolled back
            if previous is None:
                instance.__dict__.pop(BASELINE, None)
            else:
                instance.__dict__[BASELINE] = previous
            del pending[index:]
            break
    pending[:] = [entry for entry in pending if not entry[0][0]]
    if not pending:
        del instance.__dict__[PENDING]
