"""eventlog's structlog processors, one by one, called the way structlog calls
them: ``processor(logger, method_name, event_dict)``; and the pipeline that
chains them."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
import structlog

from eventlog.write import pipeline
from eventlog.write.processors import AddEnvelope, Capture, Render, ToECS
from eventlog.write.values import Masker

NS = int(datetime(2026, 11, 23, 10, 15, tzinfo=UTC).timestamp()) * 1_000_000_000 + 123_456_000


def envelope(context=None, fragments=("password",)) -> AddEnvelope:
    return AddEnvelope(Masker(fragments), lambda: dict(context or {}), time_ns=lambda: NS)


def test_add_envelope_puts_the_envelope_first_then_context_then_fields():
    out = envelope({"actor": "CLI", "ip": "CLI"})(
        None, "info", {"event": "app.saved", "n": 1, "actor": "bob"}
    )
    assert list(out)[:5] == ["timestamp", "level", "event", "event_id", "schema_version"]
    assert out["timestamp"] == "2026-11-23T10:15:00.123456Z"
    assert out["event"] == "app.saved"
    assert out["event_id"].replace("-", "")[:12] == f"{NS // 1_000_000:012x}"  # UUIDv7
    assert (out["actor"], out["ip"], out["n"]) == ("bob", "CLI", 1)


@pytest.mark.parametrize(
    ("method", "level"), [("warn", "warning"), ("exception", "error"), ("fatal", "critical")]
)
def test_add_envelope_names_the_level_by_the_contract(method, level):
    assert envelope()(None, method, {"event": "x"})["level"] == level


def test_add_envelope_without_an_event_name_writes_app_event():
    assert envelope()(None, "info", {})["event"] == "app.event"


def test_add_envelope_moves_reserved_keys_and_masks_secrets():
    out = envelope()(
        None, "info", {"event": "x", "timestamp": "forged", "seq": 1, "db_password": "hunter2"}
    )
    assert out["timestamp"] == "2026-11-23T10:15:00.123456Z"
    assert out["extra"] == {"timestamp": "forged", "seq": 1}
    assert out["db_password"] == "***"


def test_add_envelope_reads_the_context_at_each_call():
    current = {"actor": "a"}
    processor = AddEnvelope(Masker(["x"]), lambda: current, time_ns=lambda: NS)
    assert processor(None, "info", {"event": "e"})["actor"] == "a"
    current = {"actor": "b"}
    assert processor(None, "info", {"event": "e"})["actor"] == "b"


def test_capture_appends_copies_to_every_open_list_and_passes_the_dict_on():
    outer: list[dict] = []
    inner: list[dict] = []
    shared = [outer, inner]
    processor = Capture(shared)
    event = {"event": "x"}
    assert processor(None, "info", event) is event
    del shared[1]  # by position: the two lists are equal
    processor(None, "info", {"event": "y"})
    assert [e["event"] for e in outer] == ["x", "y"]
    assert [e["event"] for e in inner] == ["x"]
    assert outer[0] is not event


def test_to_ecs_renames_to_ecs_fields():
    out = ToECS()(None, "info", envelope()(None, "info", {"event": "x", "ip": "10.0.0.1"}))
    assert out["@timestamp"] == "2026-11-23T10:15:00.123456Z"
    assert out["event"]["action"] == "x"
    assert out["source"]["ip"] == "10.0.0.1"


def test_render_returns_one_json_object_within_its_cap():
    line = Render(2048)(None, "info", {"event": "x", "big": "a" * 10_000})
    assert len(line) <= 2048
    data = orjson.loads(line)
    assert data["truncated"] is True
    assert data["big"].endswith("bytes]")


def test_the_pipeline_logger_is_structlogs_filtering_bound_logger(settings):
    """Built with structlog's public API: the class structlog makes for the
    level, our processors in order, an empty context, and no global
    structlog configuration."""
    before = structlog.get_config()
    settings.EVENTLOG_LEVEL = "warning"
    logger = pipeline._logger
    assert isinstance(logger, structlog.make_filtering_bound_logger("warning"))
    assert [type(p) for p in logger._processors] == [AddEnvelope, Capture, Render]
    assert logger._context == {}
    assert structlog.get_config() == before


def test_fields_travel_in_the_event_dict(eventlog_dir, settings):
    """A processor after the envelope sees emit()'s fields as plain keys of
    the event dict: nothing is tunnelled past structlog."""
    seen: list[dict] = []
    pipeline._logger._processors.insert(1, lambda _l, _m, ed: seen.append(dict(ed)) or ed)
    try:
        pipeline.emit("app.x", {"n": 1, "who": "ann"})
    finally:
        pipeline.configure()
    assert seen[0]["n"] == 1
    assert seen[0]["who"] == "ann"
    assert not [k for k in seen[0] if k.startswith("__")]


def test_an_event_field_and_non_string_keys_do_not_lose_the_event(eventlog_dir):
    """``event`` is structlog's own argument and keyword names must be
    strings: such fields are kept (moved under extra, keys made text)."""
    from tests.helpers import read

    pipeline.emit("app.x", {"event": "forged", "extra": {"mine": 1}})
    pipeline.emit("app.y", {1: "one", "n": 2})
    first, second = read(eventlog_dir)
    assert first["event"] == "app.x"
    assert first["extra"] == {"mine": 1, "event": "forged"}
    assert (second["event"], second["1"], second["n"]) == ("app.y", "one", 2)


def test_fields_named_like_the_loggers_parameters_keep_their_names(eventlog_dir):
    """``self`` and ``method_name`` are parameters of structlog's methods: such
    fields still reach the line under their own names."""
    from tests.helpers import read

    pipeline.emit("app.x", {"self": 1, "method_name": "card", "n": 2})
    (line,) = read(eventlog_dir)
    assert (line["event"], line["self"], line["method_name"], line["n"]) == ("app.x", 1, "card", 2)


def test_a_failing_processor_is_one_error_and_the_chain_runs_once(eventlog_dir, monkeypatch):
    """A TypeError inside a processor is reported once; the chain is not run
    again (str subclasses such as StrEnum keys are keyword names like any)."""
    import enum

    from tests.helpers import read

    class Key(enum.StrEnum):
        A = "a"

    calls = []

    def boom(_logger, _name, event_dict):
        calls.append(event_dict.get("event"))
        if event_dict.get("event") == "app.x":
            raise TypeError("boom")
        return event_dict

    pipeline._logger._processors.insert(1, boom)
    try:
        pipeline.emit("app.x", {Key.A: 1})
    finally:
        pipeline.configure()
    assert calls.count("app.x") == 1
    assert [line["event"] for line in read(eventlog_dir)] == ["eventlog.error"]
