"""Input validation for the demo views."""

from __future__ import annotations

from django import forms

from speedy.models import Employees


class EmployeeForm(forms.ModelForm):  # type: ignore[type-arg]
    """The fields of a new employee."""

    class Meta:
        model = Employees
        fields = ("first_name", "last_name", "address", "age", "date_of_birth")
