"""The event browser, the page of one event and the files panel of the admin.

All three read the log files of :func:`eventlog.conf.directory` and nothing
else: the :class:`eventlog.models.Event` model has no table, so the usual
changelist is replaced by the views of :meth:`EventAdmin.get_urls`. Viewing
needs the permission ``eventlog.view_event``; nothing here writes to the log
(``verify`` only reads it, and its last result is kept in Django's cache).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.http import urlencode

from eventlog import conf
from eventlog.admin import display
from eventlog.core.files import DJANGO_FILE, EVENTS_FILE
from eventlog.read.events import iter_events
from eventlog.read.files import log_files
from eventlog.read.filters import Filter
from eventlog.read.pages import find_event, newest
from eventlog.read.verify import verify

__all__ = ["FILTER_KEYS", "MAX_PAGE", "PER_PAGE", "SAME_REQUEST_SHOWN", "EventAdmin"]

PER_PAGE: Final = 100
MAX_PAGE: Final = 1000
"""A filtered page keeps ``page * PER_PAGE`` events in memory: beyond this
page, narrow the filter instead."""
SAME_REQUEST_SHOWN: Final = 200
FILTER_KEYS: Final = (
    "event",
    "model",
    "object_id",
    "actor",
    "level",
    "request_id",
    "since",
    "until",
)
"""The query parameters of the browser, named and meant as ``eventlog tail``'s options."""
PROBLEMS_SHOWN: Final = 100
_VERIFY_CACHE: Final = "eventlog.admin.verify:"
_VERIFY_SECONDS: Final = 30 * 24 * 3600


class _Skipped:
    """An ``on_bad_line`` that counts the lines a page could not show and
    keeps the first reason."""

    def __init__(self) -> None:
        self.count = 0
        self.first: str | None = None

    def __call__(self, path: Path, _lineno: int, reason: str) -> None:
        self.count += 1
        if self.first is None:
            self.first = display.text(f"{path.name}: {reason}")


def _missing(directory: Path) -> str | None:
    """Why ``directory`` cannot be read, in one line; ``None`` when it can."""
    shown = display.text(str(directory), None)
    if not directory.exists():
        return (
            f"The log directory {shown} does not exist "
            "(nothing logged yet, or EVENTLOG_DIR is wrong)."
        )
    if not directory.is_dir():
        return f"The log directory {shown} is not a directory."
    if not os.access(directory, os.R_OK | os.X_OK):
        return f"The log directory {shown} cannot be read by this process."
    return None


