"""Authentication that honours the account state."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from speedy.models import AccountState, UserFSM

BLOCKED = (AccountState.LOCKED, AccountState.DEACTIVATED)


class AccountStateBackend(ModelBackend):
    """Django's model backend, refusing locked and deactivated accounts.

    ``user_can_authenticate`` queries the account state, so the async entry
    points run the sync ones in a thread (Django's async ModelBackend calls
    ``user_can_authenticate`` on the event loop, where a query raises).
    """

    def user_can_authenticate(self, user: Any) -> bool:
        if not super().user_can_authenticate(user):
            return False
        return not UserFSM.objects.filter(user=user, current_state__in=BLOCKED).exists()

    async def aget_user(self, user_id: Any) -> Any:
        return await sync_to_async(self.get_user)(user_id)

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        return await sync_to_async(self.authenticate)(
            request, username=username, password=password, **kwargs
        )
