"""``eventlog prune`` and ``eventlog stats``, and the progress bar of long scans."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eventlog.cli.progress import ProgressBar
from tests.helpers import ROOT, child_env, make_line, write_log


class Terminal(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def rotated(directory: Path, days_ago: float, name: str = "events.jsonl", gz: bool = True) -> Path:
    """A rotated file whose name says it was rotated ``days_ago`` days ago."""
    moment = datetime.now(UTC) - timedelta(days=days_ago)
    stamp = moment.strftime("%Y-%m-%dT%H-%M-%S.%fZ")
    path = directory / f"{name}.{stamp}{'.gz' if gz else ''}"
    data = make_line(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), n=int(days_ago))
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.fixture
def aged(tmp_path, settings) -> dict[str, Path]:
    """Rotated files of 10, 8 and 2 days ago, an old django.jsonl one, the live
    files and a foreign ``.bak`` file."""
    settings.EVENTLOG_DIR = str(tmp_path)
    files = {
        "old": rotated(tmp_path, 10),
        "older_plain": rotated(tmp_path, 8, gz=False),
        "recent": rotated(tmp_path, 2),
        "django_old": rotated(tmp_path, 9, name="django.jsonl"),
        "live": tmp_path / "events.jsonl",
        "django_live": tmp_path / "django.jsonl",
        "bak": tmp_path / "events.jsonl.bak",
    }
    for key in ("live", "django_live", "bak"):
        files[key].write_bytes(make_line("2026-11-23T10:00:00.000000Z"))
    return files


def run(*args: str, stdin: io.StringIO | None = None, **options: Any) -> tuple[str, str]:
    """``eventlog <args>`` in-process; (stdout, stderr)."""
    out, err = io.StringIO(), options.pop("stderr", io.StringIO())
    call_command("eventlog", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def pipe_stdin(monkeypatch) -> None:
    """stdin is not a terminal (as under cron or in a pipeline)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


# -- prune -------------------------------------------------------------------------------


def test_prune_deletes_rotated_files_older_than_the_cutoff(aged, pipe_stdin):
    """--yes deletes the rotated files (both logs, gzip or not) rotated more
    than DAYS ago; newer rotated files, the live files and foreign names stay."""
    out, _err = run("prune", "--older-than", "5", "--yes")
    gone = {"old", "older_plain", "django_old"}
    for key, path in aged.items():
        assert path.exists() == (key not in gone), key
    assert out.splitlines()[-1].startswith("Deleted 3 file(s), ")
    assert f"deleted {aged['old']} (" in out


def test_prune_dry_run_deletes_nothing(aged, pipe_stdin):
    """--dry-run lists what would go and deletes nothing."""
    out, _err = run("prune", "--older-than", "7", "--dry-run", "--file", "events")
    assert out.splitlines()[:2] == [
        f"would delete {aged['old']} ({aged['old'].stat().st_size} B)",
        f"would delete {aged['older_plain']} ({aged['older_plain'].stat().st_size} B)",
    ]
    assert out.splitlines()[2].startswith("Would delete 2 file(s), ")
    assert all(path.exists() for path in aged.values())


def test_prune_without_yes_on_a_pipe_refuses(aged, pipe_stdin):
    """Without --yes and stdin not a terminal: a one-line refusal, nothing deleted."""
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^refusing to delete files without confirmation"):
        call_command("eventlog", "prune", "--older-than", "5", stdout=out)
    assert out.getvalue() == ""
    assert all(path.exists() for path in aged.values())


def test_prune_asks_on_a_terminal(aged, monkeypatch):
    """On a terminal it asks: no keeps everything, yes deletes."""
    monkeypatch.setattr(sys, "stdin", Terminal("\n"))
    with pytest.raises(CommandError, match=r"^aborted: nothing done"):
        run("prune", "--older-than", "9.5")
    assert aged["old"].exists()
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    out, _err = run("prune", "--older-than", "9.5")
    assert "Delete 1 file(s), " in out
    assert not aged["old"].exists()
    assert aged["django_old"].exists()


def test_prune_with_nothing_to_delete(aged, pipe_stdin):
    """Nothing old enough: one line saying so, exit 0."""
    out, _err = run("prune", "--older-than", "30")
    assert out.startswith("Nothing to prune: no rotated file in ")


