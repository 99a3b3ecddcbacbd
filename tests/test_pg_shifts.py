"""The shift rules under real concurrency, on PostgreSQL: 8 processes create
employees at once, in rounds, while a reader watches the committed state.

At every moment the reader sees (one statement: one snapshot), no shift has
more than three employees, no two shifts share a date, and every shift but
the latest-dated is full; at the end the log holds exactly one
``shift.assigned`` per assignment row and one ``shift.created`` per shift,
and no racer saw an error. With expired shifts present, the wipe racing the
assignments loses no assignment of a current shift and reports each wiped
shift in exactly one ``shifts.wiped`` line.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.helpers import ROOT, all_lines, child_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_date")]

PROCESSES = 8
ROUNDS = 3
PER_ROUND = 4

RACER = """
import os, sys, time
import django
django.setup()
from speedy.models import Employees
start, n, me = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
errors = 0
for round_ in range({rounds}):
    while time.time() < start + round_ * 1.5:
        time.sleep(0.001)
    for i in range(n):
        try:
            Employees.objects.create(first_name=me, last_name=f"r{{round_}}-{{i}}", age=30)
        except Exception as exc:
            errors += 1
            print("ERROR", type(exc).__name__, exc, file=sys.stderr)
print("DONE", errors)
"""

SNAPSHOT = """
SELECT s.id, s.shift_date, count(se.id)
FROM speedy_shifts s LEFT JOIN speedy_shiftsemployees se ON se.shift_id = s.id
WHERE s.shift_date >= CURRENT_DATE
GROUP BY s.id, s.shift_date ORDER BY s.shift_date, s.id
"""


def _connect(url: str, **kwargs: object) -> Any:
    """A connection whose ``CURRENT_DATE`` is the UTC date Django's is: the
    server's own time zone may be the machine's."""
    import psycopg

    return psycopg.connect(url, options="-c timezone=UTC", **kwargs)


def _migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
    )


def _problems(rows: list[tuple[int, object, int]]) -> list[str]:
    found = []
    dates = Counter(d for _id, d, _n in rows)
    found += [f"{n} shifts on {d}" for d, n in dates.items() if n > 1]
    found += [f"shift {i} has {n}" for i, _d, n in rows if n > 3]
    if rows:
        latest = max(d for _i, d, _n in rows)
        found += [f"shift {i} ({d}) not full: {n}" for i, d, n in rows if d != latest and n < 3]
    return found


def _race(url: str, env: dict[str, str]) -> tuple[set[str], list[str]]:
    """Run the racers while a thread watches; the watcher's problems and the
    racers' stderr lines."""

    stop = threading.Event()
    seen: set[str] = set()

    def watch() -> None:
        with _connect(url, autocommit=True) as conn:
            while not stop.is_set():
                rows = conn.execute(SNAPSHOT).fetchall()
                seen.update(_problems(rows))

    watcher = threading.Thread(target=watch)
    watcher.start()
    start = time.time() + 3.0
    script = RACER.format(rounds=ROUNDS)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(start), str(PER_ROUND), f"p{k}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(PROCESSES)
    ]
    errors: list[str] = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=240)
            errors += [line for line in err.splitlines() if line.strip()]
            assert proc.returncode == 0, err[-2000:]
            assert out.strip() == "DONE 0", (out, err[-2000:])
    finally:
        stop.set()
        watcher.join()
        for proc in procs:
            proc.kill()
    return seen, errors


def _events(directory: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in all_lines(directory)]


def test_eight_creators_never_overfill_or_double_a_shift(pg_database, tmp_path):

    logs = tmp_path / "logs"
    env = child_env(logs, DATABASE_URL=pg_database)
    _migrate(env)
    seen, errors = _race(pg_database, env)
    assert errors == []
    assert seen == set(), sorted(seen)[:20]
    with _connect(pg_database) as conn:
        rows = conn.execute(SNAPSHOT).fetchall()
        assignments = conn.execute("SELECT count(*) FROM speedy_shiftsemployees").fetchone()[0]
        shifts = conn.execute("SELECT count(*) FROM speedy_shifts").fetchone()[0]
    total = PROCESSES * ROUNDS * PER_ROUND
    assert assignments == total
    assert shifts == -(-total // 3)
    assert _problems(rows) == []
    events = Counter(e["event"] for e in _events(logs))
    assert events["shift.assigned"] == assignments
    assert events["shift.created"] == shifts


def test_the_wipe_racing_assignments_reports_each_shift_once(pg_database, tmp_path):
    """Expired shifts exist when the racers start: each is wiped and named in
    exactly one shifts.wiped line; every employee keeps an assignment on a
    current shift."""

    logs = tmp_path / "logs"
    env = child_env(logs, DATABASE_URL=pg_database)
    _migrate(env)
    with _connect(pg_database) as conn:
        expired = [
            conn.execute(
                "INSERT INTO speedy_shifts (wage_bonus, total_hours, shift_date) "
                "VALUES (50, 8, CURRENT_DATE - %s) RETURNING id",
                (days,),
            ).fetchone()[0]
            for days in range(1, 7)
        ]
    seen, errors = _race(pg_database, env)
    assert errors == []
    assert seen == set(), sorted(seen)[:20]
    wiped = [e for e in _events(logs) if e["event"] == "shifts.wiped"]
    named = Counter(i for e in wiped for i in e["shift_ids"])  # type: ignore[union-attr]
    assert named == Counter(expired)
    assert all(e["count"] == len(e["shift_ids"]) > 0 for e in wiped)  # type: ignore[arg-type]
    with _connect(pg_database) as conn:
        unassigned = conn.execute(
            "SELECT count(*) FROM speedy_employees e WHERE NOT EXISTS (SELECT 1 FROM "
            "speedy_shiftsemployees se JOIN speedy_shifts s ON s.id = se.shift_id "
            "WHERE se.employee_id = e.id AND s.shift_date >= CURRENT_DATE)"
        ).fetchone()[0]
        left = conn.execute(
            "SELECT count(*) FROM speedy_shifts WHERE shift_date < CURRENT_DATE"
        ).fetchone()[0]
    assert unassigned == 0
    assert left == 0
