"""Who, where and why: the context merged into every line.

Context lives in :mod:`contextvars`, never in thread-locals, so it follows
asyncio tasks and ``sync_to_async`` threads alike and never leaks from one
request to the next.

Two variables are kept:

* the *request* bound by :class:`eventlog.middleware.EventlogMiddleware`
  (request id, client IP, user agent, method, path and the request itself, from which the
  actor is resolved lazily, only when an event is emitted, so a user
  authenticated later in the view, DRF token style, is still named and
  requests that log nothing never touch the session);
* the *bound* values of :func:`context` blocks, which nest and win over the
  request's values.

Outside a request the actor is ``"CLI"``, with ``ip: "CLI"``, ``os_user`` and
``command`` (the management command, else the program name); a log record
about a request is never outside it (:func:`of_request`).
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from django.http import HttpRequest
from django.utils.functional import empty

__all__ = [
    "CONTEXT_KEYS",
    "INFO_ATTR",
    "RequestInfo",
    "bind_request",
    "bound_request",
    "context",
    "current",
    "of_request",
    "rebind_request",
    "replay",
    "reset_replay",
    "reset_request",
]


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the middleware knows about the request being served.

    ``request_id`` is ``None`` for a request the middleware never saw (no id
    was made or sent for it), ``request`` for a bare connection (a web
    server's own record, which holds only the socket).
    """

    request: HttpRequest | None
    request_id: str | None
    ip: str | None
    user_agent: str | None
    method: str | None = None
    path: str | None = None


# The attribute of an HttpRequest holding its RequestInfo: Django logs 4xx
# responses after the middleware has returned and the contextvar is reset.
INFO_ATTR: Final = "_eventlog_info"


CONTEXT_KEYS: Final = frozenset(
    {
        "request_id",
        "actor",
        "actor_id",
        "ip",
        "user_agent",
        "method",
        "path",
        "os_user",
        "command",
        "reason",
    }
)
"""The keys :func:`current` gives a line (``reason`` from :func:`context`)."""
_EMPTY: Mapping[str, Any] = {}
_request: ContextVar[RequestInfo | None] = ContextVar("eventlog_request", default=None)
_bound: ContextVar[Mapping[str, Any]] = ContextVar("eventlog_bound", default=_EMPTY)
_resolving: ContextVar[bool] = ContextVar("eventlog_resolving_actor", default=False)
_replayed: ContextVar[Mapping[str, Any] | None] = ContextVar("eventlog_replayed", default=None)


@contextlib.contextmanager
def context(**values: Any) -> Iterator[None]:
    """Bind ``values`` (``actor=``, ``reason=``, any other key) to every event
    emitted inside the block, in this thread or task and the ones it spawns
    through ``contextvars`` (``asyncio``, ``sync_to_async``).

    Blocks nest: inner values win, and leaving a block restores the outer ones,
    also when the block raises.
    """
    token = _bound.set({**_bound.get(), **values})
    try:
        yield
    finally:
        _bound.reset(token)


def bind_request(info: RequestInfo) -> Token[RequestInfo | None]:
    """Make ``info`` the current request; undo with :func:`reset_request`."""
    return _request.set(info)


def bound_request() -> RequestInfo | None:
    """The request bound by :func:`bind_request` here, if any."""
    return _request.get()


def rebind_request(info: RequestInfo) -> None:
    """Replace the bound request's values for the rest of the block of
    :func:`bind_request` (whose reset still restores what was before it)."""
    _request.set(info)


def reset_request(token: Token[RequestInfo | None]) -> None:
    """Forget the request bound by the matching :func:`bind_request`."""
    _request.reset(token)


def replay(captured: Mapping[str, Any]) -> Token[Mapping[str, Any] | None]:
    """Make ``captured`` (what :func:`current` returned earlier) the context
    until :func:`reset_replay`: an event deferred to a transaction's commit is
    written with the context of the moment it was sent, not of the commit."""
    return _replayed.set(captured)


