"""Typed accessors for every ``EVENTLOG_*`` setting.

eventlog reads its settings here and nowhere else. Each accessor returns the
value in its final type; invalid values are reported by the system checks in
:mod:`eventlog.conf.checks` (``eventlog.E001``...) and fall back to the default
here, so a typo never turns into a traceback inside a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from django.conf import settings

from eventlog.conf.durability import WRITE, Durability

DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024
DEFAULT_BACKUP_COUNT: Final = 10
DEFAULT_MAX_LINE_BYTES: Final = 64 * 1024
MIN_MAX_LINE_BYTES: Final = 1024
LEVELS: Final = ("debug", "info", "warning", "error", "critical")
DEFAULT_QUEUE_SIZE: Final = 10_000
WRITERS: Final = ("sync", "background")
QUEUE_FULL: Final = ("block", "drop")
ROTATIONS: Final = ("size", "external")
NAMED_INTERVALS: Final = {"hourly": 3600, "daily": 86400}
FORMATS: Final = ("native", "ecs")
DEFAULT_MASK_FIELDS: Final = ("password", "passwd", "token", "secret", "api_key", "apikey")


def _get(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _int(name: str, default: int, minimum: int = 0) -> int:
    value = _get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        return default
    return value


def directory() -> Path:
    """``EVENTLOG_DIR``: where the log files go (default ``logs/`` beside ``BASE_DIR``)."""
    value = _get("EVENTLOG_DIR", None)
    if isinstance(value, str | Path) and str(value):
        return Path(value)
    base = _get("BASE_DIR", None)
    return (Path(base) if base else Path.cwd()) / "logs"


def max_bytes() -> int:
    """``EVENTLOG_MAX_BYTES``: rotate the live file past this size; 0 never rotates."""
    return _int("EVENTLOG_MAX_BYTES", DEFAULT_MAX_BYTES)


def backup_count() -> int:
    """``EVENTLOG_BACKUP_COUNT``: rotated files kept per log file."""
    return _int("EVENTLOG_BACKUP_COUNT", DEFAULT_BACKUP_COUNT)


def max_line_bytes() -> int:
    """``EVENTLOG_MAX_LINE_BYTES``: the line cap; larger values are truncated with a marker."""
    return _int("EVENTLOG_MAX_LINE_BYTES", DEFAULT_MAX_LINE_BYTES, MIN_MAX_LINE_BYTES)


def hmac_key() -> bytes | None:
    """``EVENTLOG_HMAC_KEY``: keys the integrity chain with HMAC-SHA256 when set."""
    value = _get("EVENTLOG_HMAC_KEY", None)
    if isinstance(value, str) and value:
        return value.encode()
    if isinstance(value, bytes) and value:
        return value
    return None


def level() -> str:
    """``EVENTLOG_LEVEL``: the lowest level written to ``events.jsonl`` (default ``info``)."""
    value = _get("EVENTLOG_LEVEL", "info")
    if isinstance(value, str) and value.lower() in LEVELS:
        return value.lower()
    return "info"


def enabled() -> bool:
    """``EVENTLOG_ENABLED``: when false, events are built but not written (benchmarks)."""
    return bool(_get("EVENTLOG_ENABLED", True))


def trusted_proxies() -> int:
    """``EVENTLOG_TRUSTED_PROXIES``: reverse proxies in front of Django that append
    to ``X-Forwarded-For``; 0 (default) trusts only ``REMOTE_ADDR``."""
    return _int("EVENTLOG_TRUSTED_PROXIES", 0)


def request_id_header() -> str:
    """``EVENTLOG_REQUEST_ID_HEADER``: the request id header read and echoed."""
    value = _get("EVENTLOG_REQUEST_ID_HEADER", "X-Request-ID")
    return value if isinstance(value, str) and value else "X-Request-ID"


def mask_fields() -> tuple[str, ...]:
    """``EVENTLOG_MASK_FIELDS``: extra field-name fragments masked as ``"***"``,
    added to the built-in password/passwd/token/secret/api_key/apikey."""
    value = _get("EVENTLOG_MASK_FIELDS", ())
    extra: Sequence[Any] = value if isinstance(value, list | tuple) else ()
    names = [*DEFAULT_MASK_FIELDS, *(str(v).lower() for v in extra if isinstance(v, str) and v)]
    return tuple(dict.fromkeys(names))


MODEL_OPTIONS: Final = ("include", "exclude", "mask")


@dataclass(frozen=True)
class ModelSpec:
    """One entry of ``EVENTLOG_MODELS``: a model (``app_label.Model``) or a
    whole app (``app_label``), with :func:`eventlog.register`'s options."""

    label: str
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    mask: tuple[str, ...] = ()


