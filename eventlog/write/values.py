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
  split and always parses.
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
from eventlog.core.keys import ENVELOPE, MASK, MASKED_CHANGE, MOVED_TO, RESERVED, TRUNCATED

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
        # The string keys known not to be secret, as a set: whether every key
        # of a dict is innocent is then one C-level issuperset() call.
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
                if not hit:
                    self._innocent.add(key)
        return hit

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
            if (
                keys <= innocent
                and keys.isdisjoint(RESERVED)
                and _LEAVES.issuperset(map(type, source.values()))
            ):
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
        # Integers beyond 64 bits, recursion limits, keys orjson cannot coerce:
        # rebuild the tree from plain types and try once more.
        return orjson.dumps(_plain(data, 0), default=json_default, option=OPTIONS)


def _plain(value: Any, depth: int) -> Any:
    if depth > 64:
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        value = sorted(value, key=str)
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -(2**63) <= value < 2**64 else str(value)
    return value  # orjson-native, or handled by json_default


def _largest(data: dict[str, Any]) -> tuple[dict[Any, Any] | list[Any], Any, int] | None:
    """The container, key and serialized size of the largest shrinkable value."""
    best: tuple[dict[Any, Any] | list[Any], Any, int] | None = None
    stack: list[tuple[dict[Any, Any] | list[Any], bool]] = [(data, True)]
    while stack:
        container, top = stack.pop()
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in pairs:
            if top and key in ENVELOPE:
                continue
            size = len(_dumps({"v": value}))
            if best is None or size > best[2]:
                best = (container, key, size)
            if isinstance(value, dict | list) and size > 64:
                stack.append((value, False))
    return best


def render(event: Mapping[str, Any], cap: int) -> bytes:
    """Serialize ``event`` to one JSON object of at most ``cap`` bytes.

    Over the cap, the largest values (strings, or whole lists and objects,
    at any depth) are cut to a prefix ending in ``…[truncated N bytes]`` until
    the line fits, and ``"truncated": true`` is added. The envelope keys are
    never cut; if they alone exceed the cap, only they are kept.
    """
    data = _dumps(event)
    if len(data) <= cap:
        return data
    work: dict[str, Any] = orjson.loads(data)
    work["truncated"] = True
    for _ in range(200):
        data = _dumps(work)
        excess = len(data) - cap
        if excess <= 0:
            return data
        found = _largest(work)
        if found is None or found[2] <= 16:
            break
        container, key, _size = found
        value = container[key]
        text = value if isinstance(value, str) else _dumps({"v": value})[5:-1].decode()
        raw = text.encode()
        keep = max(0, len(raw) - excess - 40)
        container[key] = raw[:keep].decode("utf-8", "ignore") + TRUNCATED.format(len(raw) - keep)
    # Thousands of tiny keys: keep the envelope (short by construction).
    envelope = {k: event[k] for k in event if k in ENVELOPE}
    envelope["truncated"] = True
    return _dumps(envelope)
