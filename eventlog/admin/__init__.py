"""eventlog in the Django admin: objects' History pages read from the log,
restore of a version, deleted objects, and the event browser.

Django's admin autodiscovery imports this package; everything it shows is
read from the files (the :class:`eventlog.models.Event` model has no table).
"""

from __future__ import annotations

__all__: list[str] = []

from eventlog.admin.history import EventlogHistoryMixin

__all__ += ["EventlogHistoryMixin"]
