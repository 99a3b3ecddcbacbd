"""speedy's account state machine: transitions, failed logins, the
self-service view and the admin, each read back as ``state.changed`` lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Permission

from speedy.accounts import IllegalTransition, apply_transition
from speedy.models import AccountState, UserFSM
from tests.helpers import assert_chains, assert_envelope, raw_lines, read

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("every_line_is_sound"),
]


User = get_user_model()
PASSWORD = "correct horse"
CHANGELIST = "/admin/speedy/userfsm/"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """A cheap password hasher: these tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _changes(directory: Path) -> list[dict[str, Any]]:
    lines = read(directory, event="state.changed")
    for line in lines:
        assert_envelope(line)
    return lines


def _user(username: str = "alice", **extra: Any) -> Any:
    return User.objects.create_user(username, password=PASSWORD, **extra)


def _account(user: Any, state: str = AccountState.INVITED) -> UserFSM:
    """The user's account row, forced into ``state`` without any event."""
    UserFSM.objects.filter(user=user).update(current_state=state)
    return UserFSM.objects.get(user=user)


def _state(account: UserFSM) -> str:
    return UserFSM.objects.get(pk=account.pk).current_state


def _staff(username: str, *codenames: str) -> Any:
    user = _user(username, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def test_new_user_gets_an_invited_account(eventlog_dir):
    """Creating a user creates its account state, invited, with no failed logins."""
    user = _user()
    account = UserFSM.objects.get(user=user)
    assert account.current_state == AccountState.INVITED
    assert account.failed_logins == 0
    assert user.account == account
    assert _changes(eventlog_dir) == []


@pytest.mark.parametrize(
    ("source", "name", "target"),
    [
        ("invited", "activate", "active"),
        ("active", "lock", "locked"),
        ("locked", "unlock", "active"),
        ("invited", "deactivate", "deactivated"),
        ("active", "deactivate", "deactivated"),
        ("locked", "deactivate", "deactivated"),
    ],
)
def test_legal_transition_saves_and_logs(eventlog_dir, source, name, target):
    """A legal transition saves the new state and writes one state.changed line
    with the model, object, field, source, target, transition and CLI actor."""
    account = _account(_user(), source)

    returned = apply_transition(account, name)

    assert _state(account) == target
    assert account.current_state == target
    assert returned.pk == account.pk
    assert returned.current_state == target
    (line,) = _changes(eventlog_dir)
    assert line["level"] == "info"
    assert line["model"] == "speedy.userfsm"
    assert line["object_id"] == str(account.pk)
    assert line["field"] == "current_state"
    assert line["source"] == source
    assert line["target"] == target
    assert line["transition"] == name
    assert line["actor"] == "CLI"
    assert line["ip"] == "CLI"
    assert "reason" not in line
    assert_chains(raw_lines(eventlog_dir))


def test_unlock_clears_failed_logins(eventlog_dir):
    """Unlocking resets the failed-login count."""
    account = _account(_user(), AccountState.LOCKED)
    UserFSM.objects.filter(pk=account.pk).update(failed_logins=4)
    apply_transition(account, "unlock")
    assert UserFSM.objects.get(pk=account.pk).failed_logins == 0
    assert account.failed_logins == 0


def test_reason_is_logged(eventlog_dir):
    """A reason passed to apply_transition is on the line."""
    account = _account(_user(), AccountState.ACTIVE)
    apply_transition(account, "lock", reason="suspicious activity")
    (line,) = _changes(eventlog_dir)
    assert line["reason"] == "suspicious activity"


def test_transition_sequence_writes_one_line_each(eventlog_dir):
    """A whole lifecycle writes one line per transition, in order."""
    account = UserFSM.objects.get(user=_user())
    for name in ("activate", "lock", "unlock", "lock", "deactivate"):
        apply_transition(account, name)
    assert [(x["source"], x["transition"], x["target"]) for x in _changes(eventlog_dir)] == [
        ("invited", "activate", "active"),
        ("active", "lock", "locked"),
        ("locked", "unlock", "active"),
        ("active", "lock", "locked"),
        ("locked", "deactivate", "deactivated"),
    ]
    assert_chains(raw_lines(eventlog_dir))


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("invited", "unlock"),
        ("invited", "lock"),
        ("active", "activate"),
        ("active", "unlock"),
        ("locked", "activate"),
        ("locked", "lock"),
        ("deactivated", "activate"),
        ("deactivated", "lock"),
        ("deactivated", "unlock"),
        ("deactivated", "deactivate"),
        ("invited", "explode"),
        ("active", "save"),
        ("active", "delete"),
        ("invited", ""),
    ],
)
def test_illegal_transition_raises_and_changes_nothing(eventlog_dir, source, name):
    """An illegal or unknown transition raises IllegalTransition, leaves the
    state and the row as they were and writes no state.changed line."""
    user = _user()
    account = _account(user, source)

    with pytest.raises(IllegalTransition):
        apply_transition(account, name)

    assert account.current_state == source
    assert _state(account) == source
    assert UserFSM.objects.filter(user=user).count() == 1
    assert _changes(eventlog_dir) == []


