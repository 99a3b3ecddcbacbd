"""``manage.py eventlog tail``: selection, output forms and argument errors."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eventlog.cli.pretty import format_event
from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from tests.helpers import make_line, write_log

ROOT = Path(__file__).resolve().parent.parent
ROTATED = "events.jsonl.2026-11-23T10-04-30.000000Z.gz"
ROTATED_PLAIN = "events.jsonl.2026-11-23T10-09-30.000000Z"


def ts(minute: int, hour: int = 10) -> str:
    """A canonical timestamp on 2026-11-23."""
    return f"2026-11-23T{hour:02d}:{minute:02d}:00.000000Z"


@pytest.fixture
def logdir(tmp_path: Path, settings: Any) -> Path:
    """An EVENTLOG_DIR of the test's own."""
    directory = tmp_path / "eventlog"
    directory.mkdir()
    settings.EVENTLOG_DIR = str(directory)
    return directory


@pytest.fixture
def history(logdir) -> list[bytes]:
    """Fifteen events over a gzip rotated file, a plain rotated file and the live file."""
    lines = [
        make_line(
            ts(m),
            "model.updated" if m % 3 else "state.changed",
            actor="bob" if m % 2 else "alice",
            model="speedy.employee" if m % 5 else "speedy.shift",
            object_id=str(m % 4),
            n=m,
        )
        for m in range(15)
    ]
    write_log(logdir / ROTATED, *lines[:5])
    write_log(logdir / ROTATED_PLAIN, *lines[5:10])
    write_log(logdir / "events.jsonl", *lines[10:])
    return lines


class Terminal(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def tail(*args: str, stdout: io.StringIO | None = None, **options: Any) -> tuple[str, str]:
    """Run ``eventlog tail`` in-process; return (stdout, stderr)."""
    out = stdout if stdout is not None else io.StringIO()
    err = io.StringIO()
    call_command("eventlog", "tail", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def numbers(output: str) -> list[int]:
    """The ``n`` of each raw JSON line printed."""
    return [orjson.loads(line)["n"] for line in output.splitlines()]


# -- selection -----------------------------------------------------------------------


def test_tail_prints_last_ten_raw_lines_oldest_first(history):
    """By default the last 10 events across rotated (gzip and plain) and live files,
    oldest first, as the raw lines since the output is not a terminal."""
    out, err = tail()
    assert out == b"".join(history[-10:]).decode()
    assert err == ""


@pytest.mark.parametrize("n", [0, 1, 4, 5, 6, 15, 50])
def test_tail_n(history, n):
    """-n N prints the last N (all when fewer; nothing for 0)."""
    out, _ = tail("-n", str(n))
    assert numbers(out) == list(range(15))[-n:] if n else out == ""


def test_tail_n_as_keyword(history):
    """call_command(..., n=3) works like -n 3."""
    out, _ = tail(n=3)
    assert numbers(out) == [12, 13, 14]


def test_tail_json_is_byte_exact(logdir):
    """--json prints the stored lines unchanged: escapes, non-ASCII and key order."""
    lines = [
        make_line(ts(0), message='quote " backslash \\ tab \t é 日本 \u2028 😀'),
        make_line(ts(1), changes={"name": {"old": None, "new": "Ünïcode"}}, z=1, a=2),
    ]
    write_log(logdir / ROTATED, lines[0])
    write_log(logdir / "events.jsonl", lines[1])
    out, _ = tail("--json", stdout=Terminal())
    assert out.encode() == b"".join(lines)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--event", "state.*"], [0, 3, 6, 9, 12]),
        (["--event", "model.updated", "-n", "3"], [11, 13, 14]),
        (["--model", "Speedy.Shift"], [0, 5, 10]),
        (["--object-id", "2"], [2, 6, 10, 14]),
        (["--actor", "alice", "-n", "100"], [0, 2, 4, 6, 8, 10, 12, 14]),
        (["--since", "2026-11-23T10:12:00Z"], [12, 13, 14]),
        (["--until", "2026-11-23T10:02:00Z"], [0, 1]),
        (["--since", ts(4), "--until", "2026-11-23T11:06:00+01:00"], [4, 5]),
        (["--model", "speedy.employee", "--actor", "bob", "--object-id", "1"], [1, 9, 13]),
        (["--since", "2026-11-24"], []),
    ],
)
def test_tail_filters(history, args, expected):
    """Each filter option selects the matching events; several must all hold."""
    out, _ = tail(*args)
    assert numbers(out) == expected


