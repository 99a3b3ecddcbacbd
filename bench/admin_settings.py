"""Settings of the admin pages' benchmark: the demo project (its admin, the
speedy models) on an in-memory database, reading the generated log set in
``EVENTLOG_DIR``; no log handlers of Django's own in the way."""

from __future__ import annotations

from config.settings import *  # noqa: F403

DEBUG = False
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
LOGGING_CONFIG = None
LOGGING = {}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
