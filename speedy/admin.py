"""Admin for the demo: employees, shifts, and account states.

Account transitions run through the state machine as admin actions. A
superuser may also force ``current_state`` in the change form, bypassing the
machine; that change is logged as ``state.changed`` with
``transition: "admin_override"``. Other staff see the state read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest

from speedy.accounts import (
    TRANSITIONS,
    IllegalTransition,
    apply_transition,
    force_state,
    serialized,
)
from speedy.models import Employees, Shifts, ShiftsEmployees, UserFSM


@admin.register(Employees)
class EmployeesAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "first_name", "last_name", "age", "date_of_birth")
    search_fields = ("first_name", "last_name")


class ShiftsEmployeesInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ShiftsEmployees
    extra = 0


@admin.register(Shifts)
class ShiftsAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "shift_date", "total_hours", "wage_bonus")
    inlines = (ShiftsEmployeesInline,)


def _transition_action(name: str) -> Any:
    def action(modeladmin: UserFSMAdmin, request: HttpRequest, queryset: QuerySet[UserFSM]) -> None:
        done, refused = 0, []
        for account in queryset:
            try:
                apply_transition(account, name)
                done += 1
            except IllegalTransition as exc:
                refused.append(f"{account.user}: {exc}")
        if done:
            modeladmin.message_user(request, f"{name}: {done} account(s)", messages.SUCCESS)
        for text in refused:
            modeladmin.message_user(request, text, messages.WARNING)

    action.__name__ = f"{name}_accounts"
    return admin.action(
        description=f"{name.capitalize()} selected accounts", permissions=["change"]
    )(action)


@admin.register(UserFSM)
class UserFSMAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "current_state", "failed_logins")
    list_filter = ("current_state",)
    actions = [_transition_action(name) for name in TRANSITIONS]
    fields = ("user", "current_state", "failed_logins")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if request.user.is_superuser:
            return ("failed_logins",) if obj is None else ("user", "failed_logins")
        return ("user", "current_state", "failed_logins")

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        """A change is made holding the account (:func:`speedy.accounts.serialized`)
        until its ``state.changed`` line is written after the admin's commit."""
        pk = unquote(object_id) if object_id is not None else ""
        if request.method != "POST" or not (pk.isascii() and pk.isdigit()):
            return super().changeform_view(request, object_id, form_url, extra_context)
        with serialized(int(pk)):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: UserFSM, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        if request.user.is_superuser and "current_state" in form.changed_data:
            force_state(obj, obj.current_state)  # saves and logs, source read under the lock
        # Only what the form changed: the rest of obj is as loaded with the form,
        # and another change may have moved the row since.
        fields = [f for f in form.changed_data if f not in {"current_state"}]
        if fields:
            obj.save(update_fields=fields)
