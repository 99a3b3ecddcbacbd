"""eventlog: Django signals to structured JSON lines in rotating files.

Public API: :func:`context`, :mod:`eventlog.signals` (``event_signal``,
``state_changed``), :mod:`eventlog.testing` (``capture_events``),
:class:`eventlog.middleware.EventlogMiddleware`.
"""

from __future__ import annotations

from eventlog._context import context

__all__ = ["context"]
__version__ = "0.1.0.dev0"
