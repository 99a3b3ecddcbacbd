"""System checks for eventlog's settings (``eventlog.E001``...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks

from eventlog import conf
from eventlog.audit import registry as _registry
from eventlog.conf.durability import Durability

__all__ = ["check_settings", "register"]

_INTS = {
    "EVENTLOG_MAX_BYTES": 0,
    "EVENTLOG_BACKUP_COUNT": 0,
    "EVENTLOG_TRUSTED_PROXIES": 0,
    "EVENTLOG_MAX_LINE_BYTES": conf.MIN_MAX_LINE_BYTES,
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
    if level is not None and (not isinstance(level, str) or level.lower() not in conf.LEVELS):
        errors.append(
            checks.Error(
                f"EVENTLOG_LEVEL must be one of {', '.join(conf.LEVELS)}, not {level!r}.",
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
    fmt = getattr(settings, "EVENTLOG_FORMAT", None)
    if fmt is not None and (not isinstance(fmt, str) or fmt.lower() not in conf.FORMATS):
        errors.append(
            checks.Error(
                f"EVENTLOG_FORMAT must be one of {', '.join(conf.FORMATS)}, not {fmt!r}.",
                id="eventlog.E030",
            )
        )
    path = conf.directory()
    if path.exists() and not path.is_dir():
        errors.append(
            checks.Error(f"EVENTLOG_DIR {path} exists and is not a directory.", id="eventlog.E006")
        )
    errors.extend(check_sink_settings())
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


def _choice(name: str, choices: tuple[str, ...], check_id: str) -> list[checks.CheckMessage]:
    value = getattr(settings, name, None)
    if value is None or value in choices:
        return []
    return [
        checks.Error(
            f"{name} must be one of {', '.join(map(repr, choices))}, not {value!r}.", id=check_id
        )
    ]


def check_sink_settings() -> list[checks.CheckMessage]:
    """The sink's durability, writer and rotation settings (E010-E016, W010)."""
    errors: list[checks.CheckMessage] = []
    durability = getattr(settings, "EVENTLOG_DURABILITY", None)
    if durability is not None and Durability.parse(durability) is None:
        errors.append(
            checks.Error(
                "EVENTLOG_DURABILITY must be 'write', 'fsync' or an interval in "
                f"milliseconds (an integer > 0), not {durability!r}.",
                id="eventlog.E010",
            )
        )
    errors += _choice("EVENTLOG_WRITER", conf.WRITERS, "eventlog.E011")
    size = getattr(settings, "EVENTLOG_QUEUE_SIZE", None)
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        errors.append(
            checks.Error(
                f"EVENTLOG_QUEUE_SIZE must be an integer >= 1, not {size!r}.", id="eventlog.E012"
            )
        )
    errors += _choice("EVENTLOG_QUEUE_FULL", conf.QUEUE_FULL, "eventlog.E013")
    errors += _choice("EVENTLOG_ROTATION", conf.ROTATIONS, "eventlog.E014")
    interval = getattr(settings, "EVENTLOG_ROTATE_INTERVAL", None)
    if conf.parse_interval(interval) is None:
        errors.append(
            checks.Error(
                "EVENTLOG_ROTATE_INTERVAL must be 'hourly', 'daily' or a number of seconds "
                f"(an integer > 0), not {interval!r}.",
                id="eventlog.E015",
            )
        )
    age = getattr(settings, "EVENTLOG_MAX_AGE_DAYS", None)
    if age is not None and (isinstance(age, bool) or not isinstance(age, int | float) or age < 0):
        errors.append(
            checks.Error(
                f"EVENTLOG_MAX_AGE_DAYS must be a number of days >= 0, not {age!r}.",
                id="eventlog.E016",
            )
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
    return errors


def register() -> None:
    """Register the checks (idempotent)."""
    checks.register(check_settings, "eventlog")
