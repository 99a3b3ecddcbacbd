"""An object's History page read from the log, restore of one of its versions,
and the model's deleted rows: :class:`EventlogHistoryMixin` for a ``ModelAdmin``.

The pages read ``EVENTLOG_DIR`` with the reader's block scan and write
nothing, except the POST of a restore, which saves through
:mod:`eventlog.audit.restore` and is logged like any other change.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, connections, models
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.text import capfirst

from eventlog import conf, reader
from eventlog.admin import display
from eventlog.audit import registry
from eventlog.audit import restore as _restore
from eventlog.core.sanitize import one_line
from eventlog.middleware import info_of
from eventlog.read import history as _history
from eventlog.write import context as _context
from eventlog.write import pipeline as _pipeline

__all__ = ["CHANGE_LIST_TEMPLATE", "EventlogHistoryMixin"]

CHANGE_LIST_TEMPLATE: Final = "eventlog/admin/change_list.html"
PER_PAGE: Final = 100
_DELETES: Final = frozenset({"model.deleted", "model.bulk_deleted"})
_SNAPSHOTS: Final = frozenset({"model.created", "model.deleted", "model.snapshot"})


class _Unreadable(Exception):
    """The log directory cannot be read; the message says why, in one line."""


def _directory() -> Path:
    directory = conf.directory()
    if not directory.is_dir():
        raise _Unreadable(f"The log directory {directory} does not exist.")
    if not os.access(directory, os.R_OK | os.X_OK):
        raise _Unreadable(f"The log directory {directory} cannot be read.")
    return directory


class _BadLines:
    """Counts the lines the reader skipped, for one note on the page."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, path: Path, lineno: int, reason: str) -> None:
        self.count += 1

    @property
    def note(self) -> str | None:
        if not self.count:
            return None
        return f"{self.count} line(s) or file(s) of the log could not be read and were skipped."


def _label(model: type[models.Model]) -> str:
    reg = registry.lookup(model)
    return reg.label if reg is not None and reg.label else model._meta.label_lower


def _pk_text(model: type[models.Model], object_id: str) -> str:
    """The object id as lines name it (``str(pk)``), from the URL's."""
    assert model._meta.pk is not None
    try:
        return str(model._meta.pk.to_python(object_id))
    except ValidationError:
        return object_id


def _exists(model: type[models.Model], pk_text: str) -> bool:
    try:
        return model._default_manager.filter(pk=pk_text).exists()
    except (ValidationError, ValueError, TypeError):
        return False