def test_tail_filters_as_keywords(history):
    """Filters given as call_command keywords behave like the options."""
    out, _ = tail(object_id="2", actor="alice", since=ts(3))
    assert numbers(out) == [6, 10, 14]


def test_tail_since_relative_time(logdir):
    """--since 10m keeps events of the last ten minutes."""
    now = datetime.now(UTC)
    stamps = [(now - timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%S.%fZ") for m in (30, 5, 1)]
    write_log(logdir / "events.jsonl", *(make_line(s, n=i) for i, s in enumerate(stamps)))
    out, _ = tail("--since", "10m")
    assert numbers(out) == [1, 2]
    out, _ = tail("--until", "2m")
    assert numbers(out) == [0, 1]


def test_tail_reads_django_jsonl(logdir):
    """--file django reads django.jsonl instead of events.jsonl."""
    write_log(logdir / "events.jsonl", make_line(ts(0), n=0))
    record = make_line(ts(1), "django.request", level="warning", message="Not Found: /x")
    write_log(logdir / "django.jsonl", record)
    out, _ = tail("--file", "django")
    assert out == record.decode()


def test_tail_skips_torn_final_line_and_reports_bad_lines(logdir):
    """Bad lines are skipped with a warning on stderr naming file and line; the torn
    final line of the live file too; the command still succeeds."""
    write_log(
        logdir / "events.jsonl",
        make_line(ts(0), n=0),
        b"not json\n",
        make_line(ts(1), n=1),
        make_line(ts(2), n=2)[:50],
    )
    out, err = tail()
    assert numbers(out) == [0, 1]
    path = logdir / "events.jsonl"
    assert f"{path}:2: not valid JSON" in err
    assert f"{path}:4: incomplete final line" in err


def test_tail_limits_bad_line_reports(logdir):
    """Past ten bad lines, stderr gets a count instead of one line each."""
    write_log(logdir / "events.jsonl", *([b"junk\n"] * 25), make_line(ts(0), n=0))
    out, err = tail()
    assert numbers(out) == [0]
    assert err.count("not valid JSON") == 10
    assert "15 more bad line(s) not shown" in err


def test_tail_unreadable_file_is_an_error_after_output(logdir):
    """A log file that cannot be opened is reported and makes the command fail,
    after printing what could be read."""
    (logdir / "events.jsonl.2026-11-23T09-00-00.000000Z").mkdir()
    write_log(logdir / "events.jsonl", make_line(ts(0), n=0))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"1 log file\(s\) could not be read"):
        call_command("eventlog", "tail", stdout=out, stderr=err)
    assert numbers(out.getvalue()) == [0]
    assert "cannot open" in err.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["history", "speedy.employees", "1"],
        ["history", "speedy.employees", "1", "--as-of", "2030-01-01"],
        ["stats"],
        ["stats", "--json"],
    ],
    ids=" ".join,
)
def test_other_readers_fail_after_output_on_an_unreadable_file(logdir, args):
    """As tail: "no events about X" or a table of counts is not the whole
    truth when a file could not be read, so the command fails after printing."""
    (logdir / "events.jsonl.2026-11-23T09-00-00.000000Z").mkdir()
    write_log(logdir / "events.jsonl", make_line(ts(0), n=0))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"^1 log file\(s\) could not be read, see above$"):
        call_command("eventlog", *args, stdout=out, stderr=err)
    assert out.getvalue()
    assert "cannot open" in err.getvalue()


def test_tail_missing_directory_prints_nothing(tmp_path, settings):
    """An EVENTLOG_DIR that does not exist yet means no events, not an error."""
    settings.EVENTLOG_DIR = str(tmp_path / "not-there")
    assert tail() == ("", "")


