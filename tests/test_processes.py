"""The project as a user runs it: manage.py commands and a real server."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import orjson
import pytest

from tests.helpers import ROOT, assert_chains, assert_envelope, child_env, raw_lines, read

pytestmark = pytest.mark.slow


def _manage(
    env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def test_management_commands_log_the_cli_actor(tmp_path, eventlog_dir):
    """A transition run from `manage.py shell` is logged with actor and ip "CLI",
    os_user and command."""
    env = child_env(eventlog_dir, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User\n"
        "from speedy.accounts import apply_transition\n"
        "u = User.objects.create_user('carol')\n"
        "apply_transition(u.account, 'activate')\n",
    )
    (line,) = read(eventlog_dir, event="state.changed")
    assert_envelope(line)
    assert (line["actor"], line["ip"], line["command"]) == ("CLI", "CLI", "shell")
    assert line["os_user"]
    assert (line["source"], line["target"], line["transition"]) == ("invited", "active", "activate")


def test_bad_settings_give_a_one_line_check_error(tmp_path, eventlog_dir):
    """An invalid EVENTLOG_MAX_BYTES stops `manage.py check` with eventlog.E002, no traceback."""
    env = child_env(eventlog_dir, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env["EVENTLOG_MAX_BYTES"] = "ten megabytes"
    result = _manage(env, "check", check=False)
    assert result.returncode != 0
    assert "eventlog.E002" in result.stderr
    assert "EVENTLOG_MAX_BYTES must be an integer" in result.stderr
    assert "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes, dict[str, str]]:
    # The README's quick start calls with curl: its lines show curl's user agent.
    request = urllib.request.Request(url, headers={"User-Agent": "curl/7.88.1"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


# What differs from run to run in the quick start's sample (README: "dates,
# ids, times, hashes and the stream name are your run's own").
_RUN_OWN = ("timestamp", "event_id", "request_id", "stream", "hash")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _quick_start() -> tuple[list[Any], list[dict[str, Any]]]:
    """The README quick start's two curl answers and its ``eventlog tail --json`` lines."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    console = re.findall(r"```console\n(.*?)```", section, re.S)[-1]
    bodies, lines, after_tail = [], [], False
    for line in console.splitlines():
        if line.startswith("$ "):
            after_tail = "eventlog tail --json" in line
        elif after_tail:
            lines.append(orjson.loads(line))
        else:
            bodies.append(orjson.loads(line))
    return bodies, lines


def _same(value: Any) -> Any:
    """``value`` with what is the run's own replaced, keys kept in order."""
    if isinstance(value, dict):
        return [(k, "*" if k in _RUN_OWN else _same(v)) for k, v in value.items()]
    if isinstance(value, str):
        return _DATE.sub("DATE", value)
    return value


def test_the_demo_server_writes_both_files(tmp_path, eventlog_dir):
    """`manage.py runserver` serves /test_logging/; its lines land in events.jsonl and
    django.server's access records in django.jsonl, each stream chained."""
    env = child_env(eventlog_dir, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    _manage(env, "migrate", "--noinput", "-v0")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _body, headers = _get(f"http://127.0.0.1:{port}/test_logging/")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert status == 201
        bad_status, bad_body, _ = _get(f"http://127.0.0.1:{port}/test_logging/?age=abc")
        assert bad_status == 400
        assert "age" in orjson.loads(bad_body)["error"]
        answers = [_same(orjson.loads(body)) for body in (_body, bad_body)]
        assert answers == [_same(body) for body in _quick_start()[0]]
    finally:
        server.terminate()
        server.wait(timeout=30)
    events = read(eventlog_dir)
    for line in events:
        assert_envelope(line)
    # The README's quick start shows what a fresh run writes: the same lines,
    # keys in the same order, values the same but for the run's own.
    assert [_same(e) for e in events] == [_same(e) for e in _quick_start()[1]]
    audit = [(e["event"], e["model"]) for e in events if e["event"].startswith("model.")]
    assert audit == [("model.created", "speedy.employees"), ("model.created", "speedy.shifts")]
    assert all(e["request_id"] == headers["X-Request-ID"] for e in events[:2])
    events = [e for e in events if not e["event"].startswith("model.")]
    names = [e["event"] for e in events]
    assert names == ["shift.created", "shift.assigned", "app.event", "app.event"]
    success, failure = events[2], events[3]
    assert success["message"].startswith("success:")
    assert success["instance"]["model"] == "speedy.employees"
    assert success["request_id"] == headers["X-Request-ID"]
    assert success["ip"] == "127.0.0.1"
    assert failure["level"] == "error"
    assert "instance" not in failure
    assert_chains(raw_lines(eventlog_dir))
    access = [r for r in read(eventlog_dir, "django.jsonl") if r["event"] == "django.server"]
    assert any('"GET /test_logging/ HTTP/1.1" 201' in r["message"] for r in access)
    for record in access:
        assert_envelope(record)
    assert_chains(raw_lines(eventlog_dir, "django.jsonl"))
