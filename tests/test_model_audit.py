"""Model auditing: model.created/updated/deleted with snapshots and changes."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

import eventlog
from eventlog.audit import registry as _registry
from tests.helpers import read
from tests.zoo.models import (
    Animal,
    AnimalProxy,
    Dog,
    Enclosure,
    Keeper,
    LoudAnimal,
    Plain,
    Secretive,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("every_line_is_sound"),
]


def model_events(directory: Path, prefix: str = "model.") -> list[dict[str, Any]]:
    return [e for e in read(directory) if e["event"].startswith(prefix)]


def full_animal(keeper: Keeper | None = None) -> Animal:
    return Animal(
        name="Rex",
        notes="not tracked",
        legs=4,
        big=2**40,
        small=-3,
        positive=7,
        weight=12.5,
        price=Decimal("10.50"),
        tame=True,
        vaccinated=None,
        born=dt.date(2020, 1, 2),
        feeding=dt.time(7, 30),
        seen=dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        lifespan=dt.timedelta(days=3, seconds=5),
        data={"toys": ["ball"], "nested": {"token": "abc"}},
        blob=b"\x00\xffbytes",
        ip="2001:db8::1",
        email="rex@example.com",
        slug="rex",
        url="https://example.com/rex",
        tag=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        huge=2**63 - 1,
        tiny=32767,
        path="/tmp/x",
        keeper=keeper,
    )


def test_create_logs_a_snapshot_of_every_field_type(eventlog_dir):
    """model.created carries a snapshot with each field type in its contract
    form (Decimal as string, dates ISO, durations ISO 8601, binary base64, FK
    as the related pk, files as their name, UUID as string)."""
    keeper = Keeper.objects.create(name="Ann", password="hunter2", api_token="t0k")
    animal = full_animal(keeper)
    animal.photo.save("rex.txt", ContentFile(b"x"), save=False)
    animal.save()
    created = [e for e in model_events(eventlog_dir) if e["model"] == "zoo.animal"]
    assert [e["event"] for e in created] == ["model.created"]
    event = created[0]
    assert event["object_id"] == str(animal.pk)
    assert event["object_repr"] == "Rex"
    snap = event["snapshot"]
    assert snap["id"] == animal.pk
    assert snap["big"] == 2**40
    assert snap["price"] == "10.50"
    assert snap["born"] == "2020-01-02"
    assert snap["feeding"] == "07:30:00"
    assert snap["seen"] == "2026-01-02T03:04:05.678901Z"
    assert snap["lifespan"] == "P3DT00H00M05S"
    assert snap["data"] == {"toys": ["ball"], "nested": {"token": "***"}}
    assert base64.b64decode(snap["blob"]) == b"\x00\xffbytes"
    assert snap["photo"] == animal.photo.name
    assert snap["photo"].startswith("photos/rex")
    assert snap["ip"] == "2001:db8::1"
    assert snap["tag"] == "12345678-1234-5678-1234-567812345678"
    assert snap["keeper"] == str(keeper.pk)
    assert snap["vaccinated"] is None
    assert snap["huge"] == 2**63 - 1
    assert snap["tiny"] == 32767
    assert snap["path"] == "/tmp/x"
    assert "notes" not in snap  # excluded in EVENTLOG_MODELS
    animal.photo.delete(save=False)


def test_one_to_one_and_small_auto_primary_keys(eventlog_dir):
    """A one-to-one field is logged as the related pk; a SmallAutoField pk as
    the object id; deleting the animal cascades to its badge's model.deleted."""
    from tests.zoo.models import Badge

    animal = Animal.objects.create(name="Rex")
    badge = Badge.objects.create(animal=animal, number="7")
    badge_pk, a_pk = badge.pk, animal.pk
    animal.delete()
    events = [e for e in model_events(eventlog_dir) if e["model"] == "zoo.badge"]
    assert [e["event"] for e in events] == ["model.created", "model.deleted"]
    assert events[0]["snapshot"] == {"id": badge_pk, "animal": a_pk, "number": "7"}
    assert events[1]["object_id"] == str(badge_pk)


