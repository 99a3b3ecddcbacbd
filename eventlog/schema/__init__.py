"""The JSON Schema of a line (``event-v1.json``, shipped in the package).

``event-v1.json`` describes a line of ``events.jsonl`` in the native format:
the envelope every line has, the request context, and the extra keys of each
event of the catalogue (conditional on ``event``). Point a shipper's or a
consumer's validator at :func:`schema_path`, or validate here::

    from eventlog.schema import validate

    for line in open("logs/events.jsonl", "rb"):
        validate(line)          # raises ValueError naming the first problem

:func:`validate` and :func:`errors` need the ``fastjsonschema`` package
(``pip install 'django-eventlog-jsonl[schema]'``): it compiles the schema to Python once,
and checks a line in ~50 µs where ``jsonschema`` takes ~400 µs, which matters
to the test suite that checks every line it writes (the schema is plain
draft-07, so any validator works; the suite checks that ``jsonschema``
agrees). :func:`schema_path` and :func:`load` need nothing. Lines
written in the ECS format (``EVENTLOG_FORMAT = "ecs"``) are validated in their
native form (:func:`eventlog.core.ecs.to_native`); their ECS fields are checked
against the ECS field types by the test suite.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import orjson

from eventlog.core import ecs as _ecs

__all__ = ["SCHEMA_FILE", "error", "load", "schema_path", "validate"]

SCHEMA_FILE: Final = "event-v1.json"


def schema_path() -> Path:
    """The path of ``event-v1.json`` inside the installed package."""
    return Path(str(resources.files(__package__ or "eventlog.schema").joinpath(SCHEMA_FILE)))


@cache
def load() -> dict[str, Any]:
    """The schema as a dict (parsed once)."""
    loaded: dict[str, Any] = json.loads(schema_path().read_text(encoding="utf-8"))
    return loaded


@cache
def _validator() -> Any:
    try:
        import fastjsonschema
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "eventlog.schema.validate needs fastjsonschema: "
            "pip install 'django-eventlog-jsonl[schema]'"
        ) from exc
    return fastjsonschema.compile(load())


def _parsed(line: bytes | str | dict[str, Any]) -> dict[str, Any]:
    value = orjson.loads(line) if isinstance(line, bytes | str) else line
    if not isinstance(value, dict):
        raise ValueError(f"not a JSON object but {type(value).__name__}")
    return _ecs.to_native(value) if _ecs.is_ecs(value) else value


def error(line: bytes | str | dict[str, Any]) -> str | None:
    """The first way ``line`` (raw bytes or text, or already parsed) breaks the
    schema, e.g. ``"data.event_id must match pattern ..."``, or ``None`` when
    it is valid (a line that is not a JSON object is not valid)."""
    import fastjsonschema

    try:
        value = _parsed(line)
        _validator()(value)
    except fastjsonschema.JsonSchemaValueException as exc:
        return str(exc.message)
    except orjson.JSONDecodeError as exc:
        return f"not valid JSON: {exc}"
    except ValueError as exc:  # not an object
        return str(exc)
    return None


def validate(line: bytes | str | dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the problem unless ``line`` is a valid
    eventlog line (native, or ECS in its native form)."""
    problem = error(line)
    if problem is not None:
        raise ValueError(problem)
