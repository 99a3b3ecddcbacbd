"""The demo's models: employees on shifts, and an account state machine."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django_fsm import FSMField, transition

MAX_PER_SHIFT = 3
MIN_AGE, MAX_AGE = 14, 120


class Employees(models.Model):
    """An employee; creating one assigns them to a shift."""

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    address = models.CharField(max_length=255, blank=True, default="")
    age = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_AGE), MaxValueValidator(MAX_AGE)]
    )
    date_of_birth = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = "employee"
        verbose_name_plural = "employees"

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Shifts(models.Model):
    """A day's shift with at most three employees."""

    employees_shift = models.ManyToManyField(
        Employees, through="ShiftsEmployees", related_name="shifts", blank=True
    )
    wage_bonus = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("50.00"))
    total_hours = models.PositiveSmallIntegerField(default=8)
    shift_date = models.DateField(db_index=True, default=timezone.localdate)

    class Meta:
        verbose_name = "shift"
        verbose_name_plural = "shifts"
        ordering = ("shift_date", "id")

    def __str__(self) -> str:
        return f"shift {self.pk} on {self.shift_date}"


class ShiftsEmployees(models.Model):
    """An employee's place on a shift (unique per employee and shift)."""

    employee = models.ForeignKey(Employees, on_delete=models.CASCADE)
    shift = models.ForeignKey(Shifts, on_delete=models.CASCADE)

    class Meta:
        verbose_name = "shift assignment"
        constraints = (
            models.UniqueConstraint(fields=("employee", "shift"), name="unique_employee_shift"),
        )
        indexes = (models.Index(fields=("shift", "employee"), name="shift_employee_idx"),)

    def __str__(self) -> str:
        return f"employee {self.employee_id} on shift {self.shift_id}"


class AccountState(models.TextChoices):
    """States of a user account."""

    INVITED = "invited", "Invited"
    ACTIVE = "active", "Active"
    LOCKED = "locked", "Locked"
    DEACTIVATED = "deactivated", "Deactivated"


class UserFSM(models.Model):
    """A user's account state. Change it only through the transitions (or the
    admin's forced override); :mod:`speedy.accounts` runs them, saves and logs."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account"
    )
    current_state = FSMField(
        max_length=20, choices=AccountState.choices, default=AccountState.INVITED
    )
    failed_logins = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "account state"
        verbose_name_plural = "account states"

    def __str__(self) -> str:
        return f"{self.user} ({self.current_state})"

    @transition(field=current_state, source=AccountState.INVITED, target=AccountState.ACTIVE)
    def activate(self) -> None:
        """An invited user accepts the invitation."""

    @transition(field=current_state, source=AccountState.ACTIVE, target=AccountState.LOCKED)
    def lock(self) -> None:
        """Lock an active account (by an admin, or after too many failed logins)."""

    @transition(field=current_state, source=AccountState.LOCKED, target=AccountState.ACTIVE)
    def unlock(self) -> None:
        """Unlock a locked account."""
        self.failed_logins = 0

    @transition(
        field=current_state,
        source=(AccountState.INVITED, AccountState.ACTIVE, AccountState.LOCKED),
        target=AccountState.DEACTIVATED,
    )
    def deactivate(self) -> None:
        """Deactivate an account for good."""
