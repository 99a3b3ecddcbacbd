"""System checks for eventlog's settings (``eventlog.E001``...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks

from eventlog import _conf, _registry

__all__ = ["check_settings", "register"]

_INTS = {
    "EVENTLOG_MAX_BYTES": 0,
    "EVENTLOG_BACKUP_COUNT": 0,
    "EVENTLOG_TRUSTED_PROXIES": 0,
    "EVENTLOG_MAX_LINE_BYTES": _conf.MIN_MAX_LINE_BYTES,
}


def check_settings(app_configs: Any = None, **_kwargs: Any) -> list[checks.CheckMessage]:
    """Report invalid ``EVENTLOG_*`` settings, one message each."""
    errors: list[checks.CheckMessage] = []
    directory = getattr(settings, "EVENTLOG_DIR", None)
    if directory is not None and not (isinstance(directory, str | Path) and str(directory)):
        errors.append(
            checks.Error(
                f"EVENTLOG_DIR must be a non-empty path, not {directory!r}.", id="eventlog.E001"
            )
        )
    for name, minimum in _INTS.items():
        value = getattr(settings, name, None)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < minimum
        ):
            errors.append(
                checks.Error(
                    f"{name} must be an integer >= {minimum}, not {value!r}.",
                    id="eventlog.E002",
                )
            )
    level = getattr(settings, "EVENTLOG_LEVEL", None)
    if level is not None and (not isinstance(level, str) or level.lower() not in _conf.LEVELS):
        errors.append(
            checks.Error(
                f"EVENTLOG_LEVEL must be one of {', '.join(_conf.LEVELS)}, not {level!r}.",
                id="eventlog.E003",
            )
        )
    key = getattr(settings, "EVENTLOG_HMAC_KEY", None)
    if key is not None and not isinstance(key, str | bytes):
        errors.append(
            checks.Error("EVENTLOG_HMAC_KEY must be a string or bytes.", id="eventlog.E004")
        )
    masks = getattr(settings, "EVENTLOG_MASK_FIELDS", None)
    if masks is not None and (
        not isinstance(masks, list | tuple) or not all(isinstance(m, str) and m for m in masks)
    ):
        errors.append(
            checks.Error(
                "EVENTLOG_MASK_FIELDS must be a list of non-empty strings.", id="eventlog.E005"
            )
        )
    path = _conf.directory()
    if path.exists() and not path.is_dir():
        errors.append(
            checks.Error(f"EVENTLOG_DIR {path} exists and is not a directory.", id="eventlog.E006")
        )
    if "eventlog.middleware.EventlogMiddleware" not in getattr(settings, "MIDDLEWARE", []):
        errors.append(
            checks.Warning(
                "eventlog.middleware.EventlogMiddleware is not in MIDDLEWARE: events will "
                "carry no request id, IP, user agent or actor.",
                id="eventlog.W001",
            )
        )
    errors.extend(checks.Error(message, id=cid) for cid, message in _registry.settings_problems())
    return errors


def register() -> None:
    """Register the checks (idempotent)."""
    checks.register(check_settings, "eventlog")
