"""Settings of the HTTP benchmark: the demo project as served, with DEBUG off,
SQLite in WAL mode with IMMEDIATE transactions (so four workers queue for the
write lock instead of failing with "database is locked") and
``EVENTLOG_ENABLED`` from ``BENCH_EVENTLOG_ENABLED``."""

from __future__ import annotations

import os

from config.settings import *  # noqa: F403
from config.settings import DATABASES

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
EVENTLOG_ENABLED = os.environ.get("BENCH_EVENTLOG_ENABLED", "1") == "1"
DATABASES["default"]["OPTIONS"] = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
