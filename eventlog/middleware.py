"""Request context for every line: request id, client IP, user agent, actor."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, Final, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from eventlog import conf
from eventlog.write import clock as _clock
from eventlog.write import context as _context

__all__ = ["EventlogMiddleware", "info_of"]

_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
MAX_USER_AGENT: Final = 512


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


def _info(
    meta: Mapping[str, Any], request: HttpRequest | None, request_id: str | None
) -> _context.RequestInfo:
    agent = meta.get("HTTP_USER_AGENT") or None
    return _context.RequestInfo(
        request=request,
        request_id=request_id,
        ip=_client_ip(meta, conf.trusted_proxies()),
        user_agent=agent[:MAX_USER_AGENT] if isinstance(agent, str) else None,
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
    * ``actor``/``actor_id``: the authenticated user, looked up only when an
      event is emitted (so authentication inside the view counts, and requests
      that log nothing never touch the session).
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

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        info, request_id = _bind(request, self.header)
        token = _context.bind_request(info)
        try:
            response = self.get_response(request)
        finally:
            _context.reset_request(token)
        sync_response = cast(HttpResponseBase, response)
        sync_response.headers[self.header] = request_id
        return sync_response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        info, request_id = _bind(request, self.header)
        token = _context.bind_request(info)
        try:
            response = await self.get_response(request)  # type: ignore[misc]
        finally:
            _context.reset_request(token)
        response.headers[self.header] = request_id
        return response  # type: ignore[no-any-return]
