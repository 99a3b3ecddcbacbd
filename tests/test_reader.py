"""eventlog.reader: listing, streaming, parsing and filtering the log files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventlog.reader import (
    BadLineWarning,
    Filter,
    iter_events,
    iter_lines,
    last_events,
    log_files,
    parse_time,
)
from tests.helpers import make_line
from tests.helpers import write_log as write

R1 = "events.jsonl.2026-11-23T09-00-00.000000Z.gz"
R2 = "events.jsonl.2026-11-23T10-00-00.000000Z.gz"
R3 = "events.jsonl.2026-11-23T11-00-00.000000Z"


def ts(minute: int, hour: int = 10) -> str:
    """A canonical timestamp on 2026-11-23."""
    return f"2026-11-23T{hour:02d}:{minute:02d}:00.000000Z"


def spread(directory: Path) -> list[bytes]:
    """Two gzip rotated files, one plain rotated file and the live file; returns
    every line in age order."""
    lines = [make_line(ts(m, 8 + m // 10), seq=m, object_id=str(m)) for m in range(8)]
    write(directory / R1, *lines[0:2])
    write(directory / R2, *lines[2:4])
    write(directory / R3, *lines[4:6])
    write(directory / "events.jsonl", *lines[6:8])
    return lines


class Reports:
    """An ``on_bad_line`` callback that records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, int, str]] = []

    def __call__(self, path: Path, lineno: int, reason: str) -> None:
        self.calls.append((path, lineno, reason))


# -- log_files -----------------------------------------------------------------------


def test_log_files_lists_rotated_oldest_first_then_live(tmp_path):
    """Rotated files (gzip or not, with -N suffix) sort by age, the live file comes
    last, temporary files of a compression and other logs are left out."""
    names = [
        "events.jsonl.2026-11-23T10-15-00.123456Z-1.gz",
        "events.jsonl",
        "events.jsonl.2026-11-23T10-15-00.123456Z.gz",
        "events.jsonl.2026-11-23T11-00-00.000000Z",
        "events.jsonl.2026-11-23T11-00-00.000000Z.gz.123.140.tmp",
        "events.jsonl.2026-11-22T23-59-59.999999Z.gz",
        "django.jsonl",
        "django.jsonl.2026-11-23T10-15-00.123456Z.gz",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in log_files(tmp_path)] == [
        "events.jsonl.2026-11-22T23-59-59.999999Z.gz",
        "events.jsonl.2026-11-23T10-15-00.123456Z.gz",
        "events.jsonl.2026-11-23T10-15-00.123456Z-1.gz",
        "events.jsonl.2026-11-23T11-00-00.000000Z",
        "events.jsonl",
    ]
    assert [p.name for p in log_files(tmp_path, "django.jsonl")] == [
        "django.jsonl.2026-11-23T10-15-00.123456Z.gz",
        "django.jsonl",
    ]


def test_log_files_lists_a_file_caught_mid_compression_once(tmp_path):
    """Between writing X.gz and removing X both exist: X is listed once, as X.gz,
    and iter_events reads its lines once."""
    write(tmp_path / R3, make_line(ts(0)))
    write(tmp_path / (R3 + ".gz"), make_line(ts(0)))
    write(tmp_path / "events.jsonl", make_line(ts(1)))
    assert [p.name for p in log_files(tmp_path)] == [R3 + ".gz", "events.jsonl"]
    assert [raw for raw, _ in iter_events(tmp_path)] == [make_line(ts(0)), make_line(ts(1))]


def test_log_files_of_missing_directory_is_empty(tmp_path):
    """A directory that does not exist (nothing logged yet) has no files, no error."""
    assert log_files(tmp_path / "nope") == []


def test_log_files_without_live_file(tmp_path):
    """Right after a rotation there may be no live file: only rotated files are listed."""
    write(tmp_path / R1, make_line(ts(0)))
    assert [p.name for p in log_files(tmp_path)] == [R1]


# -- iter_lines ----------------------------------------------------------------------