class EventlogHistoryMixin:
    """Put it first in a ``ModelAdmin``'s bases: the History page becomes
    eventlog's timeline of the object (also once the row is deleted), each
    version gets "Restore this version", and the changelist links to the
    model's deleted rows. Models registered with eventlog get it without
    this (:mod:`eventlog.admin.attach`)."""

    eventlog_history_template: str = "eventlog/admin/object_history.html"
    eventlog_restore_template: str = "eventlog/admin/restore_confirmation.html"
    eventlog_deleted_template: str = "eventlog/admin/deleted_list.html"

    # Attributes of ModelAdmin, which this mixin is combined with.
    model: type[models.Model]
    opts: Any
    admin_site: Any
    change_list_template: str | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.eventlog_adopt()

    def eventlog_adopt(self) -> None:
        """Link the changelist to the deleted rows, unless the admin has a
        changelist template of its own."""
        if getattr(self, "change_list_template", None) is None:
            self.change_list_template = CHANGE_LIST_TEMPLATE

    def get_urls(self) -> list[URLPattern]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        # Before the admin's own: its ``<path:object_id>/`` takes any path.
        own = [
            path(
                "deleted/",
                view(self.eventlog_deleted_view),
                name=f"{prefix}_eventlog_deleted",
            ),
            path(
                "<path:object_id>/history/<str:event_id>/restore/",
                view(self.eventlog_restore_view),
                name=f"{prefix}_eventlog_restore",
            ),
        ]
        theirs: list[URLPattern] = super().get_urls()  # type: ignore[misc]
        return own + theirs

    # -- helpers -----------------------------------------------------------

    def _url(self, name: str, *args: Any) -> str | None:
        try:
            return reverse(name, args=args, current_app=self.admin_site.name)
        except NoReverseMatch:
            return None

    def _info_url(self, action: str, *args: Any) -> str | None:
        return self._url(f"admin:{self.opts.app_label}_{self.opts.model_name}_{action}", *args)

    def _known_users(self, events: Iterable[Mapping[str, Any]]) -> set[str]:
        """The ``actor_id``s among ``events`` of users that exist now (one
        query), so that a deleted or made-up id is not linked."""
        user_model = get_user_model()
        if not self.admin_site.is_registered(user_model):
            return set()
        field = user_model._meta.pk
        if field is None:
            return set()
        manager = user_model._default_manager
        ranges = connections[manager.db].ops.integer_field_ranges
        low, high = ranges.get(field.get_internal_type(), (None, None))
        pks = set()
        for event in events:
            actor_id = event.get("actor_id")
            if isinstance(actor_id, (str, int)) and not isinstance(actor_id, bool):
                try:
                    pk = field.to_python(actor_id)
                except (ValidationError, ValueError, TypeError):
                    continue  # not an id of this user model: never linked
                # Out of the column's range the query itself would fail (and,
                # in a transaction, break it): such an id is no user's.
                if isinstance(pk, int) and not (
                    (low is None or pk >= low) and (high is None or pk <= high)
                ):
                    continue
                pks.add(pk)
        if not pks:
            return set()
        try:
            found = manager.filter(pk__in=pks).values_list("pk", flat=True)
            return {str(pk) for pk in found}
        except (DatabaseError, OverflowError, ValueError, TypeError):
            # The range check above keeps out ids no column could hold; any
            # other failure of this lookup links nothing and still shows the page.
            return set()

    def _actor_url(self, event: Mapping[str, Any], known: set[str]) -> str | None:
        actor_id = event.get("actor_id")
        if actor_id is None or isinstance(actor_id, (dict, list)) or str(actor_id) not in known:
            return None
        meta = get_user_model()._meta
        return self._url(f"admin:{meta.app_label}_{meta.model_name}_change", quote(str(actor_id)))

    def _row(
        self, event: Mapping[str, Any], pk_text: str, object_id: str, known: set[str]
    ) -> dict[str, Any]:
        name = event.get("event")
        event_id = event.get("event_id")
        shown_id = display.text(event_id, 100) if isinstance(event_id, str) else ""
        restorable = name in _history.STATE_EVENTS and isinstance(event_id, str) and event_id
        detail = self._url("admin:eventlog_event", event_id) if shown_id else None
        if isinstance(name, str) and name.startswith("model.bulk_"):
            snapshot: list[display.Change] = []
        else:
            snapshot = display.snapshot_of(event) if name in _SNAPSHOTS else []
        return {
            "timestamp": display.text(event.get("timestamp", "")),
            "event": display.text(name, 100),
            "level": display.text(event.get("level", ""), 20),
            "event_id": shown_id,
            "detail_url": detail,
            "actor": display.text(event.get("actor", ""), 100),
            "actor_url": self._actor_url(event, known),
            "ip": display.text(event.get("ip", ""), 100),
            "reason": display.text(event.get("reason", "")),
            "request_id": display.text(event.get("request_id", ""), 130),
            "object_repr": display.text(event.get("object_repr", "")),
            "message": display.text(event.get("message", "")),
            "transition": display.text(event.get("transition", ""), 100),
            "changes": display.changes_of(event, pk_text),
            "snapshot": snapshot,
            "is_delete": name in _DELETES,
            "restore_url": (
                self._info_url("eventlog_restore", object_id, event_id) if restorable else None
            ),
        }

    def _context(self, request: HttpRequest, **values: Any) -> dict[str, Any]:
        request.current_app = self.admin_site.name
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "changelist_url": self._info_url("changelist"),
            **values,
        }

    # -- History -----------------------------------------------------------

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """eventlog's timeline of the object, newest first; also for a row
        that no longer exists."""
        model = self.model
        pk = unquote(object_id)
        obj = self.get_object(request, pk)  # type: ignore[attr-defined]
        pk_text = str(obj.pk) if obj is not None else _pk_text(model, pk)
        if obj is None and _exists(model, pk_text):
            # A row this admin's queryset hides (another tenant's, say): as
            # Django's own page, this admin does not show it.
            raise PermissionDenied
        if not self.has_view_or_change_permission(request, obj):  # type: ignore[attr-defined]
            raise PermissionDenied
        error = None
        bad = _BadLines()
        found: list[dict[str, Any]] = []
        try:
            found = list(
                reader.object_events(_directory(), _label(model), pk_text, on_bad_line=bad)
            )
        except _Unreadable as exc:
            error = str(exc)
        except OSError as exc:
            error = one_line(f"The log cannot be read: {exc}")
        found.reverse()
        paginator = Paginator(found, PER_PAGE)
        page_obj = paginator.get_page(request.GET.get("p", 1))
        known = self._known_users(page_obj)
        rows = [self._row(event, pk_text, object_id, known) for event in page_obj]
        shown = str(obj) if obj is not None else ""
        if obj is None:
            reprs = [e.get("object_repr") for e in found if e.get("object_repr")]
            shown = display.text(reprs[0] if reprs else pk_text)
        context = self._context(
            request,
            title=f"Change history: {display.text(shown)}",
            subtitle=None,
            object=obj,
            object_id=object_id,
            object_shown=display.text(shown),
            change_url=self._info_url("change", object_id) if obj is not None else None,
            deleted_url=self._info_url("eventlog_deleted"),
            rows=rows,
            page_obj=page_obj,
            page_range=paginator.get_elided_page_range(page_obj.number),
            pagination_required=paginator.count > PER_PAGE,
            error=error,
            bad_lines=bad.note,
            **(extra_context or {}),
        )
        return TemplateResponse(request, self.eventlog_history_template, context)

    # -- Restore -----------------------------------------------------------

    def _version(
        self, directory: Path, label: str, pk_text: str, event_id: str
    ) -> tuple[reader.ObjectState, Mapping[str, Any]]:
        """The state after the event ``event_id`` (for a deletion, after the
        state event before it: the version it deleted) and that event."""
        bad = _BadLines()
        found = list(reader.object_events(directory, label, pk_text, on_bad_line=bad))
        wanted = event_id.lower()
        index = next(
            (i for i, e in enumerate(found) if str(e.get("event_id", "")).lower() == wanted), None
        )
        if index is None:
            raise LookupError(f"the log holds no event {event_id} about {label}#{pk_text}")
        if found[index].get("event") in _DELETES:
            earlier = [i for i in range(index) if found[i].get("event") in _history.STATE_EVENTS]
            if not earlier:
                raise LookupError(
                    f"the log holds no version of {label}#{pk_text} before its deletion"
                )
            index = earlier[-1]
        version = found[index]
        state = _history.replay(
            found[: index + 1], label, pk_text, event_id=str(version.get("event_id"))
        )
        return state, version

    def eventlog_restore_view(
        self, request: HttpRequest, object_id: str, event_id: str
    ) -> HttpResponse:
        """GET: what restoring the version would change (``restore
        --dry-run``), writing nothing. POST: restore it."""
        if request.method not in ("GET", "HEAD", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        model = self.model
        pk = unquote(object_id)
        pk_text = _pk_text(model, pk)
        exists = _exists(model, pk_text)
        if exists:
            obj = self.get_object(request, pk)  # type: ignore[attr-defined]
            # None: a row this admin's queryset hides, which it may not change.
            allowed = obj is not None and self.has_change_permission(request, obj)  # type: ignore[attr-defined]
        else:
            allowed = self.has_add_permission(request)  # type: ignore[attr-defined]
        if not allowed:
            raise PermissionDenied
        history_url = self._info_url("history", object_id) or ""
        label = _label(model)
        error = None
        plan = None
        version: Mapping[str, Any] = {}
        try:
            state, version = self._version(_directory(), label, pk_text, event_id)
            at = str(version.get("timestamp", "?"))
            plan = _restore.plan(model, pk_text, state, at)
        except (_Unreadable, LookupError, _restore.CannotRestore) as exc:
            error = one_line(str(exc))
        except OSError as exc:
            error = one_line(f"The log cannot be read: {exc}")
        version_id = display.text(version.get("event_id", event_id), 100)
        at_shown = display.text(version.get("timestamp", ""), 100)
        if request.method == "POST":
            if error is not None or plan is None:
                self.message_user(request, error or "Nothing to restore.", messages.ERROR)  # type: ignore[attr-defined]
                return HttpResponseRedirect(history_url)
            if not plan.changes:
                self.message_user(  # type: ignore[attr-defined]
                    request, f"{plan.label} is already as it was at {at_shown}: nothing to restore."
                )
                return HttpResponseRedirect(history_url)
            reason = f"restore to version {version.get('event_id')} ({version.get('timestamp')})"
            token = _context.bind_request(info_of(request))
            try:
                _restore.apply(plan, reason=reason)
            except Exception as exc:  # a database error: the transaction is rolled back
                self.message_user(  # type: ignore[attr-defined]
                    request, one_line(f"Could not restore {plan.label}: {exc}"), messages.ERROR
                )
                return HttpResponseRedirect(history_url)
            finally:
                _context.reset_request(token)
            _pipeline.flush()
            verb = "Restored" if plan.exists else "Recreated"
            self.message_user(  # type: ignore[attr-defined]
                request,
                display.text(f"{verb} {plan.label} to version {version_id} ({at_shown})."),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(history_url)
        changes = []
        if plan is not None:
            for change in plan.changes:
                changes.append(
                    {
                        "field": display.text(change.name, 100),
                        "current": display.text(change.current) if plan.exists else None,
                        "restored": display.text(change.restored),
                    }
                )
        if exists and obj is not None:
            shown = display.text(str(obj))  # as the History page names it
        else:
            shown = display.text(plan.label if plan is not None else f"{label}#{pk_text}")
        context = self._context(
            request,
            title=f"Restore {shown} to version {version_id}",
            subtitle=None,
            object_id=object_id,
            object_shown=shown,
            history_url=history_url,
            change_url=self._info_url("change", object_id) if exists else None,
            error=error,
            plan=plan,
            recreate=plan is not None and not plan.exists,
            changes=changes,
            ignored_m2m=[display.text(n, 100) for n in plan.ignored_m2m] if plan else [],
            version_id=version_id,
            version_at=at_shown,
        )
        return TemplateResponse(request, self.eventlog_restore_template, context)

    # -- Deleted rows ------------------------------------------------------

    def _deleted_events(
        self, directory: Path, label: str, bad: _BadLines
    ) -> Iterator[tuple[list[str], Mapping[str, Any]]]:
        """``(object ids, event)`` of each delete event of the model, oldest first."""
        flt = reader.Filter(model=label, event="model.*deleted")
        for _raw, event in reader.iter_events(directory, filter=flt, on_bad_line=bad):
            name = event.get("event")
            if name == "model.deleted":
                ids: Any = [event.get("object_id")]
            elif name == "model.bulk_deleted":
                ids = event.get("object_ids") or []
            else:
                continue
            if isinstance(ids, list):
                yield (
                    [
                        str(pk)
                        for pk in ids
                        if isinstance(pk, (str, int)) and not isinstance(pk, bool)
                    ],
                    event,
                )

    def _deleted(self, directory: Path, label: str, bad: _BadLines) -> list[tuple[str, str, str]]:
        """``(timestamp, object id, event id)`` of each row whose last delete
        event is in the log and which is not in the database now, newest
        deletion first. Only these three strings are kept per row: the page's
        values are read again for the page alone (:meth:`_deleted_rows`)."""
        last: dict[str, tuple[str, str]] = {}
        for ids, event in self._deleted_events(directory, label, bad):
            stamp, event_id = event.get("timestamp"), event.get("event_id")
            if isinstance(stamp, str) and isinstance(event_id, str):
                for pk in ids:
                    last[pk] = (stamp, event_id)
        model = self.model
        assert model._meta.pk is not None
        keys: dict[str, Any] = {}
        for pk_text in last:
            try:
                keys[pk_text] = model._meta.pk.to_python(pk_text)
            except ValidationError:
                continue
        present: set[Any] = set()
        wanted = list(set(keys.values()))
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            present.update(model._default_manager.filter(pk__in=part).values_list("pk", flat=True))
        gone = [
            (stamp, pk_text, event_id)
            for pk_text, (stamp, event_id) in last.items()
            if pk_text in keys and keys[pk_text] not in present
        ]
        gone.sort(reverse=True)
        return gone

    def _deleted_rows(
        self, directory: Path, label: str, page: list[tuple[str, str, str]], bad: _BadLines
    ) -> list[dict[str, Any]]:
        """The rows of one page of :meth:`_deleted`, with their last values,
        from one more scan of the model's delete events."""
        wanted = {event_id for _stamp, _pk, event_id in page}
        found: dict[tuple[str, str], Mapping[str, Any]] = {}
        for ids, event in self._deleted_events(directory, label, bad):
            event_id = event.get("event_id")
            if event_id in wanted:
                for pk in ids:
                    found[(str(event_id), pk)] = event
        rows: list[dict[str, Any]] = []
        for _stamp, pk_text, event_id in page:
            if (event_id, pk_text) not in found:  # pruned between the two scans
                continue
            event = found[(event_id, pk_text)]
            if event.get("event") == "model.bulk_deleted":
                values = [
                    display.Change(
                        c.field, None, c.new if c.old is None else c.old, c.masked, c.truncated
                    )
                    for c in display.changes_of(event, pk_text)
                ]
            else:
                values = display.snapshot_of(event)
            object_id = quote(pk_text)
            rows.append(
                {
                    "timestamp": display.text(event.get("timestamp", "")),
                    "object_id": display.text(pk_text, 100),
                    "object_repr": display.text(event.get("object_repr", "") or pk_text),
                    "actor": display.text(event.get("actor", ""), 100),
                    "event": display.text(event.get("event"), 100),
                    "values": values,
                    "history_url": self._info_url("history", object_id),
                    "restore_url": self._info_url("eventlog_restore", object_id, event_id),
                }
            )
        return rows

    def eventlog_deleted_view(self, request: HttpRequest) -> HttpResponse:
        """The rows deleted according to the log and absent from the
        database, with their last values and a recreate link."""
        if not self.has_view_or_change_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        error = None
        gone: list[tuple[str, str, str]] = []
        rows: list[dict[str, Any]] = []
        bad = _BadLines()
        paginator = Paginator(gone, PER_PAGE)
        page_obj = paginator.get_page(1)
        try:
            gone = self._deleted(_directory(), _label(self.model), bad)
            paginator = Paginator(gone, PER_PAGE)
            page_obj = paginator.get_page(request.GET.get("p", 1))
            rows = self._deleted_rows(_directory(), _label(self.model), list(page_obj), bad)
        except _Unreadable as exc:
            error = str(exc)
        except OSError as exc:
            error = one_line(f"The log cannot be read: {exc}")
        plural = str(self.opts.verbose_name_plural)
        context = self._context(
            request,
            title=f"Deleted {plural}",
            subtitle=None,
            rows=rows,
            page_obj=page_obj,
            page_range=paginator.get_elided_page_range(page_obj.number),
            pagination_required=paginator.count > PER_PAGE,
            can_recreate=self.has_add_permission(request),  # type: ignore[attr-defined]
            error=error,
            bad_lines=bad.note,
        )
        return TemplateResponse(request, self.eventlog_deleted_template, context)
