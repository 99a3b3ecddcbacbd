"""Account state transitions: run one, save it, let the signals log it.

Every transition goes through :func:`apply_transition`, which locks the row,
checks the transition is legal from the current state, saves, and (through
django-fsm's ``post_transition`` and :data:`eventlog.signals.state_changed`)
logs ``state.changed`` once the transaction commits, with the actor and IP of
whoever is in context: the user, an admin, or ``"CLI"``.

Changes of one account are serialized twice over: the row lock
(``select_for_update``) makes a second transition see the first one's result
(and refuse if it is no longer legal), and :func:`serialized` holds the
account until the first one's ``state.changed`` line is written. The row lock
alone ends at the commit, while the line is written just after it: a second
change could commit and write its line in between, and the log would end on a
state the row no longer has.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator
from typing import Any, Final

from django.conf import settings
from django.db import connection, transaction
from django_fsm import can_proceed

import eventlog
from eventlog.signals import state_changed
from speedy.models import AccountState, UserFSM

__all__ = [
    "TRANSITIONS",
    "IllegalTransition",
    "apply_transition",
    "force_state",
    "record_failed_login",
    "serialized",
]

TRANSITIONS: Final = ("activate", "lock", "unlock", "deactivate")
ACCOUNT_LOCK: Final = zlib.crc32(b"speedy.accounts") & 0x7FFFFFFF
"""The first key of an account's PostgreSQL advisory lock (the second is its pk)."""


@contextlib.contextmanager
def serialized(pk: Any) -> Iterator[None]:
    """Hold account ``pk`` for the block, transaction and its commit's
    callbacks included, against every other change made through this module.

    On PostgreSQL a session-level advisory lock, taken outside the transaction
    and released in ``finally``, so a rollback or an error cannot leave it
    held; it nests (PostgreSQL counts it). SQLite lets one writer in at a time
    and needs none.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [ACCOUNT_LOCK, int(pk)])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ACCOUNT_LOCK, int(pk)])


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
    with serialized(account.pk), transaction.atomic(), eventlog.context(**bound):
        row = UserFSM.objects.select_for_update().get(pk=account.pk)
        method = getattr(row, name)
        if not can_proceed(method):
            raise IllegalTransition(f"cannot {name} an account that is {row.current_state}")
        method()
        row.save()
    account.current_state = row.current_state
    account.failed_logins = row.failed_logins
    return row


def force_state(account: UserFSM, target: str) -> bool:
    """A superuser's forced change of ``account`` to ``target``, bypassing the
    machine: saved and logged as ``state.changed`` with transition
    ``"admin_override"`` and, as its source, the state the row had under the
    lock (not the one a form showed earlier). Returns whether the state
    changed: forcing the state it already has writes no line. Becoming
    active clears the failed-login count, as ``unlock()`` does."""
    if target not in AccountState.values:
        raise IllegalTransition(f"unknown state {target!r}")
    with serialized(account.pk), transaction.atomic():
        row = UserFSM.objects.select_for_update().get(pk=account.pk)
        source = row.current_state
        if source == target:
            account.current_state = source
            return False
        fields: dict[str, Any] = {"current_state": target}
        if target == AccountState.ACTIVE:
            fields["failed_logins"] = 0
        for name, value in fields.items():
            setattr(row, name, value)
        row.save(update_fields=list(fields))
        state_changed.send(
            sender=UserFSM,
            instance=row,
            field="current_state",
            source=source,
            target=target,
            transition="admin_override",
        )
    account.current_state = row.current_state
    account.failed_logins = row.failed_logins
    return True


def account_of(user: Any) -> UserFSM:
    """The user's account state row, created (``invited``) when missing."""
    account, _ = UserFSM.objects.get_or_create(user=user)
    return account


def record_failed_login(user: Any) -> UserFSM:
    """Count a failed login; lock an active account at ``SPEEDY_MAX_FAILED_LOGINS``."""
    limit = int(getattr(settings, "SPEEDY_MAX_FAILED_LOGINS", 5))
    pk = account_of(user).pk
    with serialized(pk), transaction.atomic():
        account = UserFSM.objects.select_for_update().get(pk=pk)
        account.failed_logins += 1
        account.save(update_fields=["failed_logins"])
        if account.failed_logins >= limit and account.current_state == AccountState.ACTIVE:
            apply_transition(account, "lock", reason=f"{account.failed_logins} failed logins")
    return account
