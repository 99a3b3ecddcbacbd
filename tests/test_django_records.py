"""django.jsonl records of web requests carry that request's context, also
when Django logs them after the middleware has returned; none of them is
attributed to the command line."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
)
from django.test import AsyncClient
from django.urls import path

import eventlog
from tests.helpers import ROOT, assert_chains, assert_envelope, child_env, raw_lines, read

CLI_KEYS = ("os_user", "command")


def returned_404(request: HttpRequest) -> HttpResponse:
    return HttpResponseNotFound("no")


def raised_404(request: HttpRequest) -> HttpResponse:
    raise Http404("no")


def returned_403(request: HttpRequest) -> HttpResponse:
    return HttpResponseForbidden("no")


def raised_403(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def returned_400(request: HttpRequest) -> HttpResponse:
    return HttpResponseBadRequest("no")


async def async_404(request: HttpRequest) -> HttpResponse:
    return HttpResponseNotFound("no")


def login_then_403(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth import get_user_model

    request.user = get_user_model().objects.get(username="dora")
    return HttpResponseForbidden("no")


def reason_then_404(request: HttpRequest) -> HttpResponse:
    with eventlog.context(reason="inside"):
        return HttpResponseNotFound("no")


urlpatterns = [
    path("returned-404/", returned_404),
    path("raised-404/", raised_404),
    path("returned-403/", returned_403),
    path("raised-403/", raised_403),
    path("returned-400/", returned_400),
    path("async-404/", async_404),
    path("login-403/", login_then_403),
    path("reason-404/", reason_then_404),
]


def _request_records(directory, logger: str = "django.request") -> list[dict]:
    return [r for r in read(directory, "django.jsonl") if r["event"] == logger]


def _assert_not_cli(record: dict) -> None:
    assert record.get("actor") != "CLI"
    assert record.get("ip") != "CLI"
    for key in CLI_KEYS:
        assert key not in record


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/returned-404/", 404),
        ("/raised-404/", 404),
        ("/no-such-page/", 404),
        ("/returned-403/", 403),
        ("/raised-403/", 403),
        ("/returned-400/", 400),
    ],
)
def test_4xx_records_carry_the_request_context(client, eventlog_dir, url, status):
    """django.request's warning, logged after the middleware returned or not,
    has the response's request_id, the client's ip and user agent, no CLI keys."""
    response = client.get(
        url, HTTP_X_REQUEST_ID="rid-4xx.1", HTTP_USER_AGENT="probe/1", REMOTE_ADDR="192.0.2.7"
    )
    assert response.status_code == status
    assert response.headers["X-Request-ID"] == "rid-4xx.1"
    (record,) = _request_records(eventlog_dir)
    assert_envelope(record)
    assert record["level"] == "warning"
    assert record["status_code"] == status
    assert record["request_id"] == "rid-4xx.1"
    assert record["ip"] == "192.0.2.7"
    assert record["user_agent"] == "probe/1"
    assert "actor" not in record  # anonymous, and the user was never loaded
    _assert_not_cli(record)
    assert_chains(raw_lines(eventlog_dir, "django.jsonl"))


@pytest.mark.urls(__name__)
def test_a_generated_request_id_is_the_one_the_response_carries(client, eventlog_dir):
    response = client.get("/returned-404/")
    (record,) = _request_records(eventlog_dir)
    assert record["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.urls(__name__)
def test_a_disallowed_host_is_logged_with_its_request(client, eventlog_dir):
    """django.security's record and the 400 both belong to the request."""
    response = client.get("/returned-404/", HTTP_HOST="evil.example", HTTP_X_REQUEST_ID="rid-host")
    assert response.status_code == 400
    (record,) = _request_records(eventlog_dir, "django.security.DisallowedHost")
    assert record["request_id"] == "rid-host"
    _assert_not_cli(record)


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
def test_the_actor_is_named_when_the_view_loaded_the_user(client, eventlog_dir, django_user_model):
    user = django_user_model.objects.create(username="dora")
    client.get("/login-403/", HTTP_X_REQUEST_ID="rid-actor")
    (record,) = _request_records(eventlog_dir)
    assert (record["actor"], record["actor_id"]) == ("dora", str(user.pk))
    assert record["request_id"] == "rid-actor"


@pytest.mark.urls(__name__)
def test_a_context_block_left_before_the_record_does_not_leak_into_it(client, eventlog_dir):
    client.get("/reason-404/")
    (record,) = _request_records(eventlog_dir)
    assert "reason" not in record
    assert record["request_id"]


@pytest.mark.urls(__name__)
def test_async_4xx_records_carry_the_request_context(eventlog_dir):
    """ASGI logs the 4xx in a worker thread after the middleware returned."""

    async def run() -> str:
        response = await AsyncClient().get("/async-404/", headers={"X-Request-ID": "rid-async"})
        return str(response.headers["X-Request-ID"])

    assert asyncio.run(run()) == "rid-async"
    (record,) = _request_records(eventlog_dir)
    assert record["request_id"] == "rid-async"
    assert record["ip"] == "127.0.0.1"
    _assert_not_cli(record)


