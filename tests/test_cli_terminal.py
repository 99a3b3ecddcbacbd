"""The operator's terminal and the command line, end to end: what an anonymous
request can put in the log never reaches the terminal raw, and each misuse
of the command line is a one-line error with a non-zero exit."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eventlog.core.sanitize import UNSAFE
from speedy.models import Employees
from tests.helpers import ROOT, child_env, make_line, raw_lines

# What a terminal would obey: ESC (every CSI/OSC sequence), BEL, the C1 CSI,
# and the bidi overrides and isolates.
FORBIDDEN = sorted(UNSAFE - {"\n"})
HOSTILE_QUERY = "first_name=%1b]0;pwned%07%1b[2J&last_name=%E2%80%AEevil%E2%81%A6"


class Terminal(io.StringIO):
    """A stdout that says it is a terminal, as the operator's is."""

    def isatty(self) -> bool:
        return True


def assert_terminal_safe(text: str, where: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in text if c in FORBIDDEN})
    assert not found, f"{where}: {found} reached the terminal in {text!r}"


def run(*args: str, stdout: io.StringIO | None = None) -> tuple[str, str]:
    """Run ``eventlog`` and return (stdout, stderr), a CommandError's message on stderr."""
    out, err = stdout or io.StringIO(), io.StringIO()
    try:
        call_command("eventlog", *args, stdout=out, stderr=err, no_color=True)
    except CommandError as exc:
        err.write(str(exc))
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_request_cannot_reach_the_operators_terminal(client, eventlog_dir):
    """The demo view logs what the query string says; tail (pretty by default on
    a terminal, and forced), history, history --as-of, verify of a tampered
    line with an escape in its stream, and restore --dry-run show it escaped.
    tail --json still passes the lines byte for byte."""
    response = client.get(f"/test_logging/?{HOSTILE_QUERY}")
    assert response.status_code == 201
    employee = Employees.objects.get()
    assert employee.first_name == "\x1b]0;pwned\x07\x1b[2J"
    created = raw_lines(eventlog_dir)[0]
    employee.first_name = "Ada"
    employee.save()
    pk = str(employee.pk)
    event_id = next(
        orjson.loads(line)["event_id"]
        for line in raw_lines(eventlog_dir)
        if orjson.loads(line)["event"] == "model.created"
    )

    outputs = {
        "tail on a terminal": run("tail", "-n", "50", stdout=Terminal()),
        "tail --pretty": run("tail", "--pretty", "-n", "50"),
        "history": run("history", "speedy.employees", pk),
        "history --as-of": run("history", "speedy.employees", pk, "--as-of", "1h"),
        "restore --dry-run": run("restore", "speedy.employees", pk, "--to", event_id, "--dry-run"),
        "stats": run("stats"),
    }
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in outputs["tail --pretty"][0]
    assert "]0;pwned" in outputs["history"][0]
    assert "]0;pwned" in outputs["restore --dry-run"][0]

    # A tampered line: its stream paints over verify's report.
    lines = raw_lines(eventlog_dir)
    data = orjson.loads(lines[1])
    data["stream"] = "\x1b[1A\x1b[2K\x1b[32mall good\x1b[0m\u202e"
    lines[1] = orjson.dumps(data) + b"\n"
    (eventlog_dir / "events.jsonl").write_bytes(b"".join(lines))
    outputs["verify"] = run("verify", "-v", "2")
    assert "not intact" in outputs["verify"][1]

    for where, (out, err) in outputs.items():
        assert out or err, where
        assert_terminal_safe(out, f"{where} stdout")
        assert_terminal_safe(err, f"{where} stderr")

    raw = io.BytesIO()
    wrapper = io.TextIOWrapper(raw, encoding="utf-8")
    call_command("eventlog", "tail", "--json", "-n", "50", stdout=wrapper)
    wrapper.flush()
    assert raw.getvalue() == b"".join(lines)
    assert created in raw.getvalue()


# -- one-line errors and a non-zero exit -------------------------------------------


def manage(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "eventlog", *args],
        cwd=ROOT,
        env=child_env(directory, DJANGO_SECRET_KEY="test"),
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"CommandError: {message}"]


@pytest.mark.parametrize("n", ["99999999999999999999", str(2**63)])
def test_tail_with_an_impossible_count_is_a_one_line_error(tmp_path, n):
    """-n beyond what a list can hold is refused, not a traceback."""
    tmp_path.joinpath("events.jsonl").write_bytes(make_line("2026-11-23T10:00:00.000000Z"))
    result = manage(tmp_path, "tail", "-n", n)
    assert_one_line_error(result, f"-n must be at most {sys.maxsize}, not {n}")


def test_tail_with_the_largest_count_prints_everything(tmp_path):
    line = make_line("2026-11-23T10:00:00.000000Z")
    tmp_path.joinpath("events.jsonl").write_bytes(line)
    result = manage(tmp_path, "tail", "--json", "-n", str(sys.maxsize))
    assert result.returncode == 0, result.stderr
    assert result.stdout.encode() == line


@pytest.mark.parametrize("args", [["tail"], ["history", "speedy.employees", "1"], ["stats"]])
def test_a_missing_dir_fails_in_a_real_process(tmp_path, args):
    """--dir naming nothing: exit status 1 and one line, for the listing
    subcommands as for verify."""
    missing = tmp_path / "nowhere"
    result = manage(tmp_path, *args, "--dir", str(missing))
    assert_one_line_error(result, f"no such directory: {missing}")


