"""The admin's History pages read from the log, restore of a version from
the admin, and the deleted objects' page: Django's test client against real
lines written by model auditing into the test's log directory.

The zoo's models with masked fields (Keeper, Secretive) are in no admin of the
project: this module is also the URLconf of a small admin site holding them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import checks
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from eventlog import reader
from eventlog.admin import EventlogHistoryMixin
from eventlog.admin import attach as _attach
from eventlog.write import pipeline as _pipeline
from speedy.accounts import apply_transition
from speedy.models import Employees, Shifts, UserFSM
from tests.zoo.models import Animal, Enclosure, Keeper, Secretive

LABEL = "speedy.employees"
pytestmark = pytest.mark.django_db(transaction=True)


class KeeperAdmin(EventlogHistoryMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    pass


class SecretiveAdmin(EventlogHistoryMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    pass


zoo_site = admin.AdminSite(name="zooadmin")
zoo_site.register(Keeper, KeeperAdmin)
zoo_site.register(Secretive, SecretiveAdmin)
zoo_site.register(Enclosure, KeeperAdmin)

urlpatterns = [path("zooadmin/", zoo_site.urls), path("", include("tests.urls"))]


def events(directory: Path, label: str, pk: Any) -> list[dict[str, Any]]:
    _pipeline.flush()
    return list(reader.object_events(directory, label, str(pk)))


def size(directory: Path) -> int:
    _pipeline.flush()
    return sum(p.stat().st_size for p in directory.glob("events.jsonl*"))


def hire(**values: Any) -> Employees:
    fields = {
        "first_name": "Ann",
        "last_name": "Lee",
        "address": "1 Main St",
        "age": 30,
        "date_of_birth": date(1995, 5, 1),
        **values,
    }
    return Employees.objects.create(**fields)


def history_url(pk: Any, info: str = "speedy_employees", site: str = "admin") -> str:
    return reverse(f"{site}:{info}_history", args=[pk])


def restore_url(pk: Any, event_id: str, info: str = "speedy_employees", site: str = "admin") -> str:
    return reverse(f"{site}:{info}_eventlog_restore", args=[pk, event_id])


def page(response: HttpResponse) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def plain(html: str) -> str:
    """The page's text without its tags, whitespace collapsed (entities stay escaped)."""
    return " ".join(re.sub(r"<[^>]*>", "", html).split())


def staff(*perms: str) -> Model:
    user = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def boss(client: Client) -> Model:
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return user


def edit_in_admin(client: Client, ann: Employees, **values: Any) -> None:
    data = {
        "first_name": ann.first_name,
        "last_name": ann.last_name,
        "address": ann.address,
        "age": ann.age,
        "date_of_birth": ann.date_of_birth.isoformat() if ann.date_of_birth else "",
        **values,
    }
    url = reverse("admin:speedy_employees_change", args=[ann.pk])
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_history_of_an_object_edited_in_the_admin_shows_old_to_new_with_the_actor(
    client, boss, eventlog_dir
):
    ann = hire()
    edit_in_admin(client, ann, address="2 High St")
    html = page(client.get(history_url(ann.pk)))
    assert 'id="eventlog-history"' in html
    assert html.count('class="eventlog-event"') == 2
    assert "address: 1 Main St → 2 High St" in plain(html)
    assert "boss" in html
    assert reverse("admin:auth_user_change", args=[boss.pk]) in html
    updated = events(eventlog_dir, LABEL, ann.pk)[-1]
    assert updated["request_id"] in html
    # newest first
    assert html.index("model.updated") < html.index("model.created")
    assert "have a change history" not in html


def test_history_of_an_object_changed_from_a_shell_shows_actor_cli(client, boss):
    ann = hire()
    ann.age = 31
    ann.save()
    html = plain(page(client.get(history_url(ann.pk))))
    assert "age: 30 → 31" in html
    assert "CLI" in html


def test_history_of_a_deleted_object(client, boss):
    ann = hire(first_name="Gone")
    pk = ann.pk
    ann.delete()
    html = page(client.get(history_url(pk)))
    assert "model.deleted" in html
    assert "Gone" in html
    assert "eventlog-snapshot" in html


