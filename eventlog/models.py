"""The one model of the app: :class:`Event`, which has no table.

Events live in the log files, never in the database. The model exists so
that the admin has a place for the event browser and so that viewing it is
a permission like any other (``eventlog.view_event``), which an admin grants
on the user or group page. Nothing queries it: it is unmanaged and its admin
reads the files.
"""

from __future__ import annotations

from django.db import models

__all__ = ["Event"]


class Event(models.Model):
    """An event of the log, as the admin's permission system sees it."""

    event_id = models.UUIDField(primary_key=True)

    class Meta:
        managed = False
        db_table = "eventlog_event_files"  # never created: the events are in the files
        default_permissions = ("view",)
        verbose_name = "event"
        verbose_name_plural = "events"

    def __str__(self) -> str:
        return str(self.event_id)
