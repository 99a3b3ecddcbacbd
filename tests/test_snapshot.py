"""``manage.py eventlog snapshot``: a ``model.snapshot`` baseline per existing
row, and what history, ``--as-of`` and restore make of it."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

import eventlog
from eventlog import reader
from eventlog.cli.progress import ProgressBar
from eventlog.read import history as _history
from eventlog.write import pipeline as _pipeline
from speedy.models import Employees
from tests.helpers import ROOT, child_env, read
from tests.zoo.models import Animal, Keeper, LoudAnimal, Secretive

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("every_line_is_sound"),
]

LABEL = "speedy.employees"


def run(*args: str, stderr: Any = None) -> str:
    out = io.StringIO()
    call_command("eventlog", *args, stdout=out, stderr=stderr or io.StringIO())
    _pipeline.flush()
    return out.getvalue()


def hire(name: str, age: int = 30) -> Employees:
    return Employees.objects.create(
        first_name=name,
        last_name="Lee",
        address="1 Main St",
        age=age,
        date_of_birth=date(1995, 5, 1),
    )


def snapshots(directory: Path, model: str | None = None) -> list[dict[str, Any]]:
    _pipeline.flush()
    return [
        e for e in read(directory, event="model.snapshot") if model is None or e["model"] == model
    ]


def test_replay_takes_a_snapshot_as_the_complete_state():
    """A snapshot replaces what was known, like a creation: the state is
    complete and exists, and later changes apply on top."""
    events = [
        {"event": "model.updated", "changes": {"age": {"old": 1, "new": 2}}},
        {"event": "model.snapshot", "snapshot": {"id": 4, "age": 30, "name": "Ann"}},
        {"event": "model.updated", "changes": {"age": {"old": 30, "new": 31}}},
    ]
    state = _history.replay(events, LABEL, "4")
    assert "model.snapshot" in _history.STATE_EVENTS
    assert (state.complete, state.exists, state.deleted, state.events) == (True, True, False, 3)
    assert state.fields == {"id": 4, "age": 31, "name": "Ann"}
    after_delete = _history.replay(
        [{"event": "model.deleted", "snapshot": {"id": 4}}, *events[1:2]], LABEL, "4"
    )
    assert (after_delete.exists, after_delete.deleted) == (True, False)


def test_one_line_per_existing_row_as_model_created_would_write_it(eventlog_dir):
    """Rows saved while switched off get one model.snapshot each, in pk order,
    whose snapshot is what model.created wrote for a row logged as usual."""
    logged = hire("Ann")
    with eventlog.disabled():
        quiet = [hire(name, age) for name, age in (("Bo", 41), ("Cy", 52), ("Di", 63))]
    out = run("snapshot", LABEL, "--batch", "2")
    lines = snapshots(eventlog_dir)
    assert [e["object_id"] for e in lines] == [str(e.pk) for e in (logged, *quiet)]
    created = read(eventlog_dir, event="model.created")
    assert lines[0]["snapshot"] == created[0]["snapshot"]
    assert lines[0]["object_repr"] == created[0]["object_repr"]
    assert lines[1]["snapshot"]["age"] == 41
    assert lines[1]["snapshot"]["date_of_birth"] == "1995-05-01"
    assert "4" in out
    assert LABEL in out


def test_masked_excluded_and_foreign_keys_as_on_created(eventlog_dir):
    """Secret-named and mask= fields are "***", excluded fields absent,
    a foreign key is the related pk under the field's name."""
    with eventlog.disabled():
        keeper = Keeper.objects.create(name="Kim", password="hunter2", api_token="t0k3n")
        Animal.objects.create(name="Rex", notes="private", keeper=keeper)
        Secretive.objects.create(pin="pin-1234", scratch="x", secret_plan={"a": 1}, label="L")
    run("snapshot", "zoo.keeper", "zoo.animal", "zoo.secretive")
    by_model = {e["model"]: e["snapshot"] for e in snapshots(eventlog_dir)}
    assert by_model["zoo.keeper"]["password"] == "***"
    assert by_model["zoo.keeper"]["api_token"] == "***"
    assert "notes" not in by_model["zoo.animal"]
    assert by_model["zoo.animal"]["keeper"] == str(keeper.pk)
    assert by_model["zoo.secretive"]["pin"] == "***"
    assert by_model["zoo.secretive"]["secret_plan"] == "***"
    assert "scratch" not in by_model["zoo.secretive"]
    text = (eventlog_dir / "events.jsonl").read_text()
    for secret in ("hunter2", "t0k3n", "pin-1234"):
        assert secret not in text


def test_no_label_means_every_registered_model_and_proxies_only_when_named(eventlog_dir):
    with eventlog.disabled():
        hire("Ann")
        Animal.objects.create(name="Rex")
    run("snapshot")
    models = {e["model"] for e in snapshots(eventlog_dir)}
    assert {"speedy.employees", "zoo.animal"} <= models
    assert "zoo.loudanimal" not in models  # a proxy of zoo.animal's rows
    run("snapshot", "zoo.loudanimal")
    assert [e["model"] for e in snapshots(eventlog_dir, "zoo.loudanimal")] == ["zoo.loudanimal"]
    assert LoudAnimal.objects.count() == 1