def reset_replay(token: Token[Mapping[str, Any] | None]) -> None:
    """End the replay begun by the matching :func:`replay`."""
    _replayed.reset(token)


@cache
def _cli() -> Mapping[str, str]:
    try:
        os_user = getpass.getuser()
    except Exception:  # no passwd entry (containers) or no login name
        os_user = str(os.getuid())
    argv = sys.argv or [""]
    program = os.path.basename(argv[0])
    runs_django = program in {"manage.py", "django-admin"} or argv[0].endswith(
        os.path.join("django", "__main__.py")
    )
    if runs_django and len(argv) > 1:
        command = argv[1]
    elif program == "__main__.py":  # python -m <package>
        command = os.path.basename(os.path.dirname(argv[0])) or "python"
    else:
        command = program or "python"
    return {"actor": "CLI", "ip": "CLI", "os_user": _os_text(os_user), "command": _os_text(command)}


def _os_text(value: str) -> str:
    """``value`` (from the environment or ``argv``, where bytes that are not
    UTF-8 arrive as surrogate escapes) as valid text, U+FFFD for each bad
    byte: done once here, so every line of such a process still takes
    orjson's fast path."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return os.fsencode(value).decode("utf-8", "replace")
    return value


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _user_of(request: HttpRequest, resolve: bool) -> tuple[str, str] | None:
    """The authenticated user of ``request`` as ``(username, pk)``, or ``None``.

    In an event loop the lazy ``request.user`` is not evaluated (its database
    query would raise ``SynchronousOnlyOperation`` there and mark the session
    accessed): the user is taken from an already loaded (or assigned, by
    ``alogin``/``alogout``) ``request.user`` or ``await request.auser()``'s
    cache; async views that log should await ``request.auser()`` first.
    """
    user = request.__dict__.get("user")
    # request.user as loaded, or as assigned by login()/logout() (and their
    # async forms, which leave auser()'s cache as it was): the current user.
    # Else auser()'s cache, else the lazy request.user resolved if allowed.
    if user is None or getattr(user, "_wrapped", None) is empty:
        cached = request.__dict__.get("_acached_user")
        if cached is not None:
            user = cached
        elif user is None or not resolve or _in_event_loop():
            return None
    if _resolving.get():
        return None  # an event emitted while the user itself is being loaded
    token = _resolving.set(True)
    try:
        if not user.is_authenticated:
            return None
        return str(user.get_username()), str(user.pk)
    except Exception:  # a broken auth backend must not break logging
        return None
    finally:
        _resolving.reset(token)


def current(*, resolve_actor: bool = True) -> dict[str, Any]:
    """The context of an event emitted now: request values or the CLI defaults,
    then the bound values of enclosing :func:`context` blocks.

    With ``resolve_actor=False`` the request's user is named only if it was
    already loaded (for stdlib log records, which must not query the database).
    Inside :func:`replay`, the replayed context.
    """
    replayed = _replayed.get()
    if replayed is not None:
        return dict(replayed)
    info = _request.get()
    if info is None:
        out: dict[str, Any] = dict(_cli())
    else:
        out = {} if info.request_id is None else {"request_id": info.request_id}
        if info.ip is not None:
            out["ip"] = info.ip
        if info.user_agent is not None:
            out["user_agent"] = info.user_agent
        if info.method is not None:
            out["method"] = info.method
            out["path"] = info.path
        user = None if info.request is None else _user_of(info.request, resolve_actor)
        if user is not None:
            out["actor"], out["actor_id"] = user
    bound = _bound.get()
    if bound:
        if "actor" in bound and "actor_id" not in bound:
            out.pop("actor_id", None)  # the id belonged to the replaced actor
        out.update(bound)
    return out


def of_request(info: RequestInfo) -> dict[str, Any]:
    """The context of a stdlib log record about the request of ``info``, as
    :func:`current` gives it inside that request (the user named only if
    already loaded), also when the record is made after the middleware
    returned; the bound values are those of the code that logs."""
    token = _request.set(info)
    try:
        return current(resolve_actor=False)
    finally:
        _request.reset(token)