def _object_of(event: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """``(model label, object id, repr)`` of what the event is about, from its
    top level or its ``instance`` sub-object (``app.event``)."""
    instance = event.get("instance")
    if not isinstance(instance, Mapping):
        instance = {}
    model = event.get("model", instance.get("model"))
    object_id = event.get("object_id", instance.get("object_id"))
    shown = event.get("object_repr", instance.get("repr"))
    return (
        model if isinstance(model, str) else None,
        None if object_id is None or isinstance(object_id, bool) else str(object_id),
        None if shown is None else display.text(shown, 100),
    )


class EventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The admin of the log's events: a browser, one page per event and the
    files panel, each read from the files."""

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        user = request.user
        return bool(user.is_active and user.has_perm("eventlog.view_event"))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        # The model's generated views would query a table that does not exist.
        wrap = self.admin_site.admin_view
        browser = wrap(self.events_view)
        return [
            path("", browser, name="eventlog_events"),
            path("", browser, name="eventlog_event_changelist"),
            path("files/", wrap(self.files_view), name="eventlog_files"),
            path("<str:event_id>/", wrap(self.event_view), name="eventlog_event"),
        ]

    # -- helpers -----------------------------------------------------------------

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "events_url": reverse("admin:eventlog_events"),
            "files_url": reverse("admin:eventlog_files"),
            **extra,
        }

    def _links(self, label: str | None, object_id: str | None) -> tuple[str | None, str | None]:
        """The object's change and history pages when its model is in this admin."""
        if label is None or object_id is None or "." not in label:
            return None, None
        try:
            model = apps.get_model(label)
        except LookupError:
            return None, None
        if not self.admin_site.is_registered(model):
            return None, None
        meta = model._meta
        urls: list[str | None] = []
        for view in ("change", "history"):
            try:
                name = f"{self.admin_site.name}:{meta.app_label}_{meta.model_name}_{view}"
                urls.append(reverse(name, args=[quote(object_id)]))
            except NoReverseMatch:
                urls.append(None)
        return urls[0], urls[1]

    def _row(self, event: Mapping[str, Any]) -> dict[str, Any]:
        label, object_id, shown = _object_of(event)
        change_url, history_url = self._links(label, object_id)
        ids = event.get("object_ids")
        event_id = event.get("event_id")
        try:
            url = reverse("admin:eventlog_event", args=[str(event_id)]) if event_id else None
        except NoReverseMatch:
            url = None
        return {
            "event_id": display.text(event_id, 64) if event_id else "",
            "url": url,
            "timestamp": display.text(event.get("timestamp", ""), 40),
            "level": display.text(event.get("level") or "", 20),
            "event": display.text(event.get("event") or "", 100),
            "model": None if label is None else display.text(label, 100),
            "object_id": None if object_id is None else display.text(object_id, 100),
            "object_repr": shown,
            "object_count": len(ids) if isinstance(ids, list) else None,
            "change_url": change_url,
            "history_url": history_url,
            "actor": display.text(event.get("actor") or "", 100),
            "ip": display.text(event.get("ip") or "", 60),
            "summary": display.summary(event),
        }

    # -- the browser -----------------------------------------------------------------

    def events_view(self, request: HttpRequest) -> HttpResponse:
        """Newest first, ``PER_PAGE`` a page, filtered by the query parameters."""
        values = {key: request.GET.get(key, "").strip() for key in FILTER_KEYS}
        context = self._context(request, "Events", values=values, rows=[])
        try:
            number = int(request.GET.get("page", "1"))
        except ValueError:
            number = 1
        number = min(max(number, 1), MAX_PAGE)
        directory = conf.directory()
        problem = _missing(directory)
        if problem is not None:
            context["error"] = problem
            return render(request, "eventlog/admin/events.html", context)
        try:
            flt = Filter(**{k: v for k, v in values.items() if v})
        except ValueError as exc:
            context["error"] = display.text(str(exc))
            return render(request, "eventlog/admin/events.html", context)
        skipped = _Skipped()
        try:
            page = newest(
                directory,
                offset=(number - 1) * PER_PAGE,
                limit=PER_PAGE,
                filter=flt,
                on_bad_line=skipped,
            )
        except OSError as exc:
            context["error"] = display.text(f"The log cannot be read: {exc}")
            return render(request, "eventlog/admin/events.html", context)
        asked = {k: v for k, v in values.items() if v}

        def page_url(n: int) -> str:
            return "?" + urlencode({**asked, "page": str(n)})

        context.update(
            rows=[self._row(event) for _raw, event in page.events],
            page=number,
            total=page.total,
            filtered=bool(asked),
            previous_url=page_url(number - 1) if number > 1 else None,
            next_url=page_url(number + 1) if page.more and number < MAX_PAGE else None,
            skipped=skipped.count,
            skipped_first=skipped.first,
        )
        return render(request, "eventlog/admin/events.html", context)

    # -- one event -------------------------------------------------------------------

    def event_view(self, request: HttpRequest, event_id: str) -> HttpResponse:
        """The whole line of one event, its file and the events of its request."""
        context = self._context(request, "Event")
        directory = conf.directory()
        problem = _missing(directory)
        if problem is not None:
            context["error"] = problem
            return render(request, "eventlog/admin/event.html", context, status=404)
        try:
            wanted = str(uuid.UUID(event_id)) if len(event_id) <= 64 else None
        except ValueError:
            wanted = None
        skipped = _Skipped()
        found = None
        if wanted is not None:
            try:
                found = find_event(directory, wanted, on_bad_line=skipped)
            except OSError as exc:
                context["error"] = display.text(f"The log cannot be read: {exc}")
                return render(request, "eventlog/admin/event.html", context, status=404)
        if found is None:
            context["error"] = f"No event {display.text(event_id, 64)!r} in the log."
            return render(request, "eventlog/admin/event.html", context, status=404)
        where, _raw, event = found
        context.update(
            title=f"Event {display.text(event.get('event') or '', 100)}",
            row=self._row(event),
            pretty=display.pretty(event),
            file=display.text(where.name, None),
            directory=display.text(str(directory), None),
        )
        request_id = event.get("request_id")
        if isinstance(request_id, str) and request_id:
            same: list[dict[str, Any]] = []
            count = 0
            flt = Filter(request_id=request_id)
            for _r, other in iter_events(directory, filter=flt, on_bad_line=skipped):
                count += 1
                if len(same) < SAME_REQUEST_SHOWN:
                    same.append(self._row(other))
            context.update(
                request_id=display.text(request_id, 100), same_request=same, same_count=count
            )
        return render(request, "eventlog/admin/event.html", context)

    # -- files -------------------------------------------------------------------------

    def files_view(self, request: HttpRequest) -> HttpResponse:
        """The log's files and sizes, and the last ``verify``; a POST runs it."""
        context = self._context(request, "Log files")
        directory = conf.directory()
        key = _VERIFY_CACHE + str(directory)
        if request.method == "POST":
            self._run_verify(request, directory, key)
            return HttpResponseRedirect(reverse("admin:eventlog_files"))
        problem = _missing(directory)
        files = []
        if problem is None:
            for name in (EVENTS_FILE, DJANGO_FILE):
                for file in reversed(log_files(directory, name)):
                    try:
                        size: int | None = file.lstat().st_size
                    except OSError:
                        size = None
                    files.append({"name": display.text(file.name, None), "size": size})
        context.update(
            error=problem,
            directory=display.text(str(directory), None),
            files=files,
            last=cache.get(key),
        )
        return render(request, "eventlog/admin/files.html", context)

    def _run_verify(self, request: HttpRequest, directory: Path, key: str) -> None:
        result: dict[str, Any] = {
            "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "by": display.text(request.user.get_username(), 150),
        }
        try:
            report = verify(directory, key=conf.hmac_key())
        except OSError as exc:
            result.update(ok=False, summary=display.text(str(exc)), problems=[], more=0)
        else:
            shown = [display.text(str(p), None) for p in report.problems[:PROBLEMS_SHOWN]]
            result.update(
                ok=report.ok,
                summary=display.text(report.summary(), None),
                problems=shown,
                more=report.problem_count - len(shown),
                notes=[display.text(n, None) for n in report.notes],
            )
        cache.set(key, result, _VERIFY_SECONDS)
        level = messages.SUCCESS if result["ok"] else messages.ERROR
        messages.add_message(request, level, f"verify: {result['summary']}")
