"""Auditing django.contrib.sessions: warned about, and session keys and data
are never written (the session key is the row's pk, and its str())."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import override_settings

from eventlog.audit import app_events, checks, registry
from tests.helpers import ROOT, child_env, raw_lines, read


@pytest.mark.parametrize(
    "models",
    [
        ["sessions"],
        ["sessions.Session"],
        [("sessions.Session", {"exclude": ["expire_date"]})],
    ],
)
def test_registering_sessions_warns(models):
    with override_settings(EVENTLOG_MODELS=models):
        found = [m for m in checks.check_models() if m.id == "eventlog.W040"]
    assert len(found) == 1
    assert "sessions.session" in found[0].msg.lower()


def test_other_models_do_not_warn():
    with override_settings(EVENTLOG_MODELS=["zoo.Animal", "auth"]):
        assert [m for m in checks.check_models() if m.id == "eventlog.W040"] == []


def test_session_key_and_data_are_masked_whatever_the_masking_rule(monkeypatch):
    """Even a masker that found no secret at all leaves them masked."""

    class Blind:
        def __init__(self, *_args: object) -> None:
            pass

        def is_secret(self, _key: object) -> bool:
            return False

    monkeypatch.setattr(registry, "Masker", Blind)
    reg = registry.Registration(Session, None, (), ())
    reg.resolve()
    assert {"session_key", "session_data"} <= reg.masked
    assert reg.secret_pk


def test_a_session_is_described_without_its_key():
    """object_id and object_repr of a session (registered or not) are masked:
    both are the session key."""
    session = Session(session_key="k" * 32, session_data="data")
    assert app_events.object_id(session) == "***"
    assert app_events.object_repr(session) == "***"
    assert app_events.describe(session)["object_id"] == "***"


SETTINGS = """
from config.settings import *  # noqa: F403
from config.settings import EVENTLOG_MODELS
EVENTLOG_MODELS = [*EVENTLOG_MODELS, "sessions"]
"""

SCRIPT = """
from django.contrib.sessions.backends.db import SessionStore
from eventlog.signals import event_signal
from django.contrib.sessions.models import Session
s = SessionStore()
s["user"] = "carol-private"
s.save()
row = Session.objects.get(pk=s.session_key)
print("OUT", s.session_key)
print("OUT", row.session_data)
s["more"] = 1
s.save()
print("OUT", Session.objects.get(pk=s.session_key).session_data)
event_signal.send(sender="t", instance=row)
s.cycle_key()
print("OUT", s.session_key)
s.delete()
"""


@pytest.mark.slow
def test_a_registered_session_model_never_writes_keys_or_data(tmp_path: Path, eventlog_dir):
    """The project as a user runs it with "sessions" in EVENTLOG_MODELS:
    `manage.py check` warns, and creating, updating, describing, cycling and
    deleting a session writes lines without any key or data in them."""
    (tmp_path / "sessions_settings.py").write_text(SETTINGS)
    env = child_env(eventlog_dir, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env.update(DJANGO_SETTINGS_MODULE="sessions_settings", PYTHONPATH=f"{tmp_path}:{ROOT}")

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    assert "eventlog.W040" in manage("check").stderr
    manage("migrate", "--noinput", "-v0")
    stdout = manage("shell", "-c", SCRIPT).stdout
    out = [line.split()[1] for line in stdout.splitlines() if line.startswith("OUT ")]
    assert len(out) == 4
    raw = b"".join(raw_lines(eventlog_dir))
    for secret in out:
        assert secret.encode() not in raw, secret
    assert b"carol-private" not in raw
    lines = read(eventlog_dir)
    events = [line["event"] for line in lines if line.get("model") == "sessions.session"]
    assert "model.created" in events
    assert "model.deleted" in events
    for line in lines:
        if line.get("model") == "sessions.session":
            assert line["object_id"] == "***"
            assert line.get("object_repr", "***") == "***"
    (app,) = [line for line in lines if line["event"] == "app.event"]
    assert app["instance"]["object_id"] == app["instance"]["repr"] == "***"
