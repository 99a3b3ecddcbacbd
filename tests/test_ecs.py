"""EVENTLOG_FORMAT = "ecs": Elastic Common Schema lines, checked against the ECS
8.17 field definitions (tests/ecs_fields.py), with the same hash chain, and
readable by tail, history and verify like native lines."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from typing import Any

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.core import checks

import eventlog
from eventlog.core import ecs as _ecs
from eventlog.read.verify import verify
from eventlog.reader import Filter, iter_events
from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from tests import ecs_fields
from tests.helpers import ROOT, all_lines, assert_chains, child_env, raw_lines

pytestmark = pytest.mark.urls("tests.urls")

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
SINK_KEYS = ["stream", "seq", "hash"]


def _flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Leaf fields of ``doc`` as dotted names (dotted keys and nested objects alike)."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name != "labels":
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def assert_ecs(line: bytes) -> dict[str, Any]:
    """The line follows ecs-logging (first keys, dotted) and every field outside
    the `eventlog` namespace and the sink's keys is an ECS 8.17 field of the right type."""
    doc = orjson.loads(line)
    assert list(doc)[:4] == ["@timestamp", "log.level", "message", "ecs.version"]
    assert list(doc)[-3:] == SINK_KEYS
    assert doc["ecs.version"] == ecs_fields.ECS_VERSION
    ecs_part = {k: v for k, v in doc.items() if k not in {"eventlog", *SINK_KEYS}}
    for name, value in _flatten(ecs_part).items():
        assert name in ecs_fields.FIELDS, f"{name} is not an ECS field eventlog claims"
        kind = ecs_fields.FIELDS[name]
        if kind == "date":
            assert RFC3339_UTC.fullmatch(value), (name, value)
        elif kind in {"keyword", "match_only_text"}:
            assert isinstance(value, str), (name, value)
        elif kind == "long":
            assert isinstance(value, int), (name, value)
            assert not isinstance(value, bool), (name, value)
        elif kind == "ip":
            ipaddress.ip_address(value)
        elif kind == "object":
            assert isinstance(value, dict), (name, value)
            assert all(isinstance(v, str) for v in value.values()), (name, value)
    assert doc["event"]["kind"] in ecs_fields.EVENT_KINDS
    assert isinstance(doc["eventlog"], dict)
    return doc


@pytest.fixture
def ecs(settings):
    settings.EVENTLOG_FORMAT = "ecs"


@pytest.mark.usefixtures("ecs")
def test_cli_event_maps_to_ecs_and_cli_is_not_an_ip(eventlog_dir):
    """Outside a request: event.action/id, log.level, @timestamp; the "CLI" actor
    and ip stay under `eventlog` (never in source.ip), user.name is the OS user,
    custom keys go under `eventlog`, and the chain holds."""
    event_signal.send(sender="tests", message="hello", n=3, nested={"a": [1, 2]})
    (line,) = raw_lines(eventlog_dir)
    doc = assert_ecs(line)
    assert doc["message"] == "hello"
    assert doc["event"]["action"] == "app.event"
    assert "source" not in doc
    assert doc["eventlog"]["ip"] == "CLI"
    assert doc["eventlog"]["actor"] == "CLI"
    assert doc["user"]["name"] == doc["eventlog"]["os_user"]
    assert doc["eventlog"]["n"] == 3
    assert doc["eventlog"]["nested"] == {"a": [1, 2]}
    assert doc["eventlog"]["schema_version"] == 1
    assert_chains([line])


