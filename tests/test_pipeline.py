"""The event pipeline: signals to chained JSON lines in events.jsonl."""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from decimal import Decimal

import orjson
import pytest
import structlog
from django.db import transaction

import eventlog
from eventlog.signals import event_signal, state_changed
from eventlog.testing import capture_events
from eventlog.write import pipeline as _pipeline
from speedy.models import Employees
from tests.helpers import assert_chains, assert_envelope, raw_lines, read


def test_event_signal_writes_one_line_with_every_contract_key(eventlog_dir):
    """event_signal.send() appends one line carrying the whole envelope."""
    event_signal.send(sender="tests", message="hello", color="blue")
    (line,) = read(eventlog_dir)
    assert_envelope(line)
    assert line["event"] == "app.event"
    assert line["sender"] == "tests"
    assert line["message"] == "hello"
    assert line["color"] == "blue"
    assert list(line)[:5] == ["timestamp", "level", "event", "event_id", "schema_version"]


def test_seq_is_gap_free_and_hash_chain_holds(eventlog_dir):
    """Lines of one process form one stream with seq 1..n and a valid SHA-256 chain."""
    for n in range(25):
        event_signal.send(sender="tests", message=f"n={n}")
    lines = raw_lines(eventlog_dir)
    assert len(lines) == 25
    assert len({orjson.loads(x)["stream"] for x in lines}) == 1
    assert_chains(lines)


def test_hmac_key_keys_the_chain(eventlog_dir, settings):
    """With EVENTLOG_HMAC_KEY the chain is HMAC-SHA256 and plain SHA-256 no longer verifies."""
    settings.EVENTLOG_HMAC_KEY = "k3y"
    for _ in range(3):
        event_signal.send(sender="tests")
    lines = raw_lines(eventlog_dir)
    assert_chains(lines, key=b"k3y")
    with pytest.raises(AssertionError):
        assert_chains(lines)


def test_threads_share_one_gap_free_stream(eventlog_dir):
    """Concurrent threads never interleave bytes or reuse a seq."""

    def work() -> None:
        for _ in range(200):
            event_signal.send(sender="threads", message="x" * 300)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = raw_lines(eventlog_dir)
    assert len(lines) == 800
    assert_chains(lines)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_starts_its_own_stream(eventlog_dir):
    """A forked child writes under a new stream starting at seq 1."""
    event_signal.send(sender="parent")
    pid = os.fork()
    if pid == 0:  # child
        try:
            event_signal.send(sender="child")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    event_signal.send(sender="parent")
    lines = raw_lines(eventlog_dir)
    parsed = [orjson.loads(x) for x in lines]
    assert [p["sender"] for p in parsed] == ["parent", "child", "parent"]
    assert parsed[1]["stream"] != parsed[0]["stream"] == parsed[2]["stream"]
    assert parsed[1]["seq"] == 1
    assert parsed[2]["seq"] == 2
    assert_chains(lines)


def test_error_level_and_instance(eventlog_dir, db):
    """level= sets the line's level; instance= is described as {model, object_id, repr}."""
    emp = Employees.objects.create(
        first_name="Ada", last_name="L", age=36, date_of_birth=dt.date(1990, 1, 1)
    )
    event_signal.send(sender=Employees, message="boom", level="error", instance=emp)
    (line,) = read(eventlog_dir, event="app.event")
    assert line["level"] == "error"
    assert line["sender"] == "speedy.employees"
    assert line["instance"] == {
        "model": "speedy.employees",
        "object_id": str(emp.pk),
        "repr": "Ada L",
    }


def test_custom_event_name_and_invalid_ones(eventlog_dir):
    """event= names the line; a name that is not a dotted token falls back to app.event."""
    event_signal.send(sender="t", event="billing.invoice_sent")
    event_signal.send(sender="t", event='bad"\nname')
    first, second = read(eventlog_dir)
    assert first["event"] == "billing.invoice_sent"
    assert second["event"] == "app.event"
    assert second["invalid_event"] == 'bad"\nname'


