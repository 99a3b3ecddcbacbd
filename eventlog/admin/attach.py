"""Show eventlog's history in the admins of registered models without the
project editing its admin classes, and say where that could not be done
(``eventlog.W050``).

:func:`attach` runs from ``EventlogConfig.ready()``: when
``django.contrib.admin`` is listed before ``eventlog`` its autodiscovery has
imported every ``admin.py`` by then. Each ``ModelAdmin`` of a registered model
gets its class swapped for a subclass with :class:`EventlogHistoryMixin` first
in the MRO; an admin that has the mixin already, or a ``history_view`` of its
own, is left as it is.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.sites import all_sites
from django.core import checks
from django.db.models import Model

from eventlog.admin.history import EventlogHistoryMixin
from eventlog.audit import registry

__all__ = ["attach", "check_admin_history", "register_checks"]


def _audited(model: type[Model]) -> bool:
    return registry.lookup(model) is not None


def _own_history_view(cls: type[Any]) -> type[Any] | None:
    """The class of ``cls``'s MRO defining a ``history_view`` other than the
    admin's own, if any."""
    for klass in cls.__mro__:
        if klass in (admin.ModelAdmin, EventlogHistoryMixin):
            return None
        if "history_view" in vars(klass):
            return klass
    return None


def _admins() -> list[tuple[Any, type[Model], Any]]:
    return [
        (site, model, model_admin)
        for site in list(all_sites)
        for model, model_admin in list(site._registry.items())
        if _audited(model)
    ]


def attach() -> list[Any]:
    """Give every ``ModelAdmin`` of a registered model on every admin site
    eventlog's history; the admins changed."""
    changed = []
    for _site, _model, model_admin in _admins():
        cls = type(model_admin)
        if isinstance(model_admin, EventlogHistoryMixin) or _own_history_view(cls):
            continue
        swapped = type(
            cls.__name__,
            (EventlogHistoryMixin, cls),
            {"__module__": cls.__module__, "__qualname__": cls.__qualname__},
        )
        model_admin.__class__ = swapped
        model_admin.eventlog_adopt()
        changed.append(model_admin)
    return changed


def _eventlog_first() -> bool:
    apps = list(settings.INSTALLED_APPS)

    def index(*names: str) -> int | None:
        for i, entry in enumerate(apps):
            if entry in names or any(entry.startswith(n + ".apps.") for n in names):
                return i
        return None

    ours = index("eventlog")
    theirs = index("django.contrib.admin")
    return ours is not None and theirs is not None and ours < theirs


def check_admin_history(app_configs: Any = None, **_kwargs: Any) -> list[checks.CheckMessage]:
    """One warning per registered model whose admin does not show eventlog's history."""
    found: list[checks.CheckMessage] = []
    for site, model, model_admin in _admins():
        if isinstance(model_admin, EventlogHistoryMixin):
            continue
        own = _own_history_view(type(model_admin))
        if own is not None:
            why = f"{own.__qualname__} defines its own history_view"
        elif _eventlog_first():
            why = "eventlog is listed before django.contrib.admin in INSTALLED_APPS"
        else:
            why = "the admin was registered after eventlog's app was ready"
        found.append(
            checks.Warning(
                f"The admin of {model._meta.label} on the site {site.name!r} shows Django's "
                f"history, not eventlog's: {why}.",
                hint="List eventlog after django.contrib.admin in INSTALLED_APPS, or put "
                "eventlog.admin.EventlogHistoryMixin first in the admin's bases.",
                obj=type(model_admin),
                id="eventlog.W050",
            )
        )
    return found


def register_checks() -> None:
    """Register the check (idempotent)."""
    checks.register(check_admin_history, "eventlog")