def test_tail_reads_what_the_pipeline_wrote(logdir, settings):
    """End to end: events logged through the real pipeline, rotated and gzipped by
    the sink, come back complete, in order and byte for byte."""
    settings.EVENTLOG_MAX_BYTES = 4000
    settings.EVENTLOG_BACKUP_COUNT = 100
    for n in range(40):
        event_signal.send(sender="tests", n=n, pad="p" * 100)
    _pipeline.flush()
    assert any(p.name.endswith(".gz") for p in logdir.iterdir())
    expected = b""
    for path in sorted(logdir.glob("events.jsonl.*"), key=lambda p: p.name.removesuffix(".gz")):
        expected += (
            gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        )
    expected += (logdir / "events.jsonl").read_bytes()
    out, err = tail("-n", "1000")
    assert out.encode() == expected
    assert numbers(out) == list(range(40))
    assert err == ""
    out, _ = tail("--event", "app.*", "--since", "1m", "-n", "2")
    assert numbers(out) == [38, 39]


# -- pretty form ---------------------------------------------------------------------


def test_tail_pretty_output(logdir):
    """--pretty prints the human form: time, level, event, object, actor, message and
    changes as field: old → new."""
    write_log(
        logdir / "events.jsonl",
        make_line(
            "2026-11-23T10:15:00.123456Z",
            actor="bob",
            model="speedy.employee",
            object_id="42",
            object_repr="Bob Smith",
            changes={"name": {"old": "Bob", "new": "Robert"}, "rate": {"old": 10, "new": None}},
            request_id="r1",
        ),
    )
    out, _ = tail("--pretty")
    assert out == (
        '2026-11-23 10:15:00.123 INFO  model.updated  speedy.employee#42 "Bob Smith"  actor=bob\n'
        '    name: "Bob" → "Robert"\n'
        "    rate: 10 → null\n"
    )


def test_tail_is_pretty_on_a_terminal(history):
    """Without --json, a terminal gets the pretty form; --json forces raw lines."""
    out, _ = tail("-n", "1", stdout=Terminal())
    assert out.startswith("2026-11-23 10:14:00.000 INFO  model.updated  speedy.employee#2")
    out, _ = tail("-n", "1", "--json", stdout=Terminal())
    assert out == history[-1].decode()


def test_tail_colours_levels_only_on_a_terminal(logdir):
    """Level colours (ANSI) appear only when stdout is a terminal."""
    write_log(logdir / "events.jsonl", make_line(ts(0), level="error"))
    out, _ = tail("--pretty", stdout=Terminal(), force_color=True)
    assert "\x1b[" in out
    assert "ERROR" in out
    out, _ = tail("--pretty", force_color=True)
    assert "\x1b[" not in out


def test_tail_json_and_pretty_exclude_each_other(history):
    """--json with --pretty is an argument error."""
    with pytest.raises(CommandError, match="not allowed with argument"):
        tail("--json", "--pretty")
    with pytest.raises(CommandError, match="exclude each other"):
        tail(json=True, pretty=True)


def test_format_event_model_update():
    """The documented example: one head line, then one line per changed field."""
    event = {
        "timestamp": "2026-11-23T10:15:00.123456Z",
        "level": "info",
        "event": "model.updated",
        "actor": "bob",
        "model": "speedy.employee",
        "object_id": "42",
        "changes": {"name": {"old": "Bob", "new": "Robert"}},
        "reason": "typo",
        "stream": "s",
        "seq": 3,
        "hash": "h",
    }
    assert format_event(event) == (
        "2026-11-23 10:15:00.123 INFO  model.updated  speedy.employee#42  actor=bob  "
        'reason="typo"\n'
        '    name: "Bob" → "Robert"'
    )