def test_extra_keys_cannot_overwrite_the_envelope(eventlog_dir):
    """Keys that would overwrite envelope or sink keys are moved under "extra"."""
    event_signal.send(
        sender="t", timestamp="forged", seq=999, hash="0" * 64, stream="evil", event_id="x"
    )
    raw = raw_lines(eventlog_dir)
    (line,) = [orjson.loads(x) for x in raw]
    assert_envelope(line)
    assert line["seq"] == 1
    assert line["extra"] == {
        "timestamp": "forged",
        "seq": 999,
        "hash": "0" * 64,
        "stream": "evil",
        "event_id": "x",
    }
    assert raw[0].count(b'"seq":') == 2  # the real one and the one under "extra"
    assert_chains(raw)


def test_values_cannot_forge_lines(eventlog_dir):
    """Newlines and quotes in values stay inside one JSON string."""
    event_signal.send(sender="t", message='x"}\n{"event":"forged","seq":1}\n')
    lines = raw_lines(eventlog_dir)
    assert len(lines) == 1
    assert orjson.loads(lines[0])["message"].startswith('x"}\n{')


def test_values_become_json_native(eventlog_dir):
    """Datetimes, dates, Decimal, UUID, durations, bytes, sets and odd objects never raise."""

    class Odd:
        def __str__(self) -> str:
            return "odd!"

    ident = uuid.uuid4()
    event_signal.send(
        sender="t",
        when=dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        day=dt.date(2026, 1, 2),
        amount=Decimal("12.30"),
        ident=ident,
        took=dt.timedelta(hours=1, seconds=2),
        blob=b"\x00\xff",
        tags={"b", "a"},
        odd=Odd(),
        huge=2**80,
        nested={1: {"deep": [Decimal("1.5")]}},
    )
    (line,) = read(eventlog_dir)
    assert line["when"] == "2026-01-02T03:04:05.000006Z"
    assert line["day"] == "2026-01-02"
    assert line["amount"] == "12.30"
    assert line["ident"] == str(ident)
    assert line["took"] == "P0DT01H00M02S"
    assert line["blob"] == "AP8="
    assert line["tags"] == ["a", "b"]
    assert line["odd"] == "odd!"
    assert line["huge"] == str(2**80)
    assert line["nested"] == {"1": {"deep": ["1.5"]}}


def test_secrets_are_masked_at_any_depth(eventlog_dir, settings):
    """password/token/secret/api_key keys and EVENTLOG_MASK_FIELDS are written as ***."""
    settings.EVENTLOG_MASK_FIELDS = ["ssn"]
    event_signal.send(
        sender="t",
        password="hunter2",
        form={"user": "bob", "API_KEY": "abc", "items": [{"csrfmiddlewaretoken": "tok"}]},
        client_secret="s",
        ssn="123",
    )
    raw = raw_lines(eventlog_dir)[0]
    for secret in (b"hunter2", b'"abc"', b'"tok"', b'"s"', b'"123"'):
        assert secret not in raw
    (line,) = read(eventlog_dir)
    assert line["password"] == "***"
    assert line["form"] == {
        "user": "bob",
        "API_KEY": "***",
        "items": [{"csrfmiddlewaretoken": "***"}],
    }
    assert line["client_secret"] == "***"
    assert line["ssn"] == "***"


def test_a_mask_fragment_never_blanks_the_envelope(eventlog_dir, settings):
    """A mask fragment that names envelope keys (here "event" and "id") masks the
    caller's and the context's values, never the envelope the line needs to parse."""
    settings.EVENTLOG_MASK_FIELDS = ["event", "id"]
    with eventlog.context(request_id="r-1"):
        event_signal.send(sender="t", event="app.masked", order_id=7, eventual="x", level="warning")
    (line,) = read(eventlog_dir, event="app.masked")
    assert_envelope(line)
    assert line["level"] == "warning"
    assert line["order_id"] == line["eventual"] == line["request_id"] == "***"


def test_envelope_keys_are_moved_every_time_not_only_the_first(eventlog_dir):
    """Keys seen before (cached as innocent) still never overwrite the envelope:
    the second and third identical events move ``level``/``event_id`` too."""
    for _ in range(3):
        event_signal.send(sender="t", event_id="forged", seq=7, plain="x")
    lines = read(eventlog_dir)
    assert len(lines) == 3
    for line in lines:
        assert_envelope(line)
        assert line["event_id"] != "forged"
        assert line["extra"] == {"event_id": "forged", "seq": 7}
        assert line["plain"] == "x"


