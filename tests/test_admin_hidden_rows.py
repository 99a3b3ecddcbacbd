"""An admin that hides rows (its ``get_queryset``) hides their history and
their restore too, as Django's own History page does."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import include, path, reverse

from eventlog import reader
from eventlog.admin import EventlogHistoryMixin
from eventlog.write import pipeline as _pipeline
from speedy.models import Employees

pytestmark = pytest.mark.django_db(transaction=True)


class OnlyAnn(EventlogHistoryMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Row-level restriction: this admin shows only employees named Ann."""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(first_name="Ann")


site = admin.AdminSite(name="hidden")
site.register(Employees, OnlyAnn)
urlpatterns = [path("hidden/", site.urls), path("", include("tests.urls"))]


@pytest.mark.urls(__name__)
def test_a_hidden_row_has_no_history_and_no_restore(client, eventlog_dir):
    user = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    for codename in ("view_employees", "change_employees", "add_employees"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    bob = Employees.objects.create(
        first_name="Bob",
        last_name="Lee",
        address="secret addr",
        age=30,
        date_of_birth=date(1995, 5, 1),
    )
    bob.address = "new addr"
    bob.save()
    _pipeline.flush()
    first = next(reader.object_events(eventlog_dir, "speedy.employees", str(bob.pk)))
    history = client.get(reverse("hidden:speedy_employees_history", args=[bob.pk]))
    assert history.status_code == 403
    assert b"secret addr" not in history.content
    url = reverse("hidden:speedy_employees_eventlog_restore", args=[bob.pk, first["event_id"]])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    bob.refresh_from_db()
    assert bob.address == "new addr"
    ann = Employees.objects.create(first_name="Ann", last_name="Lee", age=30)
    shown = client.get(reverse("hidden:speedy_employees_history", args=[ann.pk]))
    assert shown.status_code == 200
