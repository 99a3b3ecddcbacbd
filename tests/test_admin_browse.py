"""The admin's event browser, event page and files panel, through Django's
test client over real log files."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import orjson
import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.urls import reverse

from eventlog.admin import browse
from eventlog.write import pipeline as _pipeline
from tests.helpers import make_line

ROTATED = "events.jsonl.2026-11-23T09-00-00.000000Z.gz"


def ts(n: int) -> str:
    return f"2026-11-23T{8 + n // 60:02d}:{n % 60:02d}:00.000000Z"


def eid(n: int) -> str:
    return f"0190a1b2-c3d4-7e5f-8a9b-{n:012d}"


def line(n: int, event: str = "app.note", **fields) -> bytes:
    fields.setdefault("message", f"message {n}")
    return make_line(ts(n), event, seq=n, event_id=eid(n), **fields)


def write(path: Path, *lines: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(lines)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        with path.open("ab") as f:
            f.write(data)


@pytest.fixture(autouse=True)
def _no_login_lines(settings):
    """The tests write the log lines they browse: the logins of their clients
    would add auth.login lines of their own."""
    settings.EVENTLOG_AUTH_EVENTS = False


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def logdir(eventlog_dir: Path) -> Path:
    """The log directory, with whatever the test setup itself logged flushed."""
    _pipeline.flush()
    eventlog_dir.mkdir(parents=True, exist_ok=True)
    return eventlog_dir


@pytest.fixture
def staff(db, django_user_model):
    return django_user_model.objects.create_user("staff", password="x", is_staff=True)


@pytest.fixture
def viewer(staff):
    staff.user_permissions.add(Permission.objects.get(codename="view_event"))
    return type(staff).objects.get(pk=staff.pk)  # fresh permission cache


def rows(response) -> list[str]:
    """The event ids of the browser's rows, in order."""
    return re.findall(r'data-event-id="([^"]+)"', response.content.decode())


def sizes(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in directory.iterdir()}


# -- permission ------------------------------------------------------------------------


def test_index_shows_events_to_a_superuser(admin_client, logdir):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:eventlog_events") in page
    assert reverse("admin:eventlog_event_changelist") == reverse("admin:eventlog_events")
    assert "Event log" in page


def test_index_hides_events_from_staff_without_the_permission(client, staff, logdir):
    client.force_login(staff)
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:eventlog_events") not in page


