"""``manage.py eventlog verify``: clean logs pass, every kind of tampering is
named by file and line, pruned history is a mid-stream start, not a break.

The logs are written by the real pipeline (``event_signal``, the file sink,
rotation and gzip), several real processes where it matters, and then edited
on disk the way an intruder or a crash would.
"""

from __future__ import annotations

import gzip
import io
import logging
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eventlog.core.files import rotated_files
from eventlog.read import verify as _verify
from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from eventlog.write.sink import FileSink
from tests.helpers import ROOT, child_env, run_writers


def write_events(count: int, *, start: int = 0, pad: int = 100) -> None:
    """``count`` app.event lines through the real pipeline; waits for gzip."""
    for n in range(start, start + count):
        event_signal.send(sender="t", n=n, message="hello world", pad="p" * pad)
    _pipeline.flush()


def run_verify(*args: str) -> tuple[int, str]:
    """``eventlog verify <args>`` in this process: (exit status, stdout + error)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("eventlog", "verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + err.getvalue() + f"CommandError: {exc}\n"
    return 0, out.getvalue() + err.getvalue()


def lines_of(path: Path) -> list[bytes]:
    """The lines of a plain or gzip file, each with its newline."""
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return data.splitlines(keepends=True)


def rewrite(path: Path, lines: list[bytes]) -> None:
    """Replace the contents of ``path`` (recompressed when it is a ``.gz``)."""
    data = b"".join(lines)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


def only_problem(output: str) -> str:
    """The single problem line of a report (asserting there is exactly one)."""
    section = output.split("Problems:\n", 1)[1].split("\n")
    found = [line.strip() for line in section if line.startswith("  ")]
    assert len(found) == 1, output
    return found[0]


# -- clean logs ----------------------------------------------------------------------


def test_a_clean_log_with_many_rotations_verifies(eventlog_dir, settings):
    """A log rotated and gzipped many times verifies: exit 0, every file and
    line counted, one stream, nothing starting mid-stream."""
    settings.EVENTLOG_MAX_BYTES = 5_000
    settings.EVENTLOG_BACKUP_COUNT = 1000
    write_events(300)
    assert len(rotated_files(eventlog_dir / "events.jsonl")) >= 10
    status, output = run_verify("--file", "events")
    assert status == 0, output
    assert output.rstrip().endswith(": OK")
    report = _verify.verify(eventlog_dir, ["events.jsonl"])
    assert report.ok
    assert report.lines == 300
    assert report.streams == 1
    assert report.mid_stream == []
    assert len(report.files) == len(rotated_files(eventlog_dir / "events.jsonl")) + 1
    assert "1 stream(s) (0 starting mid-stream): OK" in output


def test_the_right_hmac_key_verifies(eventlog_dir, settings):
    """With EVENTLOG_HMAC_KEY set when writing and when verifying, the keyed chain holds."""
    settings.EVENTLOG_HMAC_KEY = "s3cret"
    settings.EVENTLOG_MAX_BYTES = 4_000
    write_events(60)
    status, output = run_verify()
    assert status == 0, output
    assert "HMAC-SHA256" in output
    assert _verify.verify(eventlog_dir, key=b"s3cret").ok


def test_both_logs_are_verified_and_file_selects_one(eventlog_dir):
    """Without --file both events.jsonl and django.jsonl are checked; --file
    events or django checks that log only."""
    write_events(5)
    logging.getLogger("speedy").info("a django.jsonl record")
    django_log = eventlog_dir / "django.jsonl"
    lines = lines_of(django_log)
    rewrite(django_log, [lines[0].replace(b"a django", b"A django")])
    status, output = run_verify("--file", "events")
    assert status == 0, output
    status, output = run_verify("--file", "django")
    assert status == 1
    assert f"{django_log}:1: hash chain broken" in output
    status, output = run_verify()
    assert status == 1
    assert f"{django_log}:1: hash chain broken" in output


@pytest.mark.slow
def test_four_processes_rotating_verify_clean_and_a_tampered_line_is_found(tmp_path):
    """4 OS processes write interleaved with rotation every 32 KB: verify is
    clean. Then one line in the middle of a gzip rotated file is edited:
    verify names that file and line and only that (other streams hold)."""
    logs = tmp_path / "logs"
    env = child_env(
        logs,
        EVENTLOG_MAX_BYTES="32768",
        EVENTLOG_BACKUP_COUNT="10000",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    run_writers(env, processes=4, count=1500)
    report = _verify.verify(logs, ["events.jsonl"])
    assert report.ok, [str(p) for p in report.problems]
    assert report.lines == 6000
    assert report.streams == 4
    assert report.mid_stream == []
    rotated = rotated_files(logs / "events.jsonl")
    assert len(rotated) > 10
    assert any(len(f.streams) > 1 for f in report.files)  # streams interleave

    middle = rotated[len(rotated) // 2]
    if not middle.name.endswith(".gz"):  # the last rotation may not be compressed yet
        middle = rotated[0]
    lines = lines_of(middle)
    lines[9] = lines[9].replace(b"hello world", b"hello w0rld")
    rewrite(middle, lines)
    report = _verify.verify(logs, ["events.jsonl"])
    assert [(p.path, p.lineno) for p in report.problems] == [(middle, 10)]
    assert report.problems[0].stream == orjson.loads(lines[9])["stream"]
    if orjson.loads(lines[9])["seq"] < 1500:  # not the last line of its stream
        assert "changed after it was written" in report.problems[0].message


def test_pruned_oldest_files_are_a_mid_stream_start_not_a_break(eventlog_dir, settings):
    """Deleting the oldest rotated files (as prune and EVENTLOG_BACKUP_COUNT do)
    leaves a log that verifies: exit 0, and the report says the stream starts
    mid-stream, at which file, line and seq."""
    settings.EVENTLOG_MAX_BYTES = 4_000
    settings.EVENTLOG_BACKUP_COUNT = 1000
    write_events(200)
    rotated = rotated_files(eventlog_dir / "events.jsonl")
    for old in rotated[:3]:
        old.unlink()
    first = orjson.loads(lines_of(rotated[3])[0])
    status, output = run_verify()
    assert status == 0, output
    assert f"{rotated[3]}:1: stream {first['stream']} starts mid-stream at seq {first['seq']}" in (
        output
    )
    assert "(1 starting mid-stream): OK" in output


def test_backup_count_pruning_by_the_sink_verifies(eventlog_dir, settings):
    """The sink's own retention (EVENTLOG_BACKUP_COUNT) prunes old files; what is
    left verifies, as a mid-stream start."""
    settings.EVENTLOG_MAX_BYTES = 3_000
    settings.EVENTLOG_BACKUP_COUNT = 2
    for n in range(150):
        write_events(1, start=n)
    report = _verify.verify(eventlog_dir, ["events.jsonl"])
    assert report.ok, [str(p) for p in report.problems]
    assert len(report.mid_stream) == 1
    assert report.mid_stream[0].path == rotated_files(eventlog_dir / "events.jsonl")[0]
    assert report.mid_stream[0].lineno == 1


def test_an_empty_directory_has_nothing_to_verify(eventlog_dir):
    """A directory without log files is not an error: nothing to verify, exit 0."""
    eventlog_dir.mkdir(parents=True, exist_ok=True)
    status, output = run_verify()
    assert status == 0
    assert "Nothing to verify" in output


# -- tampering -----------------------------------------------------------------------


@pytest.fixture
def live(eventlog_dir: Path) -> Path:
    """The live events.jsonl with 20 lines of one stream, seq 1..20."""
    write_events(20)
    path = eventlog_dir / "events.jsonl"
    assert len(lines_of(path)) == 20
    return path


def test_an_edited_letter_in_a_message_breaks_the_chain_at_that_line(live):
    """One letter changed in the middle of line 7 (still valid JSON): exit 1,
    the report names the file, line 7, the stream, and that the line was
    changed after it was written (line 8 still chains from its stored hash)."""
    lines = lines_of(live)
    lines[6] = lines[6].replace(b"hello world", b"hello wprld")
    orjson.loads(lines[6])
    rewrite(live, lines)
    status, output = run_verify()
    assert status == 1
    stream = orjson.loads(lines[0])["stream"]
    problem = only_problem(output)
    assert problem.startswith(f"{live}:7: hash chain broken")
    assert "changed after it was written" in problem
    assert f"(stream {stream})" in problem
    assert "CommandError: the log is not intact: 1 problem(s) in 1 file(s)" in output


def test_an_edited_hash_of_the_last_line_is_found(live):
    """Replacing the hash of the last line (nothing after it to chain from) is
    caught too: its hash does not follow from its predecessor."""
    lines = lines_of(live)
    digest = orjson.loads(lines[-1])["hash"]
    lines[-1] = lines[-1].replace(digest.encode(), b"0" * 64)
    rewrite(live, lines)
    status, output = run_verify()
    assert status == 1
    assert only_problem(output).startswith(f"{live}:20: hash chain broken")


def test_a_deleted_line_is_a_gap_named_at_the_next_line(live):
    """Line 5 removed: exit 1, the line now at 5 (seq 6) says line 5 is missing."""
    lines = lines_of(live)
    del lines[4]
    rewrite(live, lines)
    status, output = run_verify()
    assert status == 1
    assert only_problem(output).startswith(f"{live}:5: seq 6 after seq 4: missing line 5")


def test_several_deleted_lines_give_the_missing_range(live):
    """Lines 5 to 9 removed: the report gives the missing seq range 5..9."""
    lines = lines_of(live)
    del lines[4:9]
    rewrite(live, lines)
    status, output = run_verify()
    assert status == 1
    assert only_problem(output).startswith(f"{live}:5: seq 10 after seq 4: missing lines 5..9")


def test_two_swapped_lines_of_a_stream_are_out_of_order(live):
    """Lines 5 and 6 of the stream swapped: exit 1 at line 5, and the report says
    the missing seq turns up later (out of order)."""
    lines = lines_of(live)
    lines[4], lines[5] = lines[5], lines[4]
    rewrite(live, lines)
    status, output = run_verify()
    assert status == 1
    problem = only_problem(output)
    assert problem.startswith(f"{live}:5: seq 6 after seq 4: missing line 5")
    assert f"seq 5 turns up later at {live}:6 (lines out of order)" in problem


def test_a_duplicated_line_is_reported(live):
    """Line 5 copied after itself: seq 5 after seq 5, duplicate or out of order, at line 6."""
    lines = lines_of(live)
    lines.insert(5, lines[4])
    rewrite(live, lines)
    status, output = run_verify()
    assert status == 1
    assert only_problem(output).startswith(
        f"{live}:6: seq 5 after seq 5: duplicate or out of order"
    )


def test_an_edited_line_in_a_gzip_rotated_file_is_found(eventlog_dir, settings):
    """A line in a compressed rotated file decompressed, edited and recompressed:
    exit 1 naming that .gz file and line."""
    settings.EVENTLOG_MAX_BYTES = 4_000
    settings.EVENTLOG_BACKUP_COUNT = 1000
    write_events(100)
    rotated = rotated_files(eventlog_dir / "events.jsonl")
    target = rotated[2]
    assert target.name.endswith(".gz")
    lines = lines_of(target)
    lines[3] = lines[3].replace(b'"sender":"t"', b'"sender":"x"')
    rewrite(target, lines)
    status, output = run_verify()
    assert status == 1
    assert only_problem(output).startswith(f"{target}:4: hash chain broken")
    assert f"{target}: " in output
    assert "1 problem(s)" in output


def test_a_deleted_rotated_file_in_the_middle_is_a_gap(eventlog_dir, settings):
    """Removing a rotated file that is not the oldest is not pruning: the stream
    has a gap, named at the first line of the next file."""
    settings.EVENTLOG_MAX_BYTES = 4_000
    settings.EVENTLOG_BACKUP_COUNT = 1000
    write_events(100)
    rotated = rotated_files(eventlog_dir / "events.jsonl")
    missing = [orjson.loads(line)["seq"] for line in lines_of(rotated[2])]
    rotated[2].unlink()
    status, output = run_verify()
    assert status == 1
    assert only_problem(output).startswith(
        f"{rotated[3]}:1: seq {missing[-1] + 1} after seq {missing[0] - 1}: "
        f"missing lines {missing[0]}..{missing[-1]}"
    )


def test_a_wrong_hmac_key_fails_every_stream_at_its_first_line(eventlog_dir, settings):
    """Written under one key, verified under another: exit 1, every stream fails
    at its first line and the report says plainly that the key is wrong."""
    settings.EVENTLOG_HMAC_KEY = "right"
    write_events(10)
    settings.EVENTLOG_HMAC_KEY = "wrong"  # a new stream in the same file
    write_events(10, start=10)
    path = eventlog_dir / "events.jsonl"
    second = next(n for n, line in enumerate(lines_of(path), 1) if orjson.loads(line)["n"] == 10)
    settings.EVENTLOG_HMAC_KEY = "other"
    status, output = run_verify()
    assert status == 1
    assert f"{path}:1: hash chain broken" in output
    assert f"{path}:{second}: hash chain broken" in output
    assert _verify.WRONG_KEY in output
    assert "changed after it was written" not in output


def test_a_missing_hmac_key_at_verify_time_is_named(eventlog_dir, settings):
    """Written with a key, verified without one: exit 1 at line 1, wrong or missing key."""
    settings.EVENTLOG_HMAC_KEY = "right"
    write_events(5)
    settings.EVENTLOG_HMAC_KEY = ""
    status, output = run_verify()
    assert status == 1
    assert f"{eventlog_dir / 'events.jsonl'}:1: hash chain broken" in output
    assert "wrong or missing EVENTLOG_HMAC_KEY?" in output


def test_a_key_set_only_at_verify_time_is_named(eventlog_dir, settings):
    """Written without a key, verified with one: the report says the log was
    written without EVENTLOG_HMAC_KEY."""
    write_events(5)
    settings.EVENTLOG_HMAC_KEY = "new"
    status, output = run_verify()
    assert status == 1
    assert _verify.UNKEYED in output


def test_a_torn_final_line_is_reported(live):
    """The live file cut in the middle of its last line (a crash): exit 1 at line 20."""
    data = live.read_bytes()
    live.write_bytes(data[:-40])
    status, output = run_verify()
    assert status == 1
    problem = only_problem(output)
    assert problem.startswith(f"{live}:20: incomplete final line")


def test_a_torn_write_followed_by_a_whole_line(live):
    """A crash in the middle of line 5 leaves a fragment that line 6 is appended
    to: both the torn write and the stream's gap are named at line 5, and
    the whole line after the fragment is still checked (line 7 on chains)."""
    lines = lines_of(live)
    rewrite(live, [*lines[:4], lines[4][:30] + lines[5], *lines[6:]])
    report = _verify.verify(live.parent)
    assert [(p.path, p.lineno) for p in report.problems] == [(live, 5), (live, 5)]
    assert "torn write: 30 byte(s)" in report.problems[0].message
    assert "seq 6 after seq 4: missing line 5" in report.problems[1].message


def test_an_inserted_non_json_line_is_named_and_the_chain_still_holds(live):
    """A foreign line that is not JSON, inserted at line 4: exit 1 naming line 4;
    the stream's chain around it still holds (one problem only)."""
    lines = lines_of(live)
    lines.insert(3, b"this is not JSON\n")
    rewrite(live, lines)
    status, output = run_verify()
    assert status == 1
    assert only_problem(output).startswith(f"{live}:4: not valid JSON")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"[1, 2]\n", "not a JSON object but list"),
        (b'{"event": "x"}\n', "no `stream` key: not a line of an eventlog stream"),
    ],
)
def test_inserted_foreign_json_lines_are_named(live, line, message):
    """JSON that is not one of our lines (not an object, no stream) is named by line."""
    lines = lines_of(live)
    lines.insert(10, line)
    rewrite(live, lines)
    status, output = run_verify()
    assert status == 1
    assert only_problem(output) == f"{live}:11: {message}"