def _spec(label: Any, options: Any) -> ModelSpec | str:
    if not isinstance(label, str) or not label or label.count(".") > 1:
        return f"{label!r} is not an 'app_label' or 'app_label.Model' string"
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        return f"the options of {label!r} must be a dict"
    unknown = sorted(set(options) - set(MODEL_OPTIONS))
    if unknown:
        return f"unknown option(s) {', '.join(map(repr, unknown))} for {label!r}"
    names: dict[str, tuple[str, ...] | None] = {}
    for key in MODEL_OPTIONS:
        value = options.get(key)
        if value is None:
            names[key] = None
            continue
        if (
            isinstance(value, str)
            or not isinstance(value, list | tuple | set | frozenset)
            or not all(isinstance(v, str) and v for v in value)
        ):
            return f"{key!r} of {label!r} must be a list of field names"
        names[key] = tuple(value)
    return ModelSpec(label, names["include"], names["exclude"] or (), names["mask"] or ())


def models() -> tuple[list[ModelSpec], list[str]]:
    """``EVENTLOG_MODELS``: models or apps to audit, as a list of labels or
    ``(label, options)`` pairs, or a dict ``{label: options}``. Returns the
    valid entries and a description of each invalid one (the checks report
    those, eventlog.E040)."""
    value = _get("EVENTLOG_MODELS", ())
    if isinstance(value, Mapping):
        items: list[Any] = list(value.items())
    elif isinstance(value, list | tuple):
        items = [v if isinstance(v, list | tuple) else (v, None) for v in value]
    else:
        return [], [f"must be a list or a dict, not {type(value).__name__}"]
    specs: list[ModelSpec] = []
    problems: list[str] = []
    for item in items:
        if len(item) != 2:
            problems.append(f"{item!r} is not a label or a (label, options) pair")
            continue
        spec = _spec(*item)
        if isinstance(spec, str):
            problems.append(spec)
        else:
            specs.append(spec)
    return specs, problems


def durability() -> Durability:
    """``EVENTLOG_DURABILITY``: ``"write"`` (default), ``"fsync"`` (every line),
    or an integer: fsync at most that many milliseconds after a write."""
    return Durability.parse(_get("EVENTLOG_DURABILITY", "write")) or WRITE


def writer() -> Literal["sync", "background"]:
    """``EVENTLOG_WRITER``: ``"sync"`` (default) writes in the caller's thread,
    ``"background"`` queues lines for a writer thread."""
    return "background" if _get("EVENTLOG_WRITER", "sync") == "background" else "sync"


def queue_size() -> int:
    """``EVENTLOG_QUEUE_SIZE``: lines the background writer's queue holds."""
    return _int("EVENTLOG_QUEUE_SIZE", DEFAULT_QUEUE_SIZE, 1)


def queue_full() -> Literal["block", "drop"]:
    """``EVENTLOG_QUEUE_FULL``: when the queue is full, ``"block"`` (default)
    the caller until there is room, or ``"drop"`` the line and count it."""
    return "drop" if _get("EVENTLOG_QUEUE_FULL", "block") == "drop" else "block"


def rotation() -> Literal["size", "external"]:
    """``EVENTLOG_ROTATION``: ``"size"`` (default) lets the sink rotate (by size
    and ``EVENTLOG_ROTATE_INTERVAL``); ``"external"`` leaves rotation and
    retention to logrotate, whose renames the sink follows."""
    return "external" if _get("EVENTLOG_ROTATION", "size") == "external" else "size"


def rotate_interval() -> int:
    """``EVENTLOG_ROTATE_INTERVAL``: also rotate at the start of every period of
    this many seconds, or ``"hourly"`` / ``"daily"`` (UTC); unset: never."""
    return parse_interval(_get("EVENTLOG_ROTATE_INTERVAL", None)) or 0


def parse_interval(value: object) -> int | None:
    """Seconds of a rotation interval setting; 0 for unset, None if invalid."""
    if value is None:
        return 0
    if isinstance(value, str):
        return NAMED_INTERVALS.get(value.lower())
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def max_age_days() -> float:
    """``EVENTLOG_MAX_AGE_DAYS``: delete rotated files rotated longer ago than this
    (days, fractions allowed); unset or 0: no age limit."""
    value = _get("EVENTLOG_MAX_AGE_DAYS", None)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return 0.0
    return float(value)


def output_format() -> str:
    """``EVENTLOG_FORMAT``: ``"native"`` (default: the contract's keys) or
    ``"ecs"`` (Elastic Common Schema field names, see :mod:`eventlog.core.ecs`)."""
    value = _get("EVENTLOG_FORMAT", "native")
    if isinstance(value, str) and value.lower() in FORMATS:
        return value.lower()
    return "native"
