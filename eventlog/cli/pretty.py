"""The human form of events, object states, times and sizes for a terminal.

Every function here returns text cleaned by :func:`eventlog.core.sanitize.clean`:
whatever an event holds, no control or bidi character of it reaches the
terminal. Colour (``colorize``) is applied after cleaning, so its escape
sequences are the only ones in the output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson

from eventlog.core.sanitize import clean
from eventlog.reader import ObjectState

__all__ = [
    "VALUE_WIDTH",
    "Colorize",
    "describe_state",
    "format_event",
    "format_history_event",
    "short",
    "size",
    "value",
    "when",
]

Colorize = Callable[[str, str], str]
"""``colorize(level, text)``: ``text`` styled for the level (``info``, ``error``...)."""

VALUE_WIDTH: Final = 80
INDENT: Final = "    "
_MESSAGE_WIDTH: Final = 1000  # a message is what an app.event says: cut late
# Keys the pretty form shows in its own way, or leaves out as noise.
_NOT_EXTRA: Final = frozenset(
    {
        "timestamp",
        "level",
        "event",
        "event_id",
        "schema_version",
        "stream",
        "seq",
        "hash",
        "message",
        "model",
        "object_id",
        "object_repr",
        "instance",
        "actor",
        "actor_id",
        "changes",
        "snapshot",
        "request_id",
        "ip",
        "user_agent",
        "os_user",
        "command",
        "exc_info",
        "stack_info",
    }
)
_M2M_SIGN: Final = {"model.m2m_added": "+", "model.m2m_removed": "-"}


def value(data: Any, width: int = VALUE_WIDTH) -> str:
    """A value as compact JSON (strings quoted, None as null), cleaned, cut at
    ``width`` characters with ``…``."""
    try:
        text = orjson.dumps(data).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(data)
    text = clean(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def when(stamp: Any) -> str:
    """A canonical timestamp as ``YYYY-MM-DD HH:MM:SS.mmm``; anything else as its text."""
    if isinstance(stamp, str) and len(stamp) >= 23 and stamp[10:11] == "T":
        return clean(f"{stamp[:10]} {stamp[11:23]}")
    return clean(str(stamp))


def short(stamp: str | None) -> str:
    """:func:`when` to the second, or ``-`` for no time."""
    return "-" if stamp is None else when(stamp)[:19]


def size(n: int) -> str:
    """A byte count in B, KiB, MiB or GiB."""
    amount = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{n} B"


def _colored(line: str, start: int, length: int, level: str, colorize: Colorize | None) -> str:
    """``line`` with the ``length`` characters at ``start`` styled for ``level``."""
    if colorize is None:
        return line
    end = start + length
    return line[:start] + colorize(level, line[start:end]) + line[end:]


def _change_lines(changes: Mapping[str, Any], indent: str) -> list[str]:
    lines: list[str] = []
    for key, change in changes.items():
        name = clean(str(key))
        if isinstance(change, Mapping) and "old" in change and "new" in change:
            lines.append(f"{indent}{name}: {value(change['old'])} → {value(change['new'])}")
        elif isinstance(change, Mapping):  # e.g. per-object changes of a bulk event
            lines.append(f"{indent}{name}:")
            lines.extend(_change_lines(change, indent + "  "))
        else:
            lines.append(f"{indent}{name}: {value(change)}")
    return lines


def _target(event: Mapping[str, Any]) -> str:
    """``app.model#pk "repr"`` of the object an event is about, or ``""``."""
    instance = event.get("instance")
    source = event if "model" in event or not isinstance(instance, Mapping) else instance
    model, object_id = source.get("model"), source.get("object_id")
    shown = event.get("object_repr", source.get("repr"))
    text = "" if model is None else clean(str(model))
    if object_id is not None:
        text += f"#{clean(str(object_id))}"
    if shown is not None and str(shown) != str(object_id):
        text += f" {value(str(shown), 60)}" if text else value(str(shown), 60)
    return text


