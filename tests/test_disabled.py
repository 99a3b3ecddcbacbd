"""Switching auditing off: ``with eventlog.disabled():`` and ``eventlog.unregister``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

import eventlog
from eventlog.audit import registry as _registry
from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from tests.helpers import close_executor_connection, read
from tests.zoo.models import Animal, AnimalProxy, Bulky, Enclosure, Keeper, LoudAnimal

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("every_line_is_sound"),
]


def model_lines(directory: Path) -> list[dict[str, Any]]:
    _pipeline.flush()
    return [e for e in read(directory) if e["event"].startswith("model.")]


def test_nothing_of_the_models_is_written_inside_but_event_signal_is(eventlog_dir):
    """Create, update, delete, m2m from both sides: no model.* line; an
    event_signal sent inside is still written."""
    animal = Animal.objects.create(name="Rex")
    before = len(model_lines(eventlog_dir))
    with eventlog.disabled():
        keeper = Keeper.objects.create(name="Kim")
        animal.name = "Max"
        animal.save()
        pen = Enclosure.objects.create(code="A")
        pen.animals.add(animal)
        animal.enclosures.remove(pen)
        pen.animals.set([animal])
        pen.animals.clear()
        keeper.delete()
        pen.delete()
        event_signal.send(sender="import", message="imported", rows=3)
    assert len(model_lines(eventlog_dir)) == before
    sent = read(eventlog_dir, event="app.event")
    assert [e["message"] for e in sent] == ["imported"]


def test_bulk_helpers_write_nothing_inside(eventlog_dir):
    with eventlog.disabled():
        rows = Bulky.objects.bulk_create([Bulky(name="a"), Bulky(name="b")])
        for row in rows:
            row.n = 5
        Bulky.objects.bulk_update(rows, ["n"])
        Bulky.objects.filter(name="a").update(n=7)
        Bulky.objects.bulk_create([Bulky(name="c")], ignore_conflicts=True)
        Bulky.objects.all().delete()
    assert model_lines(eventlog_dir) == []


def test_a_row_saved_inside_is_logged_against_its_new_old_values(eventlog_dir):
    """The values saved while switched off are the old side of the next
    logged update, not those from before."""
    animal = Animal.objects.create(name="Rex", legs=4)
    with eventlog.disabled():
        animal.name = "Max"
        animal.save()
    animal.name = "Bo"
    animal.save()
    updated = [e for e in model_lines(eventlog_dir) if e["event"] == "model.updated"]
    assert [e["changes"] for e in updated] == [{"name": {"old": "Max", "new": "Bo"}}]


def test_a_row_created_inside_is_logged_as_updated_afterwards(eventlog_dir):
    with eventlog.disabled():
        animal = Animal.objects.create(name="Rex", legs=4)
    animal.legs = 3
    animal.save()
    assert [(e["event"], e.get("changes")) for e in model_lines(eventlog_dir)] == [
        ("model.updated", {"legs": {"old": 4, "new": 3}})
    ]


def test_a_never_loaded_instance_saved_inside_costs_no_read_and_sets_the_baseline(
    eventlog_dir, django_assert_num_queries
):
    """``Model(pk=..., ...).save()`` inside: no SELECT of the old row for a
    line that is not written; the next logged update starts from its values."""
    pk = Animal.objects.create(name="Rex", legs=4).pk
    ghost = Animal(pk=pk, name="Max", legs=2)
    with eventlog.disabled(), django_assert_num_queries(1):  # the UPDATE only
        ghost.save(update_fields=["name", "legs"])
    ghost.legs = 1
    ghost.save()
    updated = [e for e in model_lines(eventlog_dir) if e["event"] == "model.updated"]
    assert [e["changes"] for e in updated] == [{"legs": {"old": 2, "new": 1}}]


def test_a_bulk_update_inside_refreshes_the_baselines(eventlog_dir):
    row = Bulky.objects.create(name="a", n=1)
    with eventlog.disabled():
        row.n = 2
        Bulky.objects.bulk_update([row], ["n"])
    row.n = 3
    row.save()
    updated = [e for e in model_lines(eventlog_dir) if e["event"] == "model.updated"]
    assert [e["changes"] for e in updated] == [{"n": {"old": 2, "new": 3}}]


def test_a_save_inside_a_rolled_back_block_leaves_the_baseline_as_it_was(eventlog_dir):
    animal = Animal.objects.create(name="Rex")
    with eventlog.disabled(), pytest.raises(RuntimeError), transaction.atomic():
        animal.name = "Max"
        animal.save()
        raise RuntimeError
    animal.name = "Bo"
    animal.save()
    updated = [e for e in model_lines(eventlog_dir) if e["event"] == "model.updated"]
    assert [e["changes"] for e in updated] == [{"name": {"old": "Rex", "new": "Bo"}}]


def test_nested_blocks_and_exceptions_restore_the_state(eventlog_dir):
    with eventlog.disabled():
        with eventlog.disabled():
            Animal.objects.create(name="inner")
        Animal.objects.create(name="still off")
    with pytest.raises(ValueError, match="import failed"), eventlog.disabled():
        raise ValueError("import failed")
    Animal.objects.create(name="on again")
    assert [e["snapshot"]["name"] for e in model_lines(eventlog_dir)] == ["on again"]


def test_it_works_as_a_decorator(eventlog_dir):
    @eventlog.disabled()
    def load() -> None:
        Animal.objects.create(name="quiet")

    load()
    Animal.objects.create(name="loud")
    assert [e["snapshot"]["name"] for e in model_lines(eventlog_dir)] == ["loud"]


def test_it_is_per_thread(eventlog_dir):
    """Off in one thread: another thread's saves at the same time are logged,
    and a thread switching off does not silence the main thread."""
    entered, release = threading.Event(), threading.Event()

    def quiet() -> None:
        with eventlog.disabled():
            entered.set()
            release.wait(10)
            Animal.objects.create(name="quiet thread")

    worker = threading.Thread(target=quiet)
    worker.start()
    assert entered.wait(10)
    Animal.objects.create(name="main")
    release.set()
    worker.join()

    with eventlog.disabled():
        loud = threading.Thread(target=lambda: Animal.objects.create(name="loud thread"))
        loud.start()
        loud.join()
    names = sorted(e["snapshot"]["name"] for e in model_lines(eventlog_dir))
    assert names == ["loud thread", "main"]


def test_it_is_per_task_and_inherited_by_sync_to_async(eventlog_dir):
    create = sync_to_async(lambda name: Animal.objects.create(name=name))

    async def quiet(gate: asyncio.Event) -> None:
        with eventlog.disabled():
            await gate.wait()
            await create("quiet task")

    async def loud(gate: asyncio.Event) -> None:
        await create("loud task")
        gate.set()

    async def main() -> None:
        gate = asyncio.Event()
        await asyncio.gather(quiet(gate), loud(gate))
        with eventlog.disabled():
            await create("quiet in sync_to_async")
            await sync_to_async(Animal.objects.filter(name="loud task").delete)()
        await close_executor_connection()

    asyncio.run(main())
    assert [(e["event"], e["snapshot"]["name"]) for e in model_lines(eventlog_dir)] == [
        ("model.created", "loud task")
    ]


@pytest.fixture
def registrations() -> Iterator[None]:
    """Put back the registrations a test undoes, with their own options."""
    saved = [(r.model, r.include, r.exclude, r.mask) for r in _registry.registrations()]
    yield
    for model, include, exclude, mask in saved:
        eventlog.register(model, include=include, exclude=exclude, mask=mask)


@pytest.mark.usefixtures("registrations")
def test_unregister_a_model_registered_in_settings_then_register_it_again(eventlog_dir):
    """zoo.Animal comes from EVENTLOG_MODELS; its unregistered proxy goes
    quiet with it, the proxy registered itself does not."""
    animal = Animal.objects.create(name="Rex")
    eventlog.unregister(Animal)
    assert not _registry.is_registered(Animal)
    animal.name = "Max"
    animal.save()
    AnimalProxy.objects.create(name="proxy")
    LoudAnimal.objects.create(name="loud")
    Animal.objects.create(name="unseen").delete()
    assert [(e["model"], e["event"]) for e in model_lines(eventlog_dir)] == [
        ("zoo.animal", "model.created"),
        ("zoo.loudanimal", "model.created"),
    ]
    eventlog.unregister(Animal)  # twice: nothing left to undo

    eventlog.register(Animal, exclude=["notes"])
    Animal.objects.create(name="seen", notes="untracked")
    last = model_lines(eventlog_dir)[-1]
    assert (last["event"], last["snapshot"]["name"]) == ("model.created", "seen")
    assert "notes" not in last["snapshot"]


@pytest.mark.usefixtures("registrations")
def test_unregister_a_decorated_model_silences_its_m2m_too(eventlog_dir):
    pen = Enclosure.objects.create(code="B")
    animal = Animal.objects.create(name="Rex")
    eventlog.unregister(Enclosure)
    eventlog.unregister(Animal)
    pen.animals.add(animal)
    pen.save()
    pen.delete()
    assert [e["event"] for e in model_lines(eventlog_dir)] == ["model.created"] * 2
    eventlog.register(Enclosure)
    eventlog.register(Animal, exclude=["notes"])
    again = Enclosure.objects.create(code="C")
    again.animals.add(animal)
    assert [e["event"] for e in model_lines(eventlog_dir)][-2:] == [
        "model.created",
        "model.m2m_added",
    ]


def test_unregister_refuses_what_is_no_model():
    with pytest.raises(TypeError):
        eventlog.unregister("zoo.Animal")  # type: ignore[arg-type]


@pytest.mark.usefixtures("registrations")
def test_unregister_a_proxy_registered_itself_falls_back_to_its_concrete_model(eventlog_dir):
    eventlog.unregister(LoudAnimal)
    LoudAnimal.objects.create(name="loud")
    assert [e["model"] for e in model_lines(eventlog_dir)] == ["zoo.animal"]


def test_a_decorated_coroutine_function_is_off_while_it_runs(eventlog_dir):
    create = sync_to_async(lambda name: Animal.objects.create(name=name))

    @eventlog.disabled()
    async def quiet() -> None:
        await asyncio.sleep(0)
        await create("quiet")

    async def main() -> None:
        await quiet()
        async with eventlog.disabled():
            await create("quiet too")
        await create("loud")
        await close_executor_connection()

    asyncio.run(main())
    assert [e["snapshot"]["name"] for e in model_lines(eventlog_dir)] == ["loud"]


def test_one_shared_instance_in_two_threads_keeps_each_threads_own_state():
    """A module-level ``QUIET = eventlog.disabled()`` used by several threads
    at once: each leaves its block switched back on, no error."""
    import threading
    import time

    from eventlog.audit.switch import off

    quiet = eventlog.disabled()
    both_inside = threading.Barrier(2)
    after: dict[str, bool] = {}
    errors: list[str] = []

    def work(name: str, delay: float) -> None:
        try:
            with quiet:
                both_inside.wait()
                time.sleep(delay)
        except Exception as exc:
            errors.append(repr(exc))
        after[name] = off()

    threads = [threading.Thread(target=work, args=a) for a in (("a", 0), ("b", 0.1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert after == {"a": False, "b": False}
