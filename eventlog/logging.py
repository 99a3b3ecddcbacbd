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
was already loaded), then the record's extra keys, secrets masked.

:class:`JsonLinesHandler` appends each record through eventlog's file sink,
so ``django.jsonl`` gets the same one-``write()``-per-line, rotation,
``stream``/``seq``/``hash`` and failure handling as ``events.jsonl``.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from pythonjsonlogger.orjson import OrjsonFormatter

from eventlog.core.files import DJANGO_FILE
from eventlog.core.keys import SCHEMA_VERSION
from eventlog.write import clock as _clock
from eventlog.write import context as _context
from eventlog.write import pipeline as _pipeline
from eventlog.write.values import json_default, render

__all__ = ["JsonFormatter", "JsonLinesHandler"]

# Attributes of a record that are not the caller's extra keys.
_SKIP: Final = frozenset(
    {*logging.LogRecord("", 0, "", 0, "", None, None).__dict__, "message", "asctime"}
    | {"request", "taskName"}
)


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
        merged = _pipeline.masker().merge(
            envelope, _context.current(resolve_actor=False), record_data
        )
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
