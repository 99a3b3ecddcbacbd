"""eventlog: Django signals to structured JSON lines in rotating files.

Public API: :func:`register`, :func:`unregister`, :func:`context`,
:func:`disabled`, :mod:`eventlog.bulk`
(``AuditedManager``, ``AuditedQuerySet``), :mod:`eventlog.signals` (``event_signal``,
``state_changed``), :mod:`eventlog.testing` (``capture_events``),
:class:`eventlog.middleware.EventlogMiddleware`, :mod:`eventlog.reader`.

The package is layered (see the README's Architecture): ``core`` at the
bottom, ``conf``, then ``write`` and ``audit`` on one side and ``read`` on the
other, ``cli`` on top. ``register`` and ``context`` are loaded on first use,
so ``import eventlog.reader`` in a plain script loads nothing of the write
side and needs no Django settings.
"""

from __future__ import annotations

from importlib import import_module, metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlog.audit.register import register, unregister
    from eventlog.audit.switch import disabled
    from eventlog.write.context import context

__all__ = ["__version__", "context", "disabled", "register", "unregister"]

DISTRIBUTION = "django-eventlog-jsonl"
"""The name eventlog is installed under (``pip install django-eventlog-jsonl``)."""

try:
    __version__: str = metadata.version(DISTRIBUTION)
except metadata.PackageNotFoundError:  # imported from a checkout that is not installed
    __version__ = "0+unknown"

_LAZY = {
    "context": "eventlog.write.context",
    "disabled": "eventlog.audit.switch",
    "register": "eventlog.audit.register",
    "unregister": "eventlog.audit.register",
}


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def __getattr__(name: str) -> Any:
    """The public functions, imported when first asked for (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'eventlog' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