def test_history_of_no_model_and_no_events_is_an_error(tmp_path):
    """A label that is no installed model and has no event in the log is most
    likely a typo (speedy.employee for speedy.employees): exit 1, one line."""
    result = manage(tmp_path, "history", "speedy.employee", "1")
    assert_one_line_error(
        result, "unknown model 'speedy.employee' and no events about speedy.employee#1 in the log"
    )
    with pytest.raises(CommandError, match=r"^unknown model 'speedy\.employee' and no events"):
        call_command("eventlog", "history", "speedy.employee", "1", "--as-of", "1h")


def test_history_of_an_uninstalled_model_with_events_is_shown(tmp_path, eventlog_dir):
    """A model since removed from the project still has its history in the log."""
    eventlog_dir.mkdir()
    line = make_line(
        "2026-11-23T10:00:00.000000Z",
        "model.created",
        model="gone.thing",
        object_id="1",
        snapshot={"name": "x"},
    )
    (eventlog_dir / "events.jsonl").write_bytes(line)
    out, err = run("history", "gone.thing", "1")
    assert "model.created" in out
    assert not err


def test_history_of_an_installed_model_without_events_says_so(eventlog_dir):
    out, err = run("history", "speedy.employees", "1")
    assert out.startswith("No events about speedy.employees#1 in ")
    assert not err


# -- history: app.events are not state events -----------------------------------


def _object_log(directory: Path) -> None:
    directory.mkdir()
    lines = [
        make_line(
            "2026-11-23T10:00:00.000000Z",
            "model.created",
            model="speedy.employees",
            object_id="7",
            object_repr="Ada",
            actor="bob",
            snapshot={"first_name": "Ada"},
            seq=1,
        ),
        make_line(
            "2026-11-23T10:00:01.000000Z",
            "app.event",
            level="warning",
            message="success: created employee Ada",
            sender="speedy.views",
            instance={"model": "speedy.employees", "object_id": "7", "repr": "Ada"},
            actor="bob",
            seq=2,
        ),
    ]
    (directory / "events.jsonl").write_bytes(b"".join(lines))


def test_history_shows_an_app_event_in_the_history_layout(eventlog_dir):
    """An app.event about the object: time, name, message and who, like the
    other rows of the timeline, not tail's line with its level column."""
    _object_log(eventlog_dir)
    out, _err = run("history", "speedy.employees", "7")
    rows = [row for row in out.splitlines() if not row.startswith(" ")]
    assert rows[1] == (
        '2026-11-23 10:00:01.000 app.event  "success: created employee Ada"  by bob'
        '  sender="speedy.views"'
    )


def test_as_of_counts_only_state_events(eventlog_dir):
    """An app.event changes no field: --as-of counts and names the last event
    that made the state."""
    _object_log(eventlog_dir)
    out, _err = run("history", "speedy.employees", "7", "--as-of", "2026-11-24")
    assert "after 1 event(s), the last model.created at 2026-11-23T10:00:00.000000Z" in out
    data: dict[str, Any] = orjson.loads(
        run("history", "speedy.employees", "7", "--as-of", "2026-11-24", "--json")[0]
    )
    assert data["events"] == 1
    assert data["last_timestamp"] == "2026-11-23T10:00:00.000000Z"


# -- prune says what it will do before it does it ------------------------------------


def _rotated_long_ago(directory: Path) -> Path:
    path = directory / "events.jsonl.2020-01-01T00-00-00.000000Z"
    path.write_bytes(make_line("2019-12-31T23:00:00.000000Z"))
    return path


@pytest.mark.parametrize("answer", ["\n", "y\n"])
def test_prune_on_a_terminal_lists_before_asking_and_reports_after(tmp_path, monkeypatch, answer):
    """Before the question the files are listed as to be deleted, not as being
    deleted; each is reported deleted only once it is gone."""
    old = _rotated_long_ago(tmp_path)
    size = old.stat().st_size
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    out, err = run("prune", "--older-than", "1", "--dir", str(tmp_path))
    asked, _, after = out.partition("[y/N] ")
    assert asked.splitlines()[0] == f"to delete {old} ({size} B)"
    assert not any(row.startswith("delete") for row in asked.splitlines())
    if answer == "y\n":
        assert not old.exists()
        assert after.splitlines()[0] == f"deleted {old} ({size} B)"
    else:
        assert old.exists()
        assert after == ""
        assert err.startswith("aborted: nothing done")


def test_prune_with_yes_reports_each_file_once_deleted(tmp_path):
    old = _rotated_long_ago(tmp_path)
    size = old.stat().st_size
    out, _err = run("prune", "--older-than", "1", "--yes", "--dir", str(tmp_path))
    assert out.splitlines()[0] == f"deleted {old} ({size} B)"
    assert not old.exists()


# -- help texts and docstrings name the demo's real labels -----------------------------


def test_the_demos_labels_in_help_texts_and_docs_are_installed_models():
    """``speedy.employee`` was never a label (the model is ``Employees``)."""
    import re

    from django.apps import apps

    sources = [*Path(ROOT, "eventlog").rglob("*.py"), Path(ROOT, "README.md")]
    named = {
        (path.name, label)
        for path in sources
        for label in re.findall(r"\bspeedy\.(?:employee|shift)\w*", path.read_text())
    }
    assert named
    wrong = set()
    for source, label in named:
        try:
            apps.get_model(label)
        except LookupError:
            wrong.add((source, label))
    assert not wrong
