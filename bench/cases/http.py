"""6. HTTP: gunicorn, 4 sync workers, serving the demo's ``/test_logging/``
(creates an employee in a transaction, its shift assignment and
``event_signal``: three to four lines per request) on loopback, under wrk (or
the Python load generator :mod:`bench.loadgen` when wrk is missing), with
eventlog on against ``EVENTLOG_ENABLED=False`` (events built, not written).

Both servers run side by side (each with its own SQLite file in WAL mode and
log directory); load alternates between them, round by round. The demo's
shift assignment reads every shift per request, so a request costs more as
the table grows: both databases are emptied before every round, so that
each round of each server starts from the same state.
Target (issue 18): requests per second with eventlog on at least 97% of off.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.harness import interleave, measurement, median, paired

ROOT = Path(__file__).resolve().parents[2]
TARGET = 0.97
PATH = "/test_logging/"
NOTE = (
    "A demo request runs several queries (SQLite, the shift assignment reads "
    "every shift) and writes three to four lines, a percent or two of its "
    "time; a larger gap on a shared 2-core machine (wrk, 8 workers and other "
    "jobs) is noise first: rerun on an idle machine with more rounds."
)


DEMO_TABLES = ("speedy_shiftsemployees", "speedy_shifts", "speedy_employees")


def _reset(db: Path) -> None:
    """Empty the demo's tables (the servers are idle between rounds)."""
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn, conn:
        for table in DEMO_TABLES:
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _server(base: Path, enabled: bool) -> Iterator[int]:
    directory = base / ("on" if enabled else "off")
    directory.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.http_settings",
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "EVENTLOG_DIR": str(directory / "logs"),
        "BENCH_EVENTLOG_ENABLED": "1" if enabled else "0",
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--workers",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("gunicorn did not come up") from None
                time.sleep(0.2)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
WRK_REQUESTS = re.compile(r"(\d+) requests in")


def _load(tool: str, port: int, seconds: float) -> dict[str, float]:
    if tool == "wrk":
        out = subprocess.run(
            ["wrk", "-t2", "-c8", f"-d{seconds:g}s", f"http://127.0.0.1:{port}{PATH}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rps = WRK_RPS.search(out)
        if rps is None:
            raise RuntimeError(f"cannot read wrk's output: {out}")
        errors = WRK_ERRORS.search(out)
        requests = WRK_REQUESTS.search(out)
        return {
            "rps": float(rps.group(1)),
            "errors": float(errors.group(1)) if errors else 0.0,
            "requests": float(requests.group(1)) if requests else 0.0,
        }
    result = loadgen.run("127.0.0.1", port, PATH, seconds)
    return {k: float(v) for k, v in result.items()}


def run(quick: bool) -> dict[str, Any]:
    """Interleaved load rounds against the two servers."""
    if importlib.util.find_spec("gunicorn") is None:
        return {
            "title": "HTTP",
            "measurements": [],
            "skipped": "gunicorn is not installed (pip install -e '.[bench]')",
        }
    tool = "wrk" if shutil.which("wrk") else "python"
    seconds = 1.0 if quick else 5.0
    rounds = 1 if quick else 8
    base = Path(tempfile.mkdtemp(prefix="eventlog-bench-http-"))
    try:
        with _server(base, True) as on, _server(base, False) as off:
            for port in (on, off):  # warm every worker up
                _load(tool, port, 1.0 if quick else 3.0)

            def one_round(name: str, port: int) -> dict[str, float]:
                _reset(base / name / "db.sqlite3")
                return _load(tool, port, seconds)

            results = interleave(
                {"on": lambda: one_round("on", on), "off": lambda: one_round("off", off)},
                rounds,
                warmup=0,
            )
        lines = sum(
            sum(1 for _ in open(p, "rb"))  # noqa: SIM115
            for p in (base / "on" / "logs").glob("events.jsonl*")
            if not p.name.endswith(".gz")
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    ratio = paired(results["on"]["rps"], results["off"]["rps"], "ratio")
    errors = {name: sum(r["errors"]) for name, r in results.items()}
    return {
        "title": "HTTP: gunicorn 4 workers, /test_logging/",
        "measurements": [
            measurement(
                "http.rps",
                f"gunicorn -w 4, GET {PATH} under {tool}: eventlog on vs sink disabled",
                unit="requests/s",
                values={f"{name} rps": median(r["rps"]) for name, r in results.items()},
                ratio=ratio,
                ratio_of="rps on / rps off",
                target=TARGET,
                op=">=",
                note=NOTE,
            )
        ],
        "info": {
            "load_tool": tool if tool == "wrk" else "python (wrk not found): bench/loadgen.py",
            "seconds_per_round": seconds,
            "rounds": rounds,
            "errors": errors,
            "lines_in_live_file": lines,
        },
    }
