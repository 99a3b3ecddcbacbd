"""speedy's receivers, connected from ``SpeedyConfig.ready()``.

* :mod:`speedy.signals.shifts`: wipe expired shifts before an employee is
  saved; assign a new employee to a shift.
* :mod:`speedy.signals.accounts`: create an account state for each new user,
  count failed logins, and turn django-fsm transitions into
  :data:`eventlog.signals.state_changed`.
"""

from __future__ import annotations

from speedy.signals import accounts, shifts

__all__ = ["connect"]


def connect() -> None:
    """Connect every speedy receiver (stable ``dispatch_uid``\\ s: idempotent)."""
    shifts.connect()
    accounts.connect()