def test_too_many_failed_logins_lock_the_account(eventlog_dir, settings):
    """At SPEEDY_MAX_FAILED_LOGINS failed logins in a row an active account is
    locked, with a state.changed line whose reason names the failed logins."""
    settings.SPEEDY_MAX_FAILED_LOGINS = 3
    user = _user()
    account = UserFSM.objects.get(user=user)
    apply_transition(account, "activate")
    assert authenticate(request=None, username="alice", password=PASSWORD) == user

    for attempt in range(1, 3):
        assert authenticate(request=None, username="alice", password="wrong") is None
        fresh = UserFSM.objects.get(pk=account.pk)
        assert (fresh.current_state, fresh.failed_logins) == ("active", attempt)
    assert authenticate(request=None, username="alice", password="wrong") is None

    fresh = UserFSM.objects.get(pk=account.pk)
    assert fresh.current_state == AccountState.LOCKED
    assert fresh.failed_logins == 3
    activate, lock = _changes(eventlog_dir)
    assert activate["transition"] == "activate"
    assert (lock["transition"], lock["source"], lock["target"]) == ("lock", "active", "locked")
    assert "failed logins" in lock["reason"]
    assert lock["reason"].startswith("3 ")
    assert lock["actor"] == "CLI"
    assert_chains(raw_lines(eventlog_dir))

    # locked: the right password no longer works
    assert authenticate(request=None, username="alice", password=PASSWORD) is None
    assert len(_changes(eventlog_dir)) == 2  # no second lock


def test_failed_logins_of_unknown_users_are_ignored(eventlog_dir):
    """A failed login for a username nobody has changes no account."""
    user = _user()
    assert authenticate(request=None, username="nobody", password="wrong") is None
    assert UserFSM.objects.get(user=user).failed_logins == 0


def test_deactivated_user_cannot_authenticate(eventlog_dir):
    """A deactivated account is refused by the backend even with the right password."""
    user = _user()
    apply_transition(UserFSM.objects.get(user=user), "deactivate")
    assert authenticate(request=None, username="alice", password=PASSWORD) is None


def test_successful_login_resets_failed_logins(client, settings, eventlog_dir):
    """A successful login clears the failed-login count, so the lock limit
    counts failures in a row."""
    settings.SPEEDY_MAX_FAILED_LOGINS = 3
    user = _user()
    account = UserFSM.objects.get(user=user)
    apply_transition(account, "activate")
    for _ in range(2):
        assert authenticate(request=None, username="alice", password="wrong") is None
    assert UserFSM.objects.get(pk=account.pk).failed_logins == 2

    assert client.login(username="alice", password=PASSWORD)

    assert UserFSM.objects.get(pk=account.pk).failed_logins == 0
    for _ in range(2):
        assert authenticate(request=None, username="alice", password="wrong") is None
    assert UserFSM.objects.get(pk=account.pk).current_state == AccountState.ACTIVE


