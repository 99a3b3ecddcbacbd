"""Which events to keep: :class:`Filter`, decided on a parsed event and,
before decoding, on the raw bytes of its line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import orjson

from eventlog.read.files import rotation_stamp
from eventlog.read.lines import ECS_KEY, TS_LEN, TS_PREFIX
from eventlog.read.times import parse_time

__all__ = ["Filter"]


def _same_id(value: Any, wanted: str) -> bool:
    if isinstance(value, str):
        return value == wanted
    return isinstance(value, int) and not isinstance(value, bool) and str(value) == wanted


@dataclass(frozen=True, slots=True)
class Filter:
    """Which events to keep; unset criteria match everything, set ones must all hold.

    * ``event``: a glob (``fnmatch``, case-sensitive) on the event name,
      e.g. ``model.*`` or ``state.changed``;
    * ``model``: an ``app_label.modelname`` label, compared lower-cased with the
      event's ``model`` or its ``instance`` sub-object's ``model`` (app.event);
    * ``object_id``: compared as a string with ``object_id``, the ``instance``
      sub-object's ``object_id`` or an entry of ``object_ids`` (bulk events);
    * ``actor``: equal to the event's ``actor``;
    * ``level``: equal to the event's ``level``, compared lower-cased
      (``warning``, ``error``...);
    * ``request_id``: equal to the event's ``request_id``;
    * ``since`` (inclusive) and ``until`` (exclusive): anything
      :func:`parse_time` accepts, normalized to the canonical form when the
      filter is made (so ``"1h"`` means an hour before that moment).

    :meth:`matches` decides on a parsed event; :meth:`might_match` is a cheap
    test of the raw line that is false only when :meth:`matches` would be
    false too, so lines can be skipped before parsing them.
    """

    event: str | None = None
    model: str | None = None
    object_id: str | None = None
    actor: str | None = None
    since: str | None = None
    until: str | None = None
    level: str | None = None
    request_id: str | None = None
    _native_needles: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    _model_needle: bytes | None = field(init=False, repr=False, compare=False)
    _id_needles: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    _bare_id: bytes = field(init=False, repr=False, compare=False)
    _ecs_needles: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    _request_needle: bytes | None = field(init=False, repr=False, compare=False)
    _since: bytes | None = field(init=False, repr=False, compare=False)
    _until: bytes | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.model is not None:
            set_(self, "model", str(self.model).lower())
        if self.object_id is not None:
            set_(self, "object_id", str(self.object_id))
        if self.since is not None:
            set_(self, "since", parse_time(self.since))
        if self.until is not None:
            set_(self, "until", parse_time(self.until))
        if self.level is not None:
            set_(self, "level", str(self.level).lower())
        if self.request_id is not None:
            set_(self, "request_id", str(self.request_id))
        # Needles: the compact ``"key":value`` bytes orjson writes for a set
        # criterion. ``actor`` and ``event`` have other keys in ECS lines
        # (``user.name``, ``event.action``), so theirs hold for native lines
        # only; ``model`` and the object id sit under the same key names in
        # both formats (ECS nests them under ``eventlog``), so theirs hold
        # for every line eventlog writes.
        native: list[bytes] = []
        if self.actor is not None:
            native.append(b'"actor":' + orjson.dumps(self.actor))
        if self.event is not None:
            literal = re.split(r"[*?\[]", self.event, maxsplit=1)[0]
            if literal == self.event:
                native.append(b'"event":' + orjson.dumps(literal))
            elif literal:
                native.append(b'"event":' + orjson.dumps(literal)[:-1])
        # ``level`` and ``request_id`` are nested in ECS lines (``log.level``,
        # ``http.request.id``), where their own needles stand in.
        ecs: list[bytes] = []
        request = None
        if self.request_id is not None:
            quoted = orjson.dumps(self.request_id)
            request = b'"request_id":' + quoted
            native.append(request)
            ecs.append(b'"id":' + quoted)
        if self.level is not None:
            native.append(b'"level":' + orjson.dumps(self.level))
            ecs.append(b'"log.level":' + orjson.dumps(self.level))
        set_(self, "_native_needles", tuple(native))
        set_(self, "_ecs_needles", tuple(ecs))
        set_(self, "_request_needle", request)
        model = None if self.model is None else b'"model":' + orjson.dumps(self.model)
        set_(self, "_model_needle", model)
        id_needles: tuple[bytes, ...] = ()
        bare = b""
        if self.object_id is not None:
            quoted = orjson.dumps(self.object_id)
            bare = quoted[1:-1]
            id_needles = (b'"object_id":' + quoted,)
            if self.object_id.isascii() and self.object_id.isdigit():
                id_needles += (b'"object_id":' + bare,)  # an integer id
        set_(self, "_id_needles", id_needles)
        set_(self, "_bare_id", bare)
        set_(self, "_since", None if self.since is None else self.since.encode())
        set_(self, "_until", None if self.until is None else self.until.encode())

    def anchors(self) -> tuple[bytes, ...]:
        """Byte strings one of which every line the filter matches contains,
        if eventlog wrote it (empty when the filter has no such criterion):
        the object id's forms when set, else the request id, the actor, the
        model, the event name or the level, in that order of preference. Used
        to find candidate lines in large blocks before looking at each line:
        each anchor costs a search through every block, so there are as few
        as can be.

        Anchors are the compact forms orjson writes (no escapes in the value,
        no spaces around ``:``): a line written otherwise by another program
        is not found through them (see :meth:`might_match`)."""
        if self._id_needles:
            # Format-independent: no anchor for ECS lines needed.
            return (*self._id_needles, b'"object_ids":')
        if self._request_needle is not None:
            return (self._request_needle, self._ecs_needles[0])
        if self.actor is not None:
            return (self._native_needles[0], ECS_KEY)
        if self._model_needle is not None:
            return (self._model_needle,)
        if self._native_needles:
            return (self._native_needles[0], ECS_KEY)
        return ()

    def might_match(self, line: bytes) -> bool:
        """False when the raw line certainly does not match; true otherwise.

        A pre-filter that only rejects, so lines can be skipped before they
        are decoded: it looks for the compact ``"key":value`` forms orjson
        writes (the needles) and at the leading ``timestamp`` for
        ``since``/``until``. It is exact for lines without a backslash and
        without spaces between JSON tokens: there every string, the filter's
        values included, is written literally, whatever the key order. A line
        with a backslash may spell a value with escapes (``"\\u0034242"``
        for ``"4242"``), so a missing needle does not rule it out: it is left
        to :meth:`matches`. The needles of ``actor`` and ``event`` are not
        applied to a line that may be ECS (it has an ``"@timestamp":`` key),
        whose keys for them differ.
        """
        if not self._needles_present(line) and b"\\" not in line:
            return False
        if (self._since is not None or self._until is not None) and line.startswith(TS_PREFIX):
            end = len(TS_PREFIX) + TS_LEN
            stamp = line[len(TS_PREFIX) : end]
            # A torn write followed by a whole line has a second timestamp:
            # leave such lines to the parser.
            if line[end : end + 1] == b'"' and line.find(TS_PREFIX, 1) < 0:
                if self._since is not None and stamp < self._since:
                    return False
                if self._until is not None and stamp >= self._until:
                    return False
        return True

    def _needles_present(self, line: bytes) -> bool:
        if self._model_needle is not None and self._model_needle not in line:
            return False
        # "object_id":"42" (top level, inside "instance" or ECS's "eventlog"),
        # or 42 in "object_ids".
        if self._id_needles and not (
            any(needle in line for needle in self._id_needles)
            or (b'"object_ids":' in line and self._bare_id in line)
        ):
            return False
        if self._native_needles and ECS_KEY not in line:
            return all(needle in line for needle in self._native_needles)
        if self._ecs_needles and ECS_KEY in line:
            return all(needle in line for needle in self._ecs_needles)
        return True

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether the parsed ``event`` meets every criterion of the filter."""
        if self.since is not None or self.until is not None:
            stamp = event.get("timestamp")
            if not isinstance(stamp, str):
                return False
            if self.since is not None and stamp < self.since:
                return False
            if self.until is not None and stamp >= self.until:
                return False
        if self.event is not None:
            name = event.get("event")
            if not isinstance(name, str) or not fnmatchcase(name, self.event):
                return False
        if self.actor is not None and event.get("actor") != self.actor:
            return False
        if self.level is not None and event.get("level") != self.level:
            return False
        if self.request_id is not None and event.get("request_id") != self.request_id:
            return False
        instance = event.get("instance")
        if not isinstance(instance, Mapping):
            instance = {}
        if self.model is not None and self.model not in (
            event.get("model"),
            instance.get("model"),
        ):
            return False
        if self.object_id is not None:
            wanted = self.object_id
            ids = event.get("object_ids")
            if not (
                _same_id(event.get("object_id"), wanted)
                or _same_id(instance.get("object_id"), wanted)
                or (isinstance(ids, list) and any(_same_id(i, wanted) for i in ids))
            ):
                return False
        return True

    def skips_file(self, path: Path, name: str) -> bool:
        """Whether rotated file ``path`` of log ``name`` holds only lines older
        than ``since``, judging by the rotation time in its name."""
        if self.since is None:
            return False
        stamp = rotation_stamp(path, name)
        return stamp is not None and stamp < self.since


# Named by its public home: pickles and reprs then survive moves inside the
# read layer (pickle imports eventlog.reader, which re-exports it).
Filter.__module__ = "eventlog.reader"