def test_secrets_are_masked_and_still_show_as_changed(eventlog_dir):
    """password/api_token (by name) and a mask= field are written as "***";
    a change to them still appears in changes, with masked old and new.
    The secrets hold a character outside hex so a hash cannot contain one."""
    keeper = Keeper.objects.create(name="Ann", password="hunter2", api_token="t0k")
    keeper.password = "correct horse"
    keeper.save()
    secretive = Secretive.objects.create(pin="pin-1234", scratch="x", secret_plan={"a": 1})
    secretive.pin = "pin-9999"
    secretive.scratch = "y"
    secretive.save()
    text = (eventlog_dir / "events.jsonl").read_text()
    for secret in ("hunter2", "correct horse", "t0k", "pin-1234", "pin-9999"):
        assert secret not in text
    created, updated = [e for e in model_events(eventlog_dir) if e["model"] == "zoo.keeper"]
    assert created["snapshot"]["password"] == "***"
    assert created["snapshot"]["api_token"] == "***"
    assert updated["changes"] == {"password": {"old": "***", "new": "***"}}
    s_created, s_updated = [e for e in model_events(eventlog_dir) if e["model"] == "zoo.secretive"]
    assert s_created["snapshot"]["pin"] == "***"
    assert s_created["snapshot"]["secret_plan"] == "***"
    assert "scratch" not in s_created["snapshot"]
    assert s_updated["changes"] == {"pin": {"old": "***", "new": "***"}}


def test_update_logs_only_changed_fields_without_a_query(eventlog_dir):
    """model.updated carries old and new values of the changed fields only,
    and knowing the old values costs no SELECT: the save runs one UPDATE."""
    Animal.objects.create(name="Rex", legs=4, price=Decimal("1.50"))
    animal = Animal.objects.get(name="Rex")
    animal.legs = 3
    animal.price = "1.5"  # the same Decimal: not a change
    animal.notes = "excluded field"
    with CaptureQueriesContext(connection) as queries:
        animal.save()
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"]
    updated = model_events(eventlog_dir, "model.updated")
    assert len(updated) == 1
    assert updated[0]["changes"] == {"legs": {"old": 4, "new": 3}}
    assert updated[0]["model"] == "zoo.animal"


def test_a_save_that_changes_nothing_logs_nothing(eventlog_dir):
    """Saving an unchanged object writes no model.updated line."""
    animal = Animal.objects.create(name="Rex")
    animal.save()
    Animal.objects.get(pk=animal.pk).save()
    assert model_events(eventlog_dir, "model.updated") == []


def test_several_saves_log_each_change_in_order(eventlog_dir):
    """Several saves of one object in one transaction log each change, in
    order, against the previous save."""
    animal = Animal.objects.create(name="Rex", legs=4)
    with transaction.atomic():
        for legs in (3, 2, 1):
            animal.legs = legs
            animal.save()
    changes = [e["changes"] for e in model_events(eventlog_dir, "model.updated")]
    assert changes == [
        {"legs": {"old": 4, "new": 3}},
        {"legs": {"old": 3, "new": 2}},
        {"legs": {"old": 2, "new": 1}},
    ]


def test_update_fields_limits_the_changes(eventlog_dir):
    """save(update_fields=[...]) logs only the saved fields; the unsaved
    change is logged when it is saved later."""
    animal = Animal.objects.create(name="Rex", legs=4)
    animal.legs = 3
    animal.name = "Max"
    animal.save(update_fields=["legs"])
    animal.save()
    changes = [e["changes"] for e in model_events(eventlog_dir, "model.updated")]
    assert changes == [{"legs": {"old": 4, "new": 3}}, {"name": {"old": "Rex", "new": "Max"}}]


