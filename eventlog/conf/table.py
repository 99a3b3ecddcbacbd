"""The settings table: every ``EVENTLOG_*`` setting declared once.

Each :class:`Setting` names its Django setting, its default, the parser that
turns a configured value into its final type and the system check id that
reports a value the parser refuses. The typed accessors of
:mod:`eventlog.conf` are these entries (calling one reads the current value)
and the system checks of :mod:`eventlog.conf.checks` walk :data:`SETTINGS`,
so a setting's rule cannot differ between the two.

A refused value never raises where the setting is read: the accessor falls
back to what :class:`Invalid` salvaged (the valid part of a list, say) or to
the default, and ``manage.py check`` says what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Generic, Literal, TypeVar, cast

from django.conf import settings

from eventlog.conf.durability import WRITE, Durability

__all__ = [
    "DEFAULT_MASK_FIELDS",
    "DEFAULT_MAX_LINE_BYTES",
    "FORMATS",
    "LEVELS",
    "MASK_WORDS",
    "MODEL_OPTIONS",
    "SETTINGS",
    "Invalid",
    "ModelSpec",
    "Setting",
    "parse_interval",
]

T = TypeVar("T")
C = TypeVar("C", bound=str)
_UNSET: Final[Any] = object()

Writer = Literal["sync", "background"]
QueueFull = Literal["block", "drop"]
Rotation = Literal["size", "external"]
Format = Literal["native", "ecs"]
LEVELS: Final = ("debug", "info", "warning", "error", "critical")
WRITERS: Final[tuple[Writer, ...]] = ("sync", "background")
QUEUE_FULL_CHOICES: Final[tuple[QueueFull, ...]] = ("block", "drop")
ROTATIONS: Final[tuple[Rotation, ...]] = ("size", "external")
FORMATS: Final[tuple[Format, ...]] = ("native", "ecs")
NAMED_INTERVALS: Final = {"hourly": 3600, "daily": 86400}
DEFAULT_MASK_FIELDS: Final = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "signature",
    "authorization",
    "cookie",
    "csrf",
    "sessionid",
    "credential",
)
"""Fragments masked wherever they occur in a key (case-insensitive)."""
MASK_WORDS: Final = ("key", "pass", "auth", "session", "sig", "jwt")
"""Words masked only as a whole token of a key: ``private_key`` and ``X-Api-Key``
but not ``monkey``; ``db_pass`` but not ``passenger``."""
MODEL_OPTIONS: Final = ("include", "exclude", "mask")


class Invalid(ValueError):
    """A configured value the parser refuses: one message per problem (each
    completes the sentence "``EVENTLOG_X`` ..."), and what of the value can
    still be used, if anything."""

    def __init__(self, *problems: str, usable: Any = _UNSET) -> None:
        super().__init__(*problems)
        self.problems = problems
        self.usable = usable


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One ``EVENTLOG_*`` setting; calling it returns the current value."""

    name: str
    default: T | Callable[[], T]
    """The value when unset or refused; a callable is called each time (a
    default derived from another setting)."""
    parse: Callable[[Any], T]
    """Configured value -> final value; raises :class:`Invalid`."""
    check_id: str | None
    """The system check reporting a refused value (``None``: nothing is refused)."""
    doc: str

    def __call__(self) -> T:
        value = getattr(settings, self.name, _UNSET)
        if value is _UNSET or value is None:
            return self.fallback()
        try:
            return self.parse(value)
        except Invalid as exc:
            return self.fallback() if exc.usable is _UNSET else cast(T, exc.usable)

    def fallback(self) -> T:
        """The default value."""
        default = self.default
        return default() if callable(default) else default

    def problems(self) -> list[str]:
        """What is wrong with the configured value (empty when unset or valid)."""
        value = getattr(settings, self.name, None)
        if value is None:
            return []
        try:
            self.parse(value)
        except Invalid as exc:
            return [f"{self.name} {problem}." for problem in exc.problems]
        return []


