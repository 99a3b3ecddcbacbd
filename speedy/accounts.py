"""Account state transitions: run one, save it, let the signals log it.

Every transition goes through :func:`apply_transition`, which locks the row,
checks the transition is legal from the current state, saves, and (through
django-fsm's ``post_transition`` and :data:`eventlog.signals.state_changed`)
logs ``state.changed`` once the transaction commits, with the actor and IP of
whoever is in context: the user, an admin, or ``"CLI"``.
"""

from __future__ import annotations

from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django_fsm import can_proceed

import eventlog
from speedy.models import AccountState, UserFSM

__all__ = ["TRANSITIONS", "IllegalTransition", "apply_transition", "record_failed_login"]

TRANSITIONS: Final = ("activate", "lock", "unlock", "deactivate")


class IllegalTransition(Exception):
    """The transition is unknown or not allowed from the account's state."""


def apply_transition(account: UserFSM, name: str, *, reason: str | None = None) -> UserFSM:
    """Run transition ``name`` on ``account`` and save it; return the saved row.

    Raises :class:`IllegalTransition` (and changes nothing) when ``name`` is
    not a transition or is not allowed from the current state.
    """
    if name not in TRANSITIONS:
        raise IllegalTransition(
            f"unknown transition {name!r}; choose from {', '.join(TRANSITIONS)}"
        )
    bound = {"reason": reason} if reason else {}
    with transaction.atomic(), eventlog.context(**bound):
        row = UserFSM.objects.select_for_update().get(pk=account.pk)
        method = getattr(row, name)
        if not can_proceed(method):
            raise IllegalTransition(f"cannot {name} an account that is {row.current_state}")
        method()
        row.save()
    account.current_state = row.current_state
    account.failed_logins = row.failed_logins
    return row


def account_of(user: Any) -> UserFSM:
    """The user's account state row, created (``invited``) when missing."""
    account, _ = UserFSM.objects.get_or_create(user=user)
    return account


def record_failed_login(user: Any) -> UserFSM:
    """Count a failed login; lock an active account at ``SPEEDY_MAX_FAILED_LOGINS``."""
    limit = int(getattr(settings, "SPEEDY_MAX_FAILED_LOGINS", 5))
    with transaction.atomic():
        account = UserFSM.objects.select_for_update().get(pk=account_of(user).pk)
        account.failed_logins += 1
        account.save(update_fields=["failed_logins"])
        if account.failed_logins >= limit and account.current_state == AccountState.ACTIVE:
            apply_transition(account, "lock", reason=f"{account.failed_logins} failed logins")
    return account
