"""The demo's views: create employees, send events, run account transitions."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from eventlog.signals import event_signal
from speedy.accounts import IllegalTransition, account_of, apply_transition
from speedy.forms import EmployeeForm
from speedy.models import Employees

SELF_SERVICE = ("activate", "deactivate")

INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>eventlog demo</title></head>
<body>
<h1>eventlog demo</h1>
<ul>
<li><a href="/test_signals/">/test_signals/</a>: create an employee (assigned to a shift)</li>
<li><a href="/test_logging/">/test_logging/</a>: create an employee and send
<code>event_signal</code>
(try <a href="/test_logging/?age=abc">?age=abc</a> for the error path)</li>
<li><a href="/admin/">/admin/</a>: edit employees, shifts and account states</li>
</ul>
<p>Then run <code>python manage.py eventlog tail</code>.</p>
</body></html>
"""


def index(request: HttpRequest) -> HttpResponse:
    """A page of links to the demo's flows."""
    return HttpResponse(INDEX)


def _employee_data(request: HttpRequest) -> dict[str, Any]:
    today = timezone.localdate()
    defaults = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "address": "12 St James's Square, London",
        "age": "36",
        "date_of_birth": today.replace(year=today.year - 36, day=min(today.day, 28)).isoformat(),
    }
    source = request.POST if request.method == "POST" else request.GET
    return {**defaults, **{k: source[k] for k in defaults if k in source}}


def _form_error(form: EmployeeForm) -> str:
    return "; ".join(
        f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in form.errors.items()
    )


def _created(employee: Employees) -> JsonResponse:
    shift = employee.shifts.order_by("shift_date").first()
    return JsonResponse(
        {
            "employee_id": employee.pk,
            "shift_id": shift.pk if shift else None,
            "shift_date": shift.shift_date.isoformat() if shift else None,
        },
        status=201,
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def test_signals(request: HttpRequest) -> JsonResponse:
    """Create an employee; the receivers wipe expired shifts and assign a shift."""
    form = EmployeeForm(_employee_data(request))
    if not form.is_valid():
        return JsonResponse({"error": _form_error(form)}, status=400)
    with transaction.atomic():  # the employee exists only with its shift
        employee = form.save()
    return _created(employee)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def test_logging(request: HttpRequest) -> JsonResponse:
    """Create an employee and send ``event_signal`` with a success message and
    the instance, or with the error message and no instance (400)."""
    form = EmployeeForm(_employee_data(request))
    if not form.is_valid():
        error = _form_error(form)
        event_signal.send(
            sender=__name__, message=f"error: could not create employee: {error}", level="error"
        )
        return JsonResponse({"error": error}, status=400)
    with transaction.atomic():
        employee = form.save()
    event_signal.send(
        sender=__name__, message=f"success: created employee {employee}", instance=employee
    )
    return _created(employee)


@require_POST
def account_transition(request: HttpRequest, name: str) -> JsonResponse:
    """The signed-in user runs ``activate`` or ``deactivate`` on their own account.

    An anonymous request is a JSON 403, like the other refusals: the demo
    serves no login page to redirect to, and a 401 would owe a
    ``WWW-Authenticate`` challenge that session sign-in does not have."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "authentication required"}, status=403)
    if name not in SELF_SERVICE:
        return JsonResponse({"error": f"not allowed: {name}"}, status=403)
    account = account_of(request.user)
    try:
        apply_transition(account, name)
    except IllegalTransition as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    return JsonResponse({"state": account.current_state})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the demo's JSON endpoints refuse a request that
    fails the CSRF check (an anonymous ``curl -X POST``, say) with a JSON 403
    like their other errors; the admin's pages keep Django's own page."""
    if request.path.startswith("/admin/"):
        return django_csrf_failure(request, reason=reason)
    return JsonResponse({"error": f"CSRF verification failed: {reason}"}, status=403)
