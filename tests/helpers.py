"""Reading what the pipeline wrote, for assertions."""

from __future__ import annotations

import gzip
import os
import re
import time
from pathlib import Path
from typing import Any, NoReturn

import orjson
import pytest

from eventlog import schema
from eventlog.core import integrity as _integrity

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
LEVELS = {"debug", "info", "warning", "error", "critical"}


def assert_schema(lines: list[bytes]) -> None:
    """Every line the pipeline wrote (one that starts with its ``timestamp``,
    or ECS's ``@timestamp``) is valid against eventlog/schema/event-v1.json,
    ECS lines in their native form. Lines that sink-level tests write
    themselves (``{"n": 1}`` bodies) are not events and are left alone."""
    for line in lines:
        if not line.startswith((b'{"timestamp":', b'{"@timestamp":')):
            continue
        problem = schema.error(line)
        assert problem is None, f"{line[:300]!r}: {problem}"


def raw_lines(directory: Path, name: str = "events.jsonl", *, valid: bool = True) -> list[bytes]:
    """The raw lines of the live file (empty when it does not exist); lines of
    ``events.jsonl`` are checked against the JSON Schema unless ``valid=False``
    (tests that write lines which are not events on purpose)."""
    path = directory / name
    if not path.exists():
        return []
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), "file ends with a torn line"
    lines = data.splitlines(keepends=True)
    if valid and name == "events.jsonl":
        assert_schema(lines)
    return lines


def read(
    directory: Path, name: str = "events.jsonl", event: str | None = None
) -> list[dict[str, Any]]:
    """Parsed lines of the live file, optionally only those of ``event``."""
    lines = [orjson.loads(line) for line in raw_lines(directory, name)]
    return [line for line in lines if event is None or line["event"] == event]


def assert_envelope(line: dict[str, Any]) -> None:
    """Every contract key of every line is present and well-formed."""
    assert TIMESTAMP.fullmatch(line["timestamp"]), line["timestamp"]
    assert line["level"] in LEVELS
    assert isinstance(line["event"], str)
    assert line["event"]
    assert UUID7.fullmatch(line["event_id"]), line["event_id"]
    assert line["schema_version"] == 1
    assert isinstance(line["stream"], str)
    assert line["stream"]
    assert isinstance(line["seq"], int)
    assert line["seq"] >= 1
    assert re.fullmatch(r"[0-9a-f]{64}", line["hash"])
    assert list(line)[-1] == "hash"


def assert_chains(lines: list[bytes], key: bytes | None = None) -> None:
    """Each stream's seq is gap-free from 1 and its hash chain holds."""
    previous: dict[str, bytes] = {}
    seqs: dict[str, int] = {}
    for raw in lines:
        parsed = orjson.loads(raw)
        stream = parsed["stream"]
        assert parsed["seq"] == seqs.get(stream, 0) + 1, (stream, parsed["seq"])
        seqs[stream] = parsed["seq"]
        split = _integrity.split(raw)
        assert split is not None
        body, digest = split
        assert _integrity.chain(previous.get(stream, b""), body, key) == digest
        previous[stream] = digest


def all_lines(directory: Path, name: str = "events.jsonl", *, valid: bool = True) -> list[bytes]:
    """Every line of the rotated (gzip or plain) files, oldest first, then the
    live file; schema-checked like :func:`raw_lines`."""
    from eventlog.core.files import rotated_files

    out: list[bytes] = []
    for path in rotated_files(directory / name):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            data = f.read()
        assert data.endswith(b"\n"), path
        out.extend(data.splitlines(keepends=True))
    if valid and name == "events.jsonl":
        assert_schema(out)
    return out + raw_lines(directory, name, valid=valid)


ROOT = Path(__file__).resolve().parent.parent

WRITER = """
import sys, django
django.setup()
from eventlog.signals import event_signal
name = sys.argv[1]
for n in range(int(sys.argv[2])):
    event_signal.send(sender=name, n=n, message="hello world", pad="p" * 200)
"""


def paced_writer(every: int, pause: float) -> str:
    """:data:`WRITER` pausing ``pause`` seconds every ``every`` lines, so that
    a test's renames fall while the writers still write, however fast the
    machine is."""
    return WRITER.replace(
        "    event_signal.send(",
        f"    n % {every} or __import__('time').sleep({pause})\n    event_signal.send(",
    )


def write_log(path: Path, *lines: bytes) -> Path:
    """Write ``lines`` to ``path`` (its folder made), gzip-compressed when the
    name ends in ``.gz``, as a rotated file would be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(lines)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def make_line(ts: str, event: str = "model.updated", **fields: Any) -> bytes:
    """One line as the pipeline writes it: envelope first, hash last, orjson compact
    (``level`` and ``seq`` may be given; the hash is a placeholder)."""
    level, seq = fields.pop("level", "info"), fields.pop("seq", 1)
    data = {
        "timestamp": ts,
        "level": level,
        "event": event,
        "event_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "schema_version": 1,
        **fields,
        "stream": "host-1-abcd",
        "seq": seq,
        "hash": "0" * 64,
    }
    return orjson.dumps(data) + b"\n"


def child_env(directory: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process of the project writing to ``directory``
    (the test runner's own EVENTLOG_* variables removed)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTLOG_")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        EVENTLOG_DIR=str(directory),
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def run_writers(env: dict[str, str], processes: int, count: int, script: str = WRITER) -> None:
    """Run ``processes`` OS processes sending ``count`` events each (sender
    ``w0``, ``w1``...) through the real pipeline, and wait for them. ``script``
    gets the sender and the count as ``sys.argv[1:3]``."""
    import subprocess
    import sys

    writers = [
        subprocess.Popen([sys.executable, "-c", script, f"w{i}", str(count)], cwd=ROOT, env=env)
        for i in range(processes)
    ]
    for proc in writers:
        assert proc.wait(timeout=300) == 0


def missing(reason: str) -> NoReturn:
    """A prerequisite outside the project (a venv and the package index, a
    browser) is missing: skip here, fail in CI (``EVENTLOG_CI=1``)."""
    if os.environ.get("EVENTLOG_CI") == "1":
        pytest.fail(f"EVENTLOG_CI=1 and {reason}")
    pytest.skip(reason)


def clear_of_midnight(needed_s: float) -> None:
    """Sleep past UTC midnight when it is less than ``needed_s`` away: a test
    whose code and assertions each take today's date must see one date."""
    left = 86400 - time.time() % 86400
    if left < needed_s:
        time.sleep(left + 0.5)


async def close_executor_connection() -> None:
    """Close the database connection of asgiref's ``sync_to_async`` thread,
    which would otherwise stay open and keep PostgreSQL from dropping the
    test database at the end of the session."""
    from asgiref.sync import sync_to_async
    from django.db import connection

    await sync_to_async(lambda: connection.close())()
