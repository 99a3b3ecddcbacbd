"""eventlog's structlog processors: configured callables, each called as
``processor(logger, method_name, event_dict)`` like structlog's own.

:func:`eventlog.write.pipeline.configure` builds them from the settings and
hands them to structlog in this order: :class:`AddEnvelope`,
:class:`RunHooks` (``EVENTLOG_PROCESSORS`` only), :class:`Capture`,
:class:`ToECS` (``EVENTLOG_FORMAT = "ecs"`` only), :class:`Render`. A
processor holds what it was configured with and reads no module state, so
each can be built and called on its own in a test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from contextvars import ContextVar
from typing import Any, Final

from eventlog.core import ecs
from eventlog.core.keys import ENVELOPE, SCHEMA_VERSION
from eventlog.write import clock
from eventlog.write.values import Masker, render

__all__ = ["HOOK_ERRORS", "AddEnvelope", "Capture", "Render", "RunHooks", "ToECS"]

_METHOD_LEVEL: Final = {"warn": "warning", "exception": "error", "fatal": "critical"}
DEFAULT_EVENT: Final = "app.event"
HOOK_ERRORS: Final = "hook_errors"
"""The key naming the hooks whose changes a line goes without."""


class AddEnvelope:
    """The contract's envelope, then the context, then the event's own keys.

    Returns a new dict: ``timestamp`` and ``event_id`` from one clock reading,
    ``level`` from the method name (``warn`` -> ``warning``...), ``event``
    from the event dict (``"app.event"`` when missing), ``schema_version``;
    then the keys of ``context()`` and the event dict's other keys (later
    winning), merged and masked in one pass by ``masker``
    (:meth:`~eventlog.write.values.Masker.merge`: a key that would overwrite
    the envelope or the sink's keys goes under ``"extra"``).
    """

    def __init__(
        self,
        masker: Masker,
        context: Callable[[], Mapping[str, Any]],
        time_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.masker = masker
        self._context = context
        self._time_ns = time_ns

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> dict[str, Any]:
        timestamp, event_id = clock.stamp(self._time_ns())
        out: dict[str, Any] = {
            "timestamp": timestamp,
            "level": _METHOD_LEVEL.get(method_name, method_name),
            "event": event_dict.pop("event", DEFAULT_EVENT),
            "event_id": event_id,
            "schema_version": SCHEMA_VERSION,
        }
        return self.masker.merge(out, self._context(), event_dict)


_running_hooks: ContextVar[frozenset[int]] = ContextVar(
    "eventlog_running_hooks", default=frozenset()
)


class RunHooks:
    """The project's ``EVENTLOG_PROCESSORS``, ``(name, processor)`` in order,
    on the enveloped, masked event dict; what they return is masked again.

    Each hook gets a shallow copy of the dict and ``None`` as its logger (the
    sink is not a hook's to write to), so a hook that raises or returns no
    mapping leaves none of its top-level changes behind: the line goes on
    without them and names the hook in ``hook_errors``, and the next hooks
    still run. Nested values (``changes``, ``snapshot``) are shared, not
    copied (a deep copy per hook and line would cost more than the rest of
    the line): a hook that edits one in place and then fails leaves that edit.
    ``structlog.DropEvent`` passes through: structlog then writes nothing,
    so the line takes no ``seq``. The envelope is the pipeline's: a hook's
    new value for one of its keys, or for a sink key, goes under ``"extra"``
    (as any caller's would), a removed one is put back. The context and the
    event's keys are the hook's to change or remove. An event a hook causes
    (it sends ``event_signal``, saves a registered model) runs the other
    hooks but not the ones already running in this context, which would
    otherwise call themselves until Python's recursion limit.
    """

    def __init__(self, hooks: Sequence[tuple[str, Callable[..., Any]]], masker: Masker) -> None:
        self.hooks = tuple(hooks)
        self.masker = masker
        # The set marking hook i as running when no other is: built once, not per line.
        self._alone = tuple(frozenset({i}) for i in range(len(self.hooks)))

    def __call__(self, logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        current: Mapping[Any, Any] = event_dict
        failed: list[str] = []
        running = _running_hooks.get()
        for index, (name, hook) in enumerate(self.hooks):
            if index in running:
                continue
            token = _running_hooks.set(running | {index} if running else self._alone[index])
            try:
                result = hook(None, method_name, dict(current))
            except Exception as exc:  # DropEvent is a BaseException: it passes
                failed.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
                continue
            finally:
                _running_hooks.reset(token)
            if not isinstance(result, Mapping):
                failed.append(f"{name}: returned {type(result).__name__}, not a dict")
                continue
            current = result
        out = {key: event_dict[key] for key in event_dict if key in ENVELOPE}
        rest = {
            key: value
            for key, value in current.items()
            # Envelope values are str or int: an exact type check keeps a
            # hook's object with a hostile __eq__ from being compared.
            if key not in out or type(value) is not type(out[key]) or value != out[key]
        }
        if failed:
            earlier = current.get(HOOK_ERRORS)  # a model's extra= callable's
            rest[HOOK_ERRORS] = [*earlier, *failed] if isinstance(earlier, list) else failed
        return self.masker.merge(out, rest)


class Capture:
    """Appends a copy of each event dict to every list in ``captures`` (the
    lists of :func:`eventlog.testing.capture_events`, which so see every
    event in the native format, masked, before rendering); passes the dict on.

    ``captures`` is shared, not copied: a capture outlives a reconfiguration.
    """

    def __init__(self, captures: list[list[dict[str, Any]]]) -> None:
        self.captures = captures

    def __call__(self, logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        for events in self.captures:
            events.append(dict(event_dict))
        return event_dict


class ToECS:
    """The event dict with Elastic Common Schema field names
    (:func:`eventlog.core.ecs.to_ecs`)."""

    def __call__(self, logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        return ecs.to_ecs(event_dict)


class Render:
    """The last processor: the event dict as one JSON object of at most
    ``cap`` bytes (:func:`eventlog.write.values.render`: the largest values
    cut with a marker, never the envelope), for the sink to seal and append."""

    def __init__(self, cap: int) -> None:
        self.cap = cap

    def __call__(self, logger: Any, method_name: str, event_dict: Mapping[str, Any]) -> bytes:
        return render(event_dict, self.cap)
