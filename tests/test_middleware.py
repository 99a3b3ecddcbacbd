"""EventlogMiddleware: request context on events and on django.jsonl records."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.test import AsyncClient

from eventlog.signals import event_signal
from eventlog.write import context as _context
from tests.helpers import UUID7, assert_chains, assert_envelope, raw_lines, read

pytestmark = pytest.mark.urls("tests.urls")


def test_request_id_is_generated_echoed_and_logged(client, eventlog_dir):
    """Without X-Request-ID a UUIDv7 is made, returned in the header and on the line."""
    response = client.get("/plain/", HTTP_USER_AGENT="curl/8.0")
    rid = response.headers["X-Request-ID"]
    assert UUID7.fullmatch(rid)
    (line,) = read(eventlog_dir)
    assert_envelope(line)
    assert line["request_id"] == rid
    assert line["ip"] == "127.0.0.1"
    assert line["user_agent"] == "curl/8.0"
    assert "actor" not in line  # anonymous


def test_incoming_request_id_is_kept_when_sane(client, eventlog_dir):
    """A sane X-Request-ID is reused; a hostile one is replaced by a fresh id."""
    client.get("/plain/", HTTP_X_REQUEST_ID="abc-123.def")
    response = client.get("/plain/", HTTP_X_REQUEST_ID='x"\n' + "y" * 300)
    first, second = read(eventlog_dir)
    assert first["request_id"] == "abc-123.def"
    assert UUID7.fullmatch(second["request_id"])
    assert response.headers["X-Request-ID"] == second["request_id"]


@pytest.mark.parametrize(
    ("proxies", "xff", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no trusted proxy: the header is ignored
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # the hop our proxy added
        (2, "198.51.100.7, 203.0.113.9", "198.51.100.7"),
        (2, "203.0.113.9", "10.0.0.1"),  # fewer hops than proxies: REMOTE_ADDR
        (1, "not-an-ip", None),
    ],
)
def test_client_ip_honours_only_trusted_proxies(
    client, eventlog_dir, settings, proxies, xff, expected
):
    """X-Forwarded-For counts only behind EVENTLOG_TRUSTED_PROXIES; forged left hops are ignored."""
    settings.EVENTLOG_TRUSTED_PROXIES = proxies
    client.get("/plain/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=xff)
    (line,) = read(eventlog_dir)
    assert line.get("ip") == expected


@pytest.mark.django_db(transaction=True)
def test_actor_is_resolved_lazily_after_authentication_in_the_view(
    client, eventlog_dir, django_user_model
):
    """A user authenticated inside the view (DRF token style) is the line's actor."""
    user = django_user_model.objects.create(username="tokenuser")
    client.get("/late-auth/", HTTP_X_TOKEN_USER="tokenuser")
    (line,) = read(eventlog_dir, event="app.event")
    assert line["actor"] == "tokenuser"
    assert line["actor_id"] == str(user.pk)


def test_requests_that_log_nothing_do_not_touch_the_session(client):
    """The middleware never reads request.user itself, so a page that logs
    nothing gets no Vary: Cookie (django-structlog #734)."""
    response = client.get("/")
    assert response.status_code == 200
    assert "Cookie" not in response.headers.get("Vary", "")


def test_context_is_cleared_after_the_response_and_after_exceptions(client, eventlog_dir):
    """Once a request ends (normally or by an exception) events are CLI again."""
    client.get("/plain/")
    client.raise_request_exception = False
    assert client.get("/boom/").status_code == 500
    event_signal.send(sender="tests", message="after")
    assert _context._request.get() is None
    assert read(eventlog_dir)[-1]["actor"] == "CLI"


def test_a_500_on_django_jsonl_carries_the_request_id_of_its_events(client, eventlog_dir):
    """django.request's error record has the same request_id as the events of that request."""
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    (event,) = read(eventlog_dir)
    records = read(eventlog_dir, "django.jsonl")
    (error,) = [r for r in records if r["event"] == "django.request"]
    assert_envelope(error)
    assert error["level"] == "error"
    assert error["request_id"] == event["request_id"] == response.headers["X-Request-ID"]
    assert error["status_code"] == 500
    assert "RuntimeError: boom" in error["exc_info"]
    assert error["message"].startswith("Internal Server Error: /boom/")
    assert_chains(raw_lines(eventlog_dir, "django.jsonl"))


def test_async_requests_keep_their_context_into_sync_to_async(eventlog_dir):
    """An async view and the sync code it awaits both log the request's id."""

    async def run() -> str:
        response = await AsyncClient().get("/async/", headers={"User-Agent": "async-test"})
        return str(response.headers["X-Request-ID"])

    rid = asyncio.run(run())
    direct, threaded = read(eventlog_dir)
    assert direct["request_id"] == threaded["request_id"] == rid
    assert threaded["reason"] == "from a thread"
    assert threaded["user_agent"] == "async-test"


def test_concurrent_async_requests_do_not_mix_context(eventlog_dir):
    """Interleaved async requests each log their own request id."""

    async def one(n: int) -> str:
        rid = f"req-{n}-{uuid.uuid4().hex[:6]}"
        await AsyncClient().get("/async/", headers={"X-Request-ID": rid})
        return rid

    async def many() -> list[str]:
        return list(await asyncio.gather(*(one(n) for n in range(8))))

    rids = asyncio.run(many())
    lines = read(eventlog_dir)
    assert len(lines) == 16
    for rid in rids:
        assert sum(1 for line in lines if line["request_id"] == rid) == 2


@pytest.mark.django_db(transaction=True)
def test_async_views_name_the_actor_once_auser_was_awaited(eventlog_dir, django_user_model):
    """In an async view the lazy user is never evaluated on the event loop (it
    would fail there and touch the session); after `await request.auser()` the
    actor is named."""
    user = django_user_model.objects.create(username="asyncer")

    async def run():
        client = AsyncClient()
        await client.aforce_login(user)
        return await client.get("/async-auth/")

    response = asyncio.run(run())
    assert response.status_code == 200
    before, after = read(eventlog_dir, event="app.event")
    assert "actor" not in before
    assert (after["actor"], after["actor_id"]) == ("asyncer", str(user.pk))


@pytest.mark.django_db(transaction=True)
def test_binding_another_actor_drops_the_request_users_id(client, eventlog_dir, django_user_model):
    """eventlog.context(actor=...) inside a request replaces actor and its actor_id together."""
    import eventlog

    user = django_user_model.objects.create(username="real")
    client.force_login(user)
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    from eventlog.middleware import _request_info
    from eventlog.write import context as _context

    token = _context.bind_request(_request_info(request, "X-Request-ID"))
    try:
        with eventlog.context(actor="impersonated"):
            event_signal.send(sender="t")
        event_signal.send(sender="t")
    finally:
        _context.reset_request(token)
    bound, plain = [e for e in read(eventlog_dir) if e["event"] == "app.event"]
    assert bound["actor"] == "impersonated"
    assert "actor_id" not in bound
    assert (plain["actor"], plain["actor_id"]) == ("real", str(user.pk))
