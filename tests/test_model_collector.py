"""Changes Django makes without a signal: the foreign keys its delete
collector sets (SET_NULL, SET_DEFAULT, SET(...)), and to_field values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from eventlog.write import pipeline as _pipeline
from tests.helpers import assert_chains, assert_schema, raw_lines, read
from tests.zoo.models import Animal, Keeper, Plain, Post, Warden

pytestmark = pytest.mark.django_db(transaction=True)


def lines(directory: Path, event: str, model: str) -> list[dict[str, Any]]:
    _pipeline.flush()
    return [e for e in read(directory) if e["event"] == event and e.get("model") == model]


def test_set_null_logs_each_affected_row(eventlog_dir):
    keeper = Keeper.objects.create(name="k")
    a = Animal.objects.create(name="a", keeper=keeper)
    b = Animal.objects.create(name="b", keeper=keeper)
    Animal.objects.create(name="c")
    keeper_id = str(keeper.id)
    keeper.delete()
    updated = lines(eventlog_dir, "model.updated", "zoo.animal")
    assert sorted(e["object_id"] for e in updated) == sorted([str(a.pk), str(b.pk)])
    for e in updated:
        assert e["changes"] == {"keeper": {"old": keeper_id, "new": None}}
        assert e["object_repr"] in {"a", "b"}
    assert lines(eventlog_dir, "model.deleted", "zoo.keeper")
    assert_schema(raw_lines(eventlog_dir))
    assert_chains(raw_lines(eventlog_dir))


def test_set_default_and_set_callable_and_to_field(eventlog_dir):
    Warden.objects.create(slug="spare")
    gone = Warden.objects.create(slug="gone")
    post = Post.objects.create(name="p", warden=gone, backup=gone)
    created = lines(eventlog_dir, "model.created", "zoo.post")[-1]
    # A to_field foreign key is logged as the value its column stores.
    assert created["snapshot"]["warden"] == "gone"
    assert created["snapshot"]["backup"] == gone.pk
    spare = Warden.objects.get(slug="spare")
    gone_pk = gone.pk
    gone.delete()
    (updated,) = lines(eventlog_dir, "model.updated", "zoo.post")
    assert updated["object_id"] == str(post.pk)
    assert updated["changes"] == {
        "warden": {"old": "gone", "new": "spare"},
        "backup": {"old": gone_pk, "new": spare.pk},
    }
    assert updated["object_repr"] == "post p (spare)"
    post.refresh_from_db()
    assert (post.warden_id, post.backup_id) == ("spare", spare.pk)


def test_a_rolled_back_delete_logs_nothing(eventlog_dir):
    keeper = Keeper.objects.create(name="k")
    Animal.objects.create(name="a", keeper=keeper)
    with pytest.raises(RuntimeError), transaction.atomic():
        keeper.delete()
        raise RuntimeError
    assert lines(eventlog_dir, "model.updated", "zoo.animal") == []


def test_a_row_deleted_by_the_same_delete_gets_no_update(eventlog_dir):
    """Rows the collector both nulls and deletes are logged as deleted only."""
    keeper = Keeper.objects.create(name="k")
    Animal.objects.create(name="a", keeper=keeper)
    from django.db.models.deletion import Collector

    collector = Collector(using="default", origin=keeper)
    collector.collect([keeper])
    collector.collect(list(Animal.objects.all()))
    collector.delete()
    assert lines(eventlog_dir, "model.updated", "zoo.animal") == []
    assert len(lines(eventlog_dir, "model.deleted", "zoo.animal")) == 1


def test_a_queryset_delete_logs_the_rows_it_sets(eventlog_dir):
    k1, k2 = Keeper.objects.create(name="k1"), Keeper.objects.create(name="k2")
    Animal.objects.create(name="a", keeper=k1)
    Animal.objects.create(name="b", keeper=k2)
    ids = sorted([str(k1.id), str(k2.id)])
    Keeper.objects.filter(name__in=["k1", "k2"]).delete()
    updated = lines(eventlog_dir, "model.updated", "zoo.animal")
    assert sorted(e["changes"]["keeper"]["old"] for e in updated) == ids


def test_an_instance_in_memory_keeps_a_true_baseline(eventlog_dir):
    """A row the collector had in memory is not logged twice when saved again."""
    keeper = Keeper.objects.create(name="k")
    animal = Animal.objects.create(name="a", keeper=keeper)
    keeper.delete()
    animal = Animal.objects.get(pk=animal.pk)
    animal.name = "renamed"
    animal.save()
    last = lines(eventlog_dir, "model.updated", "zoo.animal")[-1]
    assert last["changes"] == {"name": {"old": "a", "new": "renamed"}}


def test_unregistered_rows_are_left_alone(eventlog_dir):
    """An admin delete-confirmation collect() or a model nobody audits is untouched."""
    Plain.objects.create(name="x")
    Plain.objects.all().delete()
    assert lines(eventlog_dir, "model.updated", "zoo.plain") == []


def test_the_admin_confirmation_collect_logs_nothing(eventlog_dir):
    from django.contrib.admin.utils import NestedObjects

    keeper = Keeper.objects.create(name="k")
    Animal.objects.create(name="a", keeper=keeper)
    collector = NestedObjects(using="default")
    collector.collect([keeper])
    _pipeline.flush()
    assert lines(eventlog_dir, "model.updated", "zoo.animal") == []
    assert Animal.objects.filter(keeper=keeper).exists()


def test_set_null_in_a_real_process(eventlog_dir, tmp_path):
    """manage.py shell in a subprocess: the lines are in the file it writes."""
    db = tmp_path / "db.sqlite3"
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "EVENTLOG_DIR": str(eventlog_dir),
        "DATABASE_URL": f"sqlite:///{db}",
        "PATH": "/usr/bin:/bin",
    }
    script = (
        "from tests.zoo.models import Animal, Keeper\n"
        "k = Keeper.objects.create(name='k')\n"
        "Animal.objects.create(name='a', keeper=k)\n"
        "k.delete()\n"
    )
    for args in (["migrate", "-v0", "--run-syncdb"], ["shell", "-c", script]):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    updated = lines(eventlog_dir, "model.updated", "zoo.animal")
    assert len(updated) == 1
    assert updated[0]["changes"]["keeper"]["new"] is None
    assert updated[0]["actor"] == "CLI"


def test_a_to_field_value_restores_and_reads_back(eventlog_dir):
    """The to_field value logged is what restore writes back to the column."""
    from django.core.management import call_command

    first, second = Warden.objects.create(slug="first"), Warden.objects.create(slug="second")
    post = Post.objects.create(name="p", warden=first)
    created = lines(eventlog_dir, "model.created", "zoo.post")[-1]
    post.warden = second
    post.save()
    (updated,) = lines(eventlog_dir, "model.updated", "zoo.post")
    assert updated["changes"] == {"warden": {"old": "first", "new": "second"}}
    call_command(
        "eventlog",
        "restore",
        "zoo.post",
        str(post.pk),
        "--to",
        created["event_id"],
        "--yes",
        "--dir",
        str(eventlog_dir),
    )
    post.refresh_from_db()
    assert post.warden_id == "first"


def test_nothing_is_logged_while_switched_off(eventlog_dir):
    """eventlog.disabled() covers the rows a delete sets, as every model.* line."""
    import eventlog

    keeper = Keeper.objects.create(name="k")
    Animal.objects.create(name="a", keeper=keeper)
    with eventlog.disabled():
        keeper.delete()
    assert lines(eventlog_dir, "model.updated", "zoo.animal") == []
    assert lines(eventlog_dir, "model.deleted", "zoo.keeper") == []
