"""EVENTLOG_PROCESSORS: the project's structlog-style hooks on every line."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson
import pytest
import structlog

from eventlog.conf import checks as conf_checks
from eventlog.signals import event_signal
from eventlog.testing import capture_events
from eventlog.write import pipeline as _pipeline
from tests.helpers import assert_chains, assert_envelope, assert_schema, raw_lines, read

HERE = "tests.test_hooks"
calls: list[tuple[Any, str, dict[str, Any]]] = []


def add_tenant(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    calls.append((logger, method_name, dict(event_dict)))
    event_dict["tenant"] = "acme"
    return event_dict


def leak(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict["api_token"] = "tok-123"
    event_dict["copied"] = event_dict.get("password")
    event_dict["nested"] = {"secret": "s3-Zq", "ok": 1}
    return event_dict


def drop_noise(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    if event_dict.get("message") == "noise":
        raise structlog.DropEvent
    return event_dict


def boom(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict["half_done"] = True  # changed in place before it fails
    del event_dict["message"]
    raise ValueError("hook exploded")


def returns_none(logger: Any, method_name: str, event_dict: dict[str, Any]) -> None:
    event_dict["lost"] = True


def forge(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict["event_id"] = "forged"
    event_dict["seq"] = 1
    event_dict["event"] = "model.deleted"
    del event_dict["timestamp"]
    return event_dict


def echo(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_signal.send(sender="hook", message=f"saw {event_dict.get('message')}")
    event_dict["echoed"] = True
    return event_dict


def save_a_row(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    if event_dict.get("message") == "trigger":
        from tests.zoo.models import Animal

        Animal.objects.create(name="from a hook")
    return event_dict


def mark_redacted(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict.pop("ip", None)
    event_dict["redacted"] = True
    return event_dict


def redact_ip(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict.pop("ip", None)
    event_dict["actor"] = "someone"
    return event_dict


def write_to_logger(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    logger.msg(b'{"forged": true}')
    return event_dict


not_callable = 42


def test_a_hook_adds_keys_to_every_line(eventlog_dir, settings):
    """A processor's added key is on the line; the chain and the schema hold."""
    settings.EVENTLOG_PROCESSORS = [f"{HERE}.add_tenant"]
    calls.clear()
    event_signal.send(sender="tests", message="one")
    event_signal.send(sender="tests", message="two")
    lines = raw_lines(eventlog_dir)
    assert [orjson.loads(x)["tenant"] for x in lines] == ["acme", "acme"]
    for line in read(eventlog_dir):
        assert_envelope(line)
    assert_chains(lines)
    assert_schema(lines)
    # The hook saw the merged event dict (envelope and context included).
    _logger, method, seen = calls[0]
    assert method == "info"
    assert seen["event"] == "app.event"
    assert {"timestamp", "event_id", "actor", "message"} <= set(seen)


def test_hooks_run_in_order_and_see_what_earlier_ones_did(eventlog_dir, settings):
    settings.EVENTLOG_PROCESSORS = [f"{HERE}.add_tenant", f"{HERE}.add_tenant"]
    calls.clear()
    event_signal.send(sender="tests", message="one")
    assert "tenant" not in calls[0][2]
    assert calls[1][2]["tenant"] == "acme"


def test_an_event_sent_from_a_hook_is_written_without_running_the_hooks_again(
    eventlog_dir, settings, capsys
):
    """A hook that logs (sends event_signal) does not loop: its event is
    written once, without hooks, before the line the hook is working on."""
    settings.EVENTLOG_PROCESSORS = [f"{HERE}.echo"]
    event_signal.send(sender="tests", message="one")
    lines = read(eventlog_dir)
    assert [(e["message"], e.get("echoed")) for e in lines] == [
        ("saw one", None),
        ("one", True),
    ]
    assert "eventlog" not in capsys.readouterr().err
    assert_chains(raw_lines(eventlog_dir))


@pytest.mark.django_db(transaction=True)
def test_an_event_a_hook_causes_still_runs_the_other_hooks(eventlog_dir, settings):
    """Only the hook that is running is skipped for the events it causes: a
    redaction hook after it still covers them."""
    settings.EVENTLOG_PROCESSORS = [f"{HERE}.save_a_row", f"{HERE}.mark_redacted"]
    event_signal.send(sender="tests", message="trigger")
    lines = read(eventlog_dir)
    assert [e["event"] for e in lines] == ["model.created", "app.event"]
    assert all(e.get("redacted") is True for e in lines)


def test_what_a_hook_adds_is_masked(eventlog_dir, settings):
    """A hook cannot leak a secret: its secret-named keys are masked, and the
    values it sees are already masked."""
    settings.EVENTLOG_PROCESSORS = [f"{HERE}.leak"]
    event_signal.send(sender="tests", message="m", password="hunter2")
    raw = raw_lines(eventlog_dir)[0]
    for secret in (b"tok-123", b"hunter2", b"s3-Zq"):
        assert secret not in raw
    (line,) = read(eventlog_dir)
    assert line["api_token"] == "***"
    assert line["password"] == "***"
    assert line["copied"] == "***"
    assert line["nested"] == {"secret": "***", "ok": 1}


