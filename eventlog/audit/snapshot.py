"""``model.snapshot``: the state of rows that exist already, written as a
baseline for ``history``, ``--as-of`` and ``restore`` (the work behind
``manage.py eventlog snapshot``).

Each line holds what ``model.created`` would hold for the row (the same
tracked fields, masking and stored values: :func:`receivers.snapshot` of
:func:`receivers.current_values`). Rows are read in primary-key order with
``.iterator(chunk_size=batch)``, so memory stays bounded by one batch, and
each line is written as its row is read, outside any transaction of its own:
a row changed while the snapshot runs can be logged by its save before its
snapshot line, which then holds the values as read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from django.apps import apps
from django.db.models import Model

from eventlog.audit import receivers
from eventlog.audit import registry as _registry
from eventlog.audit.app_events import object_id, object_repr
from eventlog.audit.extra import add_extra
from eventlog.audit.registry import Registration
from eventlog.audit.switch import off
from eventlog.write.pipeline import emit

__all__ = ["BATCH", "count", "disabled_here", "registrations", "write"]

BATCH: Final = 2000
"""Rows fetched per round trip by default."""


def registrations(labels: Iterable[str]) -> list[Registration]:
    """The registrations to snapshot: every registered concrete model when
    ``labels`` is empty, else those named (``app_label.modelname``, which may
    be a proxy registered itself, or ``app_label`` for its registered models),
    in the order given, each once. ``LookupError`` names the first label that
    is unknown, malformed or not registered."""
    wanted = [label.strip() for label in labels]
    found: list[Registration] = []
    if not wanted:
        found = [
            _registry.lookup(r.model) or r for r in _registry.registrations() if not _proxy(r.model)
        ]
    for label in wanted:
        found.extend(_named(label))
    unique: dict[type[Model], Registration] = {}
    for reg in found:
        unique.setdefault(reg.model, reg)
    return list(unique.values())


def _proxy(model: type[Model]) -> bool:
    return bool(model._meta.proxy)


def _named(label: str) -> list[Registration]:
    parts = label.split(".")
    if len(parts) > 2 or not all(parts):
        raise LookupError(f"LABEL must be app_label or app_label.modelname, not {label!r}")
    if len(parts) == 2:
        try:
            model = apps.get_model(label)
        except LookupError:
            raise LookupError(f"unknown model {label!r}") from None
        reg = _registry.lookup(model) if _registry.is_registered(model) else None
        if reg is None:
            raise LookupError(f"{model._meta.label_lower} is not registered with eventlog")
        return [reg]
    try:
        config = apps.get_app_config(label)
    except LookupError:
        raise LookupError(f"unknown app or model {label!r}") from None
    regs = [
        _registry.lookup(m)
        for m in config.get_models()
        if _registry.is_registered(m) and not _proxy(m)
    ]
    if not regs:
        raise LookupError(f"no model of {label} is registered with eventlog")
    return [r for r in regs if r is not None]


def disabled_here() -> bool:
    """Whether :func:`write` would write nothing here (inside
    :func:`eventlog.disabled`)."""
    return off()


def count(reg: Registration) -> int:
    """How many rows :func:`write` would snapshot."""
    return int(reg.model._base_manager.count())


def write(
    reg: Registration, batch: int = BATCH, progress: Callable[[int], None] | None = None
) -> int:
    """One ``model.snapshot`` per row of ``reg``'s model, in primary-key
    order; how many were written. ``progress`` is called with 1 per row.
    Inside :func:`eventlog.disabled`, as for every ``model.*`` line, nothing
    is read or written (0)."""
    if off():
        return 0
    rows = reg.model._base_manager.order_by("pk")
    written = 0
    for instance in rows.iterator(chunk_size=batch):
        line = {
            "model": reg.label,
            "object_id": object_id(instance),
            "object_repr": object_repr(instance),
            "snapshot": receivers.snapshot(reg, receivers.current_values(reg, instance)),
        }
        emit("model.snapshot", add_extra(reg.extra, instance, line), on_commit=True, using=rows.db)
        written += 1
        if progress is not None:
            progress(1)
    return written