def test_self_service_activate(client, eventlog_dir):
    """A signed-in invited user activates their own account; the line names them."""
    user = _user()
    client.force_login(user)

    response = client.post("/account/activate/", HTTP_USER_AGENT="browser/1")

    assert response.status_code == 200
    assert response.json() == {"state": "active"}
    assert UserFSM.objects.get(user=user).current_state == AccountState.ACTIVE
    (line,) = _changes(eventlog_dir)
    assert (line["source"], line["target"], line["transition"]) == (
        "invited",
        "active",
        "activate",
    )
    assert line["actor"] == "alice"
    assert line["actor_id"] == str(user.pk)
    assert line["ip"] == "127.0.0.1"
    assert line["user_agent"] == "browser/1"
    assert line["request_id"] == response["X-Request-ID"]
    assert_chains(raw_lines(eventlog_dir))


def test_self_service_refuses_other_transitions(client, eventlog_dir):
    """lock and unlock are not self-service (403); activating twice is a
    conflict (409); neither changes the state or writes a line."""
    user = _user()
    client.force_login(user)
    assert client.post("/account/activate/").status_code == 200

    for name in ("lock", "unlock", "explode"):
        response = client.post(f"/account/{name}/")
        assert response.status_code == 403
        assert name in response.json()["error"]
    again = client.post("/account/activate/")
    assert again.status_code == 409
    assert "active" in again.json()["error"]

    assert UserFSM.objects.get(user=user).current_state == AccountState.ACTIVE
    assert [line["transition"] for line in _changes(eventlog_dir)] == ["activate"]


def test_self_service_deactivate(client, eventlog_dir):
    """A signed-in user may deactivate their own account."""
    user = _user()
    client.force_login(user)
    response = client.post("/account/deactivate/")
    assert response.status_code == 200
    assert response.json() == {"state": "deactivated"}
    (line,) = _changes(eventlog_dir)
    assert (line["transition"], line["actor"]) == ("deactivate", "alice")


