"""An object's state rebuilt from its events: the replay behind ``history --as-of``
and ``restore``.

Pure data, no Django and no files: feed :func:`replay` the events about one
object (``eventlog.reader.object_events`` finds them) and read the
:class:`ObjectState`. The rules, event by event (the contract's catalogue):

* ``model.created``: the row exists; ``snapshot`` gives every logged field;
* ``model.snapshot`` (``manage.py eventlog snapshot``): the same, a baseline
  for rows that existed before they were logged;
* ``model.updated``: the ``new`` side of each of ``changes``;
* ``model.deleted``: the row is gone; ``snapshot`` holds its last values;
* ``model.bulk_created``: as created, the ``new`` side of this object's
  entry of ``changes`` (every tracked field) when known;
  ``model.bulk_updated``: the ``new`` side of this object's entry;
  ``model.bulk_deleted``: as deleted, the ``old`` side of its entry holding
  the last values;
* ``model.m2m_added`` / ``_removed`` / ``_cleared``: the related ids of
  ``field`` (known only from the first m2m event seen; tracked as changes);
* ``state.changed``: ``field`` becomes ``target``.

Any other event about the object (an ``app.event`` sent with it as
``instance``, say) is no state event: it is neither applied nor counted.

The state is *complete* once a snapshot was seen (creation, deletion or a
``model.snapshot``, or a bulk creation or deletion with this object's
values): before that only the fields some change named are known, which is what
happens when the files of its creation were pruned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from eventlog.core.keys import MASK, TRUNCATED_MARK

__all__ = ["CUT_ENTRIES", "STATE_EVENTS", "ObjectState", "apply", "replay"]

STATE_EVENTS: Final = frozenset(
    {
        "model.created",
        "model.snapshot",
        "model.updated",
        "model.deleted",
        "model.bulk_created",
        "model.bulk_updated",
        "model.bulk_deleted",
        "model.m2m_added",
        "model.m2m_removed",
        "model.m2m_cleared",
        "state.changed",
    }
)
"""The events that make an object's state: those :func:`apply` applies."""
CUT_ENTRIES: Final = "(entries cut from a long line)"
"""How :meth:`ObjectState.unfaithful` names fields lost to the line cap."""


@dataclass(slots=True)
class ObjectState:
    """What the events say about one object up to some point."""

    model: str
    object_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    """Field values, as logged (JSON-native: dates as ISO strings, foreign
    keys as the related pk, masked ones as ``"***"``)."""
    m2m: dict[str, list[str]] = field(default_factory=dict)
    """Related ids of many-to-many fields, as far as m2m events tell."""
    exists: bool = False
    """Created (or seen changing) and not deleted since."""
    deleted: bool = False
    complete: bool = False
    """A snapshot was seen, so ``fields`` holds every logged field."""
    events: int = 0
    """How many state events (:data:`STATE_EVENTS`) were applied."""
    last: Mapping[str, Any] | None = None
    """The last state event applied."""
    cut: bool = False
    """A state event lost entries to the line cap (``truncated_entries``):
    some fields may be missing or stale."""

    def unfaithful(self) -> dict[str, str]:
        """Fields whose logged value is not the real one: ``{field: why}``."""
        found: dict[str, str] = {}
        for name, value in self.fields.items():
            if value == MASK:
                found[name] = "masked"
            elif _truncated(value):
                found[name] = "truncated"
        if self.cut:
            found[CUT_ENTRIES] = "truncated"
        return found

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        last = self.last or {}
        return {
            "model": self.model,
            "object_id": self.object_id,
            "exists": self.exists,
            "deleted": self.deleted,
            "complete": self.complete,
            "events": self.events,
            "last_event_id": last.get("event_id"),
            "last_timestamp": last.get("timestamp"),
            "fields": self.fields,
            "m2m": self.m2m,
        }


# Named by its public home: pickles and reprs then survive moves inside the
# read layer (pickle imports eventlog.reader, which re-exports it).
ObjectState.__module__ = "eventlog.reader"


def _truncated(value: Any) -> bool:
    if isinstance(value, str):
        return TRUNCATED_MARK in value
    if isinstance(value, Mapping):
        return any(_truncated(v) for v in value.values())
    if isinstance(value, list):
        return any(_truncated(v) for v in value)
    return False


