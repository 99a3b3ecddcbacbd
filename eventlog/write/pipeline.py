"""eventlog's structlog pipeline: event dict -> processors -> bytes -> sink.

eventlog builds its *own* structlog logger (``make_filtering_bound_logger``
instantiated directly over the sink) instead of calling
``structlog.configure()``: the project's own structlog set-up, e.g.
django-structlog's, stays untouched, and no stdlib ``logging`` detour sits on
the event path (it costs several times the whole pipeline, see the
benchmarks). :func:`configure` runs from ``AppConfig.ready()`` and again when
an ``EVENTLOG_*`` setting changes; it is idempotent.

Processors, in order:

1. :func:`add_envelope`: ``timestamp``, ``level``, ``event``, ``event_id``,
   ``schema_version``, then the context of :mod:`eventlog.write.context`, then the
   event's own keys (a key that would overwrite the envelope or the sink's
   ``stream``/``seq``/``hash`` is moved under ``extra``), their values masked
   where the key looks like a secret, at any depth
   (:meth:`eventlog.write.values.Masker.merge`, one pass);
2. the capture hook of :func:`eventlog.testing.capture_events` (which so
   always sees the native format);
3. with ``EVENTLOG_FORMAT = "ecs"``, :func:`eventlog.core.ecs.to_ecs`;
4. :func:`eventlog.write.values.render`: orjson, capped.

The sink then adds ``stream``, ``seq`` and ``hash`` and appends the line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from functools import partial
from typing import Any, Final

import structlog
from django.db import transaction

from eventlog import conf
from eventlog.core import ecs as _ecs
from eventlog.core.files import EVENTS_FILE
from eventlog.core.keys import SCHEMA_VERSION
from eventlog.write import clock as _clock
from eventlog.write import context as _context
from eventlog.write.sink import FileSink, Sink
from eventlog.write.values import Masker, render
from eventlog.write.writer import BackgroundWriter, install_sigterm_handler

__all__ = ["configure", "emit", "flush", "get_sink", "internal_error"]

LEVELS: Final = frozenset(conf.LEVELS)
# Room the sink needs for ``stream``, ``seq`` and ``hash`` under the line cap.
SINK_RESERVE: Final = 320
# Keys under which emit() hands its fields and, for a deferred event, the
# context captured when it was sent, past structlog's ``event`` argument.
_FIELDS: Final = "__eventlog_fields__"
_CAPTURED: Final = "__eventlog_context__"
_METHOD_LEVEL: Final = {"warn": "warning", "exception": "error", "fatal": "critical"}
_AT_ONCE: Final = frozenset({"error", "critical"})
_NO_FIELDS: Final[Mapping[str, Any]] = {}
_time_ns = time.time_ns

_log = logging.getLogger("eventlog")
_sinks: dict[str, Sink] = {}
_sinks_lock = threading.Lock()
_captures: list[list[dict[str, Any]]] = []
_logger: Any = None
_masker = Masker(conf.DEFAULT_MASK_FIELDS)
_cap = conf.DEFAULT_MAX_LINE_BYTES - SINK_RESERVE
errors = 0
"""Events the pipeline could not write as asked in this process."""


class _SinkLogger:
    """structlog's *logger*: hands each rendered line to a sink."""

    def __init__(self, sink: Sink | None) -> None:
        self._sink = sink

    def msg(self, message: bytes) -> None:
        if self._sink is not None:
            self._sink.write(message)

    debug = info = warning = warn = error = critical = fatal = exception = log = msg


_reporting: ContextVar[bool] = ContextVar("eventlog_reporting", default=False)


def _report_sink_failure(sink: FileSink, message: str) -> None:
    """Send a sink's failure to the ``eventlog`` logger (``django.jsonl``); a
    failure while reporting one (the same disk is full) goes to stderr only."""
    if _reporting.get():
        return
    token = _reporting.set(True)
    try:
        _log.error(message, extra={"error": "sink_failure", "path": str(sink.path)})
    finally:
        _reporting.reset(token)


def _report_drops(writer: BackgroundWriter, count: int, message: str) -> None:
    """Report lines a full queue dropped: on ``django.jsonl`` and, for the
    events file, as an ``eventlog.error`` line in the stream that lost them."""
    if _reporting.get():
        return
    token = _reporting.set(True)
    try:
        with contextlib.suppress(Exception):
            _log.error(
                message, extra={"error": "queue_full", "dropped": count, "path": str(writer.path)}
            )
        if writer.path.name == EVENTS_FILE and _logger is not None:
            with contextlib.suppress(Exception):
                _logger.error("eventlog.error", error="queue_full", detail=message, dropped=count)
    finally:
        _reporting.reset(token)


def _after_fork_in_child() -> None:
    global _sinks_lock
    _sinks_lock = threading.Lock()  # another thread may have held it at fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def get_sink(name: str) -> Sink:
    """The sink of ``<EVENTLOG_DIR>/<name>`` in this process (created on first use;
    the file itself is opened on the first write): a :class:`FileSink`, behind a
    :class:`BackgroundWriter` when ``EVENTLOG_WRITER`` is ``"background"``."""
    sink = _sinks.get(name)
    if sink is None:
        with _sinks_lock:
            sink = _sinks.get(name)
            if sink is None:
                sink = _make_sink(name)
                _sinks[name] = sink
    return sink


