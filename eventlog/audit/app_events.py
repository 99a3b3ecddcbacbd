"""Receivers that turn eventlog's signals into events."""

from __future__ import annotations

import re
from typing import Any, Final

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field, Model

from eventlog import signals
from eventlog.audit.registry import hides_pk
from eventlog.core.keys import MASK, MOVED_TO
from eventlog.write.pipeline import emit, internal_error
from eventlog.write.values import moved, safe_str

__all__ = ["connect", "describe", "label_of", "object_id", "object_repr", "reserved"]

EVENT_NAME: Final = re.compile(r"[A-Za-z0-9_]+(?:[.:-][A-Za-z0-9_]+)*")
MAX_REPR: Final = 200
# The contract gives these names to eventlog's own receivers: readers apply
# ``model.*`` and ``state.changed`` lines as changes (history, restore), so a
# line sent under one of them would rewrite an object's history.
RESERVED_PREFIXES: Final = ("model.", "auth.", "eventlog.")
RESERVED_NAMES: Final = frozenset({"state.changed", "http.request"})


def reserved(name: str) -> bool:
    """Whether ``name`` belongs to eventlog's own receivers (any letter case)."""
    lowered = name.lower()
    return lowered in RESERVED_NAMES or lowered.startswith(RESERVED_PREFIXES)


def label_of(sender: Any) -> str | None:
    """A string naming ``sender``: ``app_label.modelname`` for a model class or
    instance, the dotted path for another class, the text of a string."""
    if sender is None:
        return None
    if isinstance(sender, str):
        return sender
    if isinstance(sender, type) and issubclass(sender, Model):
        return sender._meta.label_lower
    if isinstance(sender, Model):
        return sender._meta.label_lower
    cls = sender if isinstance(sender, type) else type(sender)
    return f"{cls.__module__}.{cls.__qualname__}"


def object_repr(instance: Any) -> str:
    """``str(instance)``, capped, never raising; ``"***"`` for a model whose
    pk is secret (its ``str()`` is often the pk)."""
    if isinstance(instance, Model) and hides_pk(type(instance)):
        return MASK
    return safe_str(instance)[:MAX_REPR]


def object_id(instance: Model) -> str | None:
    """The instance's primary key as a string (``None`` before it has one,
    ``"***"`` when it is secret: a session key)."""
    if instance.pk is None:
        return None
    return MASK if hides_pk(type(instance)) else str(instance.pk)


def describe(instance: Model) -> dict[str, Any]:
    """``{model, object_id, repr}`` of a model instance."""
    return {
        "model": instance._meta.label_lower,
        "object_id": object_id(instance),
        "repr": object_repr(instance),
    }


# Event names already checked, with the name the line gets and the key
# keeping the requested one (a validation per line costs a regex and more).
_NAMES: dict[str, tuple[str, str | None]] = {}
_NAMES_MAX: Final = 1000


def _name(event: Any) -> tuple[str, str | None]:
    """``(name written, key under which the requested name is kept)``."""
    if not isinstance(event, str) or len(event) > 100 or not EVENT_NAME.fullmatch(event):
        return "app.event", "invalid_event"
    if reserved(event):
        return "app.event", "reserved_event"
    return event, None


def on_event_signal(
    sender: Any,
    *,
    signal: Any = None,
    message: Any = None,
    instance: Any = None,
    event: Any = "app.event",
    level: Any = "info",
    on_commit: bool | None = None,
    using: str | None = None,
    **extra: Any,
) -> None:
    """``event_signal`` -> ``app.event`` (or ``event``) with sender, message,
    instance and the extra keys. Never raises into the sender."""
    try:
        fields: dict[str, Any] = {"sender": sender if type(sender) is str else label_of(sender)}
        if message is not None:
            fields["message"] = message if type(message) is str else safe_str(message)
        if instance is not None:
            if isinstance(instance, Model):
                fields["instance"] = describe(instance)
                using = using or instance._state.db
            else:
                fields["instance"] = {"repr": object_repr(instance)}
        named = _NAMES.get(event) if type(event) is str else None
        if named is None:
            named = _name(event)
            if type(event) is str and len(_NAMES) < _NAMES_MAX:
                _NAMES[event] = named
        name, kept_under = named
        if kept_under == "invalid_event":
            fields["invalid_event"] = safe_str(event)[:100]
        if extra:
            fields.update(extra)
        if kept_under == "reserved_event":
            # After the extra keys: the requested name is never overwritten.
            fields["reserved_event"] = event
        if type(level) is not str or level != "info":
            level = str(level).lower()
        emit(name, fields, level=level, on_commit=on_commit, using=using)
    except Exception as exc:
        internal_error("receiver_failed", exc, safe_str(event))


def on_state_changed(sender: Any, **kwargs: Any) -> None:
    """``state_changed`` -> ``state.changed``, written when the transaction
    commits. Never raises into the sender."""
    try:
        _state(sender, **kwargs)
    except Exception as exc:
        internal_error("receiver_failed", exc, "state.changed")


def _state(
    sender: Any,
    *,
    instance: Any,
    field: str,
    source: Any,
    target: Any,
    transition: str,
    **extra: Any,
) -> None:
    extra.pop("signal", None)
    is_model = isinstance(instance, Model)
    fields: dict[str, Any] = {
        "model": instance._meta.label_lower if is_model else label_of(sender),
        "object_id": object_id(instance) if is_model else None,
        "field": field,
        "source": source,
        "target": target,
        "transition": transition,
    }
    # The signal's own keys are taken from the instance and the arguments:
    # an extra key of the same name would aim the line at another object.
    clashing = {key: value for key, value in extra.items() if key in fields}
    fields.update({key: value for key, value in extra.items() if key not in fields})
    if clashing:
        fields[MOVED_TO] = moved(fields.get(MOVED_TO), clashing)
    event = "state.changed"
    if is_model and not _holds(instance, field, target):
        # history and restore apply state.changed as a change of that field:
        # only a field that now holds the target is one.
        fields["reserved_event"] = event
        fields["sender"] = label_of(sender)
        event = "app.event"
    emit(event, fields, on_commit=True, using=instance._state.db if is_model else None)


def _holds(instance: Model, name: Any, target: Any) -> bool:
    """Whether ``name`` is a concrete field of ``instance`` whose value is
    ``target`` (after a transition the field holds its target)."""
    try:
        field = instance._meta.get_field(str(name))
    except FieldDoesNotExist:
        return False
    if not isinstance(field, Field) or not field.concrete:
        return False
    try:
        return bool(field.value_from_object(instance) == target)
    except Exception:
        return False


def connect() -> None:
    """Connect the receivers (idempotent: stable ``dispatch_uid``\\ s)."""
    signals.event_signal.connect(on_event_signal, dispatch_uid="eventlog.event_signal")
    signals.state_changed.connect(on_state_changed, dispatch_uid="eventlog.state_changed")