@pytest.mark.urls(__name__)
def test_masked_value_is_shown_masked_and_never_the_secret(client, boss):
    keeper = Keeper.objects.create(name="kim", password="hunter2-Zq", api_token="tok-Zq-99")
    keeper.password = "swordfish-Zq"
    keeper.save()
    html = page(client.get(history_url(keeper.pk, "zoo_keeper", "zooadmin")))
    for secret in ("hunter2", "swordfish", "tok-Zq-99"):
        assert secret not in html
    assert "***" in html
    assert "eventlog-masked" in html


@pytest.mark.urls(__name__)
def test_script_in_a_value_and_in_object_repr_is_escaped(client, boss):
    keeper = Keeper.objects.create(name="<script>alert(1)</script>")
    keeper.name = "<script>alert(2)</script>\u202e"
    keeper.save()
    html = page(client.get(history_url(keeper.pk, "zoo_keeper", "zooadmin")))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(2)" in html
    assert "\u202e" not in html


def test_restore_get_writes_nothing_and_post_restores_with_actor_and_reason(
    client, boss, eventlog_dir
):
    ann = hire()
    edit_in_admin(client, ann, address="2 High St", age="40")
    first = events(eventlog_dir, LABEL, ann.pk)[0]
    history = page(client.get(history_url(ann.pk)))
    url = restore_url(ann.pk, first["event_id"])
    assert url in history
    before = size(eventlog_dir)
    raw = page(client.get(url))
    confirm = plain(raw)
    assert size(eventlog_dir) == before
    assert "address: 2 High St → 1 Main St" in confirm
    assert "age: 40 → 30" in confirm
    assert 'id="eventlog-restore-form"' in raw
    ann.refresh_from_db()
    assert ann.address == "2 High St"

    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == history_url(ann.pk)
    ann.refresh_from_db()
    assert (ann.address, ann.age) == ("1 Main St", 30)
    undo = events(eventlog_dir, LABEL, ann.pk)[-1]
    assert undo["event"] == "model.updated"
    assert undo["actor"] == "boss"
    assert undo["reason"] == f"restore to version {first['event_id']} ({first['timestamp']})"
    after = page(client.get(history_url(ann.pk)))
    assert "restore to version" in after
    assert "messagelist" in after


def test_restore_binds_the_request_itself_without_the_middleware(
    client, boss, eventlog_dir, settings
):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "eventlog" not in m]
    ann = hire()
    ann.age = 50
    ann.save()
    first = events(eventlog_dir, LABEL, ann.pk)[0]
    assert client.post(restore_url(ann.pk, first["event_id"])).status_code == 302
    undo = events(eventlog_dir, LABEL, ann.pk)[-1]
    assert undo["actor"] == "boss"
    assert undo["actor_id"] == str(boss.pk)


@pytest.mark.urls(__name__)
def test_restore_refusal_is_one_line_not_a_500(client, boss, eventlog_dir):
    secret = Secretive.objects.create(pin="1234", label="a")
    secret.label = "b"
    secret.save()
    first = events(eventlog_dir, "zoo.secretive", secret.pk)[0]
    url = restore_url(secret.pk, first["event_id"], "zoo_secretive", "zooadmin")
    before = size(eventlog_dir)
    html = page(client.get(url))
    assert "errornote" in html
    assert "masked" in html
    assert "Traceback" not in html
    assert 'id="eventlog-restore-form"' not in html
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "masked" in response.content.decode()
    assert size(eventlog_dir) == before
    secret.refresh_from_db()
    assert secret.label == "b"


def test_restore_of_an_unknown_event_id_is_a_message(client, boss):
    ann = hire()
    html = page(client.get(restore_url(ann.pk, "0190e3c2-0000-7000-8000-000000000000")))
    assert "errornote" in html


def test_restore_needs_change_permission_on_get_and_post(client, eventlog_dir):
    ann = hire()
    ann.age = 41
    ann.save()
    first = events(eventlog_dir, LABEL, ann.pk)[0]
    client.force_login(staff("view_employees"))
    assert client.get(history_url(ann.pk)).status_code == 200
    url = restore_url(ann.pk, first["event_id"])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    ann.refresh_from_db()
    assert ann.age == 41