def test_a_secret_key_among_known_ones_is_masked_every_time(eventlog_dir):
    """A dict whose other keys are all known to be innocent still has its one
    secret key masked, at the top and nested, on repeated events."""
    for _ in range(3):
        event_signal.send(sender="t", a=1, b="x", nested={"a": 1, "password": "pw1"})
        event_signal.send(sender="t", a=1, b="x", password="pw2")
    raw = b"".join(raw_lines(eventlog_dir))
    assert b"pw1" not in raw
    assert b"pw2" not in raw
    assert len(read(eventlog_dir)) == 6


def test_moved_keys_are_masked_too(eventlog_dir):
    """Secrets inside a value moved under "extra" (a caller's "timestamp") are masked."""
    event_signal.send(sender="t", timestamp={"when": "now", "token": "t0ps3cret"})
    raw = raw_lines(eventlog_dir)[0]
    assert b"t0ps3cret" not in raw
    (line,) = read(eventlog_dir)
    assert line["extra"] == {"timestamp": {"when": "now", "token": "***"}}


def test_oversized_values_are_truncated_within_the_cap(eventlog_dir, settings):
    """A line never exceeds EVENTLOG_MAX_LINE_BYTES: the largest values are cut with a marker."""
    settings.EVENTLOG_MAX_LINE_BYTES = 4096
    event_signal.send(sender="t", message="m" * 20_000, small="keep", blob=["x" * 50] * 300)
    raw = raw_lines(eventlog_dir)
    assert len(raw) == 1
    assert len(raw[0]) <= 4096
    line = orjson.loads(raw[0])
    assert_envelope(line)
    assert line["truncated"] is True
    assert line["small"] == "keep"
    assert "…[truncated " in line["message"] or "…[truncated " in line["blob"]
    assert_chains(raw)


def test_context_binds_nests_and_restores(eventlog_dir):
    """eventlog.context() values appear on events inside, inner values win, and leave no trace."""
    with eventlog.context(actor="alice", reason="cleanup"):
        event_signal.send(sender="t", message="outer")
        with eventlog.context(reason="inner", ticket=42):
            event_signal.send(sender="t", message="inner")
        event_signal.send(sender="t", message="outer again")
    event_signal.send(sender="t", message="after")
    outer, inner, again, after = read(eventlog_dir)
    assert (outer["actor"], outer["reason"]) == ("alice", "cleanup")
    assert (inner["actor"], inner["reason"], inner["ticket"]) == ("alice", "inner", 42)
    assert again["reason"] == "cleanup"
    assert "ticket" not in again
    assert after["actor"] == "CLI"
    assert "reason" not in after


def test_outside_requests_the_actor_is_cli(eventlog_dir):
    """Without a request, events carry actor "CLI", ip "CLI", os_user and command."""
    event_signal.send(sender="t")
    (line,) = read(eventlog_dir)
    assert line["actor"] == "CLI"
    assert line["ip"] == "CLI"
    assert line["os_user"]
    assert line["command"]


@pytest.mark.django_db(transaction=True)
def test_events_wait_for_commit_and_vanish_on_rollback(eventlog_dir):
    """Inside a transaction an event is written at commit, never after a rollback."""
    with transaction.atomic():
        event_signal.send(sender="t", message="committed")
        assert read(eventlog_dir) == []
    with pytest.raises(RuntimeError), transaction.atomic():
        event_signal.send(sender="t", message="rolled back")
        raise RuntimeError
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            event_signal.send(sender="t", message="savepoint rolled back")
            raise RuntimeError
        event_signal.send(sender="t", message="outer kept")
    assert [x["message"] for x in read(eventlog_dir)] == ["committed", "outer kept"]


@pytest.mark.django_db(transaction=True)
def test_errors_are_written_at_once_even_if_the_transaction_rolls_back(eventlog_dir):
    """level=error writes immediately (it describes the failure); on_commit=True defers it."""
    with pytest.raises(RuntimeError), transaction.atomic():
        event_signal.send(sender="t", message="failed", level="error")
        event_signal.send(sender="t", message="deferred", level="error", on_commit=True)
        raise RuntimeError
    assert [x["message"] for x in read(eventlog_dir)] == ["failed"]


