"""Turning arbitrary Python values into one safe JSON line.

* :func:`json_default` makes every value JSON-native per the contract
  (Decimal as string, durations as ISO 8601, files as their name, models as
  their pk, anything else ``str()``) and never raises.
* :class:`Masker` replaces values whose key looks like a secret with ``"***"``,
  at any depth, and turns containers orjson would serialize whole or as
  ``str()`` (NamedTuples, other tuple and list subclasses, deques, dict
  views) into plain ones, masked inside.
* :func:`render` serializes with orjson and keeps the line under the cap by
  truncating the largest values with an explicit marker, so a line is never
  split and always parses; a string orjson refuses (a lone surrogate) costs
  only itself, repaired with U+FFFD.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as dt
import re
from collections.abc import ItemsView, Iterable, KeysView, Mapping, ValuesView
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

import orjson
from django.db.models import Model
from django.db.models.fields.files import FieldFile
from django.utils.duration import duration_iso_string
from django.utils.functional import Promise

from eventlog.conf.table import MASK_WORDS
from eventlog.core.keys import (
    ENVELOPE,
    MASK,
    MASKED_CHANGE,
    MODEL_KEYS,
    MOVED_TO,
    RESERVED,
    TRUNCATED,
)
from eventlog.write.context import CONTEXT_KEYS

__all__ = ["Masker", "json_default", "moved", "render", "safe_str"]

MAX_DEPTH: Final = 64
# Dataclasses pass through to json_default (as dicts, after masking) instead
# of being serialized by orjson behind the masker's back.
OPTIONS: Final = (
    orjson.OPT_UTC_Z
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_NAIVE_UTC
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def json_default(value: Any) -> Any:
    """orjson ``default=``: JSON-native form of a value orjson cannot serialize."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return duration_iso_string(value)
    if isinstance(value, FieldFile):
        return value.name or None
    if isinstance(value, Model):
        return None if value.pk is None else str(value.pk)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Promise):
        return str(value)
    return safe_str(value)


def safe_str(value: Any) -> str:
    """``str(value)``, or ``<unprintable Type>`` when its ``__str__`` raises."""
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__qualname__}>"


# A key's tokens: split at every character that is not an ASCII letter or
# digit, at lower-to-upper and letter-digit boundaries, and before the last
# capital of a run followed by a lower-case letter ("APIKey": API, Key).
_TOKENS: Final = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


