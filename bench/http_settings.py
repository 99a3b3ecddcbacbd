"""Settings of the HTTP benchmark: the demo project as served, with DEBUG off,
SQLite in WAL mode with IMMEDIATE transactions (so four workers queue for the
write lock instead of failing with "database is locked"), eventlog as
``BENCH_EVENTLOG`` says and the URLs of :mod:`bench.http_urls`."""

from __future__ import annotations

import os

from config.settings import *  # noqa: F403
from config.settings import DATABASES

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# "on": as served; "noauth": the same with EVENTLOG_AUTH_EVENTS=False;
# "off": EVENTLOG_ENABLED=False (events built, not written); "bare":
# eventlog neither installed nor in the middleware, so nothing of it runs
# (event_signal has no receivers).
MODE = os.environ.get("BENCH_EVENTLOG", "on")
EVENTLOG_ENABLED = MODE in {"on", "noauth"}
EVENTLOG_AUTH_EVENTS = MODE != "noauth"
if MODE == "bare":
    INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "eventlog"]  # noqa: F405
    MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("eventlog.")]  # noqa: F405
    LOGGING = {"version": 1, "disable_existing_loggers": False}
ROOT_URLCONF = "bench.http_urls"
DATABASES["default"]["OPTIONS"] = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
