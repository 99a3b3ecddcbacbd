"""Events as the admin's pages show them: plain, cleaned text.

Everything here returns ``str`` that templates escape as usual (never marked
safe): a ``<script>`` in a value is shown as text. Values are also passed
through :func:`eventlog.core.sanitize.clean`, so a control or bidi character
in a value cannot make a row read differently from what the line holds.
Masked values stay ``***`` (the files never hold the secret), and a value cut
by the line cap is flagged so a page can mark it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from eventlog.core.keys import MASK, TRUNCATED_MARK
from eventlog.core.sanitize import clean

__all__ = [
    "CELL_WIDTH",
    "Change",
    "changes_of",
    "is_masked",
    "is_truncated",
    "pretty",
    "snapshot_of",
    "summary",
    "text",
]

CELL_WIDTH: Final = 200
"""How much of one value a table cell shows; the event's own page shows all."""

_M2M: Final = {
    "model.m2m_added": "added",
    "model.m2m_removed": "removed",
    "model.m2m_cleared": "cleared",
}


def text(value: Any, width: int | None = CELL_WIDTH) -> str:
    """``value`` as one line: a string as it is, anything else as compact JSON
    (``null``, ``42``, ``["a"]``), cleaned, cut at ``width`` characters with
    ``…`` (``None``: never cut)."""
    if isinstance(value, str):
        shown = value
    else:
        try:
            shown = orjson.dumps(value).decode()
        except (TypeError, orjson.JSONEncodeError):
            shown = repr(value)
    shown = clean(shown)
    if width is not None and len(shown) > width:
        return shown[: width - 1] + "…"
    return shown


def pretty(event: Mapping[str, Any]) -> str:
    """The whole event as indented JSON with its keys in the order of the
    line, every value as written (hash and stream included), cleaned; newlines
    between keys are the only control characters left."""
    try:
        body = orjson.dumps(event, option=orjson.OPT_INDENT_2).decode()
    except (TypeError, orjson.JSONEncodeError):
        body = repr(event)
    return "\n".join(clean(line) for line in body.split("\n"))


def is_masked(value: Any) -> bool:
    """Whether ``value`` is the mask eventlog writes for a secret."""
    return isinstance(value, str) and value == MASK


def is_truncated(value: Any) -> bool:
    """Whether ``value`` is, or holds at its top level, a value cut by the line cap."""
    if isinstance(value, str):
        return TRUNCATED_MARK in value
    if isinstance(value, list):
        return any(isinstance(v, str) and TRUNCATED_MARK in v for v in value)
    if isinstance(value, dict):
        return any(isinstance(v, str) and TRUNCATED_MARK in v for v in value.values())
    return False


@dataclass(frozen=True, slots=True)
class Change:
    """One line of what an event changed: ``field: old → new``.

    ``old`` is ``None`` when the event gives no old side (an m2m addition, a
    bulk creation); ``masked``/``truncated`` say how to mark the values.
    """

    field: str
    old: str | None
    new: str
    masked: bool = False
    truncated: bool = False


def _change(name: Any, old: Any, new: Any, *, has_old: bool = True) -> Change:
    return Change(
        field=text(name, 100),
        old=text(old) if has_old else None,
        new=text(new),
        masked=is_masked(old) or is_masked(new),
        truncated=is_truncated(old) or is_truncated(new),
    )


def _field_changes(changes: Any) -> list[Change]:
    if not isinstance(changes, Mapping):
        return []
    rows = []
    for name, pair in changes.items():
        if isinstance(pair, Mapping) and ("old" in pair or "new" in pair):
            rows.append(_change(name, pair.get("old"), pair.get("new"), has_old="old" in pair))
        else:
            rows.append(_change(name, None, pair, has_old=False))
    return rows


def changes_of(event: Mapping[str, Any], object_id: str | None = None) -> list[Change]:
    """What ``event`` changed, one :class:`Change` a field: the ``changes`` of
    an update (of ``object_id``'s entry for a bulk event), the related ids
    of an m2m event, the transition of ``state.changed``; empty for others."""
    name = event.get("event")
    if name == "state.changed":
        return [_change(event.get("field", "?"), event.get("source"), event.get("target"))]
    if name in _M2M:
        ids = event.get("related_ids")
        verb = _M2M[str(name)]
        shown = verb if ids is None else f"{verb} {text(ids)}"
        return [Change(field=text(event.get("field", "?"), 100), old=None, new=shown)]
    changes = event.get("changes")
    if isinstance(name, str) and name.startswith("model.bulk_") and isinstance(changes, Mapping):
        entry = changes.get(object_id) if object_id is not None else None
        return _field_changes(entry)
    return _field_changes(changes)


def snapshot_of(event: Mapping[str, Any]) -> list[Change]:
    """The ``snapshot`` of a creation, deletion or ``model.snapshot``, one
    :class:`Change` (no old side) a field; empty when the event has none."""
    snapshot = event.get("snapshot")
    if not isinstance(snapshot, Mapping):
        return []
    return [_change(name, None, value, has_old=False) for name, value in snapshot.items()]


def summary(event: Mapping[str, Any], width: int = CELL_WIDTH) -> str:
    """One cell's worth of an event: its message, else its changes as
    ``field: old → new; ...``, else the names of its snapshot's fields."""
    message = event.get("message")
    if message is not None:
        return text(message, width)
    parts = []
    for change in changes_of(event):
        if change.old is None:
            parts.append(f"{change.field}: {change.new}")
        else:
            parts.append(f"{change.field}: {change.old} → {change.new}")
    if not parts and isinstance(event.get("snapshot"), Mapping):
        parts.append("snapshot: " + ", ".join(c.field for c in snapshot_of(event)))
    joined = "; ".join(parts)
    return joined if len(joined) <= width else joined[: width - 1] + "…"
