"""System checks for eventlog's settings (``eventlog.E001``...).

One error per problem with a setting's value comes from the settings table
(:data:`eventlog.conf.table.SETTINGS`), the same rules the accessors apply;
the checks written here look at what no single setting shows: the log
directory on disk, settings that external rotation ignores, the middleware.
"""

from __future__ import annotations

from typing import Any, Final

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from eventlog import conf
from eventlog.conf.table import SETTINGS

__all__ = ["check_settings", "register"]

MIDDLEWARE: Final = "eventlog.middleware.EventlogMiddleware"


def check_settings(app_configs: Any = None, **_kwargs: Any) -> list[checks.CheckMessage]:
    """Report invalid ``EVENTLOG_*`` settings, one message each."""
    errors: list[checks.CheckMessage] = [
        checks.Error(message, id=setting.check_id)
        for setting in SETTINGS
        if setting.check_id is not None
        for message in setting.problems()
    ]
    errors.extend(_processor_problems())
    path = conf.directory()
    if path.exists() and not path.is_dir():
        errors.append(
            checks.Error(f"EVENTLOG_DIR {path} exists and is not a directory.", id="eventlog.E006")
        )
    if conf.rotation() == "external":
        ignored = [
            name
            for name in ("EVENTLOG_ROTATE_INTERVAL", "EVENTLOG_MAX_AGE_DAYS")
            if getattr(settings, name, None)
        ]
        if ignored:
            errors.append(
                checks.Warning(
                    f"{' and '.join(ignored)} ignored: EVENTLOG_ROTATION is 'external', "
                    "rotation and retention are logrotate's (set its rotate and maxage).",
                    id="eventlog.W010",
                )
            )
    if MIDDLEWARE not in getattr(settings, "MIDDLEWARE", []):
        errors.append(
            checks.Warning(
                f"{MIDDLEWARE} is not in MIDDLEWARE: events will "
                "carry no request id, IP, user agent or actor.",
                id="eventlog.W001",
            )
        )
    return errors


def _processor_problems() -> list[checks.CheckMessage]:
    """The entries of ``EVENTLOG_PROCESSORS`` that do not import as a callable
    (the pipeline writes lines without them, each marked in ``hook_errors``)."""
    found: list[checks.CheckMessage] = []
    for path in conf.processors():
        try:
            hook = import_string(path)
        except Exception as exc:
            problem = f"does not import: {type(exc).__name__}: {exc}"
        else:
            if callable(hook):
                continue
            problem = f"is a {type(hook).__name__}, not a callable"
        message = " ".join(f"EVENTLOG_PROCESSORS entry {path!r} {problem}.".split())
        found.append(checks.Error(message[:500], id="eventlog.E061"))
    return found


def register() -> None:
    """Register the checks (idempotent)."""
    checks.register(check_settings, "eventlog")