def test_history_needs_view_or_change_permission(client):
    ann = hire()
    client.force_login(staff())
    assert client.get(history_url(ann.pk)).status_code == 403


def test_restore_post_without_csrf_token_is_refused(boss, eventlog_dir):
    ann = hire()
    ann.age = 41
    ann.save()
    first = events(eventlog_dir, LABEL, ann.pk)[0]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(boss)
    assert strict.post(restore_url(ann.pk, first["event_id"])).status_code == 403
    ann.refresh_from_db()
    assert ann.age == 41


def test_deleted_list_shows_a_deleted_row_and_recreating_needs_add_permission(client, eventlog_dir):
    ann = hire(first_name="Deleted-Ann")
    kept = hire(first_name="Still-Here")
    pk = ann.pk
    ann.delete()
    user = staff("view_employees", "change_employees")
    client.force_login(user)
    changelist = page(client.get(reverse("admin:speedy_employees_changelist")))
    deleted_url = reverse("admin:speedy_employees_eventlog_deleted")
    assert deleted_url in changelist
    html = page(client.get(deleted_url))
    assert 'id="eventlog-deleted"' in html
    assert "Deleted-Ann" in html
    assert "Still-Here" not in html
    delete = events(eventlog_dir, LABEL, pk)[-1]
    url = restore_url(pk, delete["event_id"])
    assert url not in html
    assert history_url(pk) in html
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403

    user.user_permissions.add(Permission.objects.get(codename="add_employees"))
    assert url in page(client.get(deleted_url))
    confirm = page(client.get(url))
    assert "Deleted-Ann" in confirm
    assert client.post(url).status_code == 302
    row = Employees.objects.get(pk=pk)
    assert row.first_name == "Deleted-Ann"
    recreated = events(eventlog_dir, LABEL, pk)[-1]
    assert recreated["event"] == "model.created"
    assert recreated["actor"] == "clerk"
    assert "Deleted-Ann" not in page(client.get(deleted_url))
    assert kept.pk


def test_auto_attach_swapped_the_demo_admins():
    for model in (Employees, Shifts, UserFSM):
        model_admin = admin.site.get_model_admin(model)
        assert isinstance(model_admin, EventlogHistoryMixin), model
        assert type(model_admin).__name__ == f"{model.__name__}Admin"
    user_admin = admin.site.get_model_admin(get_user_model())
    assert not isinstance(user_admin, EventlogHistoryMixin)


def test_w050_names_an_admin_with_its_own_history_view():
    class OwnHistory(admin.ModelAdmin):  # type: ignore[type-arg]
        def history_view(
            self, request: HttpRequest, object_id: str, extra_context: Any = None
        ) -> HttpResponse:
            return HttpResponse("mine")

    site = admin.AdminSite(name="own_history")
    site.register(Keeper, OwnHistory)
    _attach.attach()
    assert type(site.get_model_admin(Keeper)) is OwnHistory
    found = [m for m in _attach.check_admin_history() if m.id == "eventlog.W050"]
    assert len(found) == 1
    assert isinstance(found[0], checks.Warning)
    assert "zoo.Keeper" in found[0].msg
    assert "history_view" in found[0].msg
    assert "EventlogHistoryMixin" in (found[0].hint or "")
    # the project's own admins are attached: no warning for them
    assert "speedy" not in found[0].msg


def test_w050_is_registered():
    """The check runs with the others, and says nothing of the demo's admins
    (sites other tests made may still be alive, with admins it warns about)."""
    assert _attach.check_admin_history in checks.registry.registry.get_checks()
    found = [m for m in checks.run_checks() if m.id == "eventlog.W050"]
    assert not any("speedy" in m.msg for m in found)


def test_missing_log_directory_is_a_message_not_a_500(client, boss, settings, tmp_path):
    ann = hire()
    settings.EVENTLOG_DIR = str(tmp_path / "nowhere")
    html = page(client.get(history_url(ann.pk)))
    assert "errornote" in html
    assert "nowhere" in html
    html = page(client.get(reverse("admin:speedy_employees_eventlog_deleted")))
    assert "errornote" in html


