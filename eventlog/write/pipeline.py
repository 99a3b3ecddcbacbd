"""eventlog's structlog pipeline: event name and fields -> processors -> bytes -> sink.

:func:`emit` hands the event's name and its fields to a structlog bound
logger (:meth:`_EventMethod.write_event`, what its level methods do), so they
travel in structlog's event dict. The
logger is built with structlog's public API (:func:`structlog.wrap_logger`
over a logger that hands lines to the sink, with
:func:`structlog.make_filtering_bound_logger`'s class for the level), never
with ``structlog.configure()``: that is global, and the project's (its own
structlog set-up, e.g. django-structlog's, stays untouched). No stdlib
``logging`` detour sits on the event path (it costs several times the whole
pipeline, see the benchmarks).

:func:`configure` runs from ``AppConfig.ready()`` and again when an
``EVENTLOG_*`` setting changes: it builds the processors of
:mod:`eventlog.write.processors` from the settings, in order
:class:`~eventlog.write.processors.AddEnvelope` (envelope, context, fields,
masked), :class:`~eventlog.write.processors.RunHooks` (``EVENTLOG_PROCESSORS``,
imported here, once), :class:`~eventlog.write.processors.Capture` (for
:func:`eventlog.testing.capture_events`),
:class:`~eventlog.write.processors.ToECS` (``EVENTLOG_FORMAT = "ecs"``),
:class:`~eventlog.write.processors.Render` (orjson, capped). The sink then
adds ``stream``, ``seq`` and ``hash`` and appends the line.

Events deferred to a transaction's commit are written together. They ride
on ``on_commit`` callbacks (:class:`Deferred`, so Django drops those of a
rolled-back savepoint or transaction as it drops any other): an event joins
the callback registered last when that one is still the connection's last
and was registered at the same savepoint, else it registers a new one (see
:func:`_defer`). The last of a thread's callbacks still to run renders the
lot and hands it to the sink as one batch: one ``write()``, the lines
adjacent and in send order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from asyncio import _get_running_loop
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from time import time_ns
from typing import Any, Final

import structlog
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils.module_loading import import_string

from eventlog import conf
from eventlog.core.files import EVENTS_FILE
from eventlog.core.keys import MOVED_TO
from eventlog.write import context as _context
from eventlog.write.processors import AddEnvelope, Capture, Render, RunHooks, ToECS
from eventlog.write.sink import FileSink, Sink
from eventlog.write.values import Masker, moved
from eventlog.write.writer import BackgroundWriter, install_sigterm_handler

__all__ = [
    "Deferred",
    "captures",
    "configure",
    "emit",
    "flush",
    "get_sink",
    "in_atomic_block",
    "internal_error",
    "line_cap",
    "masker",
]

LEVELS: Final = frozenset(conf.LEVELS)
# Room the sink needs for ``stream``, ``seq`` and ``hash`` under the line cap.
SINK_RESERVE: Final = 320
_AT_ONCE: Final = frozenset({"error", "critical"})
_LEVEL_NUMBERS: Final = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_NO_FIELDS: Final[Mapping[str, Any]] = {}

_log = logging.getLogger("eventlog")
_sinks: dict[str, Sink] = {}
_sinks_lock = threading.Lock()
captures: list[list[dict[str, Any]]] = []
"""The lists of the open :func:`eventlog.testing.capture_events` blocks."""
_logger: Any = None
_target: Any = None
_processors: list[Any] = []
_envelope = AddEnvelope(Masker(conf.DEFAULT_MASK_FIELDS), _context.current)
_render = Render(conf.DEFAULT_MAX_LINE_BYTES - SINK_RESERVE)
errors = 0
"""Events the pipeline could not write as asked in this process."""


class _EventMethod:
    """Mixed into the class :func:`structlog.make_filtering_bound_logger`
    makes for the level: :meth:`write_event` is what its level methods do
    (context and fields into a new event dict, ``event`` set, the processors
    in turn, ``DropEvent`` honoured, the result to the wrapped logger),
    without the keyword-argument round trips of ``info(event, **fields)``."""

    _min_level = 0
    _context: Any
    _processors: Any
    _logger: Any

    def write_event(self, level: str, event: str, fields: Mapping[Any, Any]) -> None:
        """Log ``event`` with ``fields`` at ``level`` (a name of :data:`LEVELS`)."""
        if _LEVEL_NUMBERS[level] < self._min_level:
            return
        event_dict: Any = {**self._context, **fields} if self._context else dict(fields)
        event_dict["event"] = event
        target = self._logger
        try:
            for processor in self._processors:
                event_dict = processor(target, level, event_dict)
        except structlog.DropEvent:
            return
        target.msg(event_dict)


class _Collector:
    """structlog's *logger* while a batch is rendered: keeps the lines."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def msg(self, message: bytes) -> None:
        self.lines.append(message)

    debug = info = warning = warn = error = critical = fatal = exception = log = msg