class Masker:
    """Masks values whose key contains one of ``fragments`` anywhere, or has
    one of ``words`` as a whole token (both case-insensitive)."""

    def __init__(self, fragments: Iterable[str], words: Iterable[str] = MASK_WORDS) -> None:
        parts = [re.escape(f) for f in fragments if f]
        # An empty alternation would match every key.
        self._pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        self._words = frozenset(w.lower() for w in words)
        self._seen: dict[str, bool] = {}
        # The string keys known not to be secret and not reserved, as a set:
        # whether every key of a dict may pass as it is is then one C-level
        # set comparison.
        self._innocent: set[str] = set()

    def is_secret(self, key: object) -> bool:
        """Whether values under ``key`` are masked."""
        if not isinstance(key, str):
            key = str(key)
        hit = self._seen.get(key)
        if hit is None:
            hit = (self._pattern is not None and self._pattern.search(key) is not None) or (
                not self._words.isdisjoint(t.lower() for t in _TOKENS.findall(key))
            )
            if len(self._seen) < 10_000:  # keys repeat; the cache stays small
                self._seen[key] = hit
                if not hit and key not in RESERVED:
                    self._innocent.add(key)
        return hit

    def matches(self, key: str) -> bool:
        """Whether values under ``key`` are masked, decided afresh and not
        remembered: for names a client chooses (a query's), which would
        otherwise fill the cache that keeps every line on the fast path."""
        return (self._pattern is not None and self._pattern.search(key) is not None) or (
            not self._words.isdisjoint(t.lower() for t in _TOKENS.findall(key))
        )

    def __call__(self, value: Any, depth: int = 0) -> Any:
        """Return ``value`` with secrets masked; containers are copied only when
        something inside them changes. Dataclasses and NamedTuples are
        masked as dicts, other sequences as lists; past 64 levels (or a
        cycle) the rest is replaced by ``"…"``."""
        cls = type(value)
        if cls in _LEAVES:
            return value  # the common case, without the cost of an ABC check
        if depth > MAX_DEPTH:
            return "…"
        if cls is dict:
            return self._mapping(value, depth)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return self._mapping(value, depth)
        if isinstance(value, Mapping):
            return self._mapping(value, depth)
        if isinstance(value, set | frozenset):
            return [self(item, depth + 1) for item in sorted(value, key=str)]
        if cls is list or cls is tuple:
            items = [self(item, depth + 1) for item in value]
            if cls is not list or any(a is not b for a, b in zip(items, value, strict=True)):
                return items
            return value
        if isinstance(value, tuple):
            names = getattr(cls, "_fields", None)
            # Only a real NamedTuple's own field names: no user code is called.
            if (
                type(names) is tuple
                and len(names) == len(value)
                and all(type(n) is str for n in names)
            ):
                return self._mapping(dict(zip(names, value, strict=True)), depth)
            return [self(item, depth + 1) for item in value]
        if isinstance(value, ItemsView):
            return self._mapping(dict(value), depth)
        if isinstance(
            value, list | collections.deque | collections.UserList | KeysView | ValuesView
        ):
            return [self(item, depth + 1) for item in value]
        return value

    def merge(self, out: dict[str, Any], *sources: Mapping[Any, Any]) -> dict[str, Any]:
        """Add the keys of ``sources`` to ``out``, later sources winning, with
        their values masked (``out``'s own values are left as they are).

        A key that would overwrite the envelope or the sink's keys (from event
        fields, bound context or a log record's extras alike) goes under
        ``"extra"`` instead, merged into a copy of the caller's own ``"extra"``
        (a dict) or beside it (``{"value": ...}``); nothing the caller passed
        is mutated. Keys are made strings.

        One pass does both jobs: merging and then masking the result was two
        walks over every key of every line.
        """
        innocent = self._innocent
        reserved: dict[str, Any] | None = None
        for source in sources:
            keys = source.keys()
            # _plain() inline: this runs for every source of every line.
            if keys <= innocent and _LEAVES.issuperset(map(type, source.values())):
                out.update(source)  # the usual case, copied by a C loop
                continue
            for key, value in source.items():
                if type(key) is not str:
                    key = str(key)
                if key in RESERVED:
                    if reserved is None:
                        reserved = {}
                    reserved[key] = value
                else:
                    out[key] = self._masked(key, value, 1)
        if reserved:
            out[MOVED_TO] = moved(out.get(MOVED_TO), self._mapping(reserved, 1))
        return out

    def _plain(self, value: Mapping[Any, Any]) -> bool:
        """Whether ``value`` has only keys known to be innocent and leaf
        values: nothing to mask, found by C-level set checks instead of a
        Python loop per key (the usual case of every line)."""
        return value.keys() <= self._innocent and _LEAVES.issuperset(map(type, value.values()))

    def _masked(self, key: Any, value: Any, depth: int) -> Any:
        """``value`` as written under ``key`` at ``depth``: ``"***"`` under a
        secret name (a change entry keeps its masked shape), masked inside."""
        secret = self._seen.get(key) if type(key) is str else None
        if secret is None:
            secret = self.is_secret(key)
        if secret:
            return value if type(value) is dict and value == MASKED_CHANGE else MASK
        if type(value) in _LEAVES:
            return value
        return self(value, depth)

    def _mapping(self, value: Mapping[Any, Any], depth: int) -> Any:
        # The copy is made at the first value that changes.
        if self._plain(value):
            return value
        out: dict[Any, Any] | None = None
        for key, item in value.items():
            new = self._masked(key, item, depth + 1)
            if new is not item:
                if out is None:
                    out = dict(value)
                out[key] = new
        return value if out is None else out


# Types that hold no keys, so no secret can hide inside them.
_LEAVES: Final = frozenset(
    {str, int, float, bool, type(None), Decimal, dt.date, dt.datetime, dt.time, dt.timedelta, UUID}
)


def moved(own: Any, keys: Mapping[str, Any]) -> dict[str, Any]:
    """The ``"extra"`` of a line once ``keys`` (callers' keys that would have
    overwritten reserved ones) are moved into it: merged into a copy of the
    caller's own ``"extra"`` when that is a mapping, else beside it as
    ``{"value": own, ...}``; nothing the caller passed is mutated."""
    if own is None:
        return dict(keys)
    if isinstance(own, Mapping):
        return {**own, **keys}
    return {"value": own, **keys}