def test_format_event_state_change_and_extras():
    """state.changed shows its transition as field: source → target; other keys
    appear as key=value."""
    event = {
        "timestamp": "2026-11-23T10:15:00.000000Z",
        "level": "warning",
        "event": "state.changed",
        "actor": "admin",
        "model": "speedy.account",
        "object_id": "7",
        "field": "state",
        "source": "active",
        "target": "locked",
        "transition": "lock",
    }
    assert format_event(event) == (
        "2026-11-23 10:15:00.000 WARNING state.changed  speedy.account#7  actor=admin  "
        'transition="lock"\n'
        '    state: "active" → "locked"'
    )


def test_format_event_target_without_source_is_an_ordinary_key():
    """Only source and target together make a transition line; a lone target key is
    shown as key=value like any other."""
    event = {"timestamp": ts(0), "level": "info", "event": "app.event", "target": "x"}
    assert format_event(event) == '2026-11-23 10:00:00.000 INFO  app.event  target="x"'


def test_format_event_app_event_instance_and_message():
    """app.event shows the instance as the object and the message text."""
    event = {
        "timestamp": "2026-11-23T10:15:00.000000Z",
        "level": "info",
        "event": "app.event",
        "sender": "speedy.views",
        "message": "exported\nthe roster",
        "instance": {"model": "speedy.shift", "object_id": "3", "repr": "Monday"},
        "count": 12,
    }
    assert format_event(event) == (
        '2026-11-23 10:15:00.000 INFO  app.event  speedy.shift#3 "Monday"  exported ⏎ the roster'
        '  sender="speedy.views" count=12'
    )


def test_format_event_nested_changes_long_values_and_exc_info():
    """Per-object changes nest, long values are cut with …, exc_info is shown below."""
    event = {
        "timestamp": "2026-11-23T10:15:00.000000Z",
        "level": "error",
        "event": "django.request",
        "message": "boom",
        "changes": {"5": {"name": {"old": "a", "new": "b"}}, "note": "x" * 200},
        "exc_info": "Traceback (most recent call last):\n  ValueError: boom",
    }
    lines = format_event(event).splitlines()
    assert lines[0] == "2026-11-23 10:15:00.000 ERROR django.request  boom"
    assert lines[1:3] == ["    5:", '      name: "a" → "b"']
    assert lines[3].startswith('    note: "xxx')
    assert lines[3].endswith("…")
    assert len(lines[3]) == 4 + len("note: ") + 80
    assert lines[4:] == ["    Traceback (most recent call last):", "      ValueError: boom"]


def test_format_event_colorize_and_odd_input():
    """colorize styles the level column; odd or missing values never raise."""
    colored = format_event(
        {"timestamp": "2026-11-23T10:15:00.000000Z", "level": "debug", "event": "x"},
        colorize=lambda level, text: f"<{level}>{text}</>",
    )
    assert colored == "2026-11-23 10:15:00.000 <debug>DEBUG</> x"
    assert format_event({}) == "None ?     ?"
    assert format_event({"timestamp": 5, "level": None, "event": 1, "bad": {1, 2}})


# -- argument errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (["--since", "nonsense"], {}, r"^invalid time 'nonsense': expected RFC 3339"),
        (["--until", "2026-02-30"], {}, r"^invalid time '2026-02-30': day is out of range"),
        ([], {"since": "yesterday"}, r"^invalid time 'yesterday'"),
        (["-n", "-1"], {}, r"^-n must be a whole number >= 0, not -1$"),
        ([], {"n": -5}, r"-n must be a whole number >= 0"),
        (["-n", "ten"], {}, r"^Error: argument -n/--lines: invalid int value: 'ten'$"),
        (["--file", "other"], {}, r"^Error: argument --file: invalid choice: 'other'"),
        (["--bogus"], {}, r"^Error: unrecognized arguments: --bogus$"),
    ],
)
def test_tail_bad_arguments_are_one_line_command_errors(logdir, args, options, message):
    """Bad values are a CommandError with a one-line message."""
    with pytest.raises(CommandError, match=message) as info:
        tail(*args, **options)
    assert "\n" not in str(info.value)