def test_prune_deletes_both_forms_of_a_file_caught_mid_compression(tmp_path, pipe_stdin):
    """A rotated file present as X and X.gz (compression finishing) goes entirely."""
    plain = rotated(tmp_path, 10, gz=False)
    packed = rotated(tmp_path, 10)
    packed.rename(plain.with_name(plain.name + ".gz"))
    run("prune", "--older-than", "1", "--yes", "--dir", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_prune_names_both_forms_of_a_file_caught_mid_compression(tmp_path, pipe_stdin):
    """The dry run, the question and the report name every file prune deletes
    and count its bytes: the plain copy beside its .gz is not deleted unlisted."""
    plain = rotated(tmp_path, 10, gz=False)
    packed = rotated(tmp_path, 10)
    packed = packed.rename(plain.with_name(plain.name + ".gz"))
    both = plain.stat().st_size + packed.stat().st_size
    out, _err = run("prune", "--older-than", "1", "--dry-run", "--dir", str(tmp_path))
    assert f"would delete {plain} (" in out
    assert f"would delete {packed} (" in out
    assert out.splitlines()[-1].startswith(f"Would delete 2 file(s), {both} B ")
    out, _err = run("prune", "--older-than", "1", "--yes", "--dir", str(tmp_path))
    assert f"deleted {plain} " in out
    assert f"deleted {packed} " in out
    assert out.splitlines()[-1] == f"Deleted 2 file(s), {both} B freed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "-1"], r"^--older-than must be a number of days >= 0, not '-1'$"),
        (["--older-than", "week"], r"^--older-than must be a number of days >= 0, not 'week'$"),
        (["--older-than", "nan"], r"^--older-than must be a number of days >= 0"),
        ([], r"^Error: the following arguments are required: --older-than$"),
        (["--older-than", "1", "--file", "x"], r"^Error: argument --file: invalid choice"),
    ],
)
def test_prune_bad_arguments_are_one_line_errors(aged, args, message):
    """Bad arguments: a one-line CommandError, nothing deleted."""
    with pytest.raises(CommandError, match=message):
        run("prune", *args)
    assert all(path.exists() for path in aged.values())


# -- stats -------------------------------------------------------------------------------


@pytest.fixture
def counted(tmp_path, settings) -> Path:
    """Two hours of events over a gzip rotated file and the live file."""
    settings.EVENTLOG_DIR = str(tmp_path)
    with gzip.open(tmp_path / "events.jsonl.2026-11-23T11-00-00.000000Z.gz", "wb") as f:
        f.write(make_line("2026-11-23T10:15:00.000000Z", "model.created"))
        f.write(make_line("2026-11-23T10:45:00.000000Z", "model.updated"))
    (tmp_path / "events.jsonl").write_bytes(
        make_line("2026-11-23T11:05:00.000000Z", "model.updated")
        + make_line("2026-11-23T11:06:00.000000Z", "state.changed")
        + orjson.dumps({"event": "odd.order", "timestamp": "2026-11-23T11:07:00.000000Z"})
        + b"\n"
    )
    return tmp_path


def test_stats_json(counted):
    """--json: each file with size, count and span; totals; counts by event
    name and by hour; oldest and newest."""
    out, _err = run("stats", "--json")
    stats = orjson.loads(out)
    gz = counted / "events.jsonl.2026-11-23T11-00-00.000000Z.gz"
    live = counted / "events.jsonl"
    assert stats == {
        "directories": [str(counted)],
        "files": [
            {
                "path": str(gz),
                "size": gz.stat().st_size,
                "events": 2,
                "oldest": "2026-11-23T10:15:00.000000Z",
                "newest": "2026-11-23T10:45:00.000000Z",
            },
            {
                "path": str(live),
                "size": live.stat().st_size,
                "events": 3,
                "oldest": "2026-11-23T11:05:00.000000Z",
                "newest": "2026-11-23T11:07:00.000000Z",
            },
        ],
        "total": {"files": 2, "size": gz.stat().st_size + live.stat().st_size, "events": 5},
        "oldest": "2026-11-23T10:15:00.000000Z",
        "newest": "2026-11-23T11:07:00.000000Z",
        "by_event": {"model.updated": 2, "model.created": 1, "odd.order": 1, "state.changed": 1},
        "by_hour": {"2026-11-23T10": 2, "2026-11-23T11": 3},
        "bad_lines": 0,
        "unreadable_files": 0,
    }


def test_stats_text(counted):
    """The human form: files, totals, events by name and by hour."""
    out, _err = run("stats")
    lines = out.splitlines()
    assert lines[0] == f"events.jsonl in {counted}:"
    assert "2 events  2026-11-23 10:15:00 → 2026-11-23 10:45:00" in lines[1]
    assert lines[3].startswith("Total: 2 file(s), ")
    assert lines[3].endswith(", 5 events, from 2026-11-23 10:15:00 to 2026-11-23 11:07:00")
    assert lines[4:10] == [
        "Events by name:",
        "  model.updated          2",
        "  model.created          1",
        "  odd.order              1",
        "  state.changed          1",
        "Events by hour (UTC):",
    ]
    assert lines[10].startswith("  2026-11-23 10h          2  ███")


