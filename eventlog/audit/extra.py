"""``register(Model, extra=callable)``: the project's own keys on a model's lines.

The callable gets the instance the line is about, when the line is made (at
the save or delete, not at the commit), and returns a dict whose keys are
added to the line. It can cost the line nothing: a callable that raises or
returns no mapping adds no key and names itself in ``hook_errors``, as a
failed ``EVENTLOG_PROCESSORS`` hook does. The keys eventlog owns keep their
value: a returned key naming one of the catalogue's keys of ``model.*`` lines
(``model``, ``object_id``, ``changes``...), the request context (``actor``, ``ip``...)
or the envelope goes under ``"extra"`` instead, as ``state_changed``'s
clashing keys do. Values pass the pipeline's masking like any other key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from django.db.models import Model
from django.utils.module_loading import import_string

from eventlog.core.keys import MODEL_KEYS, MOVED_TO, RESERVED
from eventlog.write.context import CONTEXT_KEYS
from eventlog.write.processors import HOOK_ERRORS
from eventlog.write.values import moved

__all__ = ["Extra", "add_extra", "import_extra", "name_of"]

Extra = Callable[[Model], Any]
_OWNED: Final = RESERVED | CONTEXT_KEYS | MODEL_KEYS | {MOVED_TO, HOOK_ERRORS}


def name_of(fn: Any) -> str:
    """The dotted name a callable is reported under."""
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{qualname}"


def import_extra(path: str) -> Extra:
    """The callable at ``path``, or one that fails on every line with the
    reason (the system check ``eventlog.E062`` reports it too)."""
    try:
        fn = import_string(path)
        if not callable(fn):
            raise TypeError(f"{type(fn).__name__} is not callable")
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"

        def unavailable(_instance: Model) -> Any:
            raise ImportError(reason)

        unavailable.__module__, _, unavailable.__qualname__ = path.rpartition(".")
        return unavailable
    return fn  # type: ignore[no-any-return]


def add_extra(extra: Extra | None, instance: Model, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with the keys ``extra`` returns for ``instance`` (changed in
    place and returned)."""
    if extra is None:
        return fields
    try:
        got = extra(instance)
        if not isinstance(got, Mapping):
            fields[HOOK_ERRORS] = [f"{name_of(extra)}: returned {type(got).__name__}, not a dict"]
            return fields
        added = {str(key): value for key, value in got.items()}
    except Exception as exc:
        fields[HOOK_ERRORS] = [f"{name_of(extra)}: {type(exc).__name__}: {exc}"[:300]]
        return fields
    clashing = {k: v for k, v in added.items() if k in fields or k in _OWNED}
    fields.update({k: v for k, v in added.items() if k not in clashing})
    if clashing:
        fields[MOVED_TO] = moved(fields.get(MOVED_TO), clashing)
    return fields
