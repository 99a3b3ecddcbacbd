"""Who and why on model lines: threads, asyncio, async views, capture_events
in TestCase, settings checks, and values that cannot forge a line."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from decimal import Decimal

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.core import checks
from django.db import connection, transaction
from django.test import TestCase, override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import eventlog
from eventlog.testing import capture_events
from tests.helpers import close_executor_connection, raw_lines, read
from tests.zoo.models import Animal, Enclosure


@pytest.mark.django_db(transaction=True)
def test_each_thread_keeps_its_own_actor(eventlog_dir):
    """Eight threads with different actors bound at once, their saves
    interleaved: every line names the actor of the thread that saved it.
    (SQLite's in-memory test database takes one writer at a time, hence the lock.)"""
    barrier = threading.Barrier(8)
    one_writer = threading.Lock()

    def work(i: int) -> None:
        with eventlog.context(actor=f"user{i}", reason=f"r{i}"):
            barrier.wait()
            for _ in range(5):
                with one_writer:
                    Animal.objects.create(name=f"user{i}")
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = read(eventlog_dir, event="model.created")
    assert len(created) == 40
    for event in created:
        assert event["actor"] == event["snapshot"]["name"]
        assert event["reason"] == "r" + event["actor"][4:]


@pytest.mark.django_db(transaction=True)
def test_each_asyncio_task_keeps_its_own_actor(eventlog_dir):
    """Concurrent asyncio tasks saving through sync_to_async keep the actor
    bound in their task."""

    async def task(i: int) -> None:
        with eventlog.context(actor=f"task{i}"):
            for _ in range(3):
                await sync_to_async(Animal.objects.create)(name=f"task{i}")
                await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(task(i) for i in range(5)))
        await close_executor_connection()

    asyncio.run(main())
    created = read(eventlog_dir, event="model.created")
    assert len(created) == 15
    assert all(e["actor"] == e["snapshot"]["name"] for e in created)


@pytest.mark.urls("tests.urls")
@pytest.mark.django_db(transaction=True)
def test_an_async_view_saving_through_sync_to_async_keeps_its_user(
    eventlog_dir, async_client, django_user_model
):
    """An async view that saves via sync_to_async logs the logged-in user as actor."""
    user = django_user_model.objects.create_user("carol", password="pw-123456")
    asyncio.run(async_client.aforce_login(user))
    response = asyncio.run(async_client.get("/async-save/", headers={"X-Request-ID": "rq-9"}))
    asyncio.run(close_executor_connection())
    assert response.status_code == 200
    (created,) = [
        e for e in read(eventlog_dir, event="model.created") if e["model"] == "zoo.animal"
    ]
    assert created["actor"] == "carol"
    assert created["request_id"] == "rq-9"


class CaptureInTestCase(TestCase):
    """capture_events() inside a TestCase, whose transaction never commits."""

    def test_deferred_events_are_captured(self) -> None:
        """Events deferred to the (never coming) commit are collected when the
        block ends; a rolled-back savepoint's are not."""
        with capture_events() as events:
            Animal.objects.create(name="kept")
            try:
                with transaction.atomic():
                    Animal.objects.create(name="rolled back")
                    raise ValueError
            except ValueError:
                pass
        names = [e["snapshot"]["name"] for e in events if e["event"] == "model.created"]
        assert names == ["kept"]
        assert "stream" not in events[0]

    def test_the_projects_own_callbacks_are_not_run(self) -> None:
        """Only eventlog's on_commit callbacks run at the end of the block."""
        ran: list[str] = []
        with capture_events() as events:
            transaction.on_commit(lambda: ran.append("mine"))
            Enclosure.objects.create(code="X")
        assert ran == []
        assert [e["event"] for e in events] == ["model.created"]

    def test_events_are_not_written_twice(self) -> None:
        """captureOnCommitCallbacks(execute=True) after capture_events() does
        not write the same event again."""
        with self.captureOnCommitCallbacks(execute=True), capture_events() as events:
            Enclosure.objects.create(code="Y")
        assert len(events) == 1


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("speedy", "eventlog.E040"),
        ([42], "eventlog.E040"),
        ([("zoo.Animal", {"colour": ["x"]})], "eventlog.E040"),
        (["nosuchapp"], "eventlog.E041"),
        (["zoo.Unicorn"], "eventlog.E041"),
        ([("zoo.Animal", {"exclude": ["horn"]})], "eventlog.E042"),
        ({"zoo.Animal": {"mask": ["wings"]}}, "eventlog.E042"),
    ],
)
def test_bad_model_settings_are_reported_by_checks(value, code):
    """Each malformed EVENTLOG_MODELS entry is one error naming the problem,
    from the settings table (E040) or the audit layer's check (E041, E042)."""
    with override_settings(EVENTLOG_MODELS=value):
        found = [e for e in _eventlog_checks() if e.id.startswith("eventlog.E04")]
    assert [e.id for e in found] == [code]
    assert found[0].msg.startswith("EVENTLOG_MODELS")