def test_stats_skips_a_torn_final_line_with_a_warning(counted):
    """A torn final line is counted as bad and reported on stderr, never raised."""
    with (counted / "events.jsonl").open("ab") as f:
        f.write(make_line("2026-11-23T11:08:00.000000Z")[:25])
    out, err = run("stats", "--json")
    assert orjson.loads(out)["bad_lines"] == 1
    assert orjson.loads(out)["total"]["events"] == 5
    assert err.strip().endswith("incomplete final line (no newline): skipped")


def test_stats_of_an_empty_directory(tmp_path):
    """No files: one line saying so."""
    out, _err = run("stats", "--dir", str(tmp_path))
    assert out == f"No events.jsonl files in {tmp_path}\n"


def test_stats_bad_arguments_are_one_line_errors(tmp_path):
    """--file and --dir are checked."""
    with pytest.raises(CommandError, match=r"^Error: argument --file: invalid choice"):
        run("stats", "--file", "bogus")
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(CommandError, match=rf"^--dir '{afile}' is not a directory$"):
        run("stats", "--dir", str(afile))


# -- progress ----------------------------------------------------------------------------


def test_progress_bar_on_a_terminal_only(counted, monkeypatch):
    """A scan draws a progress bar on stderr when it is a terminal (and the
    scan runs long enough: here at once) and clears it; never on a pipe."""
    monkeypatch.setattr(ProgressBar, "DELAY", 0.0)
    monkeypatch.setattr(ProgressBar, "EVERY", 0.0)
    terminal = Terminal()
    out, _err = run("stats", "--json", stderr=terminal)
    drawn = terminal.getvalue()
    assert "\r[##############################] 100% " in drawn
    assert drawn.endswith("\r")
    assert orjson.loads(out)["total"]["events"] == 5
    _out, err = run("history", "speedy.employees", "1")
    assert err == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "status", "fragment"),
    [
        (["prune", "--older-than", "1"], 1, "CommandError: refusing to delete files"),
        (["prune", "--older-than", "x"], 1, "CommandError: --older-than must be a number"),
        (["prune"], 2, "the following arguments are required: --older-than"),
        (["stats", "--file", "x"], 2, "argument --file: invalid choice: 'x'"),
        (["stats", "--dir", "manage.py"], 1, "CommandError: --dir 'manage.py' is not a directory"),
        (["tail", "-f", "--dir", "manage.py"], 1, "CommandError: --dir 'manage.py' is not"),
    ],
)
def test_prune_stats_bad_input_on_the_command_line(aged, args, status, fragment):
    """In a real process (stdin not a terminal): one line on stderr, a non-zero
    exit, no traceback, nothing deleted."""
    result = subprocess.run(
        [sys.executable, "manage.py", "eventlog", *args],
        cwd=ROOT,
        env=child_env(aged["live"].parent),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    stderr = result.stderr.decode()
    assert result.returncode == status
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert fragment in stderr
    assert all(path.exists() for path in aged.values())


@pytest.mark.slow
def test_stats_on_a_pipe_has_no_progress_bar(counted):
    """Through pipes the output is the statistics alone, stderr stays empty."""
    result = subprocess.run(
        [sys.executable, "manage.py", "eventlog", "stats", "--json"],
        cwd=ROOT,
        env=child_env(counted),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert result.stderr == b""
    assert orjson.loads(result.stdout)["total"]["events"] == 5


def test_prune_leaves_a_link_named_like_the_original_of_a_gz(tmp_path, pipe_stdin):
    """A symbolic link named like a .gz's original is neither listed nor deleted."""
    packed = rotated(tmp_path, 10)
    private = tmp_path / "private"
    private.write_text("secret")
    link = packed.with_name(packed.name.removesuffix(".gz"))
    link.symlink_to(private)
    out, _err = run("prune", "--older-than", "1", "--yes", "--dir", str(tmp_path))
    assert str(link) + " " not in out
    assert out.splitlines()[-1].startswith("Deleted 1 file(s), ")
    assert link.is_symlink()
    assert private.read_text() == "secret"


def test_stats_text_says_one_event_in_the_singular(tmp_path):
    write_log(tmp_path / "events.jsonl", make_line("2026-11-23T11:05:00.000000Z"))
    out, _err = run("stats", "--dir", str(tmp_path))
    assert "1 event  " in out
    assert ", 1 event, from" in out
    assert "1 events" not in out