def _integer(minimum: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise Invalid(f"must be an integer >= {minimum}, not {value!r}")
        return value

    return parse


def _choice(choices: tuple[C, ...], *, fold_case: bool = False) -> Callable[[Any], C]:
    def parse(value: Any) -> C:
        text = value.lower() if fold_case and isinstance(value, str) else value
        if text not in choices:
            raise Invalid(f"must be one of {', '.join(map(repr, choices))}, not {value!r}")
        return cast(C, text)

    return parse


def _directory(value: Any) -> Path:
    if isinstance(value, str | Path) and str(value):
        return Path(value)
    raise Invalid(f"must be a non-empty path, not {value!r}")


def _default_directory() -> Path:
    base = getattr(settings, "BASE_DIR", None)
    return (Path(base) if base else Path.cwd()) / "logs"


def _key(value: Any) -> bytes | None:
    if isinstance(value, str):
        return value.encode() or None
    if isinstance(value, bytes):
        return value or None
    raise Invalid(f"must be a string or bytes, not {type(value).__name__}")


def _masks(value: Any) -> tuple[str, ...]:
    # A malformed value must not unmask what it names: the valid entries are
    # kept, a bare string counts as one entry (system checks do not run under
    # gunicorn or uwsgi, so a refused value would fail open there).
    if isinstance(value, str):
        entries: list[Any] = [value]
    elif isinstance(value, list | tuple | set | frozenset):
        entries = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    else:
        entries = []
    extra = [v.lower() for v in entries if isinstance(v, str) and v]
    names = tuple(dict.fromkeys([*DEFAULT_MASK_FIELDS, *extra]))
    if not isinstance(value, list | tuple) or len(extra) != len(value):
        raise Invalid(f"must be a list of non-empty strings, not {value!r}", usable=names)
    return names


# An HTTP field name (RFC 9110 token): anything else breaks every response
# (a newline) or never matches a request header.
_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# A dotted path: a module and the name in it, each part an identifier.
_DOTTED: Final = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def _header(value: Any) -> str:
    if not isinstance(value, str) or _TOKEN.fullmatch(value) is None:
        raise Invalid(f"must be an HTTP header name such as 'X-Request-ID', not {value!r}")
    if value.upper().startswith("HTTP_"):
        raise Invalid(
            "must be the header's name as sent ('X-Request-ID'), "
            f"not its request.META key {value!r}"
        )
    return value


def _durability(value: Any) -> Durability:
    policy = Durability.parse(value)
    if policy is None:
        raise Invalid(
            "must be 'write', 'fsync' or an interval in milliseconds "
            f"(an integer > 0), not {value!r}"
        )
    return policy


def parse_interval(value: object) -> int | None:
    """Seconds of a rotation interval setting; 0 for unset, None if invalid."""
    if value is None:
        return 0
    if isinstance(value, str):
        return NAMED_INTERVALS.get(value.lower())
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _interval(value: Any) -> int:
    seconds = parse_interval(value)
    if seconds is None:
        raise Invalid(
            f"must be 'hourly', 'daily' or a number of seconds (an integer > 0), not {value!r}"
        )
    return seconds


def _days(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise Invalid(f"must be a number of days >= 0, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class ModelSpec:
    """One entry of ``EVENTLOG_MODELS``: a model (``app_label.Model``) or a
    whole app (``app_label``), with :func:`eventlog.register`'s options."""

    label: str
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    mask: tuple[str, ...] = ()
    extra: str | None = None
    """Dotted path of the callable whose keys are added to the model's lines."""


def _spec(label: Any, options: Any) -> ModelSpec | str:
    if not isinstance(label, str) or not label or label.count(".") > 1:
        return f"{label!r} is not an 'app_label' or 'app_label.Model' string"
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        return f"the options of {label!r} must be a dict"
    unknown = sorted(set(options) - {*MODEL_OPTIONS, "extra"})
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
    extra = options.get("extra")
    if extra is not None and not (isinstance(extra, str) and _DOTTED.fullmatch(extra)):
        return f"'extra' of {label!r} must be a dotted path ('package.module.function')"
    return ModelSpec(label, names["include"], names["exclude"] or (), names["mask"] or (), extra)


def _models(value: Any) -> tuple[ModelSpec, ...]:
    # Each bad entry is reported on its own; the good ones are still audited.
    if isinstance(value, Mapping):
        items: list[Any] = list(value.items())
    elif isinstance(value, list | tuple):
        items = [v if isinstance(v, list | tuple) else (v, None) for v in value]
    else:
        raise Invalid(f"must be a list or a dict, not {type(value).__name__}", usable=())
    specs: list[ModelSpec] = []
    problems: list[str] = []
    for item in items:
        spec = (
            _spec(*item)
            if len(item) == 2
            else f"{item!r} is not a label or a (label, options) pair"
        )
        if isinstance(spec, str):
            problems.append(f"entry: {spec}")
        else:
            specs.append(spec)
    if problems:
        raise Invalid(*problems, usable=tuple(specs))
    return tuple(specs)


_FALSE_TEXT: Final = frozenset({"0", "false", "no", "off"})
_TRUE_TEXT: Final = frozenset({"1", "true", "yes", "on"})


def _switch(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _FALSE_TEXT:
        raise Invalid(f"must be True or False, not {value!r}", usable=False)
    if text in _TRUE_TEXT:
        raise Invalid(f"must be True or False, not {value!r}", usable=True)
    raise Invalid(f"must be True or False, not {value!r}")


DIR: Final = Setting[Path](
    "EVENTLOG_DIR",
    _default_directory,
    _directory,
    "eventlog.E001",
    "where the log files go (default ``logs/`` beside ``BASE_DIR``)",
)
MAX_BYTES: Final = Setting[int](
    "EVENTLOG_MAX_BYTES",
    10 * 1024 * 1024,
    _integer(0),
    "eventlog.E002",
    "rotate the live file past this size; 0 never rotates",
)
BACKUP_COUNT: Final = Setting[int](
    "EVENTLOG_BACKUP_COUNT", 10, _integer(0), "eventlog.E002", "rotated files kept per log file"
)
MIN_MAX_LINE_BYTES: Final = 1024
DEFAULT_MAX_LINE_BYTES: Final = 64 * 1024
MAX_LINE_BYTES: Final = Setting[int](
    "EVENTLOG_MAX_LINE_BYTES",
    DEFAULT_MAX_LINE_BYTES,
    _integer(MIN_MAX_LINE_BYTES),
    "eventlog.E002",
    "the line cap; larger values are truncated with a marker",
)
TRUSTED_PROXIES: Final = Setting[int](
    "EVENTLOG_TRUSTED_PROXIES",
    0,
    _integer(0),
    "eventlog.E002",
    "reverse proxies in front of Django that append to ``X-Forwarded-For``; "
    "0 trusts only ``REMOTE_ADDR``",
)
LEVEL: Final = Setting[str](
    "EVENTLOG_LEVEL",
    "info",
    _choice(LEVELS, fold_case=True),
    "eventlog.E003",
    "the lowest level written to ``events.jsonl``",
)
HMAC_KEY: Final = Setting[bytes | None](
    "EVENTLOG_HMAC_KEY",
    None,
    _key,
    "eventlog.E004",
    "keys the integrity chain with HMAC-SHA256 when set",
)
MASK_FIELDS: Final = Setting[tuple[str, ...]](
    "EVENTLOG_MASK_FIELDS",
    DEFAULT_MASK_FIELDS,
    _masks,
    "eventlog.E005",
    'more key fragments masked as ``"***"`` wherever they occur, added to the built-in '
    + "/".join(DEFAULT_MASK_FIELDS)
    + " (and the whole words "
    + "/".join(MASK_WORDS)
    + ")",
)
REQUEST_ID_HEADER: Final = Setting[str](
    "EVENTLOG_REQUEST_ID_HEADER",
    "X-Request-ID",
    _header,
    "eventlog.E007",
    "the request id header read and echoed",
)
ENABLED: Final = Setting[bool](
    "EVENTLOG_ENABLED",
    True,
    _switch,
    "eventlog.E008",
    "when false, events are built but not written (benchmarks); ``None`` counts as unset",
)
DURABILITY: Final = Setting[Durability](
    "EVENTLOG_DURABILITY",
    WRITE,
    _durability,
    "eventlog.E010",
    "``'write'``, ``'fsync'`` (every line) or N: fsync at most N ms after a write",
)
WRITER: Final = Setting[Writer](
    "EVENTLOG_WRITER",
    "sync",
    _choice(WRITERS),
    "eventlog.E011",
    "``'sync'`` writes in the caller's thread, ``'background'`` queues lines for a writer thread",
)
QUEUE_SIZE: Final = Setting[int](
    "EVENTLOG_QUEUE_SIZE",
    10_000,
    _integer(1),
    "eventlog.E012",
    "lines the background writer's queue holds",
)
QUEUE_FULL: Final = Setting[QueueFull](
    "EVENTLOG_QUEUE_FULL",
    "block",
    _choice(QUEUE_FULL_CHOICES),
    "eventlog.E013",
    "when the queue is full, ``'block'`` the caller or ``'drop'`` the line and count it",
)
ROTATION: Final = Setting[Rotation](
    "EVENTLOG_ROTATION",
    "size",
    _choice(ROTATIONS),
    "eventlog.E014",
    "``'size'`` lets the sink rotate; ``'external'`` leaves rotation and retention "
    "to logrotate, whose renames the sink follows",
)
ROTATE_INTERVAL: Final = Setting[int](
    "EVENTLOG_ROTATE_INTERVAL",
    0,
    _interval,
    "eventlog.E015",
    "also rotate at the start of every period of this many seconds, or "
    "``'hourly'``/``'daily'`` (UTC); unset: never",
)
MAX_AGE_DAYS: Final = Setting[float](
    "EVENTLOG_MAX_AGE_DAYS",
    0.0,
    _days,
    "eventlog.E016",
    "delete rotated files rotated longer ago than this many days; unset or 0: no limit",
)
FORMAT: Final = Setting[Format](
    "EVENTLOG_FORMAT",
    "native",
    _choice(FORMATS, fold_case=True),
    "eventlog.E030",
    "``'native'`` (the contract's keys) or ``'ecs'`` (Elastic Common Schema names)",
)
MODELS: Final = Setting[tuple[ModelSpec, ...]](
    "EVENTLOG_MODELS",
    (),
    _models,
    "eventlog.E040",
    "models (``'app.Model'``) or apps (``'app'``) to audit, or ``(label, options)`` "
    "pairs, or a dict ``{label: options}``",
)
AUTH_EVENTS: Final = Setting[bool](
    "EVENTLOG_AUTH_EVENTS",
    True,
    _switch,
    "eventlog.E050",
    "``auth.login``, ``auth.logout`` and ``auth.login_failed`` lines",
)
REQUEST_EVENTS: Final = Setting[bool](
    "EVENTLOG_REQUEST_EVENTS",
    False,
    _switch,
    "eventlog.E051",
    "one ``http.request`` line per request, written after the response",
)
REQUEST_QUERY: Final = Setting[bool](
    "EVENTLOG_REQUEST_QUERY",
    False,
    _switch,
    "eventlog.E052",
    "``http.request``'s ``path`` ends with ``?`` and the query string, "
    "secret-named parameters' values masked",
)


def _dotted_paths(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise Invalid(f"must be a list of dotted paths, not {value!r}", usable=())
    good = tuple(v for v in value if isinstance(v, str) and _DOTTED.fullmatch(v))
    if len(good) != len(value):
        bad = [v for v in value if v not in good]
        raise Invalid(
            f"must hold dotted paths ('package.module.function'), not {bad!r}", usable=good
        )
    return good


PROCESSORS: Final = Setting[tuple[str, ...]](
    "EVENTLOG_PROCESSORS",
    (),
    _dotted_paths,
    "eventlog.E060",
    "dotted paths of structlog-style processors run on every line after the "
    "envelope and context are merged and before masking",
)

SETTINGS: Final[tuple[Setting[Any], ...]] = (
    DIR,
    MAX_BYTES,
    BACKUP_COUNT,
    MAX_LINE_BYTES,
    TRUSTED_PROXIES,
    LEVEL,
    HMAC_KEY,
    MASK_FIELDS,
    REQUEST_ID_HEADER,
    ENABLED,
    DURABILITY,
    WRITER,
    QUEUE_SIZE,
    QUEUE_FULL,
    ROTATION,
    ROTATE_INTERVAL,
    MAX_AGE_DAYS,
    FORMAT,
    MODELS,
    AUTH_EVENTS,
    REQUEST_EVENTS,
    REQUEST_QUERY,
    PROCESSORS,
)
"""Every setting eventlog reads, in the order the README lists them."""