def test_an_app_label_means_its_registered_models(eventlog_dir):
    with eventlog.disabled():
        hire("Ann")
    run("snapshot", "speedy")
    models = {e["model"] for e in snapshots(eventlog_dir)}
    assert LABEL in models
    assert all(m.startswith("speedy.") for m in models)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch.model"], r"^unknown model 'nosuch\.model'$"),
        (["nosuchapp"], r"^unknown app or model 'nosuchapp'$"),
        (["zoo.plain"], r"^zoo\.plain is not registered with eventlog$"),
        (["auth"], r"^no model of auth is registered with eventlog$"),
        (["zoo.a.b"], r"^LABEL must be app_label or app_label\.modelname, not 'zoo\.a\.b'$"),
        ([LABEL, "--batch", "0"], r"^--batch must be a whole number >= 1, not 0$"),
    ],
)
def test_bad_labels_and_batches_are_one_line_errors_and_write_nothing(eventlog_dir, args, message):
    with eventlog.disabled():
        hire("Ann")
    with pytest.raises(CommandError, match=message):
        run("snapshot", *args)
    assert snapshots(eventlog_dir) == []


def test_inside_disabled_nothing_is_written_and_the_command_says_why(eventlog_dir):
    """disabled() writes no model.* line, model.snapshot included: the command
    fails with one line instead of reporting rows it did not write."""
    Animal.objects.create(name="Rex")
    before = len(read(eventlog_dir))
    with eventlog.disabled(), pytest.raises(CommandError, match=r"^eventlog is disabled here"):
        run("snapshot", "zoo.animal")
    assert len(read(eventlog_dir)) == before
    from eventlog.audit import snapshot as _snapshot
    from eventlog.audit.registry import lookup

    reg = lookup(Animal)
    assert reg is not None
    with eventlog.disabled():
        assert _snapshot.write(reg) == 0
    assert len(read(eventlog_dir)) == before


def test_a_database_error_is_one_line(eventlog_dir, monkeypatch):
    from django.db import OperationalError

    from eventlog.audit import snapshot as _snapshot

    def broken(*args: Any, **kwargs: Any) -> int:
        raise OperationalError("no such table: speedy_employees\nsecond line")

    monkeypatch.setattr(_snapshot, "write", broken)
    with pytest.raises(CommandError, match=r"^could not snapshot speedy\.employees: no such table"):
        run("snapshot", LABEL)


def test_history_as_of_and_restore_work_for_a_row_that_existed_before(eventlog_dir):
    """Created before auditing, snapshotted, changed: --as-of the snapshot
    shows every field, and restore to it writes the old values back."""
    with eventlog.disabled():
        ann = hire("Ann", 30)
    run("snapshot", LABEL)
    at = snapshots(eventlog_dir)[0]["timestamp"]
    ann.age = 33
    ann.address = "2 High St"
    ann.save()
    state = reader.state_at(eventlog_dir, LABEL, str(ann.pk), at=at)
    assert state.complete
    assert state.exists
    assert state.fields["address"] == "1 Main St"
    as_of = orjson.loads(run("history", LABEL, str(ann.pk), "--as-of", at, "--json"))
    assert as_of["complete"] is True
    assert as_of["fields"]["age"] == 30
    timeline = run("history", LABEL, str(ann.pk))
    assert "model.snapshot" in timeline
    assert '    first_name: "Ann"' in timeline

    run("restore", LABEL, str(ann.pk), "--to", at, "--yes")
    ann.refresh_from_db()
    assert (ann.age, ann.address) == (30, "1 Main St")


def test_a_progress_bar_on_a_terminal_only(eventlog_dir, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(ProgressBar, "DELAY", 0.0)
    monkeypatch.setattr(ProgressBar, "EVERY", 0.0)
    with eventlog.disabled():
        for n in range(3):
            hire(f"E{n}")
    terminal = Terminal()
    run("snapshot", LABEL, stderr=terminal)
    drawn = terminal.getvalue()
    assert "100% 3 of 3" in drawn
    assert drawn.endswith("\r")
    pipe = io.StringIO()
    run("snapshot", LABEL, stderr=pipe)
    assert pipe.getvalue() == ""


def test_a_real_process_on_a_pipe(tmp_path):
    """manage.py in a child process on its own database: lines in its
    EVENTLOG_DIR, a summary on stdout, no bar and no traceback on stderr."""
    logs = tmp_path / "logs"
    env = child_env(logs, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    script = (
        "import eventlog\nfrom speedy.models import Employees\n"
        "with eventlog.disabled():\n"
        "    for n in range(5): Employees.objects.create(first_name=f'E{n}', last_name='L',"
        " address='a', age=20 + n, date_of_birth='2000-01-01')\n"
    )
    subprocess.run([*manage, "shell", "-c", script], env=env, check=True, cwd=ROOT)
    done = subprocess.run(
        [*manage, "eventlog", "snapshot", "--batch", "2"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "5" in done.stdout
    lines = [orjson.loads(x) for x in (logs / "events.jsonl").read_bytes().splitlines()]
    shots = [e for e in lines if e["event"] == "model.snapshot" and e["model"] == LABEL]
    assert [e["snapshot"]["age"] for e in shots] == [20, 21, 22, 23, 24]
    assert {e["actor"] for e in shots} == {"CLI"}
    bad = subprocess.run(
        [*manage, "eventlog", "snapshot", "speedy.nosuch"], env=env, cwd=ROOT, capture_output=True
    )
    assert bad.returncode == 1
    assert b"Traceback" not in bad.stderr
    assert bad.stderr.strip().count(b"\n") == 0


def test_restore_without_a_baseline_points_at_snapshot(eventlog_dir):
    with eventlog.disabled():
        ann = hire("Ann")
    ann.age = 31
    ann.save()
    at = read(eventlog_dir, event="model.updated")[0]["timestamp"]
    with pytest.raises(CommandError, match=r"holds no snapshot .*eventlog snapshot"):
        run("restore", LABEL, str(ann.pk), "--to", at, "--yes")
