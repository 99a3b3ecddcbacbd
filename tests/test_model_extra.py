"""register(Model, extra=callable): keys of the project's own on a model's lines."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core import checks as django_checks

import eventlog
from eventlog.audit.checks import check_models
from eventlog.write import pipeline as _pipeline
from tests.helpers import assert_schema, raw_lines, read
from tests.zoo.models import Bulky, Enclosure

pytestmark = pytest.mark.django_db(transaction=True)
HERE = "tests.test_model_extra"
seen: list[Any] = []


def model_lines(directory: Path) -> list[dict[str, Any]]:
    _pipeline.flush()
    return [e for e in read(directory) if e["event"].startswith("model.")]


def tenant(instance: Bulky) -> dict[str, Any]:
    seen.append(instance)
    return {"tenant": f"t-{instance.n}", "api_key": "k-999"}


def clashing(instance: Bulky) -> dict[str, Any]:
    return {
        "object_id": "999",
        "model": "auth.user",
        "changes": {},
        "actor": "mallory",
        "event": "model.deleted",
        "seq": 1,
        "fine": True,
    }


def raising(instance: Any) -> dict[str, Any]:
    raise RuntimeError("no tenant")


def not_a_dict(instance: Any) -> list[str]:
    return ["a"]


@pytest.fixture
def bulky_with(request):
    def use(extra: Any) -> None:
        eventlog.register(Bulky, extra=extra)

    yield use
    eventlog.register(Bulky)


def test_extra_keys_are_on_created_updated_and_deleted_lines(eventlog_dir, bulky_with):
    bulky_with(tenant)
    seen.clear()
    row = Bulky.objects.create(name="a", n=1)
    row.n = 2
    row.save()
    row.delete()
    lines = model_lines(eventlog_dir)
    assert [e["event"] for e in lines] == ["model.created", "model.updated", "model.deleted"]
    assert [e["tenant"] for e in lines] == ["t-1", "t-2", "t-2"]
    assert {e["api_key"] for e in lines} == {"***"}  # masked like any key
    assert all(isinstance(x, Bulky) for x in seen)  # the instance, not its pk
    assert_schema(raw_lines(eventlog_dir))


def test_extra_keys_are_on_snapshot_lines(eventlog_dir, bulky_with):
    """model.snapshot holds what model.created would, the extra keys included."""
    from django.core.management import call_command

    Bulky.objects.create(name="a", n=7)
    bulky_with(tenant)
    call_command("eventlog", "snapshot", "zoo.bulky", stdout=io.StringIO())
    (line,) = [e for e in model_lines(eventlog_dir) if e["event"] == "model.snapshot"]
    assert (line["tenant"], line["api_key"]) == ("t-7", "***")
    assert_schema(raw_lines(eventlog_dir))


def test_extra_keys_are_on_m2m_lines(eventlog_dir):
    def code(instance: Enclosure) -> dict[str, Any]:
        return {"zone": instance.code.lower()}

    from tests.zoo.models import Animal

    eventlog.register(Enclosure, extra=code)
    try:
        enclosure = Enclosure.objects.create(code="E1")
        enclosure.animals.add(Animal.objects.create(name="a"))
    finally:
        eventlog.register(Enclosure)
    lines = [e for e in model_lines(eventlog_dir) if e["model"] == "zoo.enclosure"]
    assert [(e["event"], e["zone"]) for e in lines] == [
        ("model.created", "e1"),
        ("model.m2m_added", "e1"),
    ]


def test_extra_cannot_overwrite_the_event_envelope_or_context(eventlog_dir, bulky_with):
    """Clashing keys go under "extra", as event_signal's reserved names do."""
    bulky_with(clashing)
    with eventlog.context(actor="alice"):
        row = Bulky.objects.create(name="a")
    (line,) = model_lines(eventlog_dir)
    assert line["event"] == "model.created"
    assert line["model"] == "zoo.bulky"
    assert line["object_id"] == str(row.pk)
    assert line["actor"] == "alice"
    assert "changes" not in line
    assert line["fine"] is True
    assert line["extra"] == {
        "object_id": "999",
        "model": "auth.user",
        "changes": {},
        "actor": "mallory",
        "event": "model.deleted",
        "seq": 1,
    }
    assert_schema(raw_lines(eventlog_dir))


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (raising, f"{HERE}.raising: RuntimeError: no tenant"),
        (not_a_dict, f"{HERE}.not_a_dict: returned list, not a dict"),
    ],
)
def test_a_failing_extra_loses_no_line(eventlog_dir, bulky_with, extra, error):
    bulky_with(extra)
    row = Bulky.objects.create(name="a")
    row.n = 5
    row.save()
    lines = model_lines(eventlog_dir)
    assert [e["event"] for e in lines] == ["model.created", "model.updated"]
    assert lines[1]["changes"] == {"n": {"old": 0, "new": 5}}
    assert all(e["hook_errors"] == [error] for e in lines)


def test_register_refuses_an_extra_that_is_no_callable():
    with pytest.raises(TypeError, match="extra"):
        eventlog.register(Bulky, extra="tests.test_model_extra.tenant")  # type: ignore[arg-type]


def test_extra_from_settings(eventlog_dir, settings):
    """EVENTLOG_MODELS takes extra as a dotted path; a bad one is a check error."""
    from eventlog.audit.register import register_from_settings

    settings.EVENTLOG_MODELS = [("zoo.Bulky", {"extra": f"{HERE}.tenant"})]
    try:
        register_from_settings()
        Bulky.objects.create(name="a", n=3)
        (line,) = model_lines(eventlog_dir)
        assert line["tenant"] == "t-3"
        settings.EVENTLOG_MODELS = [("zoo.Bulky", {"extra": f"{HERE}.nothing_here"})]
        errors = [m for m in check_models() if m.id == "eventlog.E062"]
        assert len(errors) == 1
        assert isinstance(errors[0], django_checks.Error)
        assert "nothing_here" in errors[0].msg
        assert "\n" not in errors[0].msg
        register_from_settings()  # no crash; the model is still audited
        Bulky.objects.create(name="b", n=4)
        lines = model_lines(eventlog_dir)
        assert len(lines) == 2
        assert "tenant" not in lines[1]
        assert lines[1]["hook_errors"][0].startswith(f"{HERE}.nothing_here: ImportError")
    finally:
        eventlog.register(Bulky)


def test_a_malformed_extra_option_is_refused(settings):
    from eventlog.conf.checks import check_settings

    settings.EVENTLOG_MODELS = [("zoo.Bulky", {"extra": 42})]
    errors = [m for m in check_settings() if m.id == "eventlog.E040"]
    assert len(errors) == 1
    assert "extra" in errors[0].msg
