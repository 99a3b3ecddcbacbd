"""Silent loss: a bad value costs that value, an oversized line keeps its
envelope, its context and its structure, never the whole event."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import orjson
import pytest

from eventlog.core.keys import ENVELOPE, TRUNCATED_MARK
from eventlog.read import history
from eventlog.signals import event_signal
from eventlog.write.values import render
from tests.helpers import ROOT, assert_envelope, child_env, raw_lines, read

LONE = json.loads('"m\\ud800"')  # what json.loads gives for a lone surrogate escape


@pytest.mark.slow
def test_a_login_name_that_is_not_utf8_still_logs(tmp_path, eventlog_dir):
    """USER=$'\\xff' (as the OS hands it over: bytes that are not UTF-8):
    the saves are logged, with the name repaired, and nothing is reported
    as failed."""
    env = child_env(eventlog_dir, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    bad = os.fsdecode(b"\xff")  # subprocess encodes it back to the raw byte
    env.update(USER=bad, LOGNAME=bad)
    run = [sys.executable, "manage.py"]
    subprocess.run([*run, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    script = (
        "import datetime\n"
        "from speedy.models import Employees\n"
        "Employees.objects.create(first_name='d', last_name='o', age=30,"
        " date_of_birth=datetime.date(1990, 1, 1))\n"
        "import logging; logging.getLogger('speedy').warning('hello')\n"
    )
    done = subprocess.run(
        [*run, "shell", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "could not log" not in done.stderr
    lines = read(eventlog_dir)
    assert [x["event"] for x in lines if x["event"] == "eventlog.error"] == []
    created = next(x for x in lines if x["event"] == "model.created")
    assert_envelope(created)
    assert created["os_user"] == "\ufffd"
    assert created["actor"] == "CLI"
    records = read(eventlog_dir, "django.jsonl")
    assert any(r.get("message") == "hello" and r["os_user"] == "\ufffd" for r in records)


def test_a_lone_surrogate_costs_that_value_only(eventlog_dir, capsys):
    """A lone surrogate in one value is replaced by U+FFFD in that value; the
    event and its other values are written."""
    event_signal.send(sender="t", message="kept", bad=LONE, nested={"ok": 1, "k": [LONE]})
    (line,) = read(eventlog_dir)
    assert line["event"] == "app.event"
    assert line["message"] == "kept"
    assert line["bad"] == "m\ufffd"
    assert line["nested"] == {"ok": 1, "k": ["m\ufffd"]}
    assert "could not log" not in capsys.readouterr().err


def test_a_lone_surrogate_in_a_key_is_repaired(eventlog_dir):
    event_signal.send(sender="t", message="kept", **{LONE: 1})
    (line,) = read(eventlog_dir)
    assert line["m\ufffd"] == 1
    assert line["message"] == "kept"


def test_a_lone_surrogate_in_a_log_record_keeps_the_record(eventlog_dir, capsys):
    """django.jsonl: the record is written, its bad extra repaired, no traceback."""
    logging.getLogger("speedy").warning("saw %s", "x", extra={"bad": LONE})
    (record,) = read(eventlog_dir, "django.jsonl")
    assert record["message"] == "saw x"
    assert record["bad"] == "m\ufffd"
    assert "Traceback" not in capsys.readouterr().err


def test_a_str_that_returns_a_surrogate_is_repaired(eventlog_dir):
    class Odd:
        def __str__(self) -> str:
            return LONE

    event_signal.send(sender="t", message="kept", odd=Odd())
    (line,) = read(eventlog_dir)
    assert line["odd"] == "m\ufffd"


def test_many_small_keys_keep_envelope_context_sender_and_message(eventlog_dir, settings):
    """3,000 small extra keys over the cap: the last keys are dropped into a
    count, the envelope, actor, ip, sender and message stay."""
    settings.EVENTLOG_MAX_LINE_BYTES = 16_384
    extras = {f"k{i:04}": i for i in range(3000)}
    event_signal.send(sender="t", message="hello", **extras)
    raw = raw_lines(eventlog_dir)  # validated against the JSON Schema
    assert len(raw[0]) <= 16_384
    (line,) = read(eventlog_dir)
    assert_envelope(line)
    assert (line["actor"], line["ip"], line["sender"], line["message"]) == (
        "CLI",
        "CLI",
        "t",
        "hello",
    )
    assert line["truncated"] is True
    kept = [k for k in line if k.startswith("k")]
    assert kept == [f"k{i:04}" for i in range(len(kept))]  # the last ones went
    assert line["truncated_keys"] == 3000 - len(kept)
    assert len(kept) > 100


@pytest.mark.django_db(transaction=True)
def test_an_update_from_huge_text_to_short_keeps_short(eventlog_dir, settings):
    """A change from 100 KB of text to "short" keeps "short"; the old value is
    cut with the marker; the line validates and history flags nothing wrong
    in the new value."""
    from tests.zoo.models import Memo

    e = Memo.objects.create(title="a", body="x" * 100_000)
    e.body = "short"
    e.save()
    lines = read(eventlog_dir)  # validated against the JSON Schema
    mine = [x for x in lines if x.get("model") == "zoo.memo"]
    created = next(x for x in mine if x["event"] == "model.created")
    updated = next(x for x in mine if x["event"] == "model.updated")
    assert isinstance(created["snapshot"], dict)
    assert created["snapshot"]["title"] == "a"
    assert TRUNCATED_MARK in created["snapshot"]["body"]
    assert created["snapshot"]["body"].startswith("xxxx")
    change = updated["changes"]["body"]
    assert change["new"] == "short"
    assert change["old"].startswith("xxxx")
    assert TRUNCATED_MARK in change["old"]
    state = history.replay(lines, "zoo.memo", str(e.pk))
    assert state.fields["body"] == "short"
    assert state.unfaithful() == {}
    state = history.replay(lines, "zoo.memo", str(e.pk), event_id=created["event_id"])
    assert state.unfaithful() == {"body": "truncated"}


def test_a_big_snapshot_keeps_every_key(eventlog_dir, settings):
    settings.EVENTLOG_MAX_LINE_BYTES = 4096
    snapshot = {"a": "a" * 10_000, "b": "b" * 3000, "c": "short", "d": None, "e": 5}
    event_signal.send(sender="t", message="m", snapshot=snapshot)
    (line,) = read(eventlog_dir)
    assert list(line["snapshot"]) == ["a", "b", "c", "d", "e"]
    assert line["snapshot"]["c"] == "short"
    assert (line["snapshot"]["d"], line["snapshot"]["e"]) == (None, 5)
    assert TRUNCATED_MARK in line["snapshot"]["a"]


CAP = 2048


def _fits(event: dict[str, object]) -> dict[str, object]:
    data = render(event, CAP)
    assert len(data) <= CAP
    out = orjson.loads(data)
    assert out["truncated"] is True
    for key in ENVELOPE & event.keys():
        assert out[key] == event[key]
    return out


ENV = {
    "timestamp": "2026-11-23T10:15:00.123456Z",
    "level": "info",
    "event": "x",
    "event_id": "0196a8f0-0000-7000-8000-000000000000",
    "schema_version": 1,
    "actor": "alice",
    "ip": "10.0.0.1",
}


def test_render_cuts_the_largest_leaves_evenly():
    out = _fits({**ENV, "a": "a" * 5000, "b": "b" * 5000, "c": "c" * 100})
    assert out["c"] == "c" * 100
    assert out["a"].startswith("aaa")
    assert TRUNCATED_MARK in out["a"]
    assert out["b"].startswith("bbb")
    assert TRUNCATED_MARK in out["b"]
    assert out["actor"] == "alice"


def test_render_marker_counts_the_bytes_cut():
    out = _fits({**ENV, "a": "é" * 5000})
    text = out["a"]
    kept, _, rest = text.partition(TRUNCATED_MARK)
    assert int(rest.split()[0]) == 10_000 - len(kept.encode())


def test_render_cuts_a_long_list_with_a_marker_element():
    out = _fits({**ENV, "ids": list(range(5000))})
    ids = out["ids"]
    assert ids[: len(ids) - 1] == list(range(len(ids) - 1))
    assert TRUNCATED_MARK in ids[-1]


def test_render_hostile_escapes_and_nesting():
    """Strings that grow when escaped, deep nesting, a huge key: still one
    object within the cap with the envelope."""
    _fits({**ENV, "ctl": "\x00" * 5000, "q": '"' * 5000})
    _fits({**ENV, "deep": {"a": {"b": {"c": ["x" * 9000, {"d": "y" * 9000}]}}}})
    out = _fits({**ENV, "k" * 9000: 1, "small": 2})
    assert out["actor"] == "alice"


def test_render_with_only_an_oversized_envelope_keeps_it():
    data = render({**ENV, "event": "e" * 5000, "x": "y" * 100}, CAP)
    out = orjson.loads(data)
    assert out["event"] == "e" * 5000
    assert out["truncated"] is True


def test_the_cli_context_is_valid_text_at_its_source(monkeypatch):
    """USER and argv bytes that are not UTF-8 are repaired once in the CLI
    context, not on every line."""
    from eventlog.write import context

    bad = os.fsdecode(b"b\xffd")
    monkeypatch.setenv("USER", bad)
    monkeypatch.setenv("LOGNAME", bad)
    monkeypatch.setattr(sys, "argv", ["manage.py", os.fsdecode(b"cmd\xfe")])
    context._cli.cache_clear()
    try:
        cli = context._cli()
    finally:
        context._cli.cache_clear()
    assert (cli["os_user"], cli["command"]) == ("b\ufffdd", "cmd\ufffd")


def test_history_takes_no_id_from_a_cut_list():
    out = _fits(
        {
            **ENV,
            "event": "model.m2m_added",
            "model": "a.b",
            "object_id": "1",
            "field": "tags",
            "related_model": "a.c",
            "related_ids": list(range(5000)),
        }
    )
    state = history.replay([out], "a.b", "1")
    ids = state.m2m["tags"]
    assert ids == [str(i) for i in range(len(ids))]


def test_thousands_of_small_changes_keep_the_changes_object(eventlog_dir):
    """A change of thousands of small non-string values (a JSON value's
    numbers) over the cap: ``changes`` stays an object of ``{old, new}``
    entries (the line validates), its last entries are counted in
    ``truncated_entries``, and history reports the state as not faithful
    instead of silently missing fields."""
    from eventlog.core.keys import ENVELOPE as _E
    from eventlog.write.pipeline import emit

    changes = {f"f{i}": {"old": i, "new": i + 1} for i in range(5000)}
    emit(
        "model.updated",
        {"model": "zoo.animal", "object_id": "1", "object_repr": "x", "changes": changes},
    )
    raw = raw_lines(eventlog_dir)  # validated against the JSON Schema
    assert len(raw[0]) <= 64 * 1024
    (line,) = read(eventlog_dir)
    assert set(_E) <= set(line)
    assert 100 < len(line["changes"]) < 5000
    assert all(set(v) == {"old", "new"} for v in line["changes"].values())
    assert line["truncated_entries"] == 5000 - len(line["changes"])
    state = history.ObjectState("zoo.animal", "1")
    history.apply(state, line)
    assert state.unfaithful()[history.CUT_ENTRIES] == "truncated"
