"""The actor of lines written in async views after ``alogout``/``alogin``:
the user the request has now, not the one ``auser()`` cached before."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import alogin, alogout, get_user_model
from django.http import JsonResponse
from django.urls import include, path

from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from tests.helpers import read

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]


async def bye(request):
    await request.auser()
    await alogout(request)
    event_signal.send(sender="tests", message="after logout")
    return JsonResponse({})


async def hello(request):
    await request.auser()
    user = await get_user_model().objects.aget(username="kim")
    await alogin(request, user, backend="django.contrib.auth.backends.ModelBackend")
    event_signal.send(sender="tests", message="after login")
    return JsonResponse({})


urlpatterns = [path("bye/", bye), path("hello/", hello), path("", include("tests.urls"))]


def test_the_actor_follows_alogout_and_alogin(async_client, eventlog_dir, settings):
    settings.EVENTLOG_AUTH_EVENTS = False
    kim = get_user_model().objects.create_user("kim", password="pw")

    async def go():
        await async_client.aforce_login(kim)
        await async_client.get("/bye/")
        await async_client.get("/hello/")

    async_to_sync(go)()
    _pipeline.flush()
    actors = {e["message"]: e.get("actor") for e in read(eventlog_dir) if "message" in e}
    assert actors == {"after logout": None, "after login": "kim"}
