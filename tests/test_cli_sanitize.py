"""eventlog.core.sanitize, and that no control or bidi character of the log
reaches the terminal through any human-readable output."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from eventlog.cli.badlines import BadLines
from eventlog.cli.pretty import describe_state, format_event, format_history_event, value
from eventlog.core.sanitize import UNSAFE, clean, one_line
from eventlog.reader import ObjectState
from tests.helpers import make_line

C0 = [chr(c) for c in range(0x00, 0x20)]
C1 = [chr(c) for c in range(0x80, 0xA0)]
BIDI = [
    *(chr(c) for c in range(0x202A, 0x202F)),  # LRE, RLE, PDF, LRO, RLO
    *(chr(c) for c in range(0x2066, 0x206A)),  # LRI, RLI, FSI, PDI
    "\u200e",  # LRM
    "\u200f",  # RLM
    "\u061c",  # ALM
]
EVERY_UNSAFE = [*C0, "\x7f", *C1, *BIDI]
NASTY = "a" + "".join(EVERY_UNSAFE) + "\x1b[2J\x1b]0;pwned\x07z"


def assert_safe(text: str) -> None:
    """No unsafe character in ``text`` but the newlines between its lines."""
    text = text.replace("\n", "")
    found = sorted({f"U+{ord(c):04X}" for c in text if c in UNSAFE})
    assert not found, f"unsafe characters in output: {found}"


@pytest.mark.parametrize("char", EVERY_UNSAFE, ids=lambda c: f"U+{ord(c):04X}")
def test_every_control_and_bidi_character_is_escaped(char):
    """Each C0 and C1 control, DEL and every bidi mark, embedding, override and
    isolate becomes a visible escape, as Python writes it."""
    assert char in UNSAFE
    cleaned = clean(f"x{char}y")
    assert cleaned == "x" + ascii(char)[1:-1] + "y"
    assert_safe(cleaned)


def test_the_unsafe_set_is_exactly_those():
    """Nothing more is escaped: the set is the C0/C1 controls, DEL and the bidi characters."""
    assert set(EVERY_UNSAFE) == UNSAFE


@pytest.mark.parametrize("text", ["plain", "é 😀 → … ⏎", "\u2028 line separator", "tab\\t"])
def test_safe_text_is_unchanged(text):
    """Printable text, non-ASCII included, passes as is (and a literal backslash too)."""
    assert clean(text) == text


def test_clean_is_idempotent_and_one_line_takes_the_first_line():
    """Cleaning twice is cleaning once; an error message is its first non-empty line, cleaned."""
    assert clean(clean(NASTY)) == clean(NASTY)
    assert one_line("\n  first \x1b[31m\nsecond") == "first \\x1b[31m"
    assert one_line("") == ""


def nasty_event(event: str = "model.updated") -> dict[str, object]:
    """An event with unsafe characters in every value and key the pretty forms show."""
    return {
        "timestamp": NASTY,
        "level": NASTY,
        "event": event,
        "model": NASTY,
        "object_id": NASTY,
        "object_repr": NASTY,
        "actor": NASTY,
        "reason": NASTY,
        "request_id": NASTY,
        "message": NASTY,
        NASTY: NASTY,
        "field": NASTY,
        "related_model": NASTY,
        "related_ids": [NASTY],
        "source": NASTY,
        "target": NASTY,
        "transition": NASTY,
        "changes": {NASTY: {"old": NASTY, "new": NASTY}, "nested": {NASTY: NASTY}},
        "snapshot": {NASTY: NASTY},
        "exc_info": NASTY,
        "stack_info": NASTY,
    }


@pytest.mark.parametrize(
    "name",
    [
        "app.event",
        "model.updated",
        "model.created",
        "model.bulk_updated",
        "model.m2m_added",
        "model.m2m_cleared",
        "state.changed",
    ],
)
def test_pretty_forms_never_pass_an_unsafe_character(name):
    """tail's and history's forms escape what any key or value holds."""
    event = nasty_event(name)
    assert_safe(format_event(event))
    assert_safe(format_history_event(event, NASTY))
    assert_safe(value(NASTY))
    assert "\\x1b[2J" in format_event(event)


def test_colour_is_applied_after_cleaning():
    """The only escape sequences of coloured output are the colour's own, around the level."""

    def colorize(level: str, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m"

    line = format_event(nasty_event(), colorize=colorize).splitlines()[0]
    assert line.count("\x1b") == 2
    assert_safe(line.replace("\x1b[1m", "").replace("\x1b[0m", ""))
    history = format_history_event(nasty_event(), "1", colorize=colorize).splitlines()[0]
    assert history.count("\x1b") == 2


def test_a_rebuilt_state_and_bad_line_reports_are_cleaned():
    """history --as-of and the skipped-line reports on stderr escape too."""
    state = ObjectState(model=NASTY, object_id=NASTY)
    state.events = 1
    state.complete = True
    state.last = nasty_event()
    state.fields = {NASTY: NASTY, NASTY + "2": "***"}
    state.m2m = {NASTY: [NASTY]}
    for line in describe_state(state, NASTY):
        assert_safe(line)
    written: list[str] = []
    BadLines(written.append)(Path(NASTY), 3, NASTY)
    assert written
    assert_safe(written[0])


def test_tail_pretty_and_stats_on_a_hostile_log(tmp_path: Path, settings):
    """End to end: a log line holding escape sequences and bidi overrides is
    shown escaped by tail --pretty, history and stats; tail --json passes it
    byte for byte."""
    settings.EVENTLOG_DIR = str(tmp_path)
    line = make_line(
        "2026-11-23T10:00:00.000000Z",
        "model.updated\x1b[2J\u202e",
        model="speedy.employee",
        object_id="1",
        actor="bob\x9b\u2066",
        message=NASTY,
        changes={"name": {"old": "\x7f", "new": "\u202e"}},
    )
    (tmp_path / "events.jsonl").write_bytes(line)
    for args in (["tail", "--pretty"], ["history", "speedy.employee", "1"], ["stats"]):
        out, err = io.StringIO(), io.StringIO()
        call_command("eventlog", *args, stdout=out, stderr=err)
        assert out.getvalue()
        assert_safe(out.getvalue())
        assert_safe(err.getvalue())
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    call_command("eventlog", "tail", "--json", stdout=out)
    out.flush()
    assert raw.getvalue() == line