Item = tuple[str, str, Mapping[str, Any], Mapping[str, Any]]
"""A deferred event: ``(event, level, fields, context captured at the send)``."""


class _Batch:
    """A thread's deferred events: ``pending[i]`` is true while the callback
    of the ``i``-th may still run; ``ready`` holds those whose callback ran.

    Django runs a transaction's callbacks in the order they were registered,
    so once no callback registered after the latest ready one is pending,
    the commit has nothing more of ours to run and the batch is written.
    Django gives no notice of a rollback: a dropped callback is seen when it
    is freed (:meth:`Deferred.__del__`), which CPython does as Django drops
    the last reference.
    """

    __slots__ = ("last", "pending", "ready")

    def __init__(self) -> None:
        self.pending: list[bool] = []
        self.ready: list[Item] = []
        self.last = -1

    def settle(self, index: int) -> bool:
        """Mark the ``index``-th settled; whether the ready ones are due."""
        pending = self.pending
        pending[index] = False
        while pending and not pending[-1]:
            pending.pop()
        return bool(self.ready) and len(pending) <= self.last


_batches = threading.local()


class Deferred:
    """The ``on_commit`` callback of deferred events sent at one savepoint
    (see :class:`_Batch`). Runs once: a test helper running it again writes
    nothing twice."""

    __slots__ = ("batch", "index", "items", "settled", "stack")

    def __init__(self, batch: _Batch, item: Item, stack: tuple[Any, ...] = ()) -> None:
        self.batch, self.items, self.settled = batch, [item], False
        self.stack = stack  # the connection's savepoint ids at registration
        self.index = len(batch.pending)
        batch.pending.append(True)

    def __call__(self) -> None:
        if self.settled:
            return
        self.settled = True
        batch = self.batch
        batch.ready.extend(self.items)
        batch.last = self.index
        if batch.settle(self.index):
            _write_ready(batch)

    def __del__(self) -> None:
        if not self.settled:
            self.settled = True
            with contextlib.suppress(Exception):
                if self.batch.settle(self.index):
                    _write_ready(self.batch)


def _defer(conn: Any, item: Item) -> None:
    """Hold ``item`` until the transaction of ``conn`` commits.

    One callback per event would cost Django's bookkeeping (a set of the
    savepoint ids, a list entry, a call at the commit) for every event. An
    event sent at the same savepoint as the last callback registered, while
    that is still the connection's last, joins it instead: Django drops or
    runs the callbacks registered at one savepoint together, and swaps its
    callback list out at each commit and rollback, so the last entry is
    always one of the open transaction. This reads ``run_on_commit``,
    ``savepoint_ids`` and ``atomic_blocks``, which Django does not document;
    where they are not the known lists each event registers its own callback
    (``tests/test_fast_paths.py`` fails when Django changes them).
    """
    hooks = getattr(conn, "run_on_commit", None)
    ids = getattr(conn, "savepoint_ids", None)
    if type(hooks) is list and type(ids) is list:
        last = _joinable(conn, hooks, ids)
        if last is not None:
            last.items.append(item)
            return
        stack = tuple(ids)
    else:
        stack = ()
    batch = getattr(_batches, "batch", None)
    if batch is None:
        batch = _batches.batch = _Batch()
    conn.on_commit(Deferred(batch, item, stack))


def _joinable(conn: Any, hooks: list[Any], ids: list[Any]) -> Deferred | None:
    """The connection's last callback if an event sent now may join it: one
    of ours, not run, the thread's newest (no deferred event of another
    database since, whose transaction this commit would then wait for),
    registered at the current savepoint (savepoint ids are unique in a
    transaction: the same depth and innermost id is the same savepoint), and
    not inside a ``TestCase``, whose helpers (``captureOnCommitCallbacks``,
    ``capture_events``) take only the callbacks registered within their
    block, so one registered before it would carry the event away."""
    if not hooks:
        return None
    last = hooks[-1]
    func = last[1] if type(last) is tuple and len(last) == 3 else None
    if type(func) is not Deferred or func.settled:
        return None
    if func.index != len(func.batch.pending) - 1:
        return None
    stack = func.stack
    if len(stack) != len(ids) or (ids and stack[-1] != ids[-1]):
        return None
    blocks = getattr(conn, "atomic_blocks", None)
    if blocks and getattr(blocks[0], "_from_testcase", False):
        return None
    return func


def _write_ready(batch: _Batch) -> None:
    items, batch.ready = batch.ready, []
    write_batch(items)


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


def masker() -> Masker:
    """The masker of the current configuration (``django.jsonl`` records use it too)."""
    return _envelope.masker


def line_cap() -> int:
    """The size a rendered line may have before the sink adds its keys."""
    return _render.cap