@pytest.mark.django_db(transaction=True)
def test_deferred_events_keep_the_context_of_when_they_were_sent(eventlog_dir):
    """A deferred event carries the context bound when it was sent, not at commit."""
    with transaction.atomic(), eventlog.context(actor="alice"):
        event_signal.send(sender="t")
    (line,) = read(eventlog_dir)
    assert line["actor"] == "alice"


@pytest.mark.django_db(transaction=True)
def test_state_changed_signal_logs_state_changed_at_commit(eventlog_dir, django_user_model):
    """state_changed.send() logs state.changed with model, object_id, field, source,
    target and transition once the transaction commits."""
    user = django_user_model.objects.create(username="zed")
    with transaction.atomic():
        state_changed.send(
            sender=type(user),
            instance=user,
            field="is_active",
            source=False,
            target=True,
            transition="go",
            note="why",
        )
        assert read(eventlog_dir, event="state.changed") == []
    (line,) = read(eventlog_dir, event="state.changed")
    assert_envelope(line)
    assert {
        k: line[k]
        for k in ("model", "object_id", "field", "source", "target", "transition", "note")
    } == {
        "model": "auth.user",
        "object_id": str(user.pk),
        "field": "is_active",
        "source": False,
        "target": True,
        "transition": "go",
        "note": "why",
    }


def test_capture_events_collects_what_is_written(eventlog_dir):
    """capture_events() yields the dicts written inside the block, secrets masked."""
    with capture_events() as events:
        event_signal.send(sender="t", message="one", token="abc")
    event_signal.send(sender="t", message="outside")
    assert [e["message"] for e in events] == ["one"]
    assert events[0]["token"] == "***"
    assert len(read(eventlog_dir)) == 2


def test_structlog_global_configuration_is_untouched():
    """eventlog builds its own logger: the project's structlog.configure() is not replaced."""
    structlog.configure(processors=[structlog.processors.KeyValueRenderer()])
    try:
        _pipeline.configure()
        assert isinstance(
            structlog.get_config()["processors"][0], structlog.processors.KeyValueRenderer
        )
    finally:
        structlog.reset_defaults()


def test_an_unwritable_directory_never_breaks_the_caller(eventlog_dir, settings, capfd):
    """A blocked directory: the send succeeds, stderr reports it, and lines come once it clears."""
    blocker = eventlog_dir.parent / "blocked"
    blocker.write_text("a file where the directory should be")
    settings.EVENTLOG_DIR = str(blocker / "logs")
    event_signal.send(sender="t", message="while broken")
    assert "eventlog: cannot write" in capfd.readouterr().err
    sink = _pipeline.get_sink("events.jsonl")
    assert sink.stats.failures == 1
    assert sink.stats.backlog == 1
    blocker.unlink()
    event_signal.send(sender="t", message="after recovery")
    assert [x["message"] for x in read(blocker / "logs")] == ["while broken", "after recovery"]
    assert_chains(raw_lines(blocker / "logs"))


def test_files_are_created_0640_in_a_0750_directory(eventlog_dir):
    """The live file is 0640 and its directory 0750 (umask permitting)."""
    old = os.umask(0o022)
    try:
        event_signal.send(sender="t")
    finally:
        os.umask(old)
    assert (eventlog_dir / "events.jsonl").stat().st_mode & 0o777 == 0o640
    assert eventlog_dir.stat().st_mode & 0o777 == 0o750


def test_secrets_inside_dataclasses_and_under_odd_keys_are_masked(eventlog_dir):
    """orjson would serialize a dataclass natively; it is masked like a dict,
    and a cyclic structure is cut instead of losing the event."""
    import dataclasses

    @dataclasses.dataclass
    class Creds:
        user: str
        password: str

    cyclic: list[object] = []
    cyclic.append(cyclic)
    event_signal.send(sender="t", creds=Creds("bob", "hunter2"), loop=cyclic)
    raw = raw_lines(eventlog_dir)
    assert b"hunter2" not in raw[0]
    (line,) = read(eventlog_dir)
    assert line["creds"] == {"user": "bob", "password": "***"}
    assert line["event"] == "app.event"


