"""Settings of the benchmark project: in-memory SQLite, eventlog and the bench
app of twin models, plus django-auditlog and django-simple-history when
installed (``pip install -e '.[bench]'``)."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from typing import Any

PEERS = {
    "auditlog": importlib.util.find_spec("auditlog") is not None,
    "simple_history": importlib.util.find_spec("simple_history") is not None,
}

DEBUG = False  # DEBUG keeps every query in memory: not what production measures
SECRET_KEY = "bench-not-secret"  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "eventlog",
    "bench.benchapp",
    *(name for name, present in PEERS.items() if present),
]
DATABASES: dict[str, Any] = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
}
if os.environ.get("BENCH_DATABASE_URL"):  # bench/cases/saves_pg.py: a PostgreSQL server
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["BENCH_DATABASE_URL"])}

EVENTLOG_DIR = os.environ.get("EVENTLOG_DIR") or tempfile.mkdtemp(prefix="eventlog-bench-")
EVENTLOG_MAX_BYTES = int(os.environ.get("EVENTLOG_MAX_BYTES") or 10 * 1024 * 1024)
EVENTLOG_BACKUP_COUNT = int(os.environ.get("EVENTLOG_BACKUP_COUNT") or 10)
EVENTLOG_ENABLED = os.environ.get("BENCH_EVENTLOG_ENABLED", "1") == "1"
EVENTLOG_MODELS = ["benchapp.Logged"]

LOGGING_CONFIG = None  # no handlers of Django's own in the way