PAGES = [
    ("admin:eventlog_events", []),
    ("admin:eventlog_event", [eid(1)]),
    ("admin:eventlog_files", []),
]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_staff_without_permission_gets_403(client, staff, logdir, name, args):
    write(logdir / "events.jsonl", line(1))
    client.force_login(staff)
    assert client.get(reverse(name, args=args)).status_code == 403
    if name == "admin:eventlog_files":
        assert client.post(reverse(name)).status_code == 403


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_anonymous_is_sent_to_login(client, db, logdir, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_staff_granted_the_permission_sees_the_pages(client, viewer, logdir, name, args):
    write(logdir / "events.jsonl", line(1))
    client.force_login(viewer)
    assert client.get(reverse(name, args=args)).status_code == 200
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:eventlog_events") in index


# -- the browser -----------------------------------------------------------------------


def test_newest_first_and_pages_across_a_rotated_file(admin_client, logdir, monkeypatch):
    monkeypatch.setattr(browse, "PER_PAGE", 4)
    write(logdir / ROTATED, *[line(n) for n in range(5)])
    write(logdir / "events.jsonl", *[line(n) for n in range(5, 10)])
    url = reverse("admin:eventlog_events")
    first = admin_client.get(url)
    assert rows(first) == [eid(n) for n in (9, 8, 7, 6)]
    assert "?page=2" in first.content.decode()
    assert rows(admin_client.get(url, {"page": 2})) == [eid(n) for n in (5, 4, 3, 2)]
    last = admin_client.get(url, {"page": 3})
    assert rows(last) == [eid(1), eid(0)]
    assert "?page=4" not in last.content.decode()
    assert admin_client.get(url, {"page": "x"}).status_code == 200


def test_filtered_pages_keep_the_filter_in_their_links(admin_client, logdir, monkeypatch):
    monkeypatch.setattr(browse, "PER_PAGE", 2)
    write(logdir / "events.jsonl", *[line(n, actor="ann") for n in range(5)])
    response = admin_client.get(reverse("admin:eventlog_events"), {"actor": "ann"})
    assert rows(response) == [eid(4), eid(3)]
    assert "actor=ann&amp;page=2" in response.content.decode()
    assert "5 events" in response.content.decode()


FILTERS = [
    ({"event": "model.*"}, [2, 1]),
    ({"event": "model.deleted"}, [2]),
    ({"model": "speedy.Employee"}, [2, 1]),
    ({"object_id": "7"}, [1]),
    ({"actor": "bob"}, [3]),
    ({"level": "error"}, [3]),
    ({"request_id": "req-b"}, [3, 2]),
    ({"since": ts(2)}, [3, 2]),
    ({"until": ts(2)}, [1, 0]),
    ({"since": ts(1), "until": ts(3)}, [2, 1]),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_each_filter(admin_client, logdir, query, expected):
    write(
        logdir / "events.jsonl",
        line(0, actor="ann", request_id="req-a"),
        line(1, "model.updated", model="speedy.employee", object_id="7", actor="ann"),
        line(2, "model.deleted", model="speedy.employee", object_id="8", request_id="req-b"),
        line(3, actor="bob", level="error", request_id="req-b"),
    )
    response = admin_client.get(reverse("admin:eventlog_events"), query)
    assert response.status_code == 200
    assert rows(response) == [eid(n) for n in expected]
    page = response.content.decode()
    for value in query.values():
        assert f'value="{value}"' in page  # the form keeps what was asked


def test_relative_time(admin_client, logdir):
    from eventlog.read.times import parse_time

    write(
        logdir / "events.jsonl",
        make_line(parse_time("3h"), "app.note", event_id=eid(1)),
        make_line(parse_time("10m"), "app.note", event_id=eid(2)),
    )
    url = reverse("admin:eventlog_events")
    assert rows(admin_client.get(url, {"since": "1h"})) == [eid(2)]
    assert rows(admin_client.get(url, {"until": "1h"})) == [eid(1)]


def test_a_bad_time_is_a_message(admin_client, logdir):
    write(logdir / "events.jsonl", line(1))
    response = admin_client.get(reverse("admin:eventlog_events"), {"since": "yesterday-ish"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="errornote"' in page
    assert "invalid time" in page
    assert rows(response) == []


def test_rows_show_time_level_object_actor_ip_and_summary(admin_client, logdir):
    write(
        logdir / "events.jsonl",
        make_line(
            ts(1),
            "model.updated",
            event_id=eid(1),
            model="auth.user",
            object_id="5",
            object_repr="someone",
            actor="ann",
            ip="192.0.2.7",
            changes={"email": {"old": "a@x", "new": "b@x"}},
        ),
    )
    page = admin_client.get(reverse("admin:eventlog_events")).content.decode()
    for part in (ts(1), "model.updated", "someone", "ann", "192.0.2.7", "email: a@x → b@x"):
        assert part in page
    assert reverse("admin:auth_user_change", args=["5"]) in page
    assert reverse("admin:auth_user_history", args=["5"]) in page
    assert reverse("admin:eventlog_event", args=[eid(1)]) in page


def test_an_object_of_a_model_not_in_the_admin_is_not_linked(admin_client, logdir):
    write(logdir / "events.jsonl", line(1, "model.updated", model="nope.thing", object_id="3"))
    response = admin_client.get(reverse("admin:eventlog_events"))
    assert response.status_code == 200
    assert "nope.thing" in response.content.decode()


def test_script_in_values_keys_actor_and_user_agent_is_text(admin_client, logdir):
    evil = "<script>alert(1)</script>"
    write(
        logdir / "events.jsonl",
        make_line(
            ts(1),
            "model.updated",
            event_id=eid(1),
            message=evil,
            actor=evil,
            user_agent=evil,
            object_repr=evil,
            model="auth.user",
            object_id="1",
            request_id="r1",
            **{evil: evil},
        ),
        make_line(
            ts(2),
            "model.updated",
            event_id=eid(2),
            request_id="r1",
            changes={evil: {"old": evil, "new": evil}},
        ),
    )
    for url in (
        reverse("admin:eventlog_events"),
        reverse("admin:eventlog_events") + "?actor=" + evil,
        reverse("admin:eventlog_event", args=[eid(1)]),
        reverse("admin:eventlog_event", args=[eid(2)]),
    ):
        page = admin_client.get(url).content.decode()
        assert "<script>alert" not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url


def test_controls_and_bidi_in_values_are_cleaned(admin_client, logdir):
    write(logdir / "events.jsonl", line(1, message="pay\u202eto\x1b[31m"))
    page = admin_client.get(reverse("admin:eventlog_events")).content.decode()
    assert "\u202e" not in page
    assert "\x1b" not in page


def test_masked_values_stay_masked(admin_client, logdir):
    write(
        logdir / "events.jsonl",
        make_line(
            ts(1),
            "model.updated",
            event_id=eid(1),
            changes={"password": {"old": "***", "new": "***"}},
        ),
    )
    page = admin_client.get(reverse("admin:eventlog_events")).content.decode()
    assert "password: *** → ***" in page


# -- the event page --------------------------------------------------------------------


def test_event_page_shows_the_whole_line_and_the_same_request(admin_client, logdir):
    write(logdir / ROTATED, line(0, request_id="req-1"), line(1, request_id="req-2"))
    write(logdir / "events.jsonl", line(2, request_id="req-1"), line(3))
    response = admin_client.get(reverse("admin:eventlog_event", args=[eid(2)]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="eventlog-event"' in page
    assert "&quot;hash&quot;: &quot;" + "0" * 64 in page
    assert "&quot;stream&quot;: &quot;host-1-abcd&quot;" in page
    assert "events.jsonl" in page
    same = re.search(r'id="eventlog-same-request".*?</table>', page, re.S)
    assert same is not None
    linked = re.findall(r'href="([^"]+)"', same.group(0))
    assert reverse("admin:eventlog_event", args=[eid(0)]) in linked
    assert reverse("admin:eventlog_event", args=[eid(1)]) not in linked
    # the rotated, compressed file is found too, and named
    other = admin_client.get(reverse("admin:eventlog_event", args=[eid(0)])).content.decode()
    assert ROTATED in other


@pytest.mark.parametrize("bad", [eid(99), "not-an-id", "%3Cscript%3E", "x" * 300])
def test_unknown_or_invalid_event_id_is_404(admin_client, logdir, bad):
    write(logdir / "events.jsonl", line(1))
    response = admin_client.get(reverse("admin:eventlog_events") + bad + "/")
    assert response.status_code == 404
    assert "No event" in response.content.decode()


# -- the files panel -------------------------------------------------------------------


def test_files_panel_lists_files_and_runs_verify_on_post_only(
    admin_client, admin_user, logdir, monkeypatch
):
    write(logdir / ROTATED, line(0))
    write(logdir / "events.jsonl", line(1))
    (logdir / "django.jsonl").write_bytes(b"")
    calls = []
    real = browse.verify

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(browse, "verify", counting)
    url = reverse("admin:eventlog_files")
    page = admin_client.get(url).content.decode()
    assert calls == []
    for name in (ROTATED, "events.jsonl", "django.jsonl"):
        assert name in page
    assert str((logdir / "events.jsonl").stat().st_size) in page
    assert "csrfmiddlewaretoken" in page
    response = admin_client.post(url)
    assert response.status_code == 302
    assert len(calls) == 1
    page = admin_client.get(url).content.decode()
    assert len(calls) == 1
    assert 'id="eventlog-verify-result"' in page
    assert "problem(s)" in page
    assert admin_user.get_username() in page


def test_verify_post_needs_the_csrf_token(admin_user, logdir):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(reverse("admin:eventlog_files")).status_code == 403


def test_verify_result_shows_problems(admin_client, logdir):
    write(logdir / "events.jsonl", line(1), b"<b>not json</b>\n")
    admin_client.post(reverse("admin:eventlog_files"))
    page = admin_client.get(reverse("admin:eventlog_files")).content.decode()
    assert "&lt;b&gt;" in page or "not valid JSON" in page
    assert "<b>not json" not in page


# -- missing directory, nothing written ----------------------------------------------


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_a_missing_directory_is_a_message(admin_client, settings, tmp_path, name, args):
    settings.EVENTLOG_DIR = str(tmp_path / "missing")
    response = admin_client.get(reverse(name, args=args))
    assert response.status_code in (200, 404)
    assert "does not exist" in response.content.decode()
    if name == "admin:eventlog_files":
        admin_client.post(reverse(name))
        assert "does not exist" in admin_client.get(reverse(name)).content.decode()


def test_an_unreadable_file_is_a_message(admin_client, logdir):
    (logdir / "events.jsonl").mkdir()  # not a regular file
    response = admin_client.get(reverse("admin:eventlog_events"))
    assert response.status_code == 200
    assert "skipped" in response.content.decode()


def test_the_pages_write_nothing_to_the_log(admin_client, logdir):
    write(logdir / ROTATED, line(0, request_id="r"))
    write(logdir / "events.jsonl", line(1, request_id="r"))
    admin_client.get(reverse("admin:index"))
    _pipeline.flush()
    before = sizes(logdir)
    for url in (
        reverse("admin:eventlog_events"),
        reverse("admin:eventlog_events") + "?request_id=r",
        reverse("admin:eventlog_event", args=[eid(1)]),
        reverse("admin:eventlog_files"),
    ):
        assert admin_client.get(url).status_code == 200
    admin_client.post(reverse("admin:eventlog_files"))
    _pipeline.flush()
    assert sizes(logdir) == before
    assert orjson.loads((logdir / "events.jsonl").read_bytes())["seq"] == 1