def test_iter_lines_reads_plain_and_gzip_byte_for_byte(tmp_path):
    """Lines come back exactly as stored, newline included, from plain and gzip files."""
    lines = [make_line(ts(0), message='héllo "quoted" \\ \u2028'), make_line(ts(1))]
    plain = write(tmp_path / "events.jsonl", *lines)
    packed = write(tmp_path / R1, *lines)
    assert list(iter_lines(plain)) == lines
    assert list(iter_lines(packed)) == lines


def test_iter_lines_skips_torn_final_line_with_warning(tmp_path):
    """A final line without newline (crash, or being written) is skipped with a
    BadLineWarning naming the file and line, never an exception."""
    path = write(tmp_path / "events.jsonl", make_line(ts(0)), make_line(ts(1)), b'{"timest')
    with pytest.warns(BadLineWarning, match=r"events\.jsonl:3: incomplete final line"):
        assert list(iter_lines(path)) == [make_line(ts(0)), make_line(ts(1))]


def test_iter_lines_reports_torn_final_line_to_callback(tmp_path):
    """With on_bad_line the torn line goes to the callback instead of a warning."""
    path = write(tmp_path / R1, make_line(ts(0)), b'{"timestamp":"2026')
    reports = Reports()
    assert list(iter_lines(path, on_bad_line=reports)) == [make_line(ts(0))]
    assert reports.calls == [(path, 2, "incomplete final line (no newline): skipped")]


def test_iter_lines_of_missing_file_yields_nothing(tmp_path):
    """A file pruned since it was listed (or never written) reads as empty."""
    reports = Reports()
    assert list(iter_lines(tmp_path / "events.jsonl", on_bad_line=reports)) == []
    assert reports.calls == []


def test_iter_lines_follows_compression_after_listing(tmp_path):
    """A rotated file listed uncompressed but gzipped since is read from its .gz."""
    write(tmp_path / (R3 + ".gz"), make_line(ts(5)))
    assert list(iter_lines(tmp_path / R3)) == [make_line(ts(5))]


def test_iter_lines_reports_corrupt_gzip(tmp_path):
    """A damaged gzip file is reported through the callback, not raised."""
    path = tmp_path / R1
    path.write_bytes(b"this is not gzip data at all\n")
    reports = Reports()
    assert list(iter_lines(path, on_bad_line=reports)) == []
    assert len(reports.calls) == 1
    assert reports.calls[0][0] == path
    assert "cannot read" in reports.calls[0][2]


