"""Django's own log records as JSON lines in ``django.jsonl``.

Use in ``LOGGING``::

    "formatters": {"json": {"()": "eventlog.logging.JsonFormatter"}},
    "handlers": {"jsonl": {"class": "eventlog.logging.JsonLinesHandler",
                           "formatter": "json"}},

:class:`JsonFormatter` is python-json-logger's orjson formatter (a
``JsonFormatter`` that serializes with orjson, 3x cheaper per record) with the
contract's keys: ``timestamp``, ``level``, ``event`` (the logger's name),
``event_id``, ``schema_version``, ``message``, the request context of the
record's request (``request_id``, ``ip``, ``user_agent``, and the actor if it
was already loaded; also for the 4xx records Django logs after the middleware
returned), then the record's extra keys, secrets masked. Only records about
no request say ``"CLI"``.

:class:`JsonLinesHandler` appends each record through eventlog's file sink,
so ``django.jsonl`` gets the same one-``write()``-per-line, rotation,
``stream``/``seq``/``hash`` and failure handling as ``events.jsonl``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
from types import FrameType
from typing import Any, Final

from django.http import HttpRequest
from pythonjsonlogger.orjson import OrjsonFormatter

from eventlog import conf
from eventlog.core.files import DJANGO_FILE
from eventlog.core.keys import SCHEMA_VERSION
from eventlog.middleware import info_of, info_of_environ, sane_request_id
from eventlog.write import clock as _clock
from eventlog.write import context as _context
from eventlog.write import pipeline as _pipeline
from eventlog.write.values import json_default, render

__all__ = ["JsonFormatter", "JsonLinesHandler"]

# How far up from the formatter a server's logging call may be (logging's
# own frames, a filter or two, the handler's log_message and log_request).
_SERVER_FRAMES: Final = 40

# Attributes of a record that are not the caller's extra keys.
_SKIP: Final = frozenset(
    {*logging.LogRecord("", 0, "", 0, "", None, None).__dict__, "message", "asctime"}
    | {"request", "taskName"}
)


def _peer_ip(connection: Any) -> str | None:
    try:
        address = getattr(connection, "client_address", None) or connection.getpeername()
        return str(ipaddress.ip_address(address[0]))
    except (OSError, ValueError, TypeError, IndexError, KeyError, AttributeError):
        return None  # closed, not an IP socket (AF_UNIX), or no address at all


def _server_context(connection: Any) -> dict[str, Any]:
    """The context of a development server record, whose ``request`` is only
    the connection: the server's frames that logged it are searched for the
    request handler (its ``client_address``: the socket may already be
    closed by the client) and the WSGI handler of the response (its
    ``environ`` and its ``X-Request-ID`` header: the request id it answered
    with). A record logged elsewhere (a queue handler's thread) or about a
    request the server refused before the application saw it gets what the
    socket still tells."""
    handler: Any = None
    wsgi: Any = None
    frame: FrameType | None = sys._getframe(2)
    try:
        for _ in range(_SERVER_FRAMES):
            if frame is None or (handler is not None and wsgi is not None):
                break
            owner = frame.f_locals.get("self")
            if handler is None and getattr(owner, "request", None) is connection:
                handler = owner
            elif (
                wsgi is None
                and getattr(getattr(owner, "request_handler", None), "request", None) is connection
            ):
                wsgi = owner
            frame = frame.f_back
        environ = getattr(wsgi, "environ", None)
        headers = getattr(wsgi, "headers", None)
        if isinstance(environ, dict) and headers is not None:
            request_id = sane_request_id(headers.get(conf.request_id_header()))
            return _context.of_request(info_of_environ(environ, request_id))
    except Exception:  # some frame's object objected to being looked at
        handler = None
    finally:
        del frame  # a frame kept in a local would keep the whole stack alive
    ip = _peer_ip(handler if handler is not None else connection)
    return _context.of_request(_context.RequestInfo(None, None, ip, None))


def _record_context(record: logging.LogRecord) -> dict[str, Any]:
    """The context of the request a record is about (Django passes it as
    ``extra={"request": ...}``), which the contextvar no longer holds when
    Django logs a 4xx after the middleware returned."""
    request = record.__dict__.get("request")
    if isinstance(request, HttpRequest):
        return _context.of_request(info_of(request))
    if isinstance(request, socket.socket) or hasattr(request, "client_address"):
        return _server_context(request)
    return _context.current(resolve_actor=False)


class JsonFormatter(OrjsonFormatter):
    """python-json-logger formatter emitting eventlog's line keys."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("json_default", json_default)
        kwargs.setdefault("reserved_attrs", sorted(_SKIP))
        super().__init__(*args, **kwargs)

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        timestamp, event_id = _clock.stamp(int(record.created * 1_000_000_000))
        record_data: dict[str, Any] = {"message": record.message}
        super().add_fields(record_data, record, message_dict)
        envelope = {
            "timestamp": timestamp,
            "level": record.levelname.lower(),
            "event": record.name,
            "event_id": event_id,
            "schema_version": SCHEMA_VERSION,
        }
        # The record's extras cannot forge the envelope; secrets are masked.
        merged = _pipeline.masker().merge(envelope, _record_context(record), record_data)
        log_data.clear()
        log_data.update(merged)

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        return render(log_data, _pipeline.line_cap()).decode()


class JsonLinesHandler(logging.Handler):
    """Appends formatted records to ``<EVENTLOG_DIR>/<filename>`` through
    eventlog's sink; never raises into the code that logged."""

    def __init__(self, filename: str = DJANGO_FILE, level: int | str = 0) -> None:
        super().__init__(level)
        self.filename = filename
        if self.formatter is None:
            self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record).encode()
            if not (line.startswith(b"{") and line.endswith(b"}")):
                # A non-JSON formatter was configured: keep the line valid.
                line = render({"message": line.decode(errors="replace")}, _pipeline.line_cap())
            _pipeline.get_sink(self.filename).write(line)
        except Exception:
            self.handleError(record)
