"""The admin pages in a real Chromium (tests/browser.py): what a user does,
clicked through the demo's admin on a live server.

Each test keeps screenshots of the pages it saw (``EVENTLOG_SCREENSHOTS=DIR``
to keep them somewhere to look at).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.urls import reverse

from eventlog.signals import event_signal
from eventlog.write import pipeline as _pipeline
from speedy.models import Employees
from tests.browser import Browser
from tests.helpers import read

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-browser-123"
HOSTILE = "<script>window.__pwned = 1</script><img src=x onerror='window.__pwned=2'>"


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)


def _employee(first_name: str = "Ada") -> Employees:
    return Employees.objects.create(
        first_name=first_name,
        last_name="Lovelace",
        address="12 St James's Square",
        age=36,
        date_of_birth=dt.date(1815, 12, 10),
    )


def _rows(b: Browser) -> list[str]:
    return [str(row.text) for row in b.find_all("tr.eventlog-event")]


def _not_pwned(b: Browser) -> None:
    assert b.driver.execute_script("return window.__pwned === undefined")


def test_edit_see_history_restore_and_see_the_restore(browser: Browser, root, eventlog_dir: Path):
    """Log in, edit an employee in the admin, open its History: the change
    as old → new with the actor; restore the first version from its
    confirmation page; the row is restored and the restore is in the history."""
    employee = _employee()
    browser.login("root", PASSWORD)
    browser.get(f"/admin/speedy/employees/{employee.pk}/change/")
    name = browser.find("#id_first_name")
    name.clear()
    name.send_keys("Augusta")
    browser.follow(browser.find("input[name=_save]"))
    browser.find("ul.messagelist")
    browser.get(f"/admin/speedy/employees/{employee.pk}/change/")
    browser.follow(browser.find("a.historylink"))
    browser.find("#eventlog-history")
    rows = _rows(browser)
    assert "model.updated" in rows[0]
    assert "first_name: Ada → Augusta" in rows[0]
    assert "root" in rows[0]
    assert "model.created" in rows[-1]
    assert "CLI" in rows[-1]
    assert browser.find("tr.eventlog-event .eventlog-actor a").text == "root"
    browser.screenshot("history")

    created = browser.find_all("tr.eventlog-event[data-event='model.created'] a.eventlog-restore")
    browser.follow(created[0])
    plan = browser.find("#eventlog-plan")
    assert "first_name: Augusta → Ada" in plan.text
    browser.screenshot("restore-confirmation")
    before = len(read(eventlog_dir))
    assert Employees.objects.get(pk=employee.pk).first_name == "Augusta"  # GET wrote nothing
    browser.follow(browser.find("#eventlog-restore-form input[type=submit]"))
    browser.find("ul.messagelist")
    assert Employees.objects.get(pk=employee.pk).first_name == "Ada"
    rows = _rows(browser)
    assert "first_name: Augusta → Ada" in rows[0]
    assert "restore to version" in rows[0]
    assert "root" in rows[0]
    browser.screenshot("history-after-restore")
    _pipeline.flush()
    restore = [e for e in read(eventlog_dir)[before:] if e.get("event") == "model.updated"]
    assert restore[-1]["actor"] == "root"
    assert restore[-1]["reason"].startswith("restore to version ")


def test_filter_the_event_browser_by_model_and_by_actor(browser: Browser, root, eventlog_dir):
    """The Events entry of the index; the filter form by model, then by
    actor; an event's own page with the whole line."""
    _employee("Grace")
    with _context(actor="carol"):
        event_signal.send(sender="t", event="report.sent", message="monthly report")
    browser.login("root", PASSWORD)
    browser.get("/admin/")
    browser.follow(browser.driver.find_element("link text", "Events"))
    browser.find("#eventlog-browser")
    assert any("report.sent" in row for row in _rows(browser))
    browser.find("#eventlog-f-model").send_keys("speedy.employees")
    browser.follow(browser.find("#eventlog-f-submit"))
    browser.find("#eventlog-events")
    rows = _rows(browser)
    assert rows
    assert all("speedy.employees" in row for row in rows)
    assert browser.find("#eventlog-f-model").get_attribute("value") == "speedy.employees"
    browser.screenshot("events-by-model")

    browser.get("/admin/eventlog/event/")
    browser.find("#eventlog-f-actor").send_keys("carol")
    browser.follow(browser.find("#eventlog-f-submit"))
    browser.find("#eventlog-events")
    rows = _rows(browser)
    assert len(rows) == 1
    assert "report.sent" in rows[0]
    assert "monthly report" in rows[0]
    browser.follow(browser.find("tr.eventlog-event a.eventlog-event-link"))
    line = browser.find("#eventlog-line").text
    assert '"hash":' in line
    assert '"stream":' in line
    assert '"actor": "carol"' in line
    browser.screenshot("event")
    browser.dark()
    browser.get("/admin/eventlog/event/")
    browser.find("#eventlog-browser")
    background = browser.driver.execute_script(
        "return getComputedStyle(document.body).backgroundColor"
    )
    assert background != "rgb(255, 255, 255)"  # the admin's dark scheme applies
    browser.screenshot("events-dark")


