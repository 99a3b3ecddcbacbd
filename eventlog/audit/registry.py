"""Which models are audited, and how: the registrations.

A registration names the model's tracked fields (``include``/``exclude``)
and the fields whose values are never written (``mask`` plus every field
named like a secret, :func:`eventlog.conf.mask_fields`; a session model's
key and data always). Fields are resolved
lazily, when Django's app registry is ready, because a class decorator runs
before the related models (and the m2m ``through`` models) exist.

This module only keeps the registrations: :func:`eventlog.register`
(:mod:`eventlog.audit.register`) makes them, :mod:`eventlog.audit.receivers`
connects what audits them, :mod:`eventlog.audit.state` keeps each
instance's known row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models import Field, ManyToManyField, Model

from eventlog import conf
from eventlog.write.values import Masker

__all__ = [
    "BY_MODEL",
    "Registration",
    "add",
    "attname",
    "has_field",
    "hides_pk",
    "is_registered",
    "is_session_model",
    "lock",
    "lookup",
    "registrations",
    "remove",
    "spec_models",
]

MUTABLE_TYPES: Final = frozenset({"JSONField", "ArrayField", "HStoreField"})
SESSION_FIELDS: Final = frozenset({"session_key", "session_data"})

_lock = threading.RLock()
_registry: dict[type[Model], Registration] = {}
BY_MODEL: Final[Mapping[type[Model], Registration]] = _registry
"""The registrations by model class, read-only: for the per-row path, which
looks registrations up without a call or a lock."""


@dataclass(eq=False)
class Registration:
    """How one model is audited. ``fields`` and ``masked`` are filled in by
    :meth:`resolve` once the app registry is ready."""

    model: type[Model]
    include: tuple[str, ...] | None
    exclude: tuple[str, ...]
    mask: tuple[str, ...]
    extra: Callable[[Model], Any] | None = None
    """Its keys are added to the model's lines (:mod:`eventlog.audit.extra`)."""
    label: str = ""
    fields: tuple[Field[Any, Any], ...] = ()
    attnames: frozenset[str] = frozenset()
    """The ``attname`` of each of ``fields``."""
    masked: frozenset[str] = frozenset()
    mutable: frozenset[str] = frozenset()
    auto_now: frozenset[str] = frozenset()
    """Names of the tracked ``auto_now`` fields: a save changing only these logs nothing."""
    m2m: tuple[ManyToManyField[Any, Any], ...] = ()
    secret_pk: bool = False
    """The primary key is masked: lines name the object as ``"***"``."""
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
        self.attnames = frozenset(f.attname for f in tracked)
        masks = set(self.mask)
        if is_session_model(self.model):
            masks |= SESSION_FIELDS  # whatever the masking rule says
        self.masked = frozenset(
            f.name
            for f in tracked
            if f.name in masks or f.attname in masks or secret.is_secret(f.name)
        )
        pk = opts.pk
        self.secret_pk = pk is not None and (
            pk.name in masks or pk.attname in masks or secret.is_secret(pk.name)
        )
        self.mutable = frozenset(
            f.attname for f in tracked if f.get_internal_type() in MUTABLE_TYPES
        )
        self.auto_now = frozenset(f.name for f in tracked if getattr(f, "auto_now", False))
        self.m2m = tuple(
            f
            for f in opts.many_to_many
            if (wanted is None or f.name in wanted) and f.name not in skipped
        )
        self.resolved = True


def add(
    model: type[Model],
    include: tuple[str, ...] | None,
    exclude: tuple[str, ...],
    mask: tuple[str, ...],
    extra: Callable[[Model], Any] | None = None,
) -> Registration | None:
    """Register ``model`` with these options; the new registration, resolved
    when the app registry is ready (an unknown field raises
    ``ImproperlyConfigured`` before anything changes), or ``None`` when the
    model is already registered with the same options."""
    with _lock:
        old = _registry.get(model)
        if old is not None and (old.include, old.exclude, old.mask, old.extra) == (
            include,
            exclude,
            mask,
            extra,
        ):
            return None
        reg = Registration(model, include, exclude, mask, extra)
        if apps.ready:
            reg.resolve()
        _registry[model] = reg
        return reg


def remove(model: type[Model]) -> Registration | None:
    """Forget the registration of ``model`` itself; the one removed, or ``None``."""
    with _lock:
        return _registry.pop(model, None)


def lock() -> threading.RLock:
    """The lock that serialises registering and activating."""
    return _lock


def is_registered(model: type[Model]) -> bool:
    """Whether ``model`` itself (not through its concrete model) is registered."""
    return model in _registry


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


def spec_models(spec: conf.ModelSpec) -> list[type[Model]]:
    """The models an ``EVENTLOG_MODELS`` label names (``LookupError`` if none)."""
    if "." in spec.label:
        return [apps.get_model(spec.label)]
    return list(apps.get_app_config(spec.label).get_models())


def is_session_model(model: type[Model]) -> bool:
    """Whether ``model`` stores Django sessions (``django.contrib.sessions``'
    model or another ``AbstractBaseSession``): its pk is the session key."""
    from django.contrib.sessions.base_session import AbstractBaseSession

    return issubclass(model, AbstractBaseSession)


def hides_pk(model: type[Model]) -> bool:
    """Whether lines name instances of ``model`` as ``"***"``: its registration
    masks the primary key, or, unregistered, it is a session model."""
    reg = lookup(model)
    return reg.secret_pk if reg is not None else is_session_model(model)


def attname(model: type[Model], name: str) -> str:
    """The attribute name (``keeper_id``) of field ``name`` (``keeper``) of ``model``."""
    return str(getattr(model._meta.get_field(name), "attname", name))


def has_field(model: type[Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return any(f.attname == name for f in model._meta.concrete_fields)
    return True