def configure() -> None:
    """(Re)build eventlog's logger, processors and sinks from the current settings."""
    global _logger, _envelope, _render, _target, _processors
    with _sinks_lock:
        for sink in _sinks.values():
            sink.close()
        _sinks.clear()
    _envelope = AddEnvelope(Masker(conf.mask_fields()), _context.current, time_ns=time_ns)
    _render = Render(conf.max_line_bytes() - SINK_RESERVE)
    processors: list[Any] = [_envelope, Capture(captures), _render]
    hooks = [(path, _load_hook(path)) for path in conf.processors()]
    if hooks:
        processors.insert(1, RunHooks(hooks, _envelope.masker))
    if conf.output_format() == "ecs":
        processors.insert(-1, ToECS())
    target = _SinkLogger(get_sink(EVENTS_FILE) if conf.enabled() else None)
    # The numeric level: structlog before 25.1 takes no level names.
    level = logging.getLevelNamesMapping()[conf.level().upper()]
    _target, _processors = target, processors
    filtering = structlog.make_filtering_bound_logger(level)
    wrapper = type(filtering.__name__, (_EventMethod, filtering), {"_min_level": level})
    proxy = structlog.wrap_logger(
        target,
        processors=processors,
        wrapper_class=wrapper,
        context_class=dict,
        cache_logger_on_first_use=True,
    )
    # bind() of the lazy proxy builds the bound logger once: calls then skip
    # the proxy's per-call lookup.
    _logger = proxy.bind()


def _load_hook(path: str) -> Any:
    """The processor at ``path``, or one that fails on every line with the
    reason (the system check ``eventlog.E061`` reports it too): a bad path
    costs the hook, never the line nor the caller."""
    try:
        hook = import_string(path)
        if not callable(hook):
            raise TypeError(f"{type(hook).__name__} is not callable")
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"

        def unavailable(_logger: Any, _method_name: str, _event_dict: Any) -> Any:
            raise ImportError(reason)

        return unavailable
    return hook


def _thread_connection(using: str | None) -> Any:
    """The connection ``using`` of this thread as Django keeps it, read
    without Django's and asgiref's lookup (the public one costs more than
    the rest of emit() before the pipeline); ``None`` where the layout is not
    the known one or the connection is not made yet, and in a running event
    loop, where asgiref keeps connections per context instead
    (``tests/test_fast_paths.py`` fails when either library changes it)."""
    if _get_running_loop() is not None:
        return None
    storage = getattr(getattr(connections, "_connections", None), "_storage", None)
    if type(storage) is not threading.local:
        return None
    return getattr(storage, using or DEFAULT_DB_ALIAS, None)


def _connection(using: str | None) -> Any:
    """This thread's connection ``using``, as ``transaction.get_connection()`` gives it."""
    conn = _thread_connection(using)
    return transaction.get_connection(using) if conn is None else conn


def in_atomic_block(using: str | None) -> bool:
    """Whether this thread's connection ``using`` is inside an atomic block."""
    return bool(_connection(using).in_atomic_block)


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
        if on_commit:
            conn = _connection(using)
            if conn.in_atomic_block:
                # Copied now: the caller may change its dict before the commit.
                _defer(conn, (event, level, dict(data), _context.current()))
                return
        _write(event, level, data)
    except Exception as exc:
        internal_error("emit_failed", exc, event)


def write_batch(items: Sequence[Item]) -> None:
    """Write events deferred to a commit, ``(event, level, fields, captured
    context)`` each, as one batch: rendered in turn, then sealed and written
    by the sink with one ``write()``. Never raises (it runs inside Django's
    commit, after the data is safe)."""
    try:
        if _logger is None:
            configure()
        collector = _Collector()
        logger = type(_logger)(collector, _processors, {})
        for event, level, fields, captured in items:
            token = _context.replay(captured)
            try:
                _write(event, level, fields, logger)
            finally:
                _context.reset_replay(token)
        sink = _target._sink
        if not collector.lines or sink is None:
            return
        if isinstance(sink, FileSink):
            sink.write_many(collector.lines)
        else:  # the background writer's thread makes its own batches
            for line in collector.lines:
                sink.write(line)
    except Exception as exc:
        internal_error("render_failed", exc, items[0][0] if items else "")


def _write(
    event: str,
    level: str,
    fields: Mapping[str, Any],
    logger: Any = None,
) -> None:
    try:
        if _logger is None:
            configure()
        if logger is None:
            logger = _logger
        if "event" in fields:
            fields = _without_event(fields)
        logger.write_event(level, event, fields)
    except Exception as exc:
        internal_error("render_failed", exc, event)


def _without_event(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with an ``event`` key moved under ``extra``, as the masker
    moves every other reserved key: the name is the one emit() was given."""
    rest = {key: value for key, value in fields.items() if key != "event"}
    rest[MOVED_TO] = moved(fields.get(MOVED_TO), {"event": fields["event"]})
    return rest


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
