"""Account transitions under real concurrency, on PostgreSQL: processes
changing one account at once.

Two transitions of one account: one wins, the other gets a clean
``IllegalTransition``, and exactly one ``state.changed`` is written. Forced
changes (the admin's override) racing each other and transitions: one line
per change that actually happened, and read in file order the lines form
one chain (each source is the previous target) ending on the final state.
The racers write their lines late after each commit, as a descheduled
process would.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

import orjson
import pytest

from tests.helpers import ROOT, all_lines, child_env
from tests.test_pg_shifts import _migrate

pytestmark = pytest.mark.slow

SETUP = """
import django
django.setup()
from django.contrib.auth import get_user_model
from speedy.accounts import account_of, apply_transition
user = get_user_model().objects.create_user("acct", password="x")
apply_transition(account_of(user), "activate")
print("PK", account_of(user).pk)
"""

RACER = """
import sys, time
import django
django.setup()
from speedy.accounts import IllegalTransition, apply_transition, force_state
from speedy.models import UserFSM
from eventlog.write import pipeline

# A writer descheduled between its commit and its line: the window in which
# another change could commit and write first.
_write = pipeline.write_batch
def _slow_write(*args, **kwargs):
    time.sleep(0.02)
    _write(*args, **kwargs)
pipeline.write_batch = _slow_write
start, pk, steps = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
for n, step in enumerate(steps):
    while time.time() < start + n * 0.5:
        time.sleep(0.0005)
    account = UserFSM.objects.get(pk=pk)
    kind, _, arg = step.partition(":")
    try:
        if kind == "force":
            print("CHANGED" if force_state(account, arg) else "SAME")
        else:
            apply_transition(account, arg)
            print("CHANGED")
    except IllegalTransition as exc:
        print("ILLEGAL", exc)
"""


def _setup(pg_database, tmp_path):
    logs = tmp_path / "logs"
    env = child_env(logs, DATABASE_URL=pg_database)
    _migrate(env)
    out = subprocess.run(
        [sys.executable, "-c", SETUP],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    pk = int(next(line.split()[1] for line in out.splitlines() if line.startswith("PK ")))
    return logs, env, pk


def _race(env, pk, plans: list[list[str]]) -> list[str]:
    start = time.time() + 2.5
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(start), str(pk), ",".join(plan)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for plan in plans
    ]
    results: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        results += out.split("\n")[:-1]
    return results


def _state_lines(logs, pk) -> list[dict]:
    lines = [orjson.loads(line) for line in all_lines(logs)]
    return [e for e in lines if e["event"] == "state.changed" and e["object_id"] == str(pk)]


def _final_state(pg_database, pk) -> str:
    import psycopg

    with psycopg.connect(pg_database) as conn:
        row = conn.execute("SELECT current_state FROM speedy_userfsm WHERE id = %s", (pk,))
        return str(row.fetchone()[0])


def test_two_transitions_at_once_one_wins(pg_database, tmp_path):
    logs, env, pk = _setup(pg_database, tmp_path)
    before = len(_state_lines(logs, pk))
    results = _race(env, pk, [["t:lock"], ["t:lock"]])
    assert sorted(r.split()[0] for r in results) == ["CHANGED", "ILLEGAL"]
    assert any("cannot lock an account that is locked" in r for r in results)
    lines = _state_lines(logs, pk)[before:]
    assert [(e["source"], e["target"], e["transition"]) for e in lines] == [
        ("active", "locked", "lock")
    ]
    assert _final_state(pg_database, pk) == "locked"


def test_forced_changes_racing_write_one_chain_per_real_change(pg_database, tmp_path):
    logs, env, pk = _setup(pg_database, tmp_path)
    before = _state_lines(logs, pk)
    targets = ["locked", "active", "invited", "locked"]
    plans = [[f"force:{targets[(k + r) % len(targets)]}" for r in range(4)] for k in range(6)] + [
        ["t:lock", "t:unlock", "t:lock", "t:unlock"],
        ["t:unlock", "t:lock"] * 2,
    ]
    results = _race(env, pk, plans)
    assert all(r.split()[0] in {"CHANGED", "SAME", "ILLEGAL"} for r in results), results
    lines = _state_lines(logs, pk)[len(before) :]
    assert len(lines) == Counter(r.split()[0] for r in results)["CHANGED"]
    state = before[-1]["target"]
    for line in lines:
        assert line["source"] == state, [(e["source"], e["target"]) for e in lines]
        assert line["source"] != line["target"]
        state = line["target"]
    assert state == _final_state(pg_database, pk)
