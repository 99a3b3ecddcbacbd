"""Authentication events, request events, and ``method``/``path`` in the
context of every line written inside a request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import AsyncClient, Client, RequestFactory
from django.urls import path

from eventlog import conf
from eventlog.middleware import MAX_PATH, EventlogMiddleware
from eventlog.signals import event_signal
from tests.helpers import raw_lines, read
from tests.zoo.models import Animal

PASSWORD = "Correct-Horse-9"


def plain(request: HttpRequest) -> HttpResponse:
    event_signal.send(sender="tests", message="plain")
    return JsonResponse({"ok": True})


def save(request: HttpRequest) -> HttpResponse:
    Animal.objects.create(name="saved in a view")
    return JsonResponse({"ok": True})


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


async def async_plain(request: HttpRequest) -> HttpResponse:
    event_signal.send(sender="tests", message="async")
    return JsonResponse({"ok": True})


def try_login(request: HttpRequest) -> HttpResponse:
    # A backend's extra credential (a one-time code) beside the username.
    authenticate(request, username=request.GET.get("u", ""), password="wrong", otp_code="otp-4938")
    return JsonResponse({"ok": True})


class Login(LoginView):
    next_page = "/plain/"

    def form_invalid(self, form: Any) -> HttpResponse:
        return HttpResponse("refused")


urlpatterns = [
    path("login/", Login.as_view()),
    path("logout/", LogoutView.as_view(next_page="/plain/")),
    path("plain/", plain),
    path("save/", save),
    path("boom/", boom),
    path("async/", async_plain),
    path("try-login/", try_login),
]

pytestmark = pytest.mark.urls(__name__)


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(username="alice", password=PASSWORD)


def _login(client: Client, username: str, password: str) -> HttpResponse:
    return client.post(
        "/login/",
        {"username": username, "password": password},
        HTTP_USER_AGENT="browser/1",
        HTTP_X_REQUEST_ID="rid-login",
    )


def _no_secret_in(directory, *secrets: str) -> None:
    for name in ("events.jsonl", "django.jsonl"):
        data = b"".join(raw_lines(directory, name))
        for secret in secrets:
            assert secret.encode() not in data, (name, secret)
        assert b'"password"' not in data
        assert b"otp_code" not in data
        assert b"credentials" not in data


# Authentication events


@pytest.mark.django_db(transaction=True)
def test_a_login_through_the_login_view_is_logged_with_the_request_context(
    client, eventlog_dir, alice
):
    response = _login(client, "alice", PASSWORD)
    assert response.status_code == 302
    (line,) = read(eventlog_dir, event="auth.login")
    assert line["username"] == "alice"
    assert line["request_id"] == "rid-login" == response.headers["X-Request-ID"]
    assert (line["ip"], line["user_agent"]) == ("127.0.0.1", "browser/1")
    assert (line["method"], line["path"]) == ("POST", "/login/")
    assert (line["actor"], line["actor_id"]) == ("alice", str(alice.pk))
    _no_secret_in(eventlog_dir, PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_is_logged_with_the_username_and_no_credential(
    client, eventlog_dir, alice
):
    response = _login(client, "alice", "Wrong-Password-1")
    assert response.status_code == 200  # the form again
    (line,) = read(eventlog_dir, event="auth.login_failed")
    assert line["username"] == "alice"
    assert line["request_id"] == "rid-login"
    assert "actor" not in line
    assert not read(eventlog_dir, event="auth.login")
    _no_secret_in(eventlog_dir, "Wrong-Password-1", PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_an_unknown_user_is_logged_with_the_attempted_name(client, eventlog_dir):
    _login(client, "mallory", "Guess-1234")
    (line,) = read(eventlog_dir, event="auth.login_failed")
    assert line["username"] == "mallory"
    _no_secret_in(eventlog_dir, "Guess-1234")


@pytest.mark.django_db(transaction=True)
def test_no_other_credential_key_is_written_not_even_masked(client, eventlog_dir):
    client.get("/try-login/?u=bob")
    (line,) = read(eventlog_dir, event="auth.login_failed")
    assert line["username"] == "bob"
    assert "otp_code" not in line
    assert "password" not in line
    _no_secret_in(eventlog_dir, "otp-4938")


@pytest.mark.django_db(transaction=True)
def test_a_hostile_attempted_name_is_cut_and_keeps_the_line_whole(client, eventlog_dir):
    hostile = "evil\n\x1b[31m\u202e" + "x" * 100_000
    _login(client, hostile, "pw")
    lines = raw_lines(eventlog_dir)
    assert all(raw.count(b"\n") == 1 for raw in lines)
    (line,) = read(eventlog_dir, event="auth.login_failed")
    assert line["username"].startswith("evil")
    assert len(line["username"]) <= 150


@pytest.mark.django_db(transaction=True)
def test_an_attempted_name_that_is_no_text_is_not_written(eventlog_dir):
    """A JSON body's object as the username may hold the password itself."""
    authenticate(None, username={"password": "hunter2"}, password="pw")
    authenticate(None, username=12345, password="pw")
    first, second = read(eventlog_dir, event="auth.login_failed")
    assert first["username"] is None
    assert second["username"] == "12345"
    _no_secret_in(eventlog_dir, "hunter2")