def test_a_dropped_event_writes_nothing_and_costs_no_seq(eventlog_dir, settings):
    settings.EVENTLOG_PROCESSORS = [f"{HERE}.drop_noise"]
    with capture_events() as events:
        event_signal.send(sender="tests", message="kept")
        event_signal.send(sender="tests", message="noise")
        event_signal.send(sender="tests", message="kept too")
    lines = raw_lines(eventlog_dir)
    assert [orjson.loads(x)["message"] for x in lines] == ["kept", "kept too"]
    assert [orjson.loads(x)["seq"] for x in lines] == [1, 2]
    assert_chains(lines)
    assert [e["message"] for e in events] == ["kept", "kept too"]
    result = subprocess.run(
        [sys.executable, "manage.py", "eventlog", "verify", "--dir", str(eventlog_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_raising_hook_loses_nothing_and_leaves_a_marker(eventlog_dir, settings):
    """The event is written without the failed hook's changes, the hooks after
    it still run, and ``hook_errors`` names what failed."""
    settings.EVENTLOG_PROCESSORS = [f"{HERE}.boom", f"{HERE}.add_tenant"]
    event_signal.send(sender="tests", message="still here")
    lines = raw_lines(eventlog_dir)
    (line,) = [orjson.loads(x) for x in lines]
    assert line["message"] == "still here"
    assert "half_done" not in line
    assert line["tenant"] == "acme"
    assert line["hook_errors"] == [f"{HERE}.boom: ValueError: hook exploded"]
    assert_chains(lines)
    assert_schema(lines)


def test_a_hook_returning_no_dict_is_a_failure(eventlog_dir, settings):
    settings.EVENTLOG_PROCESSORS = [f"{HERE}.returns_none"]
    event_signal.send(sender="tests", message="m")
    (line,) = read(eventlog_dir)
    assert "lost" not in line
    assert line["message"] == "m"
    assert line["hook_errors"] == [f"{HERE}.returns_none: returned NoneType, not a dict"]


def test_a_hook_cannot_forge_the_envelope_or_the_sink_keys(eventlog_dir, settings):
    settings.EVENTLOG_PROCESSORS = [f"{HERE}.forge"]
    event_signal.send(sender="tests", message="m")
    event_signal.send(sender="tests", message="m")
    lines = raw_lines(eventlog_dir)
    parsed = [orjson.loads(x) for x in lines]
    for line in parsed:
        assert_envelope(line)
        assert line["event"] == "app.event"
        assert line["extra"] == {"event_id": "forged", "seq": 1, "event": "model.deleted"}
    assert [line["seq"] for line in parsed] == [1, 2]
    assert_chains(lines)


def test_a_hook_may_change_the_context(eventlog_dir, settings):
    """Context keys are the hook's to rewrite or remove (an IP anonymiser)."""
    import eventlog

    settings.EVENTLOG_PROCESSORS = [f"{HERE}.redact_ip"]
    with eventlog.context(ip="203.0.113.9"):
        event_signal.send(sender="tests", message="m")
    (line,) = read(eventlog_dir)
    assert "ip" not in line
    assert line["actor"] == "someone"


def test_a_hook_gets_no_logger_to_write_around_the_pipeline(eventlog_dir, settings):
    settings.EVENTLOG_PROCESSORS = [f"{HERE}.write_to_logger"]
    event_signal.send(sender="tests", message="m")
    lines = raw_lines(eventlog_dir)
    (line,) = [orjson.loads(x) for x in lines]
    assert "forged" not in line
    assert line["hook_errors"][0].startswith(f"{HERE}.write_to_logger: AttributeError")


def test_a_bad_path_is_a_check_error_and_no_crash(eventlog_dir, settings):
    settings.EVENTLOG_PROCESSORS = [
        "tests.no_such_module.hook",
        f"{HERE}.not_callable",
        f"{HERE}.add_tenant",
    ]
    errors = [m for m in conf_checks.check_settings() if m.id == "eventlog.E061"]
    assert len(errors) == 2
    assert all("\n" not in m.msg for m in errors)
    assert "tests.no_such_module.hook" in errors[0].msg
    assert "not_callable" in errors[1].msg
    event_signal.send(sender="tests", message="m")
    (line,) = read(eventlog_dir)
    assert line["message"] == "m"
    assert line["tenant"] == "acme"
    assert len(line["hook_errors"]) == 2


def test_a_malformed_setting_is_a_check_error(settings):
    for value in ("tests.test_hooks.add_tenant", [1], ["no_dots"], [""], 7):
        settings.EVENTLOG_PROCESSORS = value
        errors = [m for m in conf_checks.check_settings() if m.id == "eventlog.E060"]
        assert len(errors) == 1, value
        assert "\n" not in errors[0].msg


def test_hooks_are_imported_once_per_configuration(eventlog_dir, settings, monkeypatch):
    settings.EVENTLOG_PROCESSORS = [f"{HERE}.add_tenant"]
    imported: list[str] = []
    real = _pipeline.import_string

    def counting(path: str) -> Any:
        imported.append(path)
        return real(path)

    monkeypatch.setattr(_pipeline, "import_string", counting)
    _pipeline.configure()
    for _ in range(5):
        event_signal.send(sender="tests", message="m")
    assert imported == [f"{HERE}.add_tenant"]


def test_without_hooks_the_processors_are_unchanged(settings):
    settings.EVENTLOG_PROCESSORS = []
    names = [type(p).__name__ for p in _pipeline._processors]
    assert names == ["AddEnvelope", "Capture", "Render"]
