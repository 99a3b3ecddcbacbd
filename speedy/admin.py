"""Admin for the demo: employees, shifts, and account states.

Account transitions run through the state machine as admin actions. A
superuser may also force ``current_state`` in the change form, bypassing the
machine; that change is logged as ``state.changed`` with
``transition: "admin_override"``. Other staff see the state read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from eventlog.signals import state_changed
from speedy.accounts import TRANSITIONS, IllegalTransition, apply_transition
from speedy.models import AccountState, Employees, Shifts, ShiftsEmployees, UserFSM


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

    def save_model(self, request: HttpRequest, obj: UserFSM, form: Any, change: bool) -> None:
        source = form.initial.get("current_state")
        forced = change and "current_state" in form.changed_data
        if forced and obj.current_state == AccountState.ACTIVE:
            obj.failed_logins = 0  # as unlock() does: a fresh start, not one try from locked
        super().save_model(request, obj, form, change)
        if forced and request.user.is_superuser:
            state_changed.send(
                sender=UserFSM,
                instance=obj,
                field="current_state",
                source=source,
                target=obj.current_state,
                transition="admin_override",
            )