@pytest.mark.django_db(transaction=True)
def test_a_logout_is_logged_with_the_user_logging_out(client, eventlog_dir, alice):
    _login(client, "alice", PASSWORD)
    response = client.post("/logout/", HTTP_X_REQUEST_ID="rid-logout")
    assert response.status_code in (200, 302)
    client.post("/logout/")  # no one is logged in any more
    line, anonymous = read(eventlog_dir, event="auth.logout")
    assert line["username"] == "alice"
    assert line["request_id"] == "rid-logout"
    assert (line["method"], line["path"]) == ("POST", "/logout/")
    assert anonymous["username"] is None


@pytest.mark.django_db(transaction=True)
def test_client_login_outside_a_request_is_the_cli(client, eventlog_dir, alice):
    assert client.login(username="alice", password=PASSWORD)
    client.logout()
    login, logout = (read(eventlog_dir, event=name)[0] for name in ("auth.login", "auth.logout"))
    for line in (login, logout):
        assert line["username"] == "alice"
        assert line["actor"] == "CLI"
        assert "method" not in line
        assert "path" not in line


@pytest.mark.django_db(transaction=True)
def test_auth_events_can_be_switched_off(client, eventlog_dir, alice, settings):
    settings.EVENTLOG_AUTH_EVENTS = False
    _login(client, "alice", "nope")
    _login(client, "alice", PASSWORD)
    client.post("/logout/")
    assert not [e for e in read(eventlog_dir) if e["event"].startswith("auth.")]


@pytest.mark.django_db
def test_auth_events_in_a_test_case_transaction_are_written_at_once(client, eventlog_dir, alice):
    """A refused login is worth keeping even if the request's work rolls back."""
    _login(client, "alice", "nope")
    assert read(eventlog_dir, event="auth.login_failed")


# Request events


def test_no_request_event_by_default(client, eventlog_dir):
    client.get("/plain/")
    assert not read(eventlog_dir, event="http.request")


@pytest.mark.parametrize(("url", "status"), [("/plain/", 200), ("/missing/", 404)])
def test_one_request_event_per_request(client, eventlog_dir, settings, url, status):
    settings.EVENTLOG_REQUEST_EVENTS = True
    response = client.get(url + "?q=1", HTTP_X_REQUEST_ID="rid-http")
    assert response.status_code == status
    (line,) = read(eventlog_dir, event="http.request")
    assert (line["method"], line["path"], line["status"]) == ("GET", url, status)
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["request_id"] == "rid-http"
    assert read(eventlog_dir)[-1]["event"] == "http.request"  # after the view's lines


def test_a_view_that_raises_is_a_500(eventlog_dir, settings):
    settings.EVENTLOG_REQUEST_EVENTS = True
    response = Client(raise_request_exception=False).post("/boom/")
    assert response.status_code == 500
    (line,) = read(eventlog_dir, event="http.request")
    assert (line["method"], line["path"], line["status"]) == ("POST", "/boom/", 500)


def test_an_async_view_gets_its_request_event(eventlog_dir, settings):
    settings.EVENTLOG_REQUEST_EVENTS = True

    async def run() -> None:
        response = await AsyncClient().get("/async/", headers={"X-Request-ID": "rid-async"})
        assert response.status_code == 200

    asyncio.run(run())
    app, request = read(eventlog_dir)
    assert (app["method"], app["path"]) == ("GET", "/async/")
    assert request["event"] == "http.request"
    assert (request["status"], request["request_id"]) == (200, "rid-async")