def test_deferred_fields_are_not_loaded_to_log(eventlog_dir):
    """An instance loaded with only() is saved and logged without reading its
    deferred fields (no extra query), and a later refresh keeps old values."""
    animal = Animal.objects.create(name="Rex", legs=4)
    partial = Animal.objects.only("name").get(pk=animal.pk)
    partial.name = "Max"
    with CaptureQueriesContext(connection) as queries:
        partial.save()
    assert len(queries.captured_queries) == 1
    assert partial.legs == 4  # loads the deferred field: refresh_from_db
    partial.legs = 5
    partial.save()
    changes = [e["changes"] for e in model_events(eventlog_dir, "model.updated")]
    assert changes == [{"name": {"old": "Rex", "new": "Max"}}, {"legs": {"old": 4, "new": 5}}]


def test_in_place_json_mutation_is_detected(eventlog_dir):
    """A JSONField changed in place (the dict itself mutated) is logged with
    its true old value: JSON values are copied when loaded."""
    Animal.objects.create(name="Rex", data={"toys": ["ball"]})
    animal = Animal.objects.get(name="Rex")
    animal.data["toys"].append("bone")
    animal.save()
    (updated,) = model_events(eventlog_dir, "model.updated")
    assert updated["changes"] == {
        "data": {"old": {"toys": ["ball"]}, "new": {"toys": ["ball", "bone"]}}
    }


def test_an_instance_never_loaded_reads_its_old_row_once(eventlog_dir):
    """Model(pk=..., ...).save() over an existing row (fixtures, upserts) logs
    true old values: the one case that costs a SELECT."""
    animal = Animal.objects.create(name="Rex", legs=4)
    Animal(pk=animal.pk, name="Rex", legs=2).save()
    (updated,) = model_events(eventlog_dir, "model.updated")
    assert updated["changes"] == {"legs": {"old": 4, "new": 2}}


def test_create_with_an_explicit_primary_key_costs_no_select(eventlog_dir):
    """objects.create() of a model with a natural (char) primary key runs one
    INSERT: no old row is looked for when Django forces an insert."""
    with CaptureQueriesContext(connection) as queries:
        Enclosure.objects.create(code="N-1")
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert len(model_events(eventlog_dir, "model.created")) == 1


def test_delete_logs_the_last_snapshot(eventlog_dir):
    """model.deleted carries the row as last saved, and its id."""
    animal = Animal.objects.create(name="Rex", legs=4)
    pk = animal.pk
    animal.delete()
    (deleted,) = model_events(eventlog_dir, "model.deleted")
    assert deleted["object_id"] == str(pk)
    assert deleted["snapshot"]["name"] == "Rex"
    assert deleted["snapshot"]["legs"] == 4


def test_cascades_and_set_null_are_logged(eventlog_dir):
    """Deleting a keeper logs the keeper's deletion and, for the animal whose
    FK is set to NULL by the cascade, nothing Django did not signal."""
    keeper = Keeper.objects.create(name="Ann")
    Animal.objects.create(name="Rex", keeper=keeper)
    pk = keeper.pk
    keeper.delete()
    deleted = model_events(eventlog_dir, "model.deleted")
    assert [(e["model"], e["object_id"]) for e in deleted] == [("zoo.keeper", str(pk))]


def test_unregistered_models_are_not_logged(eventlog_dir):
    """A model that is not registered writes no model.* line."""
    plain = Plain.objects.create(name="p")
    plain.n = 2
    plain.save()
    plain.delete()
    assert model_events(eventlog_dir) == []


def test_multi_table_child_carries_the_parents_fields(eventlog_dir):
    """A registered multi-table child logs under its own label with the
    parent's fields beside its own."""
    dog = Dog.objects.create(name="Rex", legs=4, breed="collie")
    dog = Dog.objects.get(pk=dog.pk)
    dog.legs = 3
    dog.breed = "beagle"
    dog.save()
    events = [e for e in model_events(eventlog_dir) if e["model"] == "zoo.dog"]
    assert [e["event"] for e in events] == ["model.created", "model.updated"]
    assert events[0]["snapshot"]["name"] == "Rex"
    assert events[0]["snapshot"]["breed"] == "collie"
    assert events[1]["changes"] == {
        "legs": {"old": 4, "new": 3},
        "breed": {"old": "collie", "new": "beagle"},
    }


