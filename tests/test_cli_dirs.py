"""eventlog.cli.dirs: one --dir for every subcommand."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eventlog.cli import dirs
from eventlog.cli.base import Failure
from tests.helpers import make_line

# Each subcommand with what it needs besides --dir; none writes anything here.
SUBCOMMAND_ARGS = [
    ["tail"],
    ["tail", "-f"],
    ["history", "speedy.employees", "1"],
    ["restore", "speedy.employee", "1", "--to", "1h", "--dry-run"],
    ["verify"],
    ["prune", "--older-than", "1", "--dry-run"],
    ["stats"],
]


def never() -> Path:
    raise AssertionError("the default directory must not be read when --dir is given")


def test_no_dir_is_the_default_even_when_it_does_not_exist(tmp_path):
    """Without --dir: the configured directory, not checked (nothing written yet)."""
    assert dirs.resolve(None, lambda: tmp_path / "later") == [tmp_path / "later"]
    assert dirs.resolve([], lambda: tmp_path) == [tmp_path]


def test_repeated_dirs_keep_their_order_and_a_repeat_is_read_once(tmp_path):
    """Several directories in the order given; the same one twice (however
    spelled) once."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    given = [str(b), str(a), str(b), f"{a}/../a", a]
    assert dirs.resolve(given, never) == [b, a]
    assert dirs.resolve(str(a), never) == [a]


@pytest.mark.parametrize("kind", ["missing", "file", "empty"])
def test_a_bad_dir_is_a_one_line_failure(tmp_path, kind):
    """A given path that does not exist, is a file or is empty: one line."""
    good = tmp_path / "good"
    good.mkdir()
    path = {"missing": tmp_path / "nowhere", "file": tmp_path / "afile", "empty": ""}[kind]
    if kind == "file":
        Path(path).write_text("")
    expected = {
        "missing": f"no such directory: {path}",
        "file": f"--dir {str(path)!r} is not a directory",
        "empty": "--dir '' is not a directory",
    }[kind]
    with pytest.raises(Failure) as info:
        dirs.resolve([str(good), str(path)], never)
    assert str(info.value) == expected


@pytest.mark.parametrize("args", SUBCOMMAND_ARGS, ids=lambda a: " ".join(a[:2]))
def test_every_subcommand_rejects_a_missing_dir_the_same_way(tmp_path, args):
    """--dir naming nothing is the same one-line CommandError for each subcommand."""
    missing = tmp_path / "nowhere"
    with pytest.raises(CommandError) as info:
        call_command("eventlog", *args, "--dir", str(missing), stdout=io.StringIO())
    assert str(info.value) == f"no such directory: {missing}"


@pytest.mark.parametrize("args", SUBCOMMAND_ARGS[:1] + SUBCOMMAND_ARGS[2:3] + SUBCOMMAND_ARGS[6:])
def test_every_reading_subcommand_accepts_repeated_dirs(tmp_path, args):
    """--dir may be repeated with every subcommand that lists events."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    call_command("eventlog", *args, "--dir", str(a), "--dir", str(b), stdout=io.StringIO())


def test_the_default_directory_comes_from_the_settings(tmp_path, settings):
    """Without --dir, EVENTLOG_DIR is read."""
    settings.EVENTLOG_DIR = str(tmp_path)
    (tmp_path / "events.jsonl").write_bytes(make_line("2026-11-23T10:00:00.000000Z"))
    out = io.StringIO()
    call_command("eventlog", "stats", "--json", stdout=out)
    data = orjson.loads(out.getvalue())
    assert data["directories"] == [str(tmp_path)]
    assert data["total"]["events"] == 1


def test_verify_checks_each_directory_in_turn(tmp_path):
    """verify with --dir repeated prints a report per directory and fails when one fails."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    out = io.StringIO()
    call_command("eventlog", "verify", "--dir", str(a), "--dir", str(b), stdout=out)
    assert out.getvalue().count("Nothing to verify") == 2
    (b / "events.jsonl").write_bytes(b"not json\n")
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^the log is not intact: 1 problem\(s\) in 1 file"):
        call_command("eventlog", "verify", "--dir", str(a), "--dir", str(b), stdout=out)
    assert f"Verifying events.jsonl and django.jsonl in {a}" in out.getvalue()
    assert f"{b / 'events.jsonl'}:1" in out.getvalue()
