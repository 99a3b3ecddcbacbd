"""``eventlog.register``: audit a model, from code or from ``EVENTLOG_MODELS``.

Registering records the model's options in :mod:`eventlog.audit.registry`
and, once Django's app registry is ready, activates it
(:func:`eventlog.audit.receivers.activate`): the baseline wrappers of
:mod:`eventlog.audit.state` on the class, ``pre_save``/``post_save``/
``post_delete`` receivers for the model and its proxies, and ``m2m_changed``
receivers for the ``through`` models of its many-to-many fields, forward and
reverse.

Registering the same model twice with the same options is harmless; with other
options the later call wins. A multi-table child is audited only when it is
registered itself (its events then carry the parent's fields); a proxy is
logged under its concrete model's label unless it is registered itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar, overload

from django.apps import apps
from django.db.models import Model

from eventlog import conf
from eventlog.audit import receivers, registry
from eventlog.audit.extra import Extra, import_extra
from eventlog.audit.registry import has_field, spec_models

__all__ = ["register", "register_from_settings", "unregister"]

M = TypeVar("M", bound=type[Model])


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
    extra: Extra | None = ...,
) -> M: ...


@overload
def register(
    model: None = ...,
    *,
    include: Iterable[str] | None = ...,
    exclude: Iterable[str] = ...,
    mask: Iterable[str] = ...,
    extra: Extra | None = ...,
) -> Callable[[M], M]: ...


def register(
    model: M | None = None,
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    mask: Iterable[str] = (),
    extra: Extra | None = None,
) -> M | Callable[[M], M]:
    """Audit ``model``: every committed create, update, delete and m2m change
    becomes a ``model.*`` line.

    ``include`` limits the tracked fields (default: every concrete field),
    ``exclude`` drops some, ``mask`` names fields whose values are written as
    ``"***"`` (fields named like secrets are masked anyway); a masked field
    still shows in ``changes`` when it changed. Usable as a call,
    ``register(Employee, exclude=["notes"])``, or as a class decorator,
    ``@register`` or ``@register(mask=["pin"])``. Returns the model.
    ``extra(instance)`` returns a dict of keys added to the instance's lines
    (:mod:`eventlog.audit.extra`).
    """
    if extra is not None and not callable(extra):
        raise TypeError(f"eventlog.register: extra must be a callable, not {extra!r}")
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
        reg = registry.add(cls, *options, extra)
        if reg is not None and apps.ready:
            receivers.activate(reg)
        return cls

    if model is None:
        return decorate
    return decorate(model)


def unregister(model: type[Model]) -> None:
    """Undo :func:`register`: saves, deletes and m2m changes of ``model`` write
    nothing from now on (a proxy registered itself, and the other side of a
    relation that is registered, are still audited). Registering again works;
    a model that is not registered is left as it is."""
    if not (isinstance(model, type) and issubclass(model, Model)):
        raise TypeError(f"eventlog.unregister: {model!r} is not a model class")
    with registry.lock():
        if registry.remove(model) is not None and apps.ready:
            receivers.deactivate(model)


def register_from_settings() -> None:
    """Register the models of ``EVENTLOG_MODELS``; invalid entries are skipped
    (the system checks report them)."""
    # One callable per path: registering again with the same one is a no-op.
    extras = {s.extra: import_extra(s.extra) for s in conf.models() if s.extra is not None}
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
                extra=None if spec.extra is None else extras[spec.extra],
            )