def _make_sink(name: str) -> Sink:
    external = conf.rotation() == "external"
    sink = FileSink(
        conf.directory() / name,
        max_bytes=0 if external else conf.max_bytes(),
        backup_count=conf.backup_count(),
        hmac_key=conf.hmac_key(),
        on_failure=_report_sink_failure,
        rotate_interval_s=0 if external else conf.rotate_interval(),
        max_age_days=0.0 if external else conf.max_age_days(),
        durability=conf.durability(),
    )
    if conf.writer() == "sync":
        return sink
    install_sigterm_handler()  # from the main thread only; atexit flushes anyway
    return BackgroundWriter(
        sink,
        queue_size=conf.queue_size(),
        drop_when_full=conf.queue_full() == "drop",
        on_drop=_report_drops,
    )


def add_envelope(
    _logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> dict[str, Any]:
    """Processor: the contract's envelope, then context, then the event's keys,
    masked."""
    ns = _time_ns()
    out: dict[str, Any] = {
        "timestamp": _clock.format_ns(ns),
        "level": _METHOD_LEVEL.get(method_name, method_name),
        "event": event_dict.pop("event", "app.event"),
        "event_id": _clock.uuid7(ns),
        "schema_version": SCHEMA_VERSION,
    }
    captured = event_dict.pop(_CAPTURED, None)
    fields = event_dict.pop(_FIELDS, None) or _NO_FIELDS
    context = _context.current() if captured is None else captured
    return _masker.merge(out, context, fields, event_dict)


def _capture(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for events in _captures:
        events.append(dict(event_dict))
    return event_dict


def _to_ecs(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return _ecs.to_ecs(event_dict)


def _render(_logger: Any, _name: str, event_dict: dict[str, Any]) -> bytes:
    return render(event_dict, _cap)


def configure() -> None:
    """(Re)build eventlog's logger and sinks from the current settings."""
    global _logger, _masker, _cap
    with _sinks_lock:
        for sink in _sinks.values():
            sink.close()
        _sinks.clear()
    _masker = Masker(conf.mask_fields())
    _cap = conf.max_line_bytes() - SINK_RESERVE
    target = _SinkLogger(get_sink(EVENTS_FILE) if conf.enabled() else None)
    wrapper: Any = structlog.make_filtering_bound_logger(conf.level())
    # The class is instantiated directly (BoundLoggerBase's constructor) rather
    # than through structlog.configure(), which is global and the project's.
    processors: list[Any] = [add_envelope, _capture, _render]
    if conf.output_format() == "ecs":
        processors.insert(-1, _to_ecs)
    _logger = wrapper(target, processors, {})


def emit(
    event: str,
    fields: Mapping[str, Any] | None = None,
    *,
    level: str = "info",
    on_commit: bool | None = None,
    using: str | None = None,
) -> None:
    """Log ``event`` with ``fields``; never raises.

    With ``on_commit`` (the default below ``error``) and inside an atomic block
    of ``using``, the line is written when the transaction commits, with the
    context captured now, and never if it rolls back. Errors and criticals are
    written at once by default: they describe the failure a rollback follows.
    Keys of ``fields`` that would overwrite the envelope or the sink's keys are
    moved under ``extra`` (:meth:`eventlog.write.values.Masker.merge`).
    """
    try:
        data = _NO_FIELDS if fields is None else fields
        if level not in LEVELS:
            data = {**data, "level": str(level)}  # moved under "extra"
            level = "info"
        if on_commit is None:
            on_commit = level not in _AT_ONCE
        if on_commit and transaction.get_connection(using).in_atomic_block:
            # Copied now: the caller may change its dict before the commit.
            deferred = partial(_write, event, level, dict(data), _context.current())
            transaction.on_commit(deferred, using=using)
            return
        _write(event, level, data)
    except Exception as exc:
        internal_error("emit_failed", exc, event)


def _write(
    event: str, level: str, fields: Mapping[str, Any], captured: dict[str, Any] | None = None
) -> None:
    try:
        if _logger is None:
            configure()
        getattr(_logger, level)(event, **{_FIELDS: fields, _CAPTURED: captured})
    except Exception as exc:
        internal_error("render_failed", exc, event)


def internal_error(error: str, exc: BaseException, event: str) -> None:
    """Report that ``event`` could not be logged: an ``eventlog.error`` line,
    a record on ``django.jsonl``, a line on stderr and a count."""
    global errors
    errors += 1
    detail = f"{type(exc).__name__}: {exc}"[:1000]
    with contextlib.suppress(Exception):
        print(f"eventlog: could not log {event!r}: {detail}", file=sys.stderr, flush=True)
    with contextlib.suppress(Exception):
        _log.error("could not log %r: %s", event, detail, extra={"error": error})
    with contextlib.suppress(Exception):
        _logger.error("eventlog.error", error=error, detail=detail, failed_event=str(event)[:200])


def flush() -> None:
    """Write what background writers hold and wait for background work of the
    sinks (compression) to finish. events.jsonl goes first: its drop report
    is logged to django.jsonl, whose sink that report may create."""
    done: set[int] = set()
    while pending := [s for s in list(_sinks.values()) if id(s) not in done]:
        for sink in pending:
            sink.wait()
            done.add(id(sink))


def on_setting_changed(*, setting: str, **_kwargs: Any) -> None:
    """``setting_changed`` receiver: rebuild when an ``EVENTLOG_*`` setting moves."""
    if setting.startswith("EVENTLOG_"):
        configure()