def _raising(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("escaped every handler")


async def _araising(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("escaped every handler")


@pytest.mark.parametrize("handler", [_raising, _araising])
def test_an_exception_through_the_middleware_is_a_500_and_is_raised_again(
    eventlog_dir, settings, handler
):
    settings.EVENTLOG_REQUEST_EVENTS = True
    middleware = EventlogMiddleware(handler)
    request = RequestFactory().delete("/gone/")
    with pytest.raises(RuntimeError, match="escaped"):
        result = middleware(request)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    (line,) = read(eventlog_dir, event="http.request")
    assert (line["method"], line["path"], line["status"]) == ("DELETE", "/gone/", 500)


def test_the_query_is_left_out_unless_asked_for(client, eventlog_dir, settings):
    settings.EVENTLOG_REQUEST_EVENTS = True
    client.get("/plain/?token=tok-abc123")
    (line,) = read(eventlog_dir, event="http.request")
    assert line["path"] == "/plain/"
    assert b"tok-abc123" not in b"".join(raw_lines(eventlog_dir))


def test_the_query_has_secret_named_values_masked(client, eventlog_dir, settings):
    settings.EVENTLOG_REQUEST_EVENTS = True
    settings.EVENTLOG_REQUEST_QUERY = True
    settings.EVENTLOG_MASK_FIELDS = ["card"]
    query = (
        "page=2&token=t0k3n&Password=pw1&pass%77ord=pw2&api_key=k3y&card_no=4111-visa"
        "&q=a+b&flag&access_token=&user%5Bpassword%5D=pw3&next=%2Fa%3Fx%3D1&x=1;secret=pw4"
    )
    client.get("/plain/?" + query)
    request = read(eventlog_dir, event="http.request")[0]
    assert request["path"] == (
        "/plain/?page=2&token=***&Password=***&pass%77ord=***&api_key=***&card_no=***"
        "&q=a+b&flag&access_token=***&user%5Bpassword%5D=***&next=%2Fa%3Fx%3D1&x=1;secret=***"
    )
    data = b"".join(raw_lines(eventlog_dir))
    # Each secret holds a letter outside hex, so no hash, id or time can contain it by chance.
    for secret in (b"t0k3n", b"pw1", b"pw2", b"pw3", b"pw4", b"k3y", b"4111-visa"):
        assert secret not in data
    # The context of the other lines keeps the bare path.
    (app,) = read(eventlog_dir, event="app.event")
    assert app["path"] == "/plain/"


def test_a_long_query_is_cut(client, eventlog_dir, settings):
    settings.EVENTLOG_REQUEST_EVENTS = True
    settings.EVENTLOG_REQUEST_QUERY = True
    client.get("/plain/?q=" + "a" * 100_000 + "&token=secret-at-the-end")
    client.get("/plain/?q=" + "a" * 2030 + "&token=secret-across-the-cut")
    first, second = read(eventlog_dir, event="http.request")
    assert len(first["path"]) <= MAX_PATH
    assert set(second["path"].split("&token=")[1]) <= {"*"}
    data = b"".join(raw_lines(eventlog_dir))
    assert b"secret-at-the-end" not in data
    assert b"secret-across" not in data


def test_hostile_query_names_do_not_fill_the_masker_cache(client, eventlog_dir, settings):
    """Names a client makes up must not take the place of the keys that keep
    lines on the fast path."""
    from eventlog.write import pipeline

    settings.EVENTLOG_REQUEST_EVENTS = True
    settings.EVENTLOG_REQUEST_QUERY = True
    seen = len(pipeline.masker()._seen)
    client.get("/plain/?" + "&".join(f"n{i}=v" for i in range(300)))
    assert len(pipeline.masker()._seen) - seen < 20


# method and path in the context


@pytest.mark.django_db(transaction=True)
def test_model_lines_inside_a_view_carry_method_and_path(client, eventlog_dir):
    client.post("/save/")
    (line,) = read(eventlog_dir, event="model.created")
    assert (line["method"], line["path"]) == ("POST", "/save/")


@pytest.mark.django_db(transaction=True)
def test_lines_outside_a_request_have_no_method_or_path(eventlog_dir):
    Animal.objects.create(name="from a script")
    event_signal.send(sender="tests", message="outside")
    lines = read(eventlog_dir)
    assert len(lines) == 2
    for line in lines:
        assert "method" not in line
        assert "path" not in line


def test_django_records_of_a_request_carry_method_and_path(client, eventlog_dir):
    client.get("/missing/")  # django.request logs the 404 after the middleware returned
    (record,) = [r for r in read(eventlog_dir, "django.jsonl") if r["event"] == "django.request"]
    assert (record["method"], record["path"]) == ("GET", "/missing/")


def test_a_hostile_path_and_method_are_capped_and_keep_the_line_whole(client, eventlog_dir):
    client.generic("X" * 5000, "/plain/%0A%0D%1B%5B31m%E2%80%AE" + "a" * 100_000)
    client.generic("G\nET", "/plain/")
    lines = raw_lines(eventlog_dir, "django.jsonl") + raw_lines(eventlog_dir)
    assert lines
    assert all(raw.count(b"\n") == 1 for raw in lines)
    records = read(eventlog_dir, "django.jsonl")
    first = records[0]
    assert first["path"].startswith("/plain/\n\r\x1b[31m\u202e")
    assert len(first["path"]) <= MAX_PATH
    assert len(first["method"]) <= 16


def test_auth_events_are_on_and_request_events_off_by_default():
    assert conf.auth_events() is True
    assert conf.request_events() is False
    assert conf.request_query() is False
