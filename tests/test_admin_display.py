"""eventlog.admin.display: events turned into the admin's cleaned text."""

from __future__ import annotations

from eventlog.admin import display


def test_text_is_one_cleaned_line_cut_at_width():
    assert display.text("plain") == "plain"
    assert display.text(None) == "null"
    assert display.text({"a": [1, 2]}) == '{"a":[1,2]}'
    assert display.text("a\u202eb\x1b[2J\n") == "a\\u202eb\\x1b[2J\\n"
    assert display.text("x" * 10, width=5) == "xxxx…"
    assert display.text("x" * 10, width=None) == "x" * 10


def test_pretty_keeps_every_key_in_line_order_and_cleans_values():
    shown = display.pretty({"b": 1, "a": "\x07", "hash": "ab"})
    assert shown.splitlines() == ["{", '  "b": 1,', '  "a": "\\u0007",', '  "hash": "ab"', "}"]


def test_changes_of_an_update_marks_masked_and_truncated_values():
    event = {
        "event": "model.updated",
        "changes": {
            "name": {"old": "Ann", "new": "<b>Bo</b>"},
            "password": {"old": "***", "new": "***"},
            "notes": {"old": "short", "new": "xx…[truncated 9000 bytes]"},
        },
    }
    rows = display.changes_of(event)
    assert [(r.field, r.old, r.new, r.masked, r.truncated) for r in rows] == [
        ("name", "Ann", "<b>Bo</b>", False, False),
        ("password", "***", "***", True, False),
        ("notes", "short", "xx…[truncated 9000 bytes]", False, True),
    ]


def test_changes_of_bulk_m2m_and_state_events():
    bulk = {"event": "model.bulk_updated", "changes": {"7": {"age": {"old": 1, "new": 2}}}}
    assert [(r.field, r.old, r.new) for r in display.changes_of(bulk, "7")] == [("age", "1", "2")]
    assert display.changes_of(bulk, "8") == []
    m2m = {"event": "model.m2m_added", "field": "tags", "related_ids": [3, 4]}
    assert [(r.field, r.old, r.new) for r in display.changes_of(m2m)] == [
        ("tags", None, "added [3,4]")
    ]
    state = {"event": "state.changed", "field": "current_state", "source": "a", "target": "b"}
    assert [(r.field, r.old, r.new) for r in display.changes_of(state)] == [
        ("current_state", "a", "b")
    ]


def test_snapshot_and_summary():
    created = {"event": "model.created", "snapshot": {"id": 1, "name": "Ann"}}
    assert [(r.field, r.new) for r in display.snapshot_of(created)] == [
        ("id", "1"),
        ("name", "Ann"),
    ]
    assert display.summary(created) == "snapshot: id, name"
    assert display.summary({"message": "hi\nthere"}) == "hi\\nthere"
    updated = {"event": "model.updated", "changes": {"age": {"old": 1, "new": 2}}}
    assert display.summary(updated) == "age: 1 → 2"
    assert display.summary({"event": "x"}) == ""
