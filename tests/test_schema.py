"""The JSON Schema of a line (eventlog/schema/event-v1.json): shipped with the
package, a valid draft-07 schema, and it tells the catalogue's events apart."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import orjson
import pytest

from eventlog import schema
from eventlog.core import ecs as _ecs
from tests.helpers import make_line

TS = "2026-11-23T10:15:00.123456Z"

# One well-formed example of each event of the contract's catalogue.
CATALOGUE: dict[str, dict[str, Any]] = {
    "model.created": {
        "model": "speedy.employee",
        "object_id": "1",
        "object_repr": "Bob",
        "snapshot": {"name": "Bob"},
    },
    "model.updated": {
        "model": "speedy.employee",
        "object_id": "1",
        "object_repr": "Bob",
        "changes": {"name": {"old": "Bob", "new": "Rob"}},
    },
    "model.deleted": {
        "model": "speedy.employee",
        "object_id": "1",
        "object_repr": "Bob",
        "snapshot": {"name": "Bob"},
    },
    "model.snapshot": {
        "model": "speedy.employee",
        "object_id": "1",
        "object_repr": "Bob",
        "snapshot": {"name": "Bob"},
    },
    "model.m2m_added": {
        "model": "speedy.shifts",
        "object_id": "1",
        "field": "employees",
        "related_model": "speedy.employees",
        "related_ids": [1, 2],
    },
    "model.m2m_removed": {
        "model": "speedy.shifts",
        "object_id": "1",
        "field": "employees",
        "related_model": "speedy.employees",
        "related_ids": [2],
    },
    "model.m2m_cleared": {
        "model": "speedy.shifts",
        "object_id": "1",
        "field": "employees",
        "related_model": "speedy.employees",
        "related_ids": [],
    },
    "model.bulk_updated": {
        "model": "speedy.shifts",
        "object_ids": ["1", "2"],
        "count": 2,
        "changes": {"1": {"shift_date": {"old": "a", "new": "b"}}},
    },
    "model.bulk_deleted": {"model": "speedy.shifts", "object_ids": ["1"], "count": 1},
    "model.bulk_created": {"model": "speedy.shifts", "object_ids": ["3"], "count": 1},
    "state.changed": {
        "model": "speedy.account",
        "object_id": "4",
        "field": "state",
        "source": "active",
        "target": "locked",
        "transition": "lock",
    },
    "shift.created": {"shift_id": 3, "shift_date": "2026-11-24", "employee_id": 9},
    "shift.assigned": {"shift_id": 3, "shift_date": "2026-11-24", "employee_id": 9},
    "shifts.wiped": {"count": 2, "shift_ids": [1, 2]},
    "auth.login": {"username": "alice"},
    "auth.logout": {"username": "alice"},
    "auth.login_failed": {"username": "mallory"},
    "http.request": {"method": "GET", "path": "/a/", "status": 404, "duration_ms": 1.25},
    "app.event": {
        "sender": "tests",
        "message": "hello",
        "instance": {"model": "speedy.employee", "object_id": "1", "repr": "Bob"},
    },
    "eventlog.error": {"error": "render_failed", "detail": "TypeError: boom"},
}


def test_schema_is_shipped_and_a_valid_draft_7_schema():
    """The file is found through the installed package and passes the draft-07 meta-schema."""
    path = schema.schema_path()
    assert path.name == "event-v1.json"
    assert path.is_file()
    loaded = json.loads(path.read_text())
    assert loaded == schema.load()
    jsonschema.Draft7Validator.check_schema(loaded)


@pytest.mark.parametrize("event", sorted(CATALOGUE))
def test_each_catalogue_event_is_valid_and_needs_its_keys(event):
    """A complete line of each catalogue event is valid, natively and as ECS; without
    any one of its extra keys it is not (fastjsonschema and jsonschema agree)."""
    reference = jsonschema.Draft7Validator(schema.load())
    fields = CATALOGUE[event]
    line = make_line(TS, event, **fields)
    assert schema.error(line) is None
    assert reference.is_valid(orjson.loads(line))
    assert schema.error(_ecs.to_ecs(orjson.loads(line))) is None
    for key in fields:
        if event.startswith("model.bulk_") and key == "changes":
            continue  # "where known"
        if event == "app.event" and key != "sender":
            continue  # message and instance are optional
        partial = make_line(TS, event, **{k: v for k, v in fields.items() if k != key})
        problem = schema.error(partial)
        assert problem is not None, key
        assert key in problem, (key, problem)
        assert not reference.is_valid(orjson.loads(partial))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"timestamp": "2026-11-23T10:15:00Z"}, "timestamp"),
        ({"level": "INFO"}, "level"),
        ({"event_id": "0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"}, "event_id"),
        ({"schema_version": 2}, "schema_version"),
        ({"seq": 0}, "seq"),
        ({"hash": "xyz"}, "hash"),
        ({"model": "Speedy.Employee"}, "model"),
        ({"changes": {"name": "Rob"}}, "changes"),
    ],
)
def test_envelope_and_values_are_checked(change, where):
    """Malformed envelope keys and catalogue values are named in the error."""
    data = orjson.loads(make_line(TS, "model.updated", **CATALOGUE["model.updated"]))
    data.update(change)
    problem = schema.error(data)
    assert problem is not None
    assert where in problem, problem
    with pytest.raises(ValueError, match=where):
        schema.validate(orjson.dumps(data))


def test_not_an_object_is_an_error_not_an_exception():
    """Garbage gives a message from error() and a ValueError from validate()."""
    assert schema.error(b"[1, 2]") is not None
    assert schema.error(b'{"timestamp": ') is not None
    with pytest.raises(ValueError, match="not valid JSON"):
        schema.validate("not json")