def test_iter_lines_reports_truncated_gzip_after_good_lines(tmp_path):
    """A gzip file cut short yields the whole lines before the cut, then one report."""
    path = write(tmp_path / R1, *(make_line(ts(m % 60), pad="x" * 500) for m in range(200)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    reports = Reports()
    got = list(iter_lines(path, on_bad_line=reports))
    assert len(got) < 200
    assert all(line.endswith(b"\n") for line in got)
    assert len(reports.calls) == 1
    assert "cannot read further" in reports.calls[0][2]


# -- iter_events ---------------------------------------------------------------------


def test_iter_events_orders_across_rotated_gzip_and_live(tmp_path):
    """Events come oldest first over gzip rotated, plain rotated and live files, each
    with its exact raw line and the parsed object."""
    lines = spread(tmp_path)
    got = list(iter_events(tmp_path))
    assert [raw for raw, _ in got] == lines
    assert [event["seq"] for _, event in got] == list(range(8))
    assert all(orjson.loads(raw) == event for raw, event in got)


def test_iter_events_of_missing_directory_yields_nothing(tmp_path):
    """No directory, no events and no reports."""
    reports = Reports()
    assert list(iter_events(tmp_path / "nope", on_bad_line=reports)) == []
    assert reports.calls == []


def test_iter_events_reads_the_named_log(tmp_path):
    """name= selects django.jsonl and its rotated files instead of events.jsonl."""
    spread(tmp_path)
    django = make_line(ts(0), "django.request", message="Not Found: /x", level="warning")
    write(tmp_path / "django.jsonl", django)
    assert [raw for raw, _ in iter_events(tmp_path, name="django.jsonl")] == [django]


def test_iter_events_reports_and_skips_bad_lines(tmp_path):
    """Non-JSON, non-object and invalid UTF-8 lines are reported with file and line
    number and skipped; the good lines around them still come through."""
    good = [make_line(ts(0)), make_line(ts(1)), make_line(ts(2))]
    path = write(
        tmp_path / "events.jsonl",
        good[0],
        b"not json\n",
        b"[1, 2]\n",
        good[1],
        b'{"timestamp":"\xff\xfe"}\n',
        b"\n",
        good[2],
    )
    reports = Reports()
    assert [raw for raw, _ in iter_events(tmp_path, on_bad_line=reports)] == good
    assert [(p, n) for p, n, _ in reports.calls] == [(path, 2), (path, 3), (path, 5), (path, 6)]
    assert "not valid JSON" in reports.calls[0][2]
    assert "not a JSON object" in reports.calls[1][2]


def test_iter_events_warns_without_callback(tmp_path):
    """Without on_bad_line, a bad line is a BadLineWarning."""
    write(tmp_path / "events.jsonl", b"garbage\n", make_line(ts(0)))
    with pytest.warns(BadLineWarning, match=r"events\.jsonl:1: not valid JSON"):
        assert len(list(iter_events(tmp_path))) == 1


def test_iter_events_recovers_line_written_after_torn_write(tmp_path):
    """A crashed writer's fragment followed by the next whole line: the fragment is
    reported and the whole line is still read, byte for byte."""
    whole = make_line(ts(1), actor="bob", extra={"timestamp": "nested"})
    write(
        tmp_path / "events.jsonl",
        make_line(ts(0)),
        b'{"timestamp":"2026-11-23T10:00:30.000000Z","level":"info","ev' + whole,
    )
    reports = Reports()
    got = list(iter_events(tmp_path, on_bad_line=reports))
    assert [raw for raw, _ in got] == [make_line(ts(0)), whole]
    assert len(reports.calls) == 1
    assert "torn write" in reports.calls[0][2]
    filtered = list(iter_events(tmp_path, filter=Filter(since=ts(1)), on_bad_line=reports))
    assert [raw for raw, _ in filtered] == [whole]


def test_iter_events_skips_torn_final_line(tmp_path):
    """The live file's unfinished last line is reported and skipped."""
    lines = spread(tmp_path)
    with (tmp_path / "events.jsonl").open("ab") as f:
        f.write(make_line(ts(59))[:40])
    reports = Reports()
    assert [raw for raw, _ in iter_events(tmp_path, on_bad_line=reports)] == lines
    assert reports.calls == [
        (tmp_path / "events.jsonl", 3, "incomplete final line (no newline): skipped")
    ]


def test_iter_events_follows_a_rotation_during_the_read(tmp_path):
    """When the live file is rotated while older files are being read, the newly
    rotated file is read before the new live file: no line is lost or repeated."""
    first = make_line(ts(0), seq=1)
    old_live = [make_line(ts(1), seq=2), make_line(ts(2), seq=3)]
    new_live = make_line(ts(3), seq=4)
    write(tmp_path / R1, first)
    write(tmp_path / "events.jsonl", *old_live)
    events = iter_events(tmp_path)
    assert next(events)[0] == first
    (tmp_path / "events.jsonl").rename(tmp_path / R3)
    write(tmp_path / "events.jsonl", new_live)
    assert [raw for raw, _ in events] == [*old_live, new_live]


def test_iter_events_since_skips_files_rotated_before(tmp_path):
    """With since, rotated files whose name says they were rotated before it are not
    opened (a corrupt one produces no report); later files are read."""
    (tmp_path / R1).write_bytes(b"corrupt, never opened")
    write(tmp_path / R2, make_line(ts(59, 9)), make_line(ts(30, 9)))
    write(tmp_path / "events.jsonl", make_line(ts(5, 10)))
    reports = Reports()
    got = list(iter_events(tmp_path, filter=Filter(since=ts(45, 9)), on_bad_line=reports))
    assert [event["timestamp"] for _, event in got] == [ts(59, 9), ts(5, 10)]
    assert reports.calls == []


def test_iter_events_filters(tmp_path):
    """A filter keeps only matching events (details of matching in the Filter tests)."""
    write(
        tmp_path / "events.jsonl",
        make_line(ts(0), model="speedy.employee", object_id="1"),
        make_line(ts(1), model="speedy.employee", object_id="2"),
        make_line(ts(2), model="speedy.shift", object_id="1"),
    )
    got = list(iter_events(tmp_path, filter=Filter(model="speedy.Employee", object_id="1")))
    assert [event["timestamp"] for _, event in got] == [ts(0)]


# -- last_events ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8, 100])
def test_last_events_takes_the_last_n_oldest_first(tmp_path, n):
    """The last n events across all files, in the same order as iter_events."""
    lines = spread(tmp_path)
    got = last_events(tmp_path, n)
    assert [raw for raw, _ in got] == (lines[-n:] if n else [])


def test_last_events_does_not_open_older_files_than_needed(tmp_path):
    """When the newer files hold n matches, older (here corrupt) files are not read."""
    (tmp_path / R1).write_bytes(b"corrupt, never opened")
    write(tmp_path / R3, make_line(ts(0)), make_line(ts(1)))
    write(tmp_path / "events.jsonl", make_line(ts(2)))
    reports = Reports()
    got = last_events(tmp_path, 3, on_bad_line=reports)
    assert [event["timestamp"] for _, event in got] == [ts(0), ts(1), ts(2)]
    assert reports.calls == []
    last_events(tmp_path, 4, on_bad_line=reports)
    assert [p.name for p, _, _ in reports.calls] == [R1]


def test_last_events_applies_the_filter(tmp_path):
    """Only matching events count towards n."""
    lines = spread(tmp_path)
    got = last_events(tmp_path, 2, filter=Filter(object_id="3"))
    assert [raw for raw, _ in got] == [lines[3]]


# -- parse_time ----------------------------------------------------------------------

NOW = datetime(2026, 11, 23, 10, 15, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T10:15:00.123456Z", "2026-11-23T10:15:00.123456Z"),
        ("2026-11-23T10:15:00Z", "2026-11-23T10:15:00.000000Z"),
        ("2026-11-23t10:15:00.5z", "2026-11-23T10:15:00.500000Z"),
        ("2026-11-23T10:15:00.123456789Z", "2026-11-23T10:15:00.123456Z"),
        ("2026-11-23T11:15:00+01:00", "2026-11-23T10:15:00.000000Z"),
        ("2026-11-23T05:45:00.25-04:30", "2026-11-23T10:15:00.250000Z"),
        ("2026-11-23T01:00:00+0200", "2026-11-22T23:00:00.000000Z"),
        ("2026-11-23 10:15:00Z", "2026-11-23T10:15:00.000000Z"),
        ("2026-11-23T10:15", "2026-11-23T10:15:00.000000Z"),
        ("2026-11-23T10:15:00", "2026-11-23T10:15:00.000000Z"),
        ("2026-11-23", "2026-11-23T00:00:00.000000Z"),
        ("  2026-11-23  ", "2026-11-23T00:00:00.000000Z"),
        ("0999-01-02", "0999-01-02T00:00:00.000000Z"),
    ],
)
def test_parse_time_absolute(text, expected):
    """RFC 3339 forms (Z, offsets, fractions, bare dates) become canonical UTC."""
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("30s", timedelta(seconds=30)),
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("0s", timedelta(0)),
        ("now", timedelta(0)),
    ],
)
def test_parse_time_relative(text, ago):
    """Relative forms mean that long before now."""
    expected = NOW - ago
    assert parse_time(text, now=NOW) == expected.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_parse_time_relative_defaults_to_current_time():
    """Without now=, relative times count back from the current time."""
    before = datetime.now(UTC) - timedelta(hours=2)
    got = parse_time("2h")
    after = datetime.now(UTC) - timedelta(hours=2)
    assert before.strftime("%Y-%m-%dT%H:%M:%S.%fZ") <= got
    assert got <= after.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_parse_time_relative_to_naive_or_offset_now():
    """A naive now= is taken as UTC; an aware one in another zone is converted."""
    naive = datetime(2026, 11, 23, 10, 15)
    assert parse_time("15m", now=naive) == "2026-11-23T10:00:00.000000Z"
    plus_one = datetime(2026, 11, 23, 11, 15, tzinfo=timezone(timedelta(hours=1)))
    assert parse_time("15m", now=plus_one) == "2026-11-23T10:00:00.000000Z"