class Refuse:
    """A middleware placed before EventlogMiddleware that answers by itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return HttpResponseForbidden("refused before eventlog")


@pytest.mark.urls(__name__)
def test_a_request_refused_before_the_middleware_has_no_request_id_and_no_cli(
    client, eventlog_dir, settings
):
    """No id was made or sent for it; what the request itself says is kept."""
    settings.MIDDLEWARE = [f"{__name__}.Refuse", *settings.MIDDLEWARE]
    response = client.get("/returned-404/", HTTP_X_REQUEST_ID="rid-unseen", HTTP_USER_AGENT="ua")
    assert response.status_code == 403
    assert "X-Request-ID" not in response.headers
    (record,) = _request_records(eventlog_dir)
    assert "request_id" not in record
    assert (record["ip"], record["user_agent"]) == ("127.0.0.1", "ua")
    _assert_not_cli(record)


def test_a_server_record_has_the_peer_address_and_no_cli(eventlog_dir):
    """A django.server record (its ``request`` is the connection's socket)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client_side:
            conn, _ = server.accept()
            with conn:
                logging.getLogger("django.server").warning(
                    '"%s" %s %s',
                    "GET /x HTTP/1.1",
                    "404",
                    "3",
                    extra={"request": conn, "server_time": "now", "status_code": 404},
                )
            del client_side
    closed = socket.socket()
    closed.close()
    logging.getLogger("django.server").info(
        "closed", extra={"request": closed, "server_time": "now"}
    )
    first, second = _request_records(eventlog_dir, "django.server")
    assert first["ip"] == "127.0.0.1"
    assert first["status_code"] == 404
    for record in (first, second):
        assert_envelope(record)
        _assert_not_cli(record)
        assert "request_id" not in record
    assert "ip" not in second


class FakeRequestHandler:
    """Logs the way Django's WSGIRequestHandler does, about a closed socket."""

    def __init__(self) -> None:
        self.request = socket.socket()
        self.request.close()
        self.client_address = ("192.0.2.9", 50000)

    def log_message(self) -> None:
        logging.getLogger("django.server").warning(
            "gone", extra={"request": self.request, "server_time": "now", "status_code": 404}
        )


def test_a_server_record_takes_the_handlers_address_when_the_socket_is_gone(eventlog_dir):
    FakeRequestHandler().log_message()
    (record,) = _request_records(eventlog_dir, "django.server")
    assert record["ip"] == "192.0.2.9"
    _assert_not_cli(record)


class Touchy:
    """A caller whose attributes raise when looked at."""

    @property
    def request(self):
        raise RuntimeError("do not look")

    def log(self, connection) -> None:
        logging.getLogger("django.server").info("touchy", extra={"request": connection})


def test_a_hostile_caller_frame_does_not_lose_the_record(eventlog_dir):
    closed = socket.socket()
    closed.close()
    Touchy().log(closed)
    (record,) = _request_records(eventlog_dir, "django.server")
    assert record["message"] == "touchy"
    _assert_not_cli(record)


def test_records_outside_requests_are_still_cli(eventlog_dir):
    logging.getLogger("django").warning("from a command")
    (record,) = _request_records(eventlog_dir, "django")
    assert (record["actor"], record["ip"]) == ("CLI", "CLI")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, **headers: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def _access_lines(directory, marker: str = "/no-such-page/") -> list[dict]:
    if not (directory / "django.jsonl").exists():
        return []
    records = _request_records(directory, "django.server")
    return [r for r in records if marker in r["message"] and r.get("status_code")]


@pytest.mark.slow
def test_runserver_4xx_and_access_lines_are_not_cli(tmp_path, eventlog_dir):
    """A real `manage.py runserver`: the 404's django.request record has the
    request id it answered with; its django.server access line has the client
    address and no CLI attribution."""
    port = _free_port()
    env = child_env(eventlog_dir, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, headers = _get(
                    f"http://127.0.0.1:{port}/no-such-page/",
                    **{"X-Request-ID": "rid-runserver", "User-Agent": "probe/2"},
                )
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        # A request line the server refuses itself: the application never sees it.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"NONSENSE\r\n\r\n")
            refused = raw.recv(1024)
        # Access lines are logged after the response has been sent.
        while time.monotonic() < deadline and not (
            _access_lines(eventlog_dir) and _access_lines(eventlog_dir, "NONSENSE")
        ):
            time.sleep(0.05)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
    assert status == 404
    assert headers["X-Request-ID"] == "rid-runserver"
    (warning,) = _request_records(eventlog_dir)
    assert warning["request_id"] == "rid-runserver"
    assert (warning["ip"], warning["user_agent"]) == ("127.0.0.1", "probe/2")
    _assert_not_cli(warning)
    (access,) = _access_lines(eventlog_dir)
    assert_envelope(access)
    assert access["status_code"] == 404
    # The response's own id and the request's client, as on django.request.
    assert access["request_id"] == "rid-runserver"
    assert (access["ip"], access["user_agent"]) == ("127.0.0.1", "probe/2")
    _assert_not_cli(access)
    assert "actor" not in access
    assert b"400" in refused  # an HTTP/0.9 answer: no status line
    (bad,) = _access_lines(eventlog_dir, "NONSENSE")
    assert bad["status_code"] == 400
    assert bad["ip"] == "127.0.0.1"
    assert "request_id" not in bad
    _assert_not_cli(bad)
    assert_chains(raw_lines(eventlog_dir, "django.jsonl"))
