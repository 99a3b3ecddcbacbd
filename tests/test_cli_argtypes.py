"""eventlog.cli.argtypes: option values checked with one-line messages."""

from __future__ import annotations

import pytest

from eventlog.cli import argtypes
from eventlog.cli.base import Failure


def failure(func, *args, **kwargs) -> str:
    with pytest.raises(Failure) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_time_parses_or_names_the_option():
    """A time as the readers compare it; an error names the option and the value."""
    assert argtypes.time("2026-11-23") == "2026-11-23T00:00:00.000000Z"
    assert failure(argtypes.time, "soon", "--as-of").startswith("--as-of: invalid time 'soon'")
    message = failure(argtypes.time, "x", "--to", " or an event id")
    assert message.startswith("--to: invalid time 'x'")
    assert message.endswith(" or an event id")
    assert failure(argtypes.time, "2026-02-30").startswith("invalid time '2026-02-30'")
    assert failure(argtypes.time, "\x1b[2J\nsecond line").startswith("invalid time ")


def test_event_filter_time_errors_are_the_reader_message():
    """--since/--until errors are the reader's one line, unprefixed."""
    assert argtypes.event_filter({"model": "A.B"}).model == "a.b"
    message = failure(argtypes.event_filter, {"since": "yesterday"})
    assert message.startswith("invalid time 'yesterday'")


@pytest.mark.parametrize(("given", "expected"), [(0, 0), (7, 7), ("12", 12), (" 3 ", 3)])
def test_count_accepts_whole_numbers(given, expected):
    assert argtypes.count(given) == expected


@pytest.mark.parametrize("given", [-1, "ten", True, 1.5, None])
def test_count_rejects_the_rest(given):
    assert failure(argtypes.count, given) == f"-n must be a whole number >= 0, not {given!r}"


def test_days():
    """--older-than: a number of days from 0 to MAX_DAYS; NaN, negatives and words fail."""
    assert argtypes.days("1.5") == 1.5
    assert argtypes.days(0) == 0.0
    for bad in ("-1", "nan", "x", None, str(argtypes.MAX_DAYS + 1)):
        assert "--older-than must be a number of days >= 0" in failure(argtypes.days, bad)


def test_log_names():
    """--file: events, django, or all where allowed."""
    assert argtypes.log_names(None, default="events", allow_all=False) == ("events.jsonl",)
    assert argtypes.log_names("all", default="all", allow_all=True) == (
        "events.jsonl",
        "django.jsonl",
    )
    assert failure(argtypes.log_names, "all", default="events", allow_all=False) == (
        "--file must be one of django, events, not 'all'"
    )
    assert failure(argtypes.log_names, "x", default="all", allow_all=True) == (
        "--file must be one of all, django, events, not 'x'"
    )


def test_object_ref():
    """LABEL PK: a lower-cased app_label.modelname and a non-empty pk."""
    assert argtypes.object_ref({"label": " Speedy.Employee ", "pk": 42}) == (
        "speedy.employee",
        "42",
    )
    assert failure(argtypes.object_ref, {"label": "employee", "pk": "1"}) == (
        "LABEL must be app_label.modelname, not 'employee'"
    )
    assert failure(argtypes.object_ref, {"label": "a.b", "pk": " "}) == "PK must not be empty"
