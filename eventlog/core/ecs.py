"""Elastic Common Schema output (``EVENTLOG_FORMAT = "ecs"``) and its way back.

:func:`to_ecs` turns a native event (the envelope, the context and the
event's keys, before the sink adds ``stream``/``seq``/``hash``) into an ECS
document following the ecs-logging convention: ``@timestamp``,
``log.level``, ``message`` and ``ecs.version`` first, as dotted top-level
keys, then nested objects. A native key moves to an ECS field only where the
meaning is the same:

=================  ===========================================================
native             ECS (ECS_VERSION)
=================  ===========================================================
``timestamp``      ``@timestamp``
``level``          ``log.level``
``message``        ``message`` (else the event name)
``event``          ``event.action``; ``event.kind`` is ``"event"``
``event_id``       ``event.id``
``reason``         ``event.reason`` (a string)
``actor``          ``user.name``; ``"CLI"`` and ``"system"`` are not users and
                   stay ``eventlog.actor``, and for ``"CLI"`` ``user.name`` is
                   the OS user (``os_user``)
``actor_id``       ``user.id`` (as a string)
``ip``             ``source.ip`` when it is an IP address; anything else
                   (``"CLI"``) stays ``eventlog.ip``
``user_agent``     ``user_agent.original``
``request_id``     ``http.request.id``
everything else    under ``eventlog``: ``eventlog.schema_version``,
                   ``eventlog.model``, ``eventlog.changes``, ...
=================  ===========================================================

``stream``, ``seq`` and ``hash`` stay top-level keys at the end of the line,
exactly as in the native format: the sink and the integrity chain are the
same in both formats, so ``eventlog verify`` checks ECS files unchanged.
They are not ECS fields (ECS's ``hash.*`` field set is never used at the
root, so an ECS index template maps nothing there); an ingest pipeline may
copy ``seq`` to ``event.sequence`` and ``hash`` to ``event.hash``.

:func:`to_native` is the inverse used by the readers (``eventlog tail``,
``history``, :func:`eventlog.reader.iter_events`), so they show ECS files as
they show native ones.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["ECS_VERSION", "NAMESPACE", "is_ecs", "to_ecs", "to_native"]

ECS_VERSION: Final = "8.17.0"
NAMESPACE: Final = "eventlog"
NOT_USERS: Final = frozenset({"CLI", "system"})
_SINK_KEYS: Final = ("stream", "seq", "hash")
_MOVED: Final = frozenset(
    {
        "timestamp",
        "level",
        "event",
        "event_id",
        "message",
        "reason",
        "actor",
        "actor_id",
        "ip",
        "user_agent",
        "request_id",
        *_SINK_KEYS,
    }
)


def _is_ip(value: Any) -> bool:
    if not isinstance(value, str) or "%" in value:  # scoped IPv6: not an ES `ip`
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def to_ecs(event: Mapping[str, Any]) -> dict[str, Any]:
    """The ECS document of the native ``event`` (see the module's table).
    ``event`` is not changed; values are not copied."""
    action = event.get("event")
    message = event.get("message")
    out: dict[str, Any] = {
        "@timestamp": event.get("timestamp"),
        "log.level": event.get("level"),
        "message": message if isinstance(message, str) else action,
        "ecs.version": ECS_VERSION,
    }
    ecs_event: dict[str, Any] = {"action": action, "id": event.get("event_id"), "kind": "event"}
    own: dict[str, Any] = {}
    reason = event.get("reason")
    if isinstance(reason, str):
        ecs_event["reason"] = reason
    elif reason is not None:
        own["reason"] = reason
    out["event"] = ecs_event
    user: dict[str, Any] = {}
    actor = event.get("actor")
    if actor is not None:
        if actor in NOT_USERS:
            own["actor"] = actor
            if actor == "CLI" and event.get("os_user") is not None:
                user["name"] = event["os_user"]
        else:
            user["name"] = actor
    if event.get("actor_id") is not None:
        user["id"] = str(event["actor_id"])
    if user:
        out["user"] = user
    ip = event.get("ip")
    if _is_ip(ip):
        out["source"] = {"ip": ip}
    elif ip is not None:
        own["ip"] = ip
    if event.get("user_agent") is not None:
        out["user_agent"] = {"original": event["user_agent"]}
    if event.get("request_id") is not None:
        out["http"] = {"request": {"id": event["request_id"]}}
    for key, value in event.items():
        if key not in _MOVED:
            own[key] = value
    if message is not None and not isinstance(message, str):
        own["message"] = message  # not text: kept as it was
    out[NAMESPACE] = own
    for key in _SINK_KEYS:
        if key in event:
            out[key] = event[key]
    return out


def is_ecs(line: Mapping[str, Any]) -> bool:
    """Whether a parsed line is in the ECS format (has ``@timestamp`` and an
    ``event`` object)."""
    return "@timestamp" in line and isinstance(line.get("event"), Mapping)


def _get(data: Mapping[str, Any], *path: str) -> Any:
    value: Any = data
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def to_native(line: Mapping[str, Any]) -> dict[str, Any]:
    """The native event of an ECS line written by :func:`to_ecs` (plus the
    sink's keys), so filters and printers need not know the format.

    Exact except where ECS has less room: ``actor_id`` comes back as a
    string, and a ``message`` equal to the event name is not told apart from
    the one :func:`to_ecs` fills in."""
    own = line.get(NAMESPACE)
    own = own if isinstance(own, Mapping) else {}
    action = _get(line, "event", "action")
    out: dict[str, Any] = {
        "timestamp": line.get("@timestamp"),
        "level": line.get("log.level"),
        "event": action,
        "event_id": _get(line, "event", "id"),
    }
    if "schema_version" in own:
        out["schema_version"] = own["schema_version"]
    context = {
        "request_id": _get(line, "http", "request", "id"),
        "actor": own.get("actor", _get(line, "user", "name")),
        "actor_id": _get(line, "user", "id"),
        "ip": own.get("ip", _get(line, "source", "ip")),
        "user_agent": _get(line, "user_agent", "original"),
        "reason": own.get("reason", _get(line, "event", "reason")),
    }
    out.update((key, value) for key, value in context.items() if value is not None)
    message = line.get("message")
    if isinstance(message, str) and message != action:
        out["message"] = message
    for key, value in own.items():
        if key not in out and key != "schema_version":
            out[key] = value
    for key in _SINK_KEYS:
        if key in line:
            out[key] = line[key]
    return out