def _dumps(data: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(data, default=json_default, option=OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        # Integers beyond 64 bits, recursion limits, keys orjson cannot coerce,
        # lone surrogates (from surrogateescape'd OS strings, json.loads of
        # "\ud800"): rebuild the tree from plain, repaired types once more.
        return orjson.dumps(_plain(data, 0), option=OPTIONS)


def _text(value: str) -> str:
    """``value`` with each lone surrogate replaced by U+FFFD (a high and low
    pair, as a UTF-16 decoder leaves it, becomes the character it encodes)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value


def _plain(value: Any, depth: int) -> Any:
    """A tree of JSON-native values only (through :func:`json_default`), its
    strings and keys repaired, its integers within 64 bits."""
    if depth > MAX_DEPTH:
        return _text(safe_str(value))
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        return {_text(safe_str(k)): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        value = sorted(value, key=str)
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, bool | float) or value is None:
        return value
    if isinstance(value, int):
        return int(value) if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, dt.date | dt.time | UUID) and not dataclasses.is_dataclass(value):
        return value
    return _plain(json_default(value), depth + 1)


# Room a cut value's marker takes (with its digits).
_MARK_ROOM: Final = len(TRUNCATED.format(10**9).encode())
# A string is cut to no fewer bytes than this: a prefix still tells what it was.
_MIN_KEEP: Final = 32
# The catalogue's keys of an event (what the JSON Schema requires and
# history reads): cut inside if need be, never dropped whole.
_CATALOGUE: Final = MODEL_KEYS | {
    "source",
    "target",
    "transition",
    "sender",
    "error",
    "detail",
}
# Keys of the line the truncation never drops.
_KEPT: Final = (
    ENVELOPE | CONTEXT_KEYS | _CATALOGUE | {"truncated", "truncated_keys", "truncated_entries"}
)


def _leaves(data: dict[str, Any]) -> list[tuple[dict[Any, Any] | list[Any], Any]]:
    """The (container, key) of every string value, at any depth, out of the envelope."""
    found: list[tuple[dict[Any, Any] | list[Any], Any]] = []
    stack: list[dict[Any, Any] | list[Any]] = [data]
    while stack:
        container = stack.pop()
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in pairs:
            if container is data and key in ENVELOPE:
                continue
            if isinstance(value, str):
                found.append((container, key))
            elif isinstance(value, dict | list):
                stack.append(value)
    return found


def _cut(text: str, size: int, cuts: dict[int, int]) -> str:
    """``text`` cut to a prefix with the marker, about ``size`` bytes once
    serialized; ``cuts`` remembers the bytes an earlier round already cut."""
    before = cuts.pop(id(text), None)
    raw = text.encode()
    if before is not None:  # already cut: cut its prefix further
        raw = raw[: len(raw) - len(TRUNCATED.format(before).encode())]
    else:
        before = 0
    escaped = len(orjson.dumps(raw.decode())) - 2
    # Escapes make a serialized byte cost less than a raw one: keep the ratio.
    keep = max(0, size - 2 - _MARK_ROOM) * len(raw) // max(1, escaped)
    keep = min(keep, len(raw) - 1)  # each round shortens the value
    prefix = raw[: max(0, keep)].decode("utf-8", "ignore")
    dropped = before + len(raw) - len(prefix.encode())
    out = prefix + TRUNCATED.format(dropped)
    cuts[id(out)] = dropped
    return out


def _cut_strings(data: dict[str, Any], excess: int, cuts: dict[int, int]) -> bool:
    """Cut the largest strings to one common size, enough to save ``excess``
    bytes (water-filling: a short value next to a huge one is left whole)."""
    sized = []
    for container, key in _leaves(data):
        text = container[key]
        size = len(orjson.dumps(text))
        if size > _MIN_KEEP + _MARK_ROOM:
            sized.append((size, container, key))
    if not sized:
        return False
    sized.sort(key=lambda item: item[0], reverse=True)
    floor = _MIN_KEEP + _MARK_ROOM
    level = floor
    total = 0
    for count, (size, _c, _k) in enumerate(sized, 1):
        total += size
        nxt = sized[count][0] if count < len(sized) else floor
        # Cutting the first ``count`` strings to ``level`` saves total - count * level.
        level = max(floor, (total - excess) // count)
        if level >= nxt:
            break
    changed = False
    for size, container, key in sized:
        if size <= level:
            break
        container[key] = _cut(container[key], level, cuts)
        changed = True
    return changed


def _cut_lists(data: dict[str, Any], excess: int, cuts: dict[int, int]) -> bool:
    """Cut the tails of the largest lists, each replaced by one marker element."""
    lists: list[tuple[int, list[Any]]] = []
    stack: list[Any] = [v for k, v in data.items() if k not in ENVELOPE]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
            if len(value) > 1:
                lists.append((len(orjson.dumps(value)), value))
    lists.sort(key=lambda item: item[0], reverse=True)
    changed = False
    for _size, items in lists:
        if excess <= 0:
            break
        before = 0
        if items and isinstance(items[-1], str) and id(items[-1]) in cuts:
            before = cuts.pop(id(items.pop()))
        dropped = 0
        while len(items) > 1 and dropped < excess + _MARK_ROOM:
            dropped += len(orjson.dumps(items.pop())) + 1
        if dropped:
            marker = TRUNCATED.format(before + dropped)
            cuts[id(marker)] = before + dropped
            items.append(marker)
            excess -= dropped - _MARK_ROOM
            changed = True
    return changed


def _cut_dicts(data: dict[str, Any], excess: int, cuts: dict[int, int]) -> bool:
    """Drop the last entries of the largest nested objects (thousands of
    small fields of a ``changes`` or a JSON value), counted in
    ``truncated_entries``: the objects themselves, and so the line's shape,
    stay."""
    dicts: list[tuple[int, dict[Any, Any]]] = []
    stack: list[Any] = [v for k, v in data.items() if k not in ENVELOPE]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
            if len(value) > 1:
                dicts.append((len(orjson.dumps(value)), value))
        elif isinstance(value, list):
            stack.extend(value)
    dicts.sort(key=lambda item: item[0], reverse=True)
    dropped = 0
    for _size, entries in dicts:
        if excess <= 0:
            break
        while len(entries) > 1 and excess > 0:
            key, value = entries.popitem()
            excess -= len(orjson.dumps({str(key): value})) - 1
            dropped += 1
    if dropped:
        data["truncated_entries"] = data.get("truncated_entries", 0) + dropped
    return dropped > 0


def _drop_keys(data: dict[str, Any], excess: int, cuts: dict[int, int]) -> bool:
    """Drop top-level keys, last first, out of the envelope and the context,
    into the ``truncated_keys`` count."""
    changed = False
    for key in reversed(list(data)):
        if excess <= 0:
            break
        if key in _KEPT:
            continue
        excess -= len(orjson.dumps({key: data.pop(key)})) - 1
        data["truncated_keys"] = data.get("truncated_keys", 0) + 1
        changed = True
    return changed


def render(event: Mapping[str, Any], cap: int) -> bytes:
    """Serialize ``event`` to one JSON object of at most ``cap`` bytes.

    Over the cap ``"truncated": true`` is added and, until the line fits:
    the largest strings at any depth are cut to a common size, each to a
    prefix ending in ``…[truncated N bytes]`` (every key of every object is
    kept, so ``changes`` keeps both ``old`` and ``new``); then the tails of
    the largest lists, replaced by one such marker element; then the last
    entries of the largest nested objects, counted in
    ``"truncated_entries"``; then, last first, top-level keys other than the
    envelope, the context and the catalogue's keys of the event (``model``,
    ``changes``, ``snapshot``...), counted in ``"truncated_keys"``. The
    envelope is never cut; if it and the context alone exceed the cap, only
    the envelope is kept.
    """
    data = _dumps(event)
    if len(data) <= cap:
        return data
    work: dict[str, Any] = orjson.loads(data)
    work["truncated"] = True
    cuts: dict[int, int] = {}
    data = _dumps(work)
    for step in (_cut_strings, _cut_lists, _cut_dicts, _drop_keys):
        for _ in range(8):
            excess = len(data) - cap
            if excess <= 0:
                return data
            if not step(work, excess, cuts):
                break
            data = _dumps(work)
    if len(data) <= cap:
        return data
    envelope = {k: work[k] for k in work if k in ENVELOPE}
    envelope["truncated"] = True
    return _dumps(envelope)