def _who(event: Mapping[str, Any]) -> str:
    parts = []
    if event.get("actor") is not None:
        parts.append(f"by {clean(str(event['actor']))}")
    if event.get("reason") is not None:
        parts.append(f"reason={value(str(event['reason']), 60)}")
    if event.get("request_id") is not None:
        parts.append(f"request_id={clean(str(event['request_id']))}")
    return "  ".join(parts)


def format_event(event: Mapping[str, Any], *, colorize: Colorize | None = None) -> str:
    """One event in the human form of ``tail``, without a final newline::

        2026-11-23 10:15:00.123 INFO  model.updated  speedy.employees#42 "Bob"  actor=bob
            name: "Bob" → "Robert"

    The first line holds the time (UTC, milliseconds), the level, the event
    name, the object, the actor, the message and the other keys as
    ``key=value`` (values as compact JSON, long ones cut with ``…``); the
    lines below show ``changes`` (and a ``state.changed`` transition) as
    ``field: old → new``, then any ``exc_info``. ``colorize(level, text)``
    styles the level column.
    """
    stamp = when(event.get("timestamp"))
    level = clean(str(event.get("level", "?")))
    column = level.upper().ljust(5)
    parts = [f"{stamp} {column} {clean(str(event.get('event', '?')))}"]
    target = _target(event)
    if target:
        parts.append(target)
    if event.get("actor") is not None:
        parts.append(f"actor={clean(str(event['actor']))}")
    if event.get("message") is not None:
        parts.append(clean(str(event["message"]).replace("\n", " ⏎ ")))
    transition = "source" in event and "target" in event
    extras = [
        f"{clean(str(key))}={value(item)}"
        for key, item in event.items()
        if key not in _NOT_EXTRA and not (key in {"field", "source", "target"} and transition)
    ]
    if extras:
        parts.append(" ".join(extras))
    lines = [_colored("  ".join(parts), len(stamp) + 1, len(column), level.lower(), colorize)]
    if transition:
        field = clean(str(event.get("field", "state")))
        lines.append(f"{INDENT}{field}: {value(event['source'])} → {value(event['target'])}")
    changes = event.get("changes")
    if isinstance(changes, Mapping):
        lines.extend(_change_lines(changes, INDENT))
    for key in ("exc_info", "stack_info"):
        text = event.get(key)
        if isinstance(text, str) and text:
            lines.extend(INDENT + clean(row) for row in text.splitlines())
    return "\n".join(lines)


def format_history_event(
    event: Mapping[str, Any], object_id: str, *, colorize: Colorize | None = None
) -> str:
    """One event of an object's timeline (``history``), without a final newline::

        2026-11-23 10:15:00.123 model.updated  by bob  reason="typo"
            address: "1 Main St" → "1 Main Street"

    Snapshots (creation, deletion) list every field; updates, bulk updates
    (this object's entry) and state transitions show ``field: old → new``;
    m2m events ``field: + [ids]`` / ``- [ids]`` / ``cleared``. Other events
    (an ``app.event`` sent with the object) show their message quoted, who,
    and their other keys as ``key=value``.
    """
    name = str(event.get("event", "?"))
    if not (name.startswith("model.") or name == "state.changed"):
        return _history_other(event, colorize)
    stamp = when(event.get("timestamp"))
    shown = clean(name)
    head = f"{stamp} {shown}"
    if event.get("object_repr") is not None:
        head += f"  {value(str(event['object_repr']), 60)}"
    who = _who(event)
    lines = [f"{head}  {who}" if who else head]
    snapshot = event.get("snapshot")
    if isinstance(snapshot, Mapping):
        lines.extend(f"{INDENT}{clean(str(k))}: {value(v)}" for k, v in snapshot.items())
    changes = event.get("changes")
    if name.startswith("model.bulk_"):
        ids = event.get("object_ids")
        count = event.get("count", len(ids) if isinstance(ids, list) else "?")
        lines[0] += f"  ({clean(str(count))} object(s))"
        if isinstance(changes, Mapping):
            own = changes.get(object_id)
            if isinstance(own, Mapping):
                lines.extend(_change_lines(own, INDENT))
            elif not any(isinstance(v, Mapping) and "old" not in v for v in changes.values()):
                lines.extend(_change_lines(changes, INDENT))
    elif isinstance(changes, Mapping):
        lines.extend(_change_lines(changes, INDENT))
    if name in ("model.m2m_added", "model.m2m_removed", "model.m2m_cleared"):
        field = clean(str(event.get("field", "?")))
        related = event.get("related_model")
        suffix = f" ({clean(str(related))})" if related else ""
        if name == "model.m2m_cleared":
            lines.append(f"{INDENT}{field}: cleared{suffix}")
        else:
            ids_shown = value(event.get("related_ids", []))
            lines.append(f"{INDENT}{field}: {_M2M_SIGN[name]} {ids_shown}{suffix}")
    if name == "state.changed":
        transition = event.get("transition")
        line = f"{INDENT}{clean(str(event.get('field', 'state')))}: "
        line += f"{value(event.get('source'))} → {value(event.get('target'))}"
        lines.append(f"{line}  ({clean(str(transition))})" if transition else line)
    level = str(event.get("level", "info")).lower()
    lines[0] = _colored(lines[0], len(stamp) + 1, len(shown), level, colorize)
    return "\n".join(lines)


