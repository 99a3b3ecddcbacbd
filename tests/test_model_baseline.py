"""The values a loaded row is kept with (the baseline of its next update)."""

from __future__ import annotations

import copy
import pickle

import pytest

from tests.helpers import read
from tests.zoo.models import Animal, Bulky

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("every_line_is_sound"),
]


def _changes(directory):
    return [e["changes"] for e in read(directory, event="model.updated")]


@pytest.mark.parametrize(
    "clone", [lambda a: pickle.loads(pickle.dumps(a)), copy.copy, copy.deepcopy]
)
def test_a_loaded_row_keeps_its_old_values_through_pickle_and_copy(eventlog_dir, clone):
    """An instance loaded from the database and then pickled (a cache) or
    copied still knows the values it was loaded with: its update logs them
    as "old", without a query."""
    Animal.objects.create(name="Rex", legs=4)
    animal = clone(Animal.objects.get(name="Rex"))
    animal.legs = 3
    animal.save()
    assert _changes(eventlog_dir) == [{"legs": {"old": 4, "new": 3}}]


def test_rows_of_one_queryset_keep_their_own_values(eventlog_dir):
    """Every row of a queryset is its own baseline (the attribute names are
    shared by the rows, the values are not)."""
    Animal.objects.create(name="Rex", legs=4)
    Animal.objects.create(name="Tom", legs=3)
    rex, tom = Animal.objects.order_by("name")
    tom.legs = 2
    rex.legs = 5
    tom.save()
    rex.save()
    assert _changes(eventlog_dir) == [
        {"legs": {"old": 3, "new": 2}},
        {"legs": {"old": 4, "new": 5}},
    ]


@pytest.mark.parametrize("clone", [lambda a: pickle.loads(pickle.dumps(a)), copy.deepcopy])
def test_a_row_with_binary_data_as_postgresql_returns_it_pickles(eventlog_dir, clone):
    """PostgreSQL returns a BinaryField as a memoryview, which pickle and
    deepcopy refuse (Django turns its own into bytes): the kept row must not
    make the instance unpicklable, and its old values survive."""
    Animal.objects.create(name="Rex", legs=4, blob=b"xy")
    names = [f.attname for f in Animal._meta.concrete_fields]
    row = Animal.objects.values_list(*names).get()
    values = [memoryview(v) if isinstance(v, bytes) else v for v in row]
    animal = clone(Animal.from_db("default", names, values))  # what PostgreSQL's rows give
    assert pickle.loads(pickle.dumps(animal)).pk == animal.pk
    animal.legs = 3
    animal.save()
    assert _changes(eventlog_dir) == [{"legs": {"old": 4, "new": 3}}]


def test_a_pickled_row_names_its_old_values(eventlog_dir):
    """A pickle (a cache) may be loaded by a later version of the model, its
    fields in another order: the kept row travels with its field names."""
    Bulky.objects.create(name="b", n=4)
    state = Bulky.objects.get().__getstate__()
    assert state["_eventlog_baseline"]["n"] == 4


def test_a_whole_row_is_built_as_djangos_own_from_db_builds_it():
    """For a whole row of a registered model, the wrapper builds the instance
    itself, as Django's Model.from_db does (one Python call per row less).
    This fails when Django's from_db builds an instance differently: the
    instance, its _state and (Django 6.1) the fetch mode must be the same."""
    import datetime as dt

    import django
    from django.db.models import Model

    from eventlog.audit import state
    from speedy.models import Employees

    names = [f.attname for f in Employees._meta.concrete_fields]
    values = [7, "Ada", "Lovelace", "12 St James's Square", 36, dt.date(1990, 12, 1)]
    kwargs = {}
    if django.VERSION >= (6, 1):
        from django.db.models import FETCH_PEERS  # type: ignore[attr-defined]

        kwargs["fetch_mode"] = FETCH_PEERS
    ours = Employees.from_db("default", names, list(values), **kwargs)
    theirs = Model.from_db.__func__(Employees, "default", names, list(values), **kwargs)
    assert state.baseline(ours) == dict(zip(names, values, strict=True))
    mine = {k: v for k, v in vars(ours).items() if not k.startswith("_eventlog")}
    assert mine.keys() == vars(theirs).keys()
    assert {k: v for k, v in mine.items() if k != "_state"} == {
        k: v for k, v in vars(theirs).items() if k != "_state"
    }
    assert vars(ours._state).keys() == vars(theirs._state).keys()
    assert {k: v for k, v in vars(ours._state).items() if k != "fields_cache"} == {
        k: v for k, v in vars(theirs._state).items() if k != "fields_cache"
    }
