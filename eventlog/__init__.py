"""eventlog: Django signals to structured JSON lines in rotating files.

Public API: :func:`register`, :func:`context`, :mod:`eventlog.bulk`
(``AuditedManager``, ``AuditedQuerySet``), :mod:`eventlog.signals` (``event_signal``,
``state_changed``), :mod:`eventlog.testing` (``capture_events``),
:class:`eventlog.middleware.EventlogMiddleware`.
"""

from __future__ import annotations

from eventlog._context import context
from eventlog._registry import register

__all__ = ["context", "register"]
__version__ = "0.1.0.dev0"
