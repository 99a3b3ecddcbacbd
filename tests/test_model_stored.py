"""Values are logged as the field stores them (``to_python``, as the
database returns them), not as they were assigned; a save that only moves an
``auto_now`` timestamp writes nothing."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from eventlog.bulk import AuditedQuerySet
from eventlog.write import pipeline as _pipeline
from speedy.models import Employees
from tests.helpers import read
from tests.zoo.models import Animal, Keeper, Stamped

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("every_line_is_sound"),
]


def ev(directory: Path, name: str) -> list[dict[str, Any]]:
    return [e for e in read(directory) if e["event"] == name]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("eventlog", *args, stdout=out, stderr=io.StringIO())
    _pipeline.flush()
    return out.getvalue()


def test_a_snapshot_holds_the_stored_values_not_the_assigned_strings(eventlog_dir):
    """Strings assigned to typed fields are logged as the row holds them."""
    keeper = Keeper.objects.create(name="k")
    Animal.objects.create(
        name="a",
        legs="42",
        tame="1",
        vaccinated="0",
        price="1.5",
        born="2017-01-11",
        seen="2017-01-11 10:00:00+01:00",
        tag="12345678123456781234567812345678",
        keeper_id=str(keeper.pk),
    )
    (created,) = [e for e in ev(eventlog_dir, "model.created") if e["model"] == "zoo.animal"]
    snap = created["snapshot"]
    assert snap["legs"] == 42
    assert snap["tame"] is True
    assert snap["vaccinated"] is False
    assert snap["price"] == "1.50"
    assert snap["born"] == "2017-01-11"
    assert snap["seen"] == "2017-01-11T09:00:00Z"
    assert snap["tag"] == "12345678-1234-5678-1234-567812345678"
    assert snap["keeper"] == str(keeper.pk)


def test_changes_hold_the_stored_values_and_the_next_save_sees_no_change(eventlog_dir):
    """An update given strings logs typed values; saving again logs nothing."""
    animal = Animal.objects.create(name="a", legs=4, tame=False, price=Decimal("1.00"))
    animal.legs, animal.tame, animal.price, animal.born = "42", "1", "2.5", "2017-01-11"
    animal.save()
    animal.save()
    (updated,) = ev(eventlog_dir, "model.updated")
    assert updated["changes"] == {
        "legs": {"old": 4, "new": 42},
        "tame": {"old": False, "new": True},
        "price": {"old": "1.00", "new": "2.50"},
        "born": {"old": None, "new": "2017-01-11"},
    }
    animal.legs = "43"
    animal.save()
    assert ev(eventlog_dir, "model.updated")[-1]["changes"] == {"legs": {"old": 42, "new": 43}}


def test_a_value_the_field_rejects_is_kept_raw_and_the_save_goes_on(eventlog_dir, monkeypatch):
    """A to_python that raises never reaches the save: the raw value is logged."""
    field = Animal._meta.get_field("legs")

    def refuse(value: Any) -> Any:
        raise ValueError("refused")

    monkeypatch.setattr(field, "to_python", refuse)
    animal = Animal.objects.create(name="a", legs=5)
    animal.legs = 6
    animal.save()
    assert Animal.objects.get(pk=animal.pk).legs == 6
    assert ev(eventlog_dir, "model.updated")[-1]["changes"] == {"legs": {"old": 5, "new": 6}}
    assert ev(eventlog_dir, "eventlog.error") == []


def test_bulk_helpers_log_stored_values(eventlog_dir):
    """bulk_create, bulk_update and update(**values) log typed values too."""
    (one,) = Stamped.objects.bulk_create([Stamped(name="a")])
    qs = AuditedQuerySet(model=Animal)
    (animal,) = qs.bulk_create([Animal(name="a", legs="7")])
    (created,) = [e for e in ev(eventlog_dir, "model.bulk_created") if e["model"] == "zoo.animal"]
    assert created["changes"][str(animal.pk)]["legs"] == {"old": None, "new": 7}
    animal.legs = "8"
    qs.bulk_update([animal], ["legs"])
    qs.filter(pk=animal.pk).update(tame="1", legs="9")
    first, second = ev(eventlog_dir, "model.bulk_updated")
    assert first["changes"][str(animal.pk)] == {"legs": {"old": 7, "new": 8}}
    assert second["changes"][str(animal.pk)] == {
        "legs": {"old": 8, "new": 9},
        "tame": {"old": False, "new": True},
    }
    assert one.pk is not None


def test_restore_accepts_what_a_save_of_strings_logged(eventlog_dir):
    """An employee created from form-like strings is restored from its log."""
    ann = Employees.objects.create(
        first_name="Ann", last_name="Lee", age="30", date_of_birth="1995-05-01"
    )
    ann.age = "31"
    ann.save()
    (created,) = [e for e in ev(eventlog_dir, "model.created") if e["model"] == "speedy.employees"]
    assert created["snapshot"]["age"] == 30
    run("restore", "speedy.employees", str(ann.pk), "--to", created["event_id"], "--yes")
    assert Employees.objects.get(pk=ann.pk).age == 30


def test_a_save_that_only_moves_auto_now_writes_nothing(eventlog_dir):
    """auto_now fields alone are no change; with another change they are logged."""
    stamped = Stamped.objects.create(name="a")
    stamped.save()
    Stamped.objects.get(pk=stamped.pk).save()
    assert ev(eventlog_dir, "model.updated") == []
    stamped.name = "b"
    stamped.save()
    (updated,) = ev(eventlog_dir, "model.updated")
    assert set(updated["changes"]) == {"name", "modified"} | (
        {"touched"} if "touched" in updated["changes"] else set()
    )
    before = Stamped.objects.get(pk=stamped.pk).modified
    stamped.save()
    assert len(ev(eventlog_dir, "model.updated")) == 1
    assert Stamped.objects.get(pk=stamped.pk).modified >= before


def test_bulk_update_of_only_auto_now_fields_writes_nothing(eventlog_dir):
    """The bulk helpers follow the same rule as save()."""
    stamped = Stamped.objects.create(name="a")
    stamped.modified = stamped.modified.replace(year=2001)
    Stamped.objects.bulk_update([stamped], ["modified"])
    Stamped.objects.filter(pk=stamped.pk).update(modified=stamped.modified.replace(year=2002))
    assert ev(eventlog_dir, "model.bulk_updated") == []
    Stamped.objects.filter(pk=stamped.pk).update(name="b")
    assert len(ev(eventlog_dir, "model.bulk_updated")) == 1
