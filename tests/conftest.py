"""Shared fixtures: every test writes its logs to a directory of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from eventlog.write import pipeline as _pipeline
from tests.browser import browser  # noqa: F401 (the real-Chromium fixture)
from tests.helpers import assert_chains, assert_envelope, clear_of_midnight, raw_lines, read

# CI runs the examples derived from each test's name, the same on every run,
# so that a landing is not decided by chance; a run here draws new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("EVENTLOG_CI") == "1":
    hypothesis_settings.load_profile("ci")


@pytest.fixture(autouse=True)
def eventlog_dir(tmp_path: Path, settings) -> Iterator[Path]:
    """Point EVENTLOG_DIR at a fresh directory for the test (the pipeline is
    rebuilt through ``setting_changed``)."""
    directory = tmp_path / "logs"
    settings.EVENTLOG_DIR = str(directory)
    yield directory
    _pipeline.flush()


@pytest.fixture
def every_line_is_sound(eventlog_dir: Path) -> Iterator[None]:
    """After the test: every line written has the full envelope and each
    stream's chain holds."""
    yield
    for line in read(eventlog_dir):
        assert_envelope(line)
    assert_chains(raw_lines(eventlog_dir))


@pytest.fixture
def one_date() -> None:
    """For tests whose code and assertions each take today's date (the demo's
    shifts): start clear of UTC midnight, so that all of them see one date."""
    clear_of_midnight(120)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server to create databases in: the one ``DATABASE_URL``
    names, else CI's cluster (``EVENTLOG_PG_URL``), else a private cluster
    started for the session (tests/pgcluster.py). Skips without one here;
    fails in CI."""
    import tempfile

    from tests import pgcluster
    from tests.helpers import missing

    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg is not installed (the [postgres] extra)")
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql://")):
        yield given
        return
    if os.environ.get("EVENTLOG_PG_URL"):
        yield os.environ["EVENTLOG_PG_URL"]
        return
    # In /tmp itself: the cluster's user must be able to reach the directory.
    base = Path(tempfile.mkdtemp(prefix="eventlog-pg-", dir="/tmp"))
    try:
        url = pgcluster.start(base)
    except (RuntimeError, OSError) as exc:
        pgcluster.stop(base)
        missing(f"no PostgreSQL cluster could be started: {exc}")
    try:
        yield url
    finally:
        pgcluster.stop(base)


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    import uuid

    import psycopg

    name = f"eventlog_t_{uuid.uuid4().hex[:12]}"
    server, _, _db = postgres_url.rpartition("/")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
