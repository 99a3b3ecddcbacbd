"""Typed accessors for every ``EVENTLOG_*`` setting.

eventlog reads its settings here and nowhere else. Each accessor is an entry
of the settings table (:mod:`eventlog.conf.table`): calling it returns the
value in its final type. A value the table refuses is reported by the system
checks (:mod:`eventlog.conf.checks`, ``eventlog.E001``...) and falls back to
the default here, so a typo never turns into a traceback inside a request.
``None`` counts as unset.
"""

from __future__ import annotations

from typing import Final

from eventlog.conf import table
from eventlog.conf.table import (
    DEFAULT_MASK_FIELDS,
    DEFAULT_MAX_LINE_BYTES,
    FORMATS,
    LEVELS,
    MODEL_OPTIONS,
    ModelSpec,
    parse_interval,
)

__all__ = [
    "DEFAULT_MASK_FIELDS",
    "DEFAULT_MAX_LINE_BYTES",
    "FORMATS",
    "LEVELS",
    "MODEL_OPTIONS",
    "ModelSpec",
    "auth_events",
    "backup_count",
    "directory",
    "durability",
    "enabled",
    "hmac_key",
    "level",
    "mask_fields",
    "max_age_days",
    "max_bytes",
    "max_line_bytes",
    "models",
    "output_format",
    "parse_interval",
    "processors",
    "queue_full",
    "queue_size",
    "request_events",
    "request_id_header",
    "request_query",
    "rotate_interval",
    "rotation",
    "trusted_proxies",
    "writer",
]

directory: Final = table.DIR
max_bytes: Final = table.MAX_BYTES
backup_count: Final = table.BACKUP_COUNT
max_line_bytes: Final = table.MAX_LINE_BYTES
trusted_proxies: Final = table.TRUSTED_PROXIES
level: Final = table.LEVEL
hmac_key: Final = table.HMAC_KEY
mask_fields: Final = table.MASK_FIELDS
request_id_header: Final = table.REQUEST_ID_HEADER
enabled: Final = table.ENABLED
durability: Final = table.DURABILITY
writer: Final = table.WRITER
queue_size: Final = table.QUEUE_SIZE
queue_full: Final = table.QUEUE_FULL
rotation: Final = table.ROTATION
rotate_interval: Final = table.ROTATE_INTERVAL
max_age_days: Final = table.MAX_AGE_DAYS
output_format: Final = table.FORMAT
models: Final = table.MODELS
auth_events: Final = table.AUTH_EVENTS
request_events: Final = table.REQUEST_EVENTS
request_query: Final = table.REQUEST_QUERY
processors: Final = table.PROCESSORS