def _history_other(event: Mapping[str, Any], colorize: Colorize | None) -> str:
    """A timeline row of an event that is no state event: the object is the
    timeline's own, so it is not repeated."""
    stamp = when(event.get("timestamp"))
    shown = clean(str(event.get("event", "?")))
    parts = [f"{stamp} {shown}"]
    if event.get("message") is not None:
        parts.append(value(str(event["message"]), width=_MESSAGE_WIDTH))
    who = _who(event)
    if who:
        parts.append(who)
    parts.extend(
        f"{clean(str(key))}={value(item)}"
        for key, item in event.items()
        if key not in _NOT_EXTRA and key != "reason"
    )
    lines = ["  ".join(parts)]
    for key in ("exc_info", "stack_info"):
        text = event.get(key)
        if isinstance(text, str) and text:
            lines.extend(INDENT + clean(row) for row in text.splitlines())
    level = str(event.get("level", "info")).lower()
    lines[0] = _colored(lines[0], len(stamp) + 1, len(shown), level, colorize)
    return "\n".join(lines)


def describe_state(state: ObjectState, at: str) -> list[str]:
    """The lines ``history --as-of`` prints for a state rebuilt at ``at``."""
    label = clean(f"{state.model}#{state.object_id}")
    at = clean(at)
    if state.events == 0:
        return [f"No events about {label} at or before {at}"]
    last = state.last or {}
    if state.deleted:
        status = f"deleted at {clean(str(last.get('timestamp')))}"
        status += f" by {clean(str(last['actor']))}" if last.get("actor") is not None else ""
        status += "; its last values:"
    elif not state.complete:
        status = (
            "partly known (no snapshot in the log: the files of its creation were "
            "pruned?); the fields changed since:"
        )
    else:
        status = "exists"
    lines = [f"{label} as of {at}: {status}"]
    latest = clean(f"the last {last.get('event')} at {last.get('timestamp')}")
    tail = f"  after {state.events} event(s), {latest}"
    who = _who(last)
    lines.append(f"{tail}  {who}" if who else tail)
    for key, item in state.fields.items():
        lines.append(f"{INDENT}{clean(str(key))}: {value(item)}")
    for key, ids in state.m2m.items():
        lines.append(f"{INDENT}{clean(str(key))} (m2m, as far as logged): {value(ids)}")
    for key, why in sorted(state.unfaithful().items()):
        lines.append(
            f"  note: {clean(str(key))} is {clean(why)} in the log; its real value is unknown"
        )
    return lines