def test_a_line_without_its_hash_breaks_its_stream(live):
    """A line re-serialized without ``hash`` last (e.g. pretty-printed by a tool)
    breaks its stream at that line."""
    lines = lines_of(live)
    value = orjson.loads(lines[2])
    lines[2] = orjson.dumps({"hash": value.pop("hash"), **value}) + b"\n"
    rewrite(live, lines)
    status, output = run_verify()
    assert status == 1
    assert only_problem(output).startswith(f"{live}:3: no `hash` field at the end of the line")


def test_a_corrupt_gzip_file_is_reported(eventlog_dir, settings):
    """A truncated .gz rotated file: exit 1 naming the file (it cannot be read to its end)."""
    settings.EVENTLOG_MAX_BYTES = 4_000
    settings.EVENTLOG_BACKUP_COUNT = 1000
    write_events(60)
    target = rotated_files(eventlog_dir / "events.jsonl")[1]
    target.write_bytes(target.read_bytes()[:-30])
    status, output = run_verify()
    assert status == 1
    assert f"{target}:" in output
    assert "cannot read further" in output


def test_the_first_break_of_each_interleaved_stream_is_reported(tmp_path):
    """Two sinks (streams) interleaved in one file: a deleted line in one and an
    edited line in the other are each named at their line with their stream;
    a second break in the first stream is not reported again."""
    path = tmp_path / "events.jsonl"
    a, b = FileSink(path), FileSink(path)
    for n in range(20):
        for sink in (a, b):
            sink.write(orjson.dumps({"event": "app.event", "n": n}))
    lines = lines_of(path)  # a1 b1 a2 b2 ...
    lines[13] = lines[13].replace(b'"n":6', b'"n":7')  # b seq 7, at line 14
    del lines[20]  # a seq 11, was at line 21: the gap shows at a seq 12, now line 22
    del lines[29]  # a seq 16, was at line 31 (a second break of a)
    rewrite(path, lines)
    report = _verify.verify(tmp_path)
    assert [(p.lineno, p.stream) for p in report.problems] == [(14, b.stream), (22, a.stream)]
    assert report.problems[0].message.startswith("hash chain broken")
    assert report.problems[1].message.startswith("seq 12 after seq 10: missing line 11")
    assert report.files[0].streams == {a.stream, b.stream}