def test_broken_signal_arguments_never_raise_into_the_sender(eventlog_dir, capfd):
    """A message whose str() raises, a non-model instance for state_changed or a
    missing argument become eventlog.error lines, not exceptions."""

    class Unprintable:
        def __str__(self) -> str:
            raise ValueError("no")

    event_signal.send(sender="t", message=Unprintable())
    state_changed.send(
        sender="t", instance=object(), field="f", source="a", target="b", transition="x"
    )
    state_changed.send(sender="t", instance=object())  # field, source... missing
    lines = read(eventlog_dir)
    assert lines[0]["message"].startswith("<unprintable ")
    assert lines[1]["event"] == "state.changed"
    assert lines[1]["object_id"] is None
    assert lines[2]["event"] == "eventlog.error"
    assert lines[2]["error"] == "receiver_failed"
    assert "could not log" in capfd.readouterr().err


def test_context_and_a_callers_own_extra_cannot_forge_the_envelope(eventlog_dir):
    """Reserved keys bound with context() move under "extra" too; a caller's own
    "extra" (dict or not) is kept, merged, and never mutated."""
    import eventlog

    own = {"note": "mine"}
    with eventlog.context(seq=99, hash="x", timestamp="yesterday"):
        event_signal.send(sender="t", extra=own, level_="fine", event_id="forged")
    event_signal.send(sender="t", extra="text", stream="evil")
    raw = raw_lines(eventlog_dir)
    first, second = (orjson.loads(x) for x in raw)
    assert_chains(raw)
    for line in (first, second):
        assert_envelope(line)
    assert first["extra"] == {
        "note": "mine",
        "seq": 99,
        "hash": "x",
        "timestamp": "yesterday",
        "event_id": "forged",
    }
    assert own == {"note": "mine"}
    assert second["extra"] == {"value": "text", "stream": "evil"}
    assert raw[0].count(b'"seq":') == 2


def test_log_record_extras_cannot_forge_django_jsonl_lines(eventlog_dir):
    """A record's extra={"event":..., "level":..., "timestamp":...} goes under
    "extra"; the envelope stays the logger's."""
    import logging

    logging.getLogger("speedy").warning(
        "careful", extra={"event": "forged", "level": "debug", "timestamp": "then", "seq": 5}
    )
    (line,) = read(eventlog_dir, "django.jsonl")
    assert_envelope(line)
    assert (line["event"], line["level"], line["message"]) == ("speedy", "warning", "careful")
    assert line["extra"] == {"event": "forged", "level": "debug", "timestamp": "then", "seq": 5}
    assert_chains(raw_lines(eventlog_dir, "django.jsonl"))


RAW_FORK = """
import ctypes, os, sys
import django
django.setup()
from eventlog.signals import event_signal
event_signal.send(sender="parent")
pid = ctypes.CDLL(None, use_errno=True).fork()  # libc's: no Python at-fork hooks
if pid == 0:
    event_signal.send(sender="child")
    event_signal.send(sender="child")
    os._exit(0)
os.waitpid(pid, 0)
event_signal.send(sender="parent")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_without_python_hooks_gets_its_own_stream_and_ids(tmp_path):
    """A raw fork() (libc's, as uWSGI does without py-call-osafterfork: no
    Python at-fork hooks run) still gives the child its own stream from seq 1
    and event ids of its own, noticed from the first line it writes. (In a
    process of its own: a fork without hooks must not happen while other
    threads hold locks, as in the test runner.)"""
    import subprocess
    import sys

    from tests.helpers import ROOT, child_env

    logs = tmp_path / "logs"
    subprocess.run(
        [sys.executable, "-c", RAW_FORK], cwd=ROOT, env=child_env(logs), check=True, timeout=60
    )
    lines = raw_lines(logs)
    parsed = [orjson.loads(x) for x in lines]
    assert [p["sender"] for p in parsed] == ["parent", "child", "child", "parent"]
    parent, child = parsed[0]["stream"], parsed[1]["stream"]
    assert child != parent
    assert [p["stream"] for p in parsed] == [parent, child, child, parent]
    assert [p["seq"] for p in parsed] == [1, 1, 2, 2]
    # The random part of the ids (after the time fields) differs between the
    # child's lines and the parent's next one, though both drew next from the
    # same generator state.
    assert parsed[1]["event_id"][19:] != parsed[3]["event_id"][19:]
    assert_chains(lines)
