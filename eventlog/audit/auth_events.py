"""``auth.login``, ``auth.logout`` and ``auth.login_failed`` from Django's
``user_logged_in``, ``user_logged_out`` and ``user_login_failed``.

Each line carries ``username`` and the context of the moment (the request's
when inside one, ``"CLI"`` outside), nothing else of the signal: a failed
login's ``credentials`` are read for the attempted username only, because
Django cleanses only the keys it recognises as sensitive, and a backend's own
(a one-time code, a recovery phrase) would be written as given.

The lines are written at once, never deferred to a commit: a refused login
is worth keeping most when the request's work is rolled back.
"""

from __future__ import annotations

from typing import Any, Final

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from eventlog import conf
from eventlog.write.pipeline import emit, internal_error
from eventlog.write.values import safe_str

__all__ = ["connect"]

# Django's default username field is this long; a longer attempt is no name.
MAX_USERNAME: Final = 150


def _name_of(user: Any) -> str | None:
    if user is None:
        return None
    try:
        return safe_str(user.get_username())[:MAX_USERNAME]
    except Exception:  # a user model without get_username()
        return None


def _attempted(credentials: Any) -> str | None:
    """The username a failed login tried, from the credentials' username
    field only."""
    if not isinstance(credentials, dict):
        return None
    try:
        field = get_user_model().USERNAME_FIELD
    except Exception:  # no usable user model: fall back to the usual key
        field = "username"
    value = credentials.get(field, credentials.get("username"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    # Anything else (a dict or list from a JSON body) may hold a credential.
    return value[:MAX_USERNAME] if isinstance(value, str) else None


def _write(event: str, username: str | None, level: str = "info") -> None:
    emit(event, {"username": username}, level=level, on_commit=False)


def on_logged_in(sender: Any, user: Any = None, **_kwargs: Any) -> None:
    """``user_logged_in`` -> ``auth.login``. Never raises into the login."""
    try:
        if conf.auth_events():
            _write("auth.login", _name_of(user))
    except Exception as exc:
        internal_error("receiver_failed", exc, "auth.login")


def on_logged_out(sender: Any, user: Any = None, **_kwargs: Any) -> None:
    """``user_logged_out`` -> ``auth.logout`` (``username`` null when no
    user was logged in). Never raises into the logout."""
    try:
        if conf.auth_events():
            _write("auth.logout", _name_of(user))
    except Exception as exc:
        internal_error("receiver_failed", exc, "auth.logout")


def on_login_failed(sender: Any, credentials: Any = None, **_kwargs: Any) -> None:
    """``user_login_failed`` -> ``auth.login_failed``, a warning with the
    attempted username. Never raises into ``authenticate()``."""
    try:
        if conf.auth_events():
            _write("auth.login_failed", _attempted(credentials), "warning")
    except Exception as exc:
        internal_error("receiver_failed", exc, "auth.login_failed")


def connect() -> None:
    """Connect the receivers (idempotent: stable ``dispatch_uid``\\ s)."""
    user_logged_in.connect(on_logged_in, dispatch_uid="eventlog.auth.login")
    user_logged_out.connect(on_logged_out, dispatch_uid="eventlog.auth.logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="eventlog.auth.login_failed")
