"""eventlog in the Django admin: objects' History pages read from the log,
restore of a version, deleted objects, and the event browser.

Django's admin autodiscovery imports this package and registers the event
browser on the default site; a project with its own ``AdminSite`` registers
:class:`EventAdmin` for :class:`eventlog.models.Event` there. Everything the
pages show is read from the files (the model has no table).
"""

from __future__ import annotations

from django.contrib import admin as _admin

from eventlog.admin.browse import EventAdmin
from eventlog.admin.history import EventlogHistoryMixin
from eventlog.models import Event as _Event

__all__ = ["EventAdmin", "EventlogHistoryMixin"]

_admin.site.register(_Event, EventAdmin)
