"""The HTTP benchmark's URLs: the demo's, and ``/bench/request/``, the
demo's ``/test_logging/`` (an employee created in a transaction, its shift
assignment, ``event_signal``) followed by a failed login as Django reports
one (``user_login_failed``), so that a request also runs the
authentication receivers."""

from __future__ import annotations

from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as demo
from speedy import views

__all__ = ["urlpatterns"]


def request(http: HttpRequest) -> HttpResponse:
    """The demo's request, then a failed login of an unknown user."""
    response = views.test_logging(http)
    user_login_failed.send(__name__, credentials={"username": "bench"}, request=http)
    return response


urlpatterns = [path("bench/request/", request), *demo]
