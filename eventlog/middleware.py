"""Request context for every line: request id, client IP, user agent, method,
path, actor; and the opt-in ``http.request`` line of each request."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, Final, cast
from urllib.parse import unquote_plus

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.handlers.wsgi import get_path_info, get_script_name
from django.http import HttpRequest, HttpResponseBase

from eventlog import conf
from eventlog.core.keys import MASK
from eventlog.write import clock as _clock
from eventlog.write import context as _context
from eventlog.write import pipeline as _pipeline

__all__ = ["MAX_PATH", "EventlogMiddleware", "info_of"]

_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
MAX_USER_AGENT: Final = 512
MAX_METHOD: Final = 16
MAX_PATH: Final = 2048


def _client_ip(meta: Mapping[str, Any], trusted_proxies: int) -> str | None:
    """``REMOTE_ADDR``, or behind ``trusted_proxies`` proxies the address the
    outermost trusted proxy saw: the ``trusted_proxies``-th ``X-Forwarded-For``
    hop from the right (hops further left are the client's to forge)."""
    ip = meta.get("REMOTE_ADDR") or None
    if trusted_proxies:
        hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= trusted_proxies:
            ip = hops[-trusted_proxies]
    if ip is None:
        return None
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def _environ_path(environ: Mapping[str, Any]) -> str | None:
    """The path of a WSGI ``environ`` as Django's ``request.path`` gives it."""
    try:
        plain = dict(environ)
        script, info = get_script_name(plain), get_path_info(plain)
    except Exception:  # an environ no WSGI server made
        return None
    return "{}/{}".format(script.rstrip("/"), info.replace("/", "", 1))


def _info(
    meta: Mapping[str, Any], request: HttpRequest | None, request_id: str | None
) -> _context.RequestInfo:
    agent = meta.get("HTTP_USER_AGENT") or None
    method = meta.get("REQUEST_METHOD") if request is None else request.method
    path = _environ_path(meta) if request is None else request.path
    if not (isinstance(method, str) and isinstance(path, str)):
        method = path = None  # a line has both or neither
    return _context.RequestInfo(
        request=request,
        request_id=request_id,
        ip=_client_ip(meta, conf.trusted_proxies()),
        user_agent=agent[:MAX_USER_AGENT] if isinstance(agent, str) else None,
        method=None if method is None else method[:MAX_METHOD],
        path=None if path is None else path[:MAX_PATH],
    )


def sane_request_id(value: object) -> str | None:
    """``value`` if it is a request id a line may carry, else ``None``."""
    return value if isinstance(value, str) and _REQUEST_ID.fullmatch(value) else None


def info_of_environ(environ: Mapping[str, Any], request_id: str | None) -> _context.RequestInfo:
    """The context of a WSGI ``environ`` the server itself logs about, as the
    middleware would give it, with the request id it answered with."""
    return _info(environ, None, request_id)


def _request_info(request: HttpRequest, header: str) -> _context.RequestInfo:
    request_id = sane_request_id(request.headers.get(header, "")) or _clock.now()[1]
    return _info(request.META, request, request_id)


def _bind(request: HttpRequest, header: str) -> tuple[_context.RequestInfo, str]:
    info = _request_info(request, header)
    # Kept without the request itself: a request referring to itself would
    # be freed only by the cycle collector.
    request.__dict__[_context.INFO_ATTR] = replace(info, request=None)
    return info, cast(str, info.request_id)


def info_of(request: HttpRequest) -> _context.RequestInfo:
    """The context the middleware bound for ``request``, or for a request it
    never saw (answered by a middleware before it, or not installed) the ip
    and user agent the request itself gives, with no request id."""
    info = request.__dict__.get(_context.INFO_ATTR)
    if isinstance(info, _context.RequestInfo):
        return replace(info, request=request)
    return _info(request.META, request, None)


class EventlogMiddleware:
    """Binds the request's context for every event and log record emitted
    while it is served, sync or async, and clears it afterwards, also when the
    view raises.

    * ``request_id``: the ``X-Request-ID`` header when it is a sane token (at
      most 128 of ``A-Za-z0-9._:@/+=-``), else a new UUIDv7; echoed in the
      response's ``X-Request-ID`` header (``EVENTLOG_REQUEST_ID_HEADER``).
    * ``ip``: ``REMOTE_ADDR``, or the ``X-Forwarded-For`` hop added by the
      outermost of ``EVENTLOG_TRUSTED_PROXIES`` proxies.
    * ``user_agent``: the first 512 characters.
    * ``method``, ``path``: the first 16 and 2048 characters (the bare path).
    * ``actor``/``actor_id``: the authenticated user, looked up only when an
      event is emitted (so authentication inside the view counts, and requests
      that log nothing never touch the session).

    With ``EVENTLOG_REQUEST_EVENTS``, one ``http.request`` line per request
    once the response is made, or once an exception passed through (status
    500, then raised again).
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.header = conf.request_id_header()
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
            # Django runs a sync process_view of an async stack in a thread:
            # this one is a coroutine there, so masking costs no thread hop.
            self.process_view = self._aprocess_view  # type: ignore[method-assign,assignment]

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> None:
        """Once the URL is resolved: the value of a URL parameter named like a
        secret (the ``<token>`` of Django's password reset link) is ``***``
        wherever it occurs in the ``path`` of the request's later lines."""
        _mask_path(request, kwargs)

    async def _aprocess_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> None:
        _mask_path(request, kwargs)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        info, request_id = _bind(request, self.header)
        token = _context.bind_request(info)
        started = time.perf_counter_ns() if conf.request_events() else None
        try:
            try:
                response = self.get_response(request)
            except BaseException:
                if started is not None:
                    _request_event(request, info, 500, started)
                raise
            sync_response = cast(HttpResponseBase, response)
            if started is not None:
                _request_event(request, info, sync_response.status_code, started)
        finally:
            _context.reset_request(token)
        sync_response.headers[self.header] = request_id
        return sync_response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        info, request_id = _bind(request, self.header)
        token = _context.bind_request(info)
        started = time.perf_counter_ns() if conf.request_events() else None
        try:
            try:
                response = await self.get_response(request)  # type: ignore[misc]
            except BaseException:
                if started is not None:
                    _request_event(request, info, 500, started)
                raise
            if started is not None:
                _request_event(request, info, response.status_code, started)
        finally:
            _context.reset_request(token)
        response.headers[self.header] = request_id
        return response  # type: ignore[no-any-return]


def _mask_path(request: HttpRequest, kwargs: Mapping[str, Any]) -> None:
    """Rebind the request's context with its path's secret values masked;
    never raises."""
    try:
        if not kwargs:
            return
        masker = _pipeline.masker()
        secret = {str(v) for k, v in kwargs.items() if masker.matches(str(k)) and str(v)}
        info = request.__dict__.get(_context.INFO_ATTR)
        if not secret or not isinstance(info, _context.RequestInfo) or info.path is None:
            return
        # The whole path, cut only afterwards: a secret the cut crosses would
        # otherwise leave its first characters in the line.
        path = request.path if isinstance(request.path, str) else info.path
        # Wherever it occurs, not only as a whole segment: a <path:...> value
        # spans segments, and a route may put one inside a segment ("<uid>-<token>").
        # Longest first, so that a secret containing another is masked whole.
        for value in sorted(secret, key=len, reverse=True):
            path = path.replace(value, MASK)
        path = path[:MAX_PATH]
        if path == info.path:
            return
        request.__dict__[_context.INFO_ATTR] = replace(info, path=path)
        bound = _context.bound_request()
        if bound is not None and bound.request is request:
            _context.rebind_request(replace(bound, path=path))
    except Exception as exc:
        _pipeline.internal_error("request_path_failed", exc, "path")


# Django splits a query at "&" only; some servers and proxies also at ";",
# where a secret would otherwise ride in the value of the parameter before.
_SEPARATOR: Final = re.compile(r"([&;])")


def _masked_query(query: str) -> str:
    """``query`` with the value of each parameter whose name (decoded, as
    Django reads it) is secret replaced by ``"***"``; the rest as sent."""
    masker = _pipeline.masker()
    parts = _SEPARATOR.split(query)
    for n in range(0, len(parts), 2):
        name, sep, _value = parts[n].partition("=")
        if sep and masker.matches(unquote_plus(name)):
            parts[n] = f"{name}={MASK}"
    return "".join(parts)


def _request_event(
    request: HttpRequest, info: _context.RequestInfo, status: int, started: int
) -> None:
    """Write ``http.request`` for the request being answered; never raises."""
    try:
        shown = request.__dict__.get(_context.INFO_ATTR)
        path = shown.path if isinstance(shown, _context.RequestInfo) else info.path
        if conf.request_query():
            query = request.META.get("QUERY_STRING")
            if isinstance(query, str) and query:
                # Cut first (bounded work for any length): a cut name has
                # lost its value too, a cut value is still masked whole.
                path = f"{path}?{_masked_query(query[:MAX_PATH])}"[:MAX_PATH]
        fields = {
            "method": info.method or "",
            "path": path or "",
            "status": status,
            "duration_ms": round((time.perf_counter_ns() - started) / 1_000_000, 3),
        }
        # At once: the request was served whatever became of its transaction.
        _pipeline.emit("http.request", fields, on_commit=False)
    except Exception as exc:
        _pipeline.internal_error("request_event_failed", exc, "http.request")
