"""A secret in the path itself (the ``<token>`` of a password-reset link)
is ``***`` in the ``path`` of every line written once the URL is resolved,
``http.request`` included, sync and async; the other segments (``uidb64``
here) stay as they are."""

from __future__ import annotations

import pytest
from django.test import AsyncClient

from tests.helpers import raw_lines, read

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.urls")]

TOKEN = "cz9aqw-4f0e1c8b9d2a7e6f5c4b3a2918070605"
PLAIN_TOKEN = "Zq4f0e1c8b9d2a7e6f5c4b3a29180706"  # no "-": one value for any converter


def _mine(directory):
    return [e for e in read(directory) if e["event"] in {"app.event", "http.request"}]


def test_a_token_in_the_path_is_masked(client, eventlog_dir, settings):
    settings.EVENTLOG_REQUEST_EVENTS = True
    assert client.get(f"/reset/MQ/{TOKEN}/").status_code == 200
    assert TOKEN.encode() not in b"".join(raw_lines(eventlog_dir))
    lines = _mine(eventlog_dir)
    assert [e["event"] for e in lines] == ["app.event", "http.request"]
    assert {e["path"] for e in lines} == {"/reset/MQ/***/"}
    assert lines[1]["path"] == "/reset/MQ/***/"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"/t/abc/{PLAIN_TOKEN}/def/end/", "/t/***/end/"),
        (f"/d/{PLAIN_TOKEN}.zip", "/d/***.zip"),
        (f"/r/MQ-{PLAIN_TOKEN}/", "/r/MQ-***/"),
    ],
)
def test_a_secret_that_is_not_a_whole_segment_is_masked_where_it_occurs(
    client, eventlog_dir, settings, url, shown
):
    """A <path:...> value spanning segments, a value inside a segment: the
    secret is masked wherever it is in the path."""
    settings.EVENTLOG_REQUEST_EVENTS = True
    assert client.get(url).status_code == 200
    assert PLAIN_TOKEN.encode() not in b"".join(raw_lines(eventlog_dir))
    assert {e["path"] for e in _mine(eventlog_dir)} == {shown}


@pytest.mark.parametrize("before", [2020, 2040, 2100])
def test_a_secret_across_or_past_the_length_cap_is_masked_before_the_cut(
    client, eventlog_dir, settings, before
):
    """The path is cut at 2048 characters after masking: a secret the cut
    crosses, or one past it, leaves no prefix of itself in the line."""
    settings.EVENTLOG_REQUEST_EVENTS = True
    url = f"/t/{'a' * before}/{PLAIN_TOKEN}/end/"
    assert client.get(url).status_code == 200
    data = b"".join(raw_lines(eventlog_dir))
    assert PLAIN_TOKEN[:6].encode() not in data
    assert {len(e["path"]) <= 2048 for e in _mine(eventlog_dir)} == {True}


def test_a_token_in_the_path_is_masked_in_an_async_view(eventlog_dir, settings):
    import asyncio

    settings.EVENTLOG_REQUEST_EVENTS = True
    response = asyncio.run(AsyncClient().get(f"/async-reset/MQ/{TOKEN}/"))
    assert response.status_code == 200
    assert TOKEN.encode() not in b"".join(raw_lines(eventlog_dir))
    assert {e["path"] for e in _mine(eventlog_dir)} == {"/async-reset/MQ/***/"}
