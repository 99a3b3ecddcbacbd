"""The settings table: one declaration per setting, read by the accessors and
the system checks alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import override_settings

from eventlog import conf
from eventlog.conf import checks as conf_checks
from eventlog.conf.durability import WRITE, Durability
from eventlog.conf.table import SETTINGS, ModelSpec, Setting

ROOT = Path(__file__).resolve().parent.parent

# (setting, a valid value, what the accessor returns for it, an invalid value)
CASES = [
    (conf.directory, "/tmp/x", Path("/tmp/x"), ""),
    (conf.max_bytes, 5, 5, -1),
    (conf.backup_count, 0, 0, "3"),
    (conf.max_line_bytes, 2048, 2048, 100),
    (conf.trusted_proxies, 2, 2, True),
    (conf.level, "WARNING", "warning", "loud"),
    (conf.hmac_key, "k", b"k", 42),
    (conf.mask_fields, ["PIN"], (*conf.DEFAULT_MASK_FIELDS, "pin"), "pin"),
    (conf.request_id_header, "X-Trace", "X-Trace", "X-Request-ID\n"),
    (conf.enabled, False, False, "maybe"),
    (conf.durability, 250, Durability(interval_ms=250), "fsynk"),
    (conf.writer, "background", "background", "thread"),
    (conf.queue_size, 1, 1, 0),
    (conf.queue_full, "drop", "drop", "wait"),
    (conf.rotation, "external", "external", "logrotate"),
    (conf.rotate_interval, "daily", 86400, "weekly"),
    (conf.max_age_days, 1.5, 1.5, float("nan")),
    (conf.output_format, "ECS", "ecs", "gelf"),
    (conf.processors, ["tests.test_hooks.add_tenant"], ("tests.test_hooks.add_tenant",), "x.y"),
    (conf.models, ["zoo.Animal"], (ModelSpec("zoo.Animal"),), "zoo"),
    (conf.auth_events, False, False, "maybe"),
    (conf.request_events, True, True, "maybe"),
    (conf.request_query, True, True, "maybe"),
]


def _errors(setting: Setting[object]) -> list[str]:
    return [m.msg for m in conf_checks.check_settings() if m.id == setting.check_id]


@pytest.mark.parametrize(("setting", "good", "parsed", "bad"), CASES, ids=lambda c: "")
def test_each_setting_parses_falls_back_and_is_checked_from_one_declaration(
    setting, good, parsed, bad
):
    """A valid value is returned in its final type with no check message; an
    invalid one falls back to the default and gives one message naming the
    setting, under the setting's own check id."""
    with override_settings(**{setting.name: good}):
        assert setting() == parsed
        assert not [m for m in _errors(setting) if setting.name in m]
    with override_settings(**{setting.name: bad}):
        if setting is not conf.mask_fields:
            assert setting() == setting.fallback()
        messages = [m for m in _errors(setting) if m.startswith(setting.name)]
        assert len(messages) == 1, messages
        assert repr(bad) in messages[0] or type(bad).__name__ in messages[0]


def test_the_cases_cover_every_setting_that_can_be_refused():
    refusable = {s.name for s in SETTINGS if s.check_id is not None}
    assert {case[0].name for case in CASES} == refusable


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_none_counts_as_unset(setting):
    with override_settings(**{setting.name: None}):
        assert setting() == setting.fallback()
        assert setting.problems() == []


def test_an_invalid_mask_entry_keeps_the_valid_ones_masked():
    """A typo in one entry must not unmask the others: the valid entries are
    used and the setting is still reported."""
    with override_settings(EVENTLOG_MASK_FIELDS=["pin", "", 7]):
        assert "pin" in conf.mask_fields()
        assert len(conf.mask_fields.problems()) == 1


def test_models_keep_their_valid_entries_and_report_each_bad_one():
    with override_settings(EVENTLOG_MODELS=["zoo.Animal", 42, ("zoo.Enclosure", "x")]):
        assert conf.models() == (ModelSpec("zoo.Animal"),)
        assert len(conf.models.problems()) == 2


def test_defaults():
    with override_settings(EVENTLOG_DURABILITY=None, EVENTLOG_MAX_LINE_BYTES=None):
        assert conf.durability() is WRITE
        assert conf.max_line_bytes() == conf.DEFAULT_MAX_LINE_BYTES


def test_every_setting_eventlog_reads_is_declared_in_the_table():
    """No EVENTLOG_* name is read outside the table (a second rule could
    differ from the checks')."""
    declared = {s.name for s in SETTINGS}
    found: dict[str, list[str]] = {}
    for path in (ROOT / "eventlog").rglob("*.py"):
        for name in re.findall(r"\bEVENTLOG_[A-Z_]+[A-Z]\b", path.read_text()):
            found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert set(found) <= declared, {n: p for n, p in found.items() if n not in declared}
    reading = {
        p for paths in found.values() for p in paths if "getattr(settings" in (ROOT / p).read_text()
    }
    assert reading <= {"eventlog/conf/table.py", "eventlog/conf/checks.py"}


def test_the_readme_lists_every_setting():
    readme = (ROOT / "README.md").read_text()
    missing = [s.name for s in SETTINGS if f"| `{s.name}` |" not in readme]
    assert missing == []


@pytest.mark.parametrize("value", ["", "X Request ID", "HTTP_X_REQUEST_ID", "X-Request-ID\r\n", 42])
def test_a_request_id_header_must_be_a_header_name_as_sent(value):
    """A newline would turn every response into a 500; the request.META
    spelling would never match: both refused, the default used."""
    with override_settings(EVENTLOG_REQUEST_ID_HEADER=value):
        assert conf.request_id_header() == "X-Request-ID"
        assert len(conf.request_id_header.problems()) == 1


def test_a_mask_string_or_set_still_masks_what_it_names():
    """A malformed EVENTLOG_MASK_FIELDS must not fail open where checks never
    run (gunicorn, uwsgi): a string is one fragment, a set its fragments."""
    for value in ("card", {"card"}, frozenset({"card"})):
        with override_settings(EVENTLOG_MASK_FIELDS=value):
            assert "card" in conf.mask_fields()
            assert len(conf.mask_fields.problems()) == 1


@pytest.mark.parametrize(("text", "enabled"), [("false", False), ("0", False), ("yes", True)])
def test_enabled_given_as_text_does_what_it_says_and_is_reported(text, enabled):
    with override_settings(EVENTLOG_ENABLED=text):
        assert conf.enabled() is enabled
        assert len(conf.enabled.problems()) == 1