def test_good_model_settings_pass_the_checks():
    """The demo's and the tests' EVENTLOG_MODELS are valid."""
    assert [e for e in _eventlog_checks() if e.id.startswith("eventlog.E04")] == []


def _eventlog_checks():
    return checks.run_checks(tags=["eventlog"])


# No database's text column can hold a lone surrogate (``\ud800``: the
# driver cannot encode it) and PostgreSQL's text and jsonb cannot hold NUL;
# SQLite stores JSON as escaped text, so its JSON values keep both.
_PG = connection.vendor == "postgresql"
_TEXT_CHARACTERS = st.characters(exclude_categories=("Cs",))
_JSON_CHARACTERS = st.characters(
    exclude_characters="\x00" if _PG else None, exclude_categories=("Cs",) if _PG else ()
)
_JSON_TEXT = st.text(alphabet=_JSON_CHARACTERS, max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.django_db(transaction=True)
@hsettings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.text(alphabet=_TEXT_CHARACTERS, max_size=25),  # with the suffix, within max_length
    legs=st.integers(-(2**31), 2**31 - 1),
    weight=st.floats(allow_nan=False, allow_infinity=False),
    price=st.decimals(min_value=-(10**7), max_value=10**7, places=2, allow_nan=False),
    born=st.dates(min_value=dt.date(1, 1, 1)),
    data=json_values,
    blob=st.binary(max_size=40),
)
def test_random_values_round_trip_to_valid_lines(
    eventlog_dir, name, legs, weight, price, born, data, blob
):
    """Whatever the field values (control characters, quotes, newlines,
    forged JSON, keys named like envelope keys), each save adds exactly one
    valid JSON line with the contract's top-level keys, and the values read
    back equal what was saved."""
    name = name.replace("\x00", "")  # neither database's text can hold NUL
    before = len(raw_lines(eventlog_dir))
    animal = Animal.objects.create(
        name=name, legs=legs, weight=weight, price=price, born=born, data=data, blob=blob
    )
    animal.name = name + '"}\n{"event":"forged"}'
    animal.save()
    lines = raw_lines(eventlog_dir)[before:]
    assert len(lines) == 2
    created, updated = (orjson.loads(line) for line in lines)
    top = {"timestamp", "level", "event", "event_id", "schema_version", "stream", "seq", "hash"}
    context = {"actor", "ip", "os_user", "command"}
    assert set(created) == top | context | {"model", "object_id", "object_repr", "snapshot"}
    assert set(updated) == top | context | {"model", "object_id", "object_repr", "changes"}
    snap = created["snapshot"]
    assert snap["name"] == name
    assert snap["legs"] == legs
    assert snap["weight"] == weight
    assert Decimal(snap["price"]) == price
    assert snap["born"] == born.isoformat()
    assert updated["changes"]["name"]["new"] == animal.name
    assert updated["event"] == "model.updated"
