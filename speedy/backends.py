"""Authentication that honours the account state."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from speedy.models import AccountState, UserFSM

BLOCKED = (AccountState.LOCKED, AccountState.DEACTIVATED)


class AccountStateBackend(ModelBackend):
    """Django's model backend, refusing locked and deactivated accounts."""

    def user_can_authenticate(self, user: Any) -> bool:
        if not super().user_can_authenticate(user):
            return False
        return not UserFSM.objects.filter(user=user, current_state__in=BLOCKED).exists()