def test_unreadable_log_directory_is_a_message(client, boss, eventlog_dir):
    ann = hire()
    _pipeline.flush()
    eventlog_dir.chmod(0)
    try:
        if _can_list(eventlog_dir):
            pytest.skip("running as root: permissions are not enforced")
        html = page(client.get(history_url(ann.pk)))
        assert "errornote" in html
    finally:
        eventlog_dir.chmod(0o755)


def _can_list(directory: Path) -> bool:
    try:
        list(directory.iterdir())
    except PermissionError:
        return False
    return True


@pytest.fixture(autouse=True)
def _flushed() -> Iterator[None]:
    yield
    _pipeline.flush()


@pytest.mark.urls(__name__)
def test_history_shows_m2m_additions(client, boss):
    pen = Enclosure.objects.create(code="<i>pen</i>")
    rex = Animal.objects.create(name="rex")
    pen.animals.add(rex)
    html = plain(page(client.get(history_url(pen.pk, "zoo_enclosure", "zooadmin"))))
    assert "model.m2m_added" in html
    assert "animals: added" in html, html[-600:]


def test_history_shows_state_changed_transitions(client, boss):
    user = get_user_model().objects.create_user("dana", password="pw")
    account, _ = UserFSM.objects.get_or_create(user=user)
    apply_transition(account, "activate", reason="<b>why</b>")
    html = page(client.get(history_url(account.pk, "speedy_userfsm")))
    assert "state.changed" in html
    assert "&lt;b&gt;why&lt;/b&gt;" in html
    assert "current_state: " in plain(html)


def test_hostile_object_and_event_ids_are_messages_not_500s(client, boss):
    for object_id in ("<script>x</script>", "1/2", "%00", "9" * 40):
        html = page(client.get(history_url(object_id)))
        assert "<script>x" not in html
        html = page(client.get(restore_url(object_id, "<b>nope")))
        assert "errornote" in html
        assert "<b>nope" not in html
        assert client.post(restore_url(object_id, "x")).status_code == 302


def test_an_actor_is_linked_only_to_a_user_that_exists(client, boss, eventlog_dir):
    """A line's actor_id is linked to the user's admin page only while that
    user exists: a deleted user's or a made-up id is shown as text."""
    ann = hire()
    gone = get_user_model().objects.create_user("gone", password="pw")
    import eventlog

    for who in (gone, boss):
        with eventlog.context(actor=who.get_username(), actor_id=str(who.pk)):
            ann.age += 1
            ann.save()
    with eventlog.context(actor="nobody", actor_id="not-a-number"):
        ann.age += 1
        ann.save()
    gone_pk = gone.pk
    gone.delete()
    html = page(client.get(history_url(ann.pk)))
    assert reverse("admin:auth_user_change", args=[boss.pk]) in html
    assert reverse("admin:auth_user_change", args=[gone_pk]) not in html
    assert "/not-a-number/" not in html
    assert "gone" in plain(html)
    assert "nobody" in plain(html)


@pytest.mark.parametrize("actor_id", [10**30, "9" * 30, -(2**63) - 1])
def test_an_actor_id_no_database_could_hold_is_shown_unlinked(client, boss, actor_id):
    """An id too large for the user table's column (a forged line, an
    external id) is shown as text; the page does not fail."""
    import eventlog

    ann = hire()
    with eventlog.context(actor="huge", actor_id=actor_id):
        ann.age += 1
        ann.save()
    html = page(client.get(history_url(ann.pk)))
    assert "huge" in plain(html)


def test_the_restore_page_names_the_object_as_its_history_page_does(client, boss, eventlog_dir):
    ann = hire(first_name="Ada", last_name="Byron")
    first = events(eventlog_dir, LABEL, ann.pk)[0]
    ann.age = 44
    ann.save()
    html = page(client.get(restore_url(ann.pk, first["event_id"])))
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None
    assert str(ann) in title.group(1)
    assert "speedy.employees#" not in plain(html)


def test_counts_are_singular_for_one(client, boss):
    ann = hire()
    assert "1 event " in plain(page(client.get(history_url(ann.pk)))) + " "
    ann.delete()
    deleted = reverse("admin:speedy_employees_eventlog_deleted")
    assert "1 deleted row " in plain(page(client.get(deleted))) + " "
