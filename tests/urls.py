"""Views used only by the tests: failures, async views, late authentication."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

import eventlog
from eventlog.signals import event_signal


def boom(request: HttpRequest) -> HttpResponse:
    event_signal.send(sender="tests", message="before the crash")
    raise RuntimeError("boom")


def late_auth(request: HttpRequest) -> HttpResponse:
    # DRF-style: the view authenticates the request itself (a token header).
    username = request.headers.get("X-Token-User", "")
    request.user = get_user_model().objects.get(username=username)
    event_signal.send(sender="tests", message="authenticated in the view")
    return JsonResponse({"ok": True})


def plain(request: HttpRequest) -> HttpResponse:
    event_signal.send(sender="tests", message="plain")
    return JsonResponse({"ok": True})


async def async_view(request: HttpRequest) -> HttpResponse:
    event_signal.send(sender="tests", message="async")

    def in_thread() -> None:
        with eventlog.context(reason="from a thread"):
            event_signal.send(sender="tests", message="sync_to_async")

    await sync_to_async(in_thread)()
    return JsonResponse({"ok": True})


async def async_authenticated(request: HttpRequest) -> HttpResponse:
    event_signal.send(sender="tests", message="before auser")
    await request.auser()  # type: ignore[attr-defined]
    event_signal.send(sender="tests", message="after auser")
    return JsonResponse({"ok": True})


async def async_save(request: HttpRequest) -> HttpResponse:
    from tests.zoo.models import Animal

    await sync_to_async(Animal.objects.create)(name="saved from an async view")
    return JsonResponse({"ok": True})


def reset_link(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """A password-reset-like link: its token must not reach the log."""
    event_signal.send(sender="tests", message="reset link opened")
    return HttpResponse("ok")


async def async_reset_link(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    await sync_to_async(event_signal.send)(sender="tests", message="reset link opened")
    return HttpResponse("ok")


def secret_anywhere(request: HttpRequest, **kwargs: str) -> HttpResponse:
    """Secrets that are not a whole path segment: several segments, part of one."""
    event_signal.send(sender="tests", message="opened")
    return HttpResponse("ok")


urlpatterns = [
    path("reset/<uidb64>/<token>/", reset_link),
    path("t/<path:token>/end/", secret_anywhere),
    path("d/<str:api_key>.zip", secret_anywhere),
    path("r/<uidb64>-<str:password_reset_token>/", secret_anywhere),
    path("async-reset/<uidb64>/<token>/", async_reset_link),
    path("async-save/", async_save),
    path("async-auth/", async_authenticated),
    path("boom/", boom),
    path("late-auth/", late_auth),
    path("plain/", plain),
    path("async/", async_view),
    path("", include("config.urls")),
]
