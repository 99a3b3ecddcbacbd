"""speedy's demo views: /test_signals/ and /test_logging/, read back from the files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from speedy.models import Employees, Shifts, ShiftsEmployees
from tests.helpers import assert_chains, assert_envelope, raw_lines, read

SHIFT_EVENTS = ("shift.created", "shift.assigned", "shifts.wiped")
URLS = ("/test_signals/", "/test_logging/")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("every_line_is_sound", "one_date"),
]


def _lines(directory: Path, event: str | None = None) -> list[dict[str, Any]]:
    lines = read(directory, event=event)
    for line in lines:
        assert_envelope(line)
    return lines


def _shift_lines(directory: Path) -> list[dict[str, Any]]:
    return [line for line in _lines(directory) if line["event"] in SHIFT_EVENTS]


def test_signals_view_creates_employee_on_a_shift(client, eventlog_dir):
    """GET /test_signals/ answers 201 with the new employee's shift, and the
    shift lines are written."""
    response = client.get("/test_signals/")

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    body = response.json()
    employee = Employees.objects.get()
    (assignment,) = ShiftsEmployees.objects.all()
    assert body == {
        "employee_id": employee.pk,
        "shift_id": assignment.shift_id,
        "shift_date": timezone.localdate().isoformat(),
    }
    assert (employee.first_name, employee.last_name) == ("Ada", "Lovelace")
    assert employee.age == 36
    lines = _shift_lines(eventlog_dir)
    assert [line["event"] for line in lines] == ["shift.created", "shift.assigned"]
    for line in lines:
        assert line["employee_id"] == body["employee_id"]
        assert line["shift_id"] == body["shift_id"]
        assert line["shift_date"] == body["shift_date"]
    assert_chains(raw_lines(eventlog_dir))


def test_signals_view_takes_get_params_and_post_fields(client):
    """Query parameters (GET) and form fields (POST) override the defaults."""
    got = client.get("/test_signals/", {"first_name": "Grace", "age": "45"})
    posted = client.post(
        "/test_signals/",
        {"first_name": "Alan", "last_name": "Turing", "date_of_birth": "1912-06-23"},
    )
    assert (got.status_code, posted.status_code) == (201, 201)
    grace = Employees.objects.get(pk=got.json()["employee_id"])
    alan = Employees.objects.get(pk=posted.json()["employee_id"])
    assert (grace.first_name, grace.last_name, grace.age) == ("Grace", "Lovelace", 45)
    assert (alan.first_name, alan.last_name) == ("Alan", "Turing")
    assert alan.date_of_birth == dt.date(1912, 6, 23)
    assert alan.age == 36  # the default


def test_post_ignores_query_parameters(client):
    """A POST reads its form fields, not the query string."""
    response = client.post("/test_signals/?first_name=Query", {"first_name": "Form"})
    assert response.status_code == 201
    assert Employees.objects.get().first_name == "Form"


def test_signals_view_lines_carry_request_context(client, eventlog_dir):
    """Shift lines written in a request carry its X-Request-ID, the client IP
    and the user agent, and no actor for an anonymous visitor."""
    response = client.get("/test_signals/", HTTP_USER_AGENT="pytest-agent/1.0")

    request_id = response["X-Request-ID"]
    assert request_id
    lines = _shift_lines(eventlog_dir)
    assert len(lines) == 2
    for line in lines:
        assert line["request_id"] == request_id
        assert line["ip"] == "127.0.0.1"
        assert line["user_agent"] == "pytest-agent/1.0"
        assert "actor" not in line
        assert "actor_id" not in line
        assert "os_user" not in line


def test_incoming_request_id_is_kept(client, eventlog_dir):
    """A sane incoming X-Request-ID is echoed and logged; no user agent, no key."""
    response = client.get("/test_signals/", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    for line in _shift_lines(eventlog_dir):
        assert line["request_id"] == "abc-123"
        assert "user_agent" not in line


def test_each_request_gets_its_own_request_id(client, eventlog_dir):
    """Two requests log two different generated request ids."""
    first = client.get("/test_signals/")["X-Request-ID"]
    second = client.get("/test_signals/")["X-Request-ID"]
    assert first != second
    ids = [line["request_id"] for line in _lines(eventlog_dir, "shift.assigned")]
    assert ids == [first, second]


def test_logging_view_success_writes_app_event_with_instance(client, eventlog_dir):
    """GET /test_logging/ creates an employee (201) and writes an info
    app.event line about it."""
    response = client.get("/test_logging/", {"first_name": "Grace", "last_name": "Hopper"})

    assert response.status_code == 201
    employee = Employees.objects.get()
    assert response.json()["employee_id"] == employee.pk
    (line,) = _lines(eventlog_dir, "app.event")
    assert line["level"] == "info"
    assert line["sender"] == "speedy.views"
    assert line["message"].startswith("success:")
    assert "Grace Hopper" in line["message"]
    assert line["instance"] == {
        "model": "speedy.employees",
        "object_id": str(employee.pk),
        "repr": "Grace Hopper",
    }
    assert line["request_id"] == response["X-Request-ID"]
    assert line["ip"] == "127.0.0.1"
    assert len(_shift_lines(eventlog_dir)) == 2
    assert_chains(raw_lines(eventlog_dir))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"age": "abc"}, "age"),
        ({"date_of_birth": "not-a-date"}, "date_of_birth"),
        ({"first_name": "x" * 101}, "first_name"),
    ],
    ids=["age", "date_of_birth", "first_name_too_long"],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_logging_view_invalid_input(client, eventlog_dir, params, field, method):
    """Invalid input: 400 naming the field, one error app.event line without
    instance, no employee and no shift lines."""
    response = getattr(client, method)("/test_logging/", params)

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"].startswith(f"{field}:")
    assert not Employees.objects.exists()
    assert not Shifts.objects.exists()
    (line,) = _lines(eventlog_dir, "app.event")
    assert line["level"] == "error"
    assert line["message"].startswith("error:")
    assert field in line["message"]
    assert "instance" not in line
    assert line["request_id"] == response["X-Request-ID"]
    assert _shift_lines(eventlog_dir) == []
    assert_chains(raw_lines(eventlog_dir))


def test_signals_view_invalid_input_writes_nothing(client, eventlog_dir):
    """/test_signals/ with a bad age answers 400 and creates nothing."""
    response = client.get("/test_signals/", {"age": "-1"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("age:")
    assert not Employees.objects.exists()
    assert _shift_lines(eventlog_dir) == []


@pytest.mark.parametrize("url", URLS)
def test_logged_in_user_is_the_actor(client, eventlog_dir, url):
    """A signed-in user's username and pk are on every line of the request."""
    user = get_user_model().objects.create_user("grace", password="pw")
    client.force_login(user)

    response = client.get(url)

    assert response.status_code == 201
    lines = [
        line for line in _lines(eventlog_dir) if line.get("request_id") == response["X-Request-ID"]
    ]
    assert {line["event"] for line in lines} >= {"shift.created", "shift.assigned"}
    for line in lines:
        assert line["actor"] == "grace"
        assert line["actor_id"] == str(user.pk)
        assert line["ip"] == "127.0.0.1"
    assert_chains(raw_lines(eventlog_dir))


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_not_allowed(client, eventlog_dir, url, method):
    """Only GET and POST are allowed; others get 405 and create nothing."""
    response = getattr(client, method)(url)
    assert response.status_code == 405
    assert sorted(response["Allow"].split(", ")) == ["GET", "POST"]
    assert not Employees.objects.exists()
    assert _shift_lines(eventlog_dir) == []


@pytest.mark.parametrize("url", ["/test_signals/", "/test_logging/"])
def test_a_failed_shift_assignment_leaves_no_unassigned_employee(
    client, eventlog_dir, monkeypatch, url
):
    """The employee and its shift assignment commit together: if assigning
    fails, the employee is rolled back and no success line is written."""
    from speedy.signals import shifts

    def broken(using: str) -> None:
        raise RuntimeError("shift table unavailable")

    monkeypatch.setattr(shifts, "_pick_shift", broken)
    client.raise_request_exception = False
    assert client.get(url).status_code == 500
    assert Employees.objects.count() == 0
    assert read(eventlog_dir) == []


@pytest.mark.parametrize("age", ["99999", "200", "-1", "3"])
@pytest.mark.parametrize("url", URLS)
def test_an_implausible_age_is_refused(client, eventlog_dir, url, age):
    """An age no employee has is a 400 with the field named; nothing is created."""
    response = client.get(url, {"age": age})
    assert response.status_code == 400
    assert "age" in response.json()["error"]
    assert not Employees.objects.exists()
    assert read(eventlog_dir, event="model.created") == []
