"""``with eventlog.disabled():``: no ``model.*`` line for the work inside.

A context variable, so it holds per thread and per asyncio task and is
inherited by ``sync_to_async`` (which runs the function in a copy of the
caller's context). While it is set the receivers and the bulk helpers still
keep each saved instance's baseline (:mod:`eventlog.audit.state`): a row
saved inside is logged against the values it was saved with once auditing
is back on. ``event_signal`` events are written as usual.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any, Final, TypeVar

__all__ = ["disabled", "off"]

_off: Final[ContextVar[bool]] = ContextVar("eventlog_disabled", default=False)

# The tokens of the blocks entered in this context, innermost last: kept in a
# context variable, not on the instance, so that one instance shared by
# threads or tasks (a module-level ``QUIET = eventlog.disabled()``) resets
# each context's own state.
_entered: Final[ContextVar[tuple[Token[bool], ...]]] = ContextVar(
    "eventlog_disabled_tokens", default=()
)

off: Final = _off.get
"""Whether auditing is switched off here (a bare ``ContextVar.get``: the
receivers ask on every save)."""

F = TypeVar("F", bound=Callable[..., Any])


class disabled:  # lower case: it is used like a function, eventlog.disabled()
    """Write no ``model.*`` line for the work inside: ``with``, ``async with``,
    or a decorator of a function or coroutine function (which is switched
    off while it runs, not merely while the coroutine is created). Nests."""

    __slots__ = ()

    def __enter__(self) -> None:
        _entered.set((*_entered.get(), _off.set(True)))

    def __exit__(self, *exc: object) -> None:
        stack = _entered.get()
        _entered.set(stack[:-1])
        _off.reset(stack[-1])

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def quiet_async(*args: Any, **kwargs: Any) -> Any:
                with disabled():
                    return await func(*args, **kwargs)

            return quiet_async  # type: ignore[return-value]

        @functools.wraps(func)
        def quiet(*args: Any, **kwargs: Any) -> Any:
            with disabled():
                return func(*args, **kwargs)

        return quiet  # type: ignore[return-value]