@pytest.mark.usefixtures("ecs")
@pytest.mark.django_db(transaction=True)
def test_request_context_maps_to_source_user_agent_http_and_user(client, eventlog_dir):
    """In a request: source.ip (a real IP), user_agent.original, http.request.id,
    user.name and user.id (a string), event.reason from a bound reason."""
    bob = get_user_model().objects.create_user("bob", password="pw-123456")
    with eventlog.context(reason="ticket 7"):
        client.get(
            "/late-auth/",
            HTTP_X_TOKEN_USER="bob",
            HTTP_USER_AGENT="curl/8.0",
            HTTP_X_REQUEST_ID="req-1",
            REMOTE_ADDR="2001:db8::7",
        )
    lines = raw_lines(eventlog_dir)
    for other in lines:
        assert_ecs(other)  # model.* lines of the user's creation too
    (line,) = [x for x in lines if orjson.loads(x)["event"]["action"] == "app.event"]
    doc = assert_ecs(line)
    assert doc["source"] == {"ip": "2001:db8::7"}
    assert doc["user_agent"] == {"original": "curl/8.0"}
    assert doc["http"] == {"request": {"id": "req-1"}}
    assert doc["user"] == {"name": "bob", "id": str(bob.pk)}
    assert doc["event"]["reason"] == "ticket 7"
    assert "ip" not in doc["eventlog"]
    assert "actor" not in doc["eventlog"]


@pytest.mark.parametrize(
    "native",
    [
        {"actor": "CLI", "ip": "CLI", "os_user": "root", "command": "migrate", "sender": "x"},
        {"request_id": "r", "ip": "10.0.0.1", "user_agent": "ua", "actor": "bob", "actor_id": "7"},
        {"actor": "system", "reason": "nightly", "model": "speedy.employee", "object_id": "1"},
        {"message": "m", "changes": {"name": {"old": "a", "new": "b"}}, "extra": {"level": 5}},
        {"message": 12, "reason": ["not", "text"], "ip": "fe80::1%eth0"},
    ],
)
def test_to_native_inverts_to_ecs(native):
    """The readers' view of an ECS line is the native event it was made from."""
    event = {
        "timestamp": "2026-11-23T10:15:00.123456Z",
        "level": "info",
        "event": "model.updated",
        "event_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "schema_version": 1,
        **native,
        "stream": "h-1-ab",
        "seq": 4,
        "hash": "0" * 64,
    }
    assert _ecs.to_native(_ecs.to_ecs(event)) == event


@pytest.mark.usefixtures("ecs")
def test_readers_and_verify_work_on_ecs_files(eventlog_dir, settings):
    """iter_events filters ECS lines by event, actor and time like native ones;
    `eventlog tail` prints them; verify finds the chains intact."""
    settings.EVENTLOG_MAX_BYTES = 2_000
    settings.EVENTLOG_BACKUP_COUNT = 100
    for n in range(30):
        with eventlog.context(actor="alice" if n % 2 else "bob"):
            event_signal.send(
                sender="tests",
                event="shift.created" if n % 3 else "app.event",
                message=f"m{n}",
                shift_id=n,
                shift_date="2026-11-23",
                employee_id=n,
            )
    _pipeline.flush()
    lines = all_lines(eventlog_dir)
    assert len(lines) == 30
    assert len(list(eventlog_dir.glob("events.jsonl.*.gz"))) >= 3
    for line in lines:
        assert_ecs(line)
    found = [
        e for _raw, e in iter_events(eventlog_dir, filter=Filter(event="shift.*", actor="alice"))
    ]
    assert [e["shift_id"] for e in found] == [n for n in range(30) if n % 3 and n % 2]
    assert all(e["actor"] == "alice" and e["event"] == "shift.created" for e in found)
    assert verify(eventlog_dir).ok
    out = subprocess.run(
        [sys.executable, "manage.py", "eventlog", "tail", "-n", "2", "--actor", "bob"],
        cwd=ROOT,
        env=child_env(eventlog_dir),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "m28" in out
    assert "m26" in out
    assert "m29" not in out


def test_bad_format_setting_is_a_system_check_error(settings):
    """EVENTLOG_FORMAT other than native/ecs is reported as eventlog.E030."""
    settings.EVENTLOG_FORMAT = "gelf"
    ids = [
        m.id for m in checks.run_checks(tags=["eventlog"]) if m.id and m.id.startswith("eventlog.")
    ]
    assert "eventlog.E030" in ids