def test_self_service_needs_login_and_post(client, eventlog_dir):
    """Anonymous visitors get a JSON 403 like the view's other refusals (the
    demo serves no login page to redirect to); GET is not allowed."""
    user = _user()
    response = client.post("/account/activate/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "authentication required"}
    assert client.post("/account/explode/").status_code == 403
    client.force_login(user)
    assert client.get("/account/activate/").status_code == 405
    assert UserFSM.objects.get(user=user).current_state == AccountState.INVITED
    assert _changes(eventlog_dir) == []


def test_admin_action_locks_through_the_state_machine(client, eventlog_dir):
    """A staff user with change permission locks an account with the admin
    action; the line names the staff user and their IP."""
    staff = _staff("boss", "change_userfsm", "view_userfsm")
    target = _account(_user("bob"), AccountState.ACTIVE)
    client.force_login(staff)

    response = client.post(CHANGELIST, {"action": "lock_accounts", "_selected_action": [target.pk]})

    assert response.status_code == 302
    assert _state(target) == AccountState.LOCKED
    (line,) = _changes(eventlog_dir)
    assert line["transition"] == "lock"
    assert (line["source"], line["target"]) == ("active", "locked")
    assert line["object_id"] == str(target.pk)
    assert line["actor"] == "boss"
    assert line["actor_id"] == str(staff.pk)
    assert line["ip"] == "127.0.0.1"
    assert_chains(raw_lines(eventlog_dir))


def test_admin_action_skips_illegal_transitions(client, eventlog_dir):
    """The action locks the active accounts and leaves the others, logging
    only the transitions that happened."""
    staff = _staff("boss", "change_userfsm", "view_userfsm")
    active = _account(_user("bob"), AccountState.ACTIVE)
    invited = _account(_user("carol"), AccountState.INVITED)
    client.force_login(staff)

    response = client.post(
        CHANGELIST,
        {"action": "lock_accounts", "_selected_action": [active.pk, invited.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert (_state(active), _state(invited)) == ("locked", "invited")
    assert [line["object_id"] for line in _changes(eventlog_dir)] == [str(active.pk)]
    notes = [str(m) for m in response.context["messages"]]
    assert notes == ["lock: 1 account(s)", "carol: cannot lock an account that is invited"]


def test_view_only_staff_cannot_run_transition_actions(client, eventlog_dir):
    """A staff user who may only view account states cannot change them with
    an action."""
    staff = _staff("viewer", "view_userfsm")
    target = _account(_user("bob"), AccountState.ACTIVE)
    client.force_login(staff)

    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    assert "lock_accounts" not in listing.content.decode()

    client.post(CHANGELIST, {"action": "lock_accounts", "_selected_action": [target.pk]})

    assert _state(target) == AccountState.ACTIVE
    assert _changes(eventlog_dir) == []


def _change_url(account: UserFSM) -> str:
    return f"{CHANGELIST}{account.pk}/change/"


def test_superuser_forces_state_in_change_form(client, eventlog_dir):
    """A superuser may set current_state directly; the change is saved and
    logged as transition admin_override with the superuser as actor."""
    admin = User.objects.create_superuser("root", password=PASSWORD)
    account = UserFSM.objects.get(user=_user("bob"))
    client.force_login(admin)
    page = client.get(_change_url(account))
    assert page.status_code == 200
    assert 'name="current_state"' in page.content.decode()
    assert 'name="failed_logins"' not in page.content.decode()

    response = client.post(_change_url(account), {"current_state": "deactivated"})

    assert response.status_code == 302, response.content.decode()
    assert _state(account) == AccountState.DEACTIVATED
    (line,) = _changes(eventlog_dir)
    assert line["transition"] == "admin_override"
    assert (line["source"], line["target"]) == ("invited", "deactivated")
    assert line["model"] == "speedy.userfsm"
    assert line["object_id"] == str(account.pk)
    assert line["field"] == "current_state"
    assert line["actor"] == "root"
    assert line["actor_id"] == str(admin.pk)
    assert line["ip"] == "127.0.0.1"
    assert line["request_id"] == response["X-Request-ID"]
    assert_chains(raw_lines(eventlog_dir))


def test_a_forced_change_takes_its_source_from_the_row_not_the_form(
    client, eventlog_dir, monkeypatch
):
    """Another change lands between the admin loading the row for the POST and
    saving it: the override's source is the state the row has then, and
    forcing the state the row already has writes no line."""
    from speedy.accounts import apply_transition
    from speedy.admin import UserFSMAdmin

    admin = User.objects.create_superuser("root", password=PASSWORD)
    account = _account(_user("bob"), AccountState.ACTIVE)
    client.force_login(admin)
    save_form = UserFSMAdmin.save_form

    def meanwhile(self, request, form, change):
        apply_transition(UserFSM.objects.get(pk=account.pk), "lock")
        return save_form(self, request, form, change)

    monkeypatch.setattr(UserFSMAdmin, "save_form", meanwhile)
    response = client.post(_change_url(account), {"current_state": "deactivated"})
    assert response.status_code == 302, response.content.decode()
    lines = _changes(eventlog_dir)
    assert [(e["source"], e["target"], e["transition"]) for e in lines] == [
        ("active", "locked", "lock"),
        ("locked", "deactivated", "admin_override"),
    ]
    monkeypatch.setattr(UserFSMAdmin, "save_form", save_form)
    account = _account(_user("carol"), AccountState.ACTIVE)

    def to_locked(self, request, form, change):
        apply_transition(UserFSM.objects.get(pk=account.pk), "lock")
        return save_form(self, request, form, change)

    monkeypatch.setattr(UserFSMAdmin, "save_form", to_locked)
    before = len(_changes(eventlog_dir))
    response = client.post(_change_url(account), {"current_state": "locked"})
    assert response.status_code == 302
    assert [e["transition"] for e in _changes(eventlog_dir)[before:]] == ["lock"]
    assert _state(account) == AccountState.LOCKED


def test_superuser_saving_unchanged_state_writes_no_override(client, eventlog_dir):
    """Saving the change form without changing the state logs nothing."""
    admin = User.objects.create_superuser("root", password=PASSWORD)
    account = _account(_user("bob"), AccountState.LOCKED)
    client.force_login(admin)
    response = client.post(_change_url(account), {"current_state": "locked"})
    assert response.status_code == 302
    assert _state(account) == AccountState.LOCKED
    assert _changes(eventlog_dir) == []


def test_staff_cannot_force_state_in_change_form(client, eventlog_dir):
    """For staff without superuser status current_state is read-only: posting
    it changes nothing and writes no admin_override line."""
    staff = _staff("boss", "change_userfsm", "view_userfsm")
    account = UserFSM.objects.get(user=_user("bob"))
    client.force_login(staff)
    page = client.get(_change_url(account))
    assert page.status_code == 200
    assert 'name="current_state"' not in page.content.decode()

    response = client.post(_change_url(account), {"current_state": "deactivated"})

    assert response.status_code == 302
    assert _state(account) == AccountState.INVITED
    assert _changes(eventlog_dir) == []


def test_superuser_forcing_active_clears_failed_logins(client, eventlog_dir):
    """A forced change to active starts the failed-login count afresh, as
    unlock() does, so one more wrong password does not lock again at once."""
    admin = User.objects.create_superuser("root", password=PASSWORD)
    account = _account(_user("bob"), AccountState.LOCKED)
    UserFSM.objects.filter(pk=account.pk).update(failed_logins=7)
    client.force_login(admin)

    response = client.post(_change_url(account), {"current_state": "active"})

    assert response.status_code == 302, response.content.decode()
    account.refresh_from_db()
    assert (account.current_state, account.failed_logins) == ("active", 0)
    (line,) = _changes(eventlog_dir)
    assert (line["source"], line["target"], line["transition"]) == (
        "locked",
        "active",
        "admin_override",
    )


def test_a_successful_login_resets_the_counter_through_a_logged_save(
    client, settings, eventlog_dir
):
    """The reset is logged, so the history, the row and restore agree."""
    from eventlog import reader
    from eventlog.write import pipeline as _pipeline

    user = _user()
    account = UserFSM.objects.get(user=user)
    apply_transition(account, "activate")
    for _ in range(2):
        assert authenticate(request=None, username="alice", password="wrong") is None
    assert client.login(username="alice", password=PASSWORD)
    assert UserFSM.objects.get(pk=account.pk).failed_logins == 0
    _pipeline.flush()
    state = reader.state_at(eventlog_dir, "speedy.userfsm", str(account.pk))
    assert state.fields["failed_logins"] == 0
    last = read(eventlog_dir, event="model.updated")[-1]
    assert last["changes"] == {"failed_logins": {"old": 2, "new": 0}}


def test_restore_of_the_state_field_logs_state_changed(eventlog_dir):
    """A restore that moves current_state writes a state.changed line:
    transition "admin_override" (it bypasses the machine), with the restore reason."""
    import io

    from django.core.management import call_command

    from eventlog.write import pipeline as _pipeline

    user = _user()
    account = UserFSM.objects.get(user=user)
    apply_transition(account, "activate")
    apply_transition(account, "lock")
    activated = read(eventlog_dir, event="model.updated")[0]
    call_command(
        "eventlog",
        "restore",
        "speedy.userfsm",
        str(account.pk),
        "--to",
        activated["event_id"],
        "--yes",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    _pipeline.flush()
    assert _state(account) == AccountState.ACTIVE
    *_, line = _changes(eventlog_dir)
    assert (line["source"], line["target"], line["transition"]) == (
        "locked",
        "active",
        "admin_override",
    )
    assert line["field"] == "current_state"
    assert line["reason"] == f"restore to {activated['timestamp']}"
    assert line["actor"] == "CLI"


def test_an_anonymous_post_without_a_csrf_token_is_a_json_403(eventlog_dir):
    """With CSRF enforced, as for curl or a browser, an anonymous POST to a
    transition is refused in JSON like the view's other errors, not with
    Django's HTML page; the admin keeps Django's page."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/account/activate/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"].startswith("CSRF verification failed: ")
    admin = client.post("/admin/login/", {"username": "x", "password": "y"})
    assert admin.status_code == 403
    assert admin["Content-Type"].startswith("text/html")
    assert _changes(eventlog_dir) == []