def test_unknown_or_missing_subcommand_is_a_command_error():
    """An unknown or missing subcommand is a one-line CommandError."""
    with pytest.raises(CommandError, match=r"invalid choice: 'bogus'"):
        call_command("eventlog", "bogus")
    with pytest.raises(CommandError, match=r"required: SUBCOMMAND"):
        call_command("eventlog")


# -- real processes ------------------------------------------------------------------


def manage(*args: str, directory: Path) -> subprocess.CompletedProcess[bytes]:
    """Run ``python manage.py <args>`` in a child process with EVENTLOG_DIR set."""
    env = {
        **os.environ,
        "EVENTLOG_DIR": str(directory),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_command_line_bad_time_is_one_line_without_traceback(tmp_path):
    """`manage.py eventlog tail --since nonsense`: one line on stderr, exit 1, no
    traceback and nothing on stdout."""
    result = manage("eventlog", "tail", "--since", "nonsense", directory=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("CommandError: invalid time 'nonsense'")
    assert result.stdout == b""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["tail", "-n", "ten"], "invalid int value: 'ten'"),
        (["tail", "--bogus"], "unrecognized arguments: --bogus"),
        (["bogus"], "invalid choice: 'bogus'"),
        ([], "required: SUBCOMMAND"),
    ],
)
def test_command_line_parse_errors_are_one_line(tmp_path, args, fragment):
    """What argparse rejects gives one line on stderr and exit 2, no usage dump."""
    result = manage("eventlog", *args, directory=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert fragment in stderr


@pytest.mark.slow
def test_command_line_json_output_is_byte_exact(tmp_path):
    """Through a real pipe (not a terminal) the raw lines come out byte for byte,
    and Django's usual options are accepted after the subcommand."""
    lines = [make_line(ts(0), message="é 😀 \u2028"), make_line(ts(1), n=1)]
    write_log(tmp_path / ROTATED, lines[0])
    write_log(tmp_path / "events.jsonl", lines[1])
    result = manage(
        "eventlog", "tail", "--no-color", "--settings", "config.settings", directory=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"".join(lines)
    assert result.stderr == b""


def test_stats_counts_an_unreadable_file_apart_from_bad_lines(logdir):
    """A file that cannot be opened is not a bad line: stats names it as an
    unreadable file in its table and under ``unreadable_files`` in --json."""
    (logdir / "events.jsonl.2026-11-23T09-00-00.000000Z").mkdir()
    write_log(logdir / "events.jsonl", make_line(ts(0), n=0))
    for args in (["stats"], ["stats", "--json"]):
        out = io.StringIO()
        with pytest.raises(CommandError):
            call_command("eventlog", *args, stdout=out, stderr=io.StringIO())
        text = out.getvalue()
        if "--json" in args:
            data = orjson.loads(text)
            assert (data["bad_lines"], data["unreadable_files"]) == (0, 1)
        else:
            assert "Unreadable: 1 file(s)" in text
            assert "bad line" not in text


@pytest.mark.parametrize(
    "args",
    [["tail"], ["history", "speedy.employees", "1"], ["stats"], ["stats", "--json"]],
    ids=" ".join,
)
@pytest.mark.parametrize("damage", ["not gzip", "cut short"])
def test_a_gzip_file_that_cannot_be_decompressed_fails_the_readers(logdir, args, damage):
    """A rotated .gz that is not gzip, or is cut short, is a file that could
    not be read (wholly): reported, and the command fails after its output."""
    rotated = logdir / "events.jsonl.2026-11-23T09-00-00.000000Z.gz"
    lines = b"".join(make_line(ts(m), n=m, object_id="1", pad="x" * 300) for m in range(50))
    packed = gzip.compress(lines)
    rotated.write_bytes(b"plain text, no gzip\n" if damage == "not gzip" else packed[:-40])
    write_log(logdir / "events.jsonl", make_line(ts(60), n=60))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"^1 log file\(s\) could not be read, see above$"):
        call_command("eventlog", *args, stdout=out, stderr=err)
    assert "cannot read" in err.getvalue()
    if args == ["stats", "--json"]:
        assert orjson.loads(out.getvalue())["unreadable_files"] == 1