def test_a_script_in_a_value_is_shown_as_text(browser: Browser, root, eventlog_dir):
    employee = _employee(HOSTILE[:100])
    event_signal.send(sender="t", message=HOSTILE, **{HOSTILE[:40]: HOSTILE})
    browser.login("root", PASSWORD)
    browser.get(f"/admin/speedy/employees/{employee.pk}/history/")
    browser.find("#eventlog-history")
    _not_pwned(browser)
    assert "<script>window.__pwned = 1</script>" in browser.text("#eventlog-history")
    browser.get("/admin/eventlog/event/")
    browser.find("#eventlog-events")
    _not_pwned(browser)
    assert "<script>window.__pwned = 1</script>" in browser.text("#eventlog-events")
    (row,) = [r for r in browser.find_all("tr.eventlog-event") if "app.event" in r.text]
    browser.follow(row.find_element("css selector", "a.eventlog-event-link"))
    browser.find("#eventlog-line")
    _not_pwned(browser)
    assert "onerror=" in browser.text("#eventlog-line")
    browser.screenshot("hostile-event")


def _fits_the_window(b: Browser) -> None:
    """At a wide and a narrow window the page is no wider than the window (a
    table too wide for its module scrolls inside it, as Django's changelist)."""
    try:
        for width in (1400, 1024, 800):
            b.driver.set_window_size(width, 1000)
            shown = b.driver.execute_script(
                "return [document.documentElement.scrollWidth, innerWidth]"
            )
            assert shown[0] <= shown[1], (width, shown)
    finally:
        b.driver.set_window_size(1400, 1000)


def test_a_long_value_without_spaces_wraps_instead_of_widening_the_page(
    browser: Browser, root, eventlog_dir
):
    """A token as long as the fields hold, in values and so in the object's
    name, wraps in its cell: no page of the admin grows wider than the window."""
    token = "Zq" + "x" * 98
    employee = _employee(token)
    employee.last_name = token
    employee.address = token * 2 + "Zq" * 27
    employee.save()
    event_signal.send(sender="t", message=token)
    browser.login("root", PASSWORD)
    browser.get(f"/admin/speedy/employees/{employee.pk}/history/")
    browser.find("#eventlog-history")
    _fits_the_window(browser)
    browser.screenshot("long-value-history")
    browser.follow(browser.find("tr[data-event='model.created'] a.eventlog-restore"))
    browser.find("#eventlog-plan")
    _fits_the_window(browser)
    browser.get("/admin/eventlog/event/")
    browser.find("#eventlog-events")
    _fits_the_window(browser)
    browser.screenshot("long-value-events")
    employee.delete()
    browser.get(reverse("admin:speedy_employees_eventlog_deleted"))
    browser.find("#eventlog-deleted")
    _fits_the_window(browser)


def test_staff_without_the_permission_is_refused(browser: Browser, django_user_model):
    django_user_model.objects.create_user("sam", "sam@example.com", PASSWORD, is_staff=True)
    employee = _employee()
    browser.login("sam", PASSWORD)
    assert "Events" not in browser.text("#content-main")
    browser.get("/admin/eventlog/event/")
    assert "403" in browser.text() or "Forbidden" in browser.text()
    browser.screenshot("refused")
    browser.get(f"/admin/speedy/employees/{employee.pk}/history/")
    assert "403" in browser.text() or "Forbidden" in browser.text()
    assert "Ada" not in browser.text()


def _context(**values: str):
    import eventlog

    return eventlog.context(**values)


def test_recreate_a_deleted_row_and_verify_the_log(browser: Browser, root, eventlog_dir):
    """The changelist's "Deleted employees", recreate a row from it; the
    files panel runs verify on its button and shows the result."""
    gone = _employee("Mary")
    pk = gone.pk
    gone.delete()
    browser.login("root", PASSWORD)
    browser.get("/admin/speedy/employees/")
    browser.follow(browser.find("#eventlog-deleted-link"))
    rows = _rows(browser)
    assert len(rows) == 1
    assert "Mary" in rows[0]
    browser.screenshot("deleted")
    browser.follow(browser.find("tr.eventlog-event a.eventlog-restore"))
    assert "first_name: Mary" in browser.find("#eventlog-plan").text
    browser.follow(browser.find("#eventlog-restore-form input[type=submit]"))
    assert Employees.objects.get(pk=pk).first_name == "Mary"

    browser.get("/admin/eventlog/event/")
    browser.follow(browser.find('.object-tools a[href$="/files/"]'))
    assert "events.jsonl" in browser.text("#eventlog-files")
    assert browser.find_all("#eventlog-verify-never")
    browser.follow(browser.find("#eventlog-verify-run"))
    result = browser.text("#eventlog-verify-result")
    assert "root" in result
    assert "): OK" in result
    browser.screenshot("files")
