"""Settings of the eventlog demo project.

Every environment variable of the contract maps to the Django setting of the
same name; a project that installs only the ``eventlog`` app sets those
settings directly.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        # Left as the raw string so the system check (eventlog.E00x) reports it
        # with a one-line message instead of a traceback at import time.
        return raw  # type: ignore[return-value]


def _env_value(name: str) -> int | float | str | None:
    """An optional setting from the environment: a number when it reads as one,
    else the string (checked by eventlog's system checks), None when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


DEBUG = _env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "django-insecure-eventlog-demo-key-change-me-in-production"
)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "eventlog",
    "speedy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "eventlog.middleware.EventlogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=0,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
AUTHENTICATION_BACKENDS = ["speedy.backends.AccountStateBackend"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"

# --- eventlog -------------------------------------------------------------
EVENTLOG_DIR = os.environ.get("EVENTLOG_DIR") or str(BASE_DIR / "logs")
EVENTLOG_MAX_BYTES = _env_int("EVENTLOG_MAX_BYTES", 10 * 1024 * 1024)
EVENTLOG_BACKUP_COUNT = _env_int("EVENTLOG_BACKUP_COUNT", 10)
EVENTLOG_HMAC_KEY = os.environ.get("EVENTLOG_HMAC_KEY") or None
# The sink's durability, writer and rotation modes (README: "Durability",
# "Background writer", "Rotation"); None (unset) keeps eventlog's default.
EVENTLOG_DURABILITY = _env_value("EVENTLOG_DURABILITY")  # "write", "fsync" or ms
EVENTLOG_WRITER = _env_value("EVENTLOG_WRITER")  # "sync" or "background"
EVENTLOG_QUEUE_SIZE = _env_value("EVENTLOG_QUEUE_SIZE")
EVENTLOG_QUEUE_FULL = _env_value("EVENTLOG_QUEUE_FULL")  # "block" or "drop"
EVENTLOG_ROTATION = _env_value("EVENTLOG_ROTATION")  # "size" or "external"
EVENTLOG_ROTATE_INTERVAL = _env_value("EVENTLOG_ROTATE_INTERVAL")  # s, "hourly", "daily"
EVENTLOG_MAX_AGE_DAYS = _env_value("EVENTLOG_MAX_AGE_DAYS")
# "native" (default) or "ecs": Elastic Common Schema field names in events.jsonl.
EVENTLOG_FORMAT = os.environ.get("EVENTLOG_FORMAT") or "native"

# Models whose every committed change becomes a model.* line (see README).
# The demo answers its JSON endpoints' CSRF refusals in JSON (speedy.views).
CSRF_FAILURE_VIEW = "speedy.views.csrf_failure"

EVENTLOG_MODELS = ["speedy.Employees", "speedy.Shifts", "speedy.UserFSM"]

# speedy: lock an account after this many failed logins in a row.
SPEEDY_MAX_FAILED_LOGINS = 5

# Django's own log records go to <EVENTLOG_DIR>/django.jsonl as JSON lines
# rendered by python-json-logger, with the same timestamp and context keys.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "eventlog.logging.JsonFormatter"},
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "jsonl": {
            "class": "eventlog.logging.JsonLinesHandler",
            "formatter": "json",
            "level": "INFO",
        },
        "console": {"class": "logging.StreamHandler", "level": "WARNING"},
        # runserver's request lines in the terminal too, as Django shows them.
        "server_console": {
            "class": "logging.StreamHandler",
            "level": "INFO",
            "formatter": "server",
        },
    },
    "loggers": {
        "django": {"handlers": ["jsonl", "console"], "level": "INFO", "propagate": False},
        "django.server": {
            "handlers": ["jsonl", "server_console"],
            "level": "INFO",
            "propagate": False,
        },
        "speedy": {"handlers": ["jsonl"], "level": "INFO", "propagate": False},
        "eventlog": {"handlers": ["jsonl"], "level": "INFO", "propagate": False},
    },
}