# -- the command ---------------------------------------------------------------------


def test_a_missing_directory_is_a_one_line_error(tmp_path):
    """--dir naming nothing: a CommandError with one line."""
    with pytest.raises(CommandError, match=r"^no such directory: .*nowhere$"):
        call_command("eventlog", "verify", "--dir", str(tmp_path / "nowhere"), stdout=io.StringIO())


def test_dir_option_overrides_eventlog_dir(live, tmp_path, settings):
    """--dir reads another directory than EVENTLOG_DIR."""
    settings.EVENTLOG_DIR = str(tmp_path / "elsewhere")
    status, output = run_verify("--dir", str(live.parent))
    assert status == 0, output
    assert "20 line(s)" in output


def test_verbosity_zero_prints_only_problems_and_the_summary(live):
    """-v 0: no per-file lines, just the problems and the final line."""
    lines = lines_of(live)
    del lines[4]
    rewrite(live, lines)
    status, output = run_verify("-v", "0")
    assert status == 1
    assert "Verifying" not in output
    assert output.splitlines()[0] == "Problems:"


@pytest.mark.slow
def test_command_line_exit_status_and_no_traceback(eventlog_dir):
    """A real `python manage.py eventlog verify`: exit 0 on a clean log; exit 1
    with the file and line on a tampered one, and no traceback; a missing
    directory is one line on stderr and a non-zero exit."""
    write_events(10)
    live = eventlog_dir / "events.jsonl"

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "eventlog", "verify", *args],
            cwd=ROOT,
            env=child_env(eventlog_dir),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    clean = manage()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "OK" in clean.stdout

    lines = lines_of(live)
    lines[2] = lines[2].replace(b"hello", b"HELLO")
    rewrite(live, lines)
    broken = manage("--file", "all")
    assert broken.returncode == 1
    assert f"{live}:3: hash chain broken" in broken.stdout
    assert "Traceback" not in broken.stdout + broken.stderr
    assert broken.stderr.strip().splitlines()[-1].startswith("CommandError: the log is not intact")

    missing = manage("--dir", str(eventlog_dir / "nowhere"))
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
    assert missing.stderr.strip() == f"CommandError: no such directory: {eventlog_dir / 'nowhere'}"