def test_parse_time_result_is_idempotent():
    """A canonical string parses to itself, so results can be passed around freely."""
    once = parse_time("2026-11-23T11:15:00.5+01:00")
    assert parse_time(once) == once


@pytest.mark.parametrize(
    "text",
    [
        "nonsense",
        "",
        "10",
        "10 m",
        "-5m",
        "5M",
        "2026-13-01",
        "2026-11-31",
        "2026-11-23T25:00:00Z",
        "2026-11-23T10:15:00+25:00",
        "23/11/2026",
        "2026-11-23T10:15:00Zjunk",
        "99999999999999w",
        "0001-01-01T00:00:00+01:00",
        "line\nbreak",
    ],
)
def test_parse_time_rejects_bad_input_with_one_line_message(text):
    """Anything else is a ValueError whose message is one line naming the input."""
    with pytest.raises(ValueError, match=r"^invalid time ") as info:
        parse_time(text, now=NOW)
    assert "\n" not in str(info.value)


# -- Filter --------------------------------------------------------------------------


def check(flt: Filter, event: dict[str, Any]) -> bool:
    """flt.matches on the event, asserting that the byte prefilter agrees where it must."""
    line = make_line(event.pop("timestamp", ts(0)), **event)
    parsed = orjson.loads(line)
    result = flt.matches(parsed)
    if result:
        assert flt.might_match(line), (flt, line)
    return result


