"""Account receivers: state rows for new users, failed logins, transitions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, user_logged_in, user_login_failed
from django.db import transaction
from django.db.models.signals import post_save
from django_fsm.signals import post_transition

from eventlog.signals import state_changed
from speedy.models import UserFSM

__all__ = ["connect"]


def create_account(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """Every new user gets an account state, ``invited``."""
    if created and not kwargs.get("raw"):
        UserFSM.objects.using(kwargs.get("using") or "default").get_or_create(user=instance)


def log_transition(
    sender: Any, instance: UserFSM, name: str, source: Any, target: Any, **kwargs: Any
) -> None:
    """A django-fsm transition becomes :data:`eventlog.signals.state_changed`."""
    if kwargs.get("exception") is not None:
        return
    state_changed.send(
        sender=UserFSM,
        instance=instance,
        field="current_state",
        source=source,
        target=target,
        transition=name,
    )


def count_failed_login(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    """A failed login for a known username counts toward locking the account."""
    from speedy.accounts import record_failed_login

    username = credentials.get("username")
    if not isinstance(username, str):
        return
    user = (
        get_user_model()
        ._default_manager.filter(**{get_user_model().USERNAME_FIELD: username})
        .first()
    )
    if user is not None:
        record_failed_login(user)


def reset_failed_logins(sender: Any, user: Any, **kwargs: Any) -> None:
    """A successful login clears the failed-login count, through a save: a
    plain ``QuerySet.update()`` sends no signal, so the log would still hold
    the old count."""
    with transaction.atomic():
        for account in UserFSM.objects.select_for_update().filter(user=user, failed_logins__gt=0):
            account.failed_logins = 0
            account.save(update_fields=["failed_logins"])


def connect() -> None:
    """Connect the account receivers."""
    post_save.connect(create_account, sender=get_user_model(), dispatch_uid="speedy.create_account")
    post_transition.connect(log_transition, sender=UserFSM, dispatch_uid="speedy.log_transition")
    user_login_failed.connect(count_failed_login, dispatch_uid="speedy.count_failed_login")
    user_logged_in.connect(reset_failed_logins, dispatch_uid="speedy.reset_failed_logins")