def test_proxies_log_under_the_concrete_model_unless_registered(eventlog_dir):
    """A proxy's saves are logged as the concrete model; a registered proxy
    as itself."""
    AnimalProxy.objects.create(name="a")
    LoudAnimal.objects.create(name="b")
    created = model_events(eventlog_dir, "model.created")
    assert [(e["model"], e["snapshot"]["name"]) for e in created] == [
        ("zoo.animal", "a"),
        ("zoo.loudanimal", "b"),
    ]


def test_uuid_and_string_primary_keys(eventlog_dir):
    """object_id is the string form of UUID and char primary keys."""
    keeper = Keeper.objects.create(name="Ann")
    Enclosure.objects.create(code="A-1")
    ids = {e["model"]: e["object_id"] for e in model_events(eventlog_dir, "model.created")}
    assert ids == {"zoo.keeper": str(keeper.pk), "zoo.enclosure": "A-1"}


def test_registering_twice_is_harmless(eventlog_dir):
    """register() again with the same options keeps one receiver: one line per save."""
    eventlog.register(Enclosure)
    eventlog.register(Enclosure)
    Enclosure.objects.create(code="B")
    assert len(model_events(eventlog_dir, "model.created")) == 1


def test_register_rejects_bad_arguments():
    """register() names the problem: not a model, an abstract model, an
    unknown field."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import models

    with pytest.raises(TypeError, match="not a model"):
        eventlog.register(object)  # type: ignore[type-var]

    class Base(models.Model):
        class Meta:
            abstract = True
            app_label = "zoo"

    with pytest.raises(TypeError, match="abstract"):
        eventlog.register(Base)
    with pytest.raises(ImproperlyConfigured, match="unknown field 'nope'"):
        eventlog.register(Plain, exclude=["nope"])
    assert _registry.lookup(Plain) is None


def test_a_failing_repr_never_breaks_the_save(eventlog_dir, monkeypatch):
    """A model whose __str__ raises is saved, and its line says unprintable."""
    monkeypatch.setattr(Enclosure, "__str__", lambda self: 1 / 0)
    Enclosure.objects.create(code="C")
    (created,) = model_events(eventlog_dir, "model.created")
    assert created["object_repr"] == "<unprintable Enclosure>"


def test_a_failing_receiver_never_breaks_the_save(eventlog_dir, monkeypatch, capsys):
    """If building the event fails, the save still succeeds and the failure
    is reported as eventlog.error and on stderr."""
    from eventlog.audit import receivers as _model_receivers

    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(_model_receivers, "current_values", boom)
    Enclosure.objects.create(code="D")
    assert Enclosure.objects.filter(code="D").exists()
    errors = read(eventlog_dir, event="eventlog.error")
    assert errors[0]["failed_event"] == "model.created"
    assert "boom" in capsys.readouterr().err


def test_an_admin_edit_is_logged_with_its_request_context(eventlog_dir, client, admin_user):
    """Editing a demo employee in the Django admin writes model.updated with
    the admin as actor, the client's IP and user agent and the request id."""
    from speedy.models import Employees

    employee = Employees.objects.create(
        first_name="Ada", last_name="L", age=30, date_of_birth=dt.date(1990, 1, 1)
    )
    client.force_login(admin_user)
    response = client.post(
        f"/admin/speedy/employees/{employee.pk}/change/",
        {
            "first_name": "Ada",
            "last_name": "L",
            "address": "1 New Street",
            "age": 30,
            "date_of_birth": "1990-01-01",
        },
        HTTP_USER_AGENT="pytest-agent",
        HTTP_X_REQUEST_ID="req-123",
    )
    assert response.status_code == 302, response.content[:500]
    (updated,) = [
        e for e in model_events(eventlog_dir, "model.updated") if e["model"] == "speedy.employees"
    ]
    assert updated["changes"] == {"address": {"old": "", "new": "1 New Street"}}
    assert updated["actor"] == admin_user.username
    assert updated["actor_id"] == str(admin_user.pk)
    assert updated["ip"] == "127.0.0.1"
    assert updated["user_agent"] == "pytest-agent"
    assert updated["request_id"] == "req-123"
    assert updated["object_repr"] == "Ada L"
