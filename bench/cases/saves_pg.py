"""1b. Per-save overhead as in comparison 1, on PostgreSQL over loopback TCP:
a private cluster started for the comparison (tests/pgcluster.py: initdb in
a temporary directory, its own port, fsync off as in CI) and stopped after,
or the server ``BENCH_DATABASE_URL`` names. Each peer's row now costs a
round trip to a server, as in production. Skipped when no PostgreSQL can be
started (``initdb`` missing) or psycopg is not installed.
Target: as comparison 1.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

from bench.cases.saves import measure
from bench.harness import setup_django


def run(quick: bool) -> dict[str, Any]:
    """Start (or use) the server, then comparison 1's rounds against it."""
    title = "Per-save overhead (PostgreSQL over loopback TCP)"
    if importlib.util.find_spec("psycopg") is None:
        return {"title": title, "measurements": [], "skipped": "psycopg is not installed"}
    from tests import pgcluster

    base = None
    if not os.environ.get("BENCH_DATABASE_URL"):
        # In /tmp itself: the cluster's user must be able to reach the directory.
        base = Path(tempfile.mkdtemp(prefix="eventlog-bench-pg-", dir="/tmp"))
        try:
            os.environ["BENCH_DATABASE_URL"] = pgcluster.start(base)
        except (RuntimeError, OSError) as exc:
            pgcluster.stop(base)
            return {"title": title, "measurements": [], "skipped": f"no PostgreSQL: {exc}"}
    try:
        # The bench app has no migrations: its tables (with foreign keys to
        # auth's) are made by run_syncdb, which PostgreSQL checks at once.
        setup_django(migrate=False)
        from django.core.management import call_command

        call_command("migrate", "auth", verbosity=0)
        call_command("migrate", run_syncdb=True, verbosity=0)
        return measure(quick, "saves_pg", title)
    finally:
        if base is not None:
            from django.db import connections

            connections.close_all()
            pgcluster.stop(base)