def test_filter_without_criteria_matches_everything():
    """An empty filter keeps every event."""
    assert check(Filter(), {"event": "anything"})


@pytest.mark.parametrize(
    ("glob", "event", "expected"),
    [
        ("model.updated", "model.updated", True),
        ("model.updated", "model.updated_later", False),
        ("model.*", "model.m2m_added", True),
        ("model.*", "state.changed", False),
        ("*.changed", "state.changed", True),
        ("shift?.wiped", "shifts.wiped", True),
        ("[ms]*", "state.changed", True),
        ("Model.*", "model.updated", False),
    ],
)
def test_filter_event_glob(glob, event, expected):
    """--event is a case-sensitive fnmatch glob on the event name."""
    assert check(Filter(event=glob), {"event": event}) is expected


def test_filter_model_is_case_insensitive_and_exact():
    """--model compares lower-cased labels exactly (related_model does not count)."""
    flt = Filter(model="Speedy.Employee")
    assert flt.model == "speedy.employee"
    assert check(flt, {"model": "speedy.employee"})
    assert not check(flt, {"model": "speedy.employeeshift"})
    assert not check(flt, {"model": "speedy.shift", "related_model": "speedy.employee"})


def test_filter_object_id_top_level_instance_and_bulk():
    """--object-id matches object_id, instance.object_id (app.event) and object_ids
    entries (bulk events), as strings; integers in the file match their digits."""
    flt = Filter(object_id="42")
    assert check(flt, {"model": "speedy.employee", "object_id": "42"})
    assert check(flt, {"object_id": 42})
    assert check(flt, {"event": "app.event", "instance": {"model": "a.b", "object_id": "42"}})
    assert check(flt, {"event": "model.bulk_updated", "object_ids": ["41", "42"]})
    assert check(flt, {"event": "model.bulk_updated", "object_ids": [41, 42]})
    assert not check(flt, {"object_id": "421"})
    assert not check(flt, {"object_id": "4"})
    assert not check(flt, {"object_ids": ["421"]})
    assert not check(flt, {"object_id": True, "seq": 42})
    assert not check(flt, {"shift_id": "42"})
    assert Filter(object_id=42).object_id == "42"  # type: ignore[arg-type]


def test_filter_model_and_object_id_through_instance():
    """app.event lines carry the object under instance: model and id both match there."""
    flt = Filter(model="speedy.employee", object_id="7")
    event = {"event": "app.event", "instance": {"model": "speedy.employee", "object_id": "7"}}
    assert check(flt, event)
    assert not check(flt, {"instance": {"model": "speedy.shift", "object_id": "7"}})