def _ids(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    # The marker that ends a list cut to fit the line cap is not an id.
    return [str(v) for v in value if not (isinstance(v, str) and TRUNCATED_MARK in v)]


def _own_changes(event: Mapping[str, Any], object_id: str) -> Mapping[str, Any] | None:
    """The ``changes`` of a bulk event that concern ``object_id``: its entry
    when keyed by object id, else ``None``."""
    changes = event.get("changes")
    if not isinstance(changes, Mapping):
        return None
    own = changes.get(object_id)
    return own if isinstance(own, Mapping) else None


def _apply_changes(state: ObjectState, changes: Any) -> None:
    if not isinstance(changes, Mapping):
        return
    for name, change in changes.items():
        if isinstance(change, Mapping) and "new" in change:
            state.fields[str(name)] = change["new"]


def _apply_snapshot(state: ObjectState, snapshot: Any) -> None:
    if isinstance(snapshot, Mapping):
        state.fields = {str(k): v for k, v in snapshot.items()}
        state.complete = True


def apply(state: ObjectState, event: Mapping[str, Any]) -> None:
    """Apply one event about the object to ``state``; one that is not in
    :data:`STATE_EVENTS` leaves it as it is, uncounted."""
    name = event.get("event")
    if name not in STATE_EVENTS:
        return
    state.events += 1
    state.last = event
    if event.get("truncated_entries"):
        state.cut = True
    if name == "model.created" or name == "model.snapshot":
        state.exists, state.deleted = True, False
        _apply_snapshot(state, event.get("snapshot"))
    elif name == "model.bulk_created":
        state.exists, state.deleted = True, False
        own = _own_changes(event, state.object_id)
        if own is not None:  # every tracked field, from null to its value
            state.fields = {}
            _apply_changes(state, own)
            state.complete = True
    elif name == "model.updated":
        state.exists, state.deleted = True, False
        _apply_changes(state, event.get("changes"))
    elif name == "model.bulk_updated":
        state.exists, state.deleted = True, False
        _apply_changes(state, _own_changes(event, state.object_id))
    elif name == "model.deleted":
        _apply_snapshot(state, event.get("snapshot"))
        state.exists, state.deleted = False, True
    elif name == "model.bulk_deleted":
        own = _own_changes(event, state.object_id)
        if own is not None:  # every tracked field, from its last value to null
            state.fields = {
                str(k): v["old"] for k, v in own.items() if isinstance(v, Mapping) and "old" in v
            }
            state.complete = True
        state.exists, state.deleted = False, True
    elif name == "state.changed":
        field_name = event.get("field")
        if isinstance(field_name, str) and "target" in event:
            state.fields[field_name] = event["target"]
            state.exists = not state.deleted
    elif name in ("model.m2m_added", "model.m2m_removed", "model.m2m_cleared"):
        field_name = str(event.get("field", "?"))
        current = state.m2m.setdefault(field_name, [])
        related = _ids(event.get("related_ids"))
        if name == "model.m2m_added":
            current.extend(i for i in related if i not in current)
        elif name == "model.m2m_removed":
            state.m2m[field_name] = [i for i in current if i not in related]
        else:
            state.m2m[field_name] = []
        state.exists = not state.deleted


def replay(
    events: Iterable[Mapping[str, Any]],
    model: str,
    object_id: str,
    *,
    until: str | None = None,
    event_id: str | None = None,
) -> ObjectState:
    """The state of ``model`` ``object_id`` after ``events`` (oldest first):
    all of them, those whose ``timestamp`` is at or before ``until`` (a
    canonical time), or those up to and including the event ``event_id``
    (``LookupError`` when it is not among them)."""
    state = ObjectState(model=model, object_id=object_id)
    for event in events:
        stamp = event.get("timestamp")
        if until is not None and isinstance(stamp, str) and stamp > until:
            break
        apply(state, event)
        if event_id is not None and event.get("event_id") == event_id:
            return state
    if event_id is not None:
        raise LookupError(f"no event {event_id} about {model}#{object_id} in the log")
    return state