def test_filter_actor():
    """--actor is the exact username (or CLI / system)."""
    flt = Filter(actor="bob")
    assert check(flt, {"actor": "bob"})
    assert not check(flt, {"actor": "bobby"})
    assert not check(flt, {"os_user": "bob"})
    assert check(Filter(actor='o"brien\\x'), {"actor": 'o"brien\\x'})


def test_filter_since_inclusive_until_exclusive():
    """since keeps events at or after it, until those strictly before it."""
    flt = Filter(since=ts(10), until=ts(20))
    assert not check(flt, {"timestamp": "2026-11-23T10:09:59.999999Z"})
    assert check(flt, {"timestamp": ts(10)})
    assert check(flt, {"timestamp": "2026-11-23T10:19:59.999999Z"})
    assert not check(flt, {"timestamp": ts(20)})
    assert not flt.matches({"event": "no timestamp"})


def test_filter_normalizes_times_and_rejects_bad_ones():
    """since/until accept what parse_time accepts and are stored canonical."""
    assert Filter(since="2026-11-23").since == "2026-11-23T00:00:00.000000Z"
    assert Filter(until="2026-11-23T11:00:00+01:00").until == ts(0)
    with pytest.raises(ValueError, match="invalid time"):
        Filter(since="yesterday")


def test_filter_prefilter_rejects_without_parsing():
    """might_match rules out lines that lack the compact "key":value forms."""
    line = make_line(ts(0), model="speedy.employee", object_id="42", actor="bob")
    assert Filter(model="speedy.employee", object_id="42", actor="bob").might_match(line)
    assert not Filter(model="speedy.shift").might_match(line)
    assert not Filter(object_id="43").might_match(line)
    assert not Filter(actor="alice").might_match(line)
    assert not Filter(event="state.*").might_match(line)
    assert not Filter(since=ts(1)).might_match(line)
    assert not Filter(until=ts(0)).might_match(line)


def test_filter_all_criteria_together():
    """Every set criterion must hold."""
    flt = Filter(event="model.*", model="speedy.employee", object_id="1", actor="bob")
    base = {"event": "model.updated", "model": "speedy.employee", "object_id": "1"}
    assert check(flt, {**base, "actor": "bob"})
    assert not check(flt, {**base, "actor": "eve"})
    assert not check(flt, {**base, "actor": "bob", "event": "state.changed"})


_names = st.sampled_from(["model.updated", "model.created", "app.event", "state.changed"])
_models = st.sampled_from(["speedy.employee", "speedy.shift", "auth.user"])
_ids = st.one_of(st.sampled_from(["1", "42", "042", "4 2", 'x"y', "é"]), st.integers(0, 50))
_text = st.text(max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    event=st.fixed_dictionaries(
        {"event": _names},
        optional={
            "timestamp": st.sampled_from([ts(0), ts(5), ts(10)]),
            "model": _models,
            "object_id": _ids,
            "actor": _text,
            "instance": st.fixed_dictionaries({}, optional={"model": _models, "object_id": _ids}),
            "object_ids": st.lists(_ids, max_size=3),
            "message": _text,
        },
    ),
    criteria=st.fixed_dictionaries(
        {},
        optional={
            "event": st.sampled_from(["model.*", "app.event", "*", "*.changed", "[as]*"]),
            "model": _models.map(str.upper),
            "object_id": _ids.map(str),
            "actor": _text,
            "since": st.sampled_from([ts(0), ts(5)]),
            "until": st.sampled_from([ts(5), ts(11)]),
        },
    ),
)
def test_filter_prefilter_never_drops_a_match(event, criteria):
    """Property: whenever matches() accepts a line's event, might_match() accepts the
    raw line, whatever the values (quotes, unicode, integer ids, nesting)."""
    flt = Filter(**criteria)
    line = make_line(event.pop("timestamp", ts(0)), **event)
    if flt.matches(orjson.loads(line)):
        assert flt.might_match(line)
