"""What eventlog knows of each audited instance: the row as last loaded or
saved (its *baseline*, the old values of the next update, known without a
``SELECT``) and the saves still pending in open transactions.

:func:`wrap` installs, on a registered model class, a ``from_db`` wrapper
that keeps the loaded row's values on the instance (one attribute per row, no
copy, no query; only JSON-like fields, which can be mutated in place, are
copied on load), a ``refresh_from_db`` wrapper that keeps them current and a
``save_base`` wrapper that marks forced inserts. :func:`remember` and
:func:`settle` put a baseline back when the transaction of a save rolls back.
"""

from __future__ import annotations

import copy
import weakref
from typing import Any, Final

from django.db import transaction
from django.db.models import Model
from django.utils.inspect import func_accepts_kwargs, func_supports_parameter

from eventlog.audit.registry import BY_MODEL, Registration, attname, lookup
from eventlog.write.pipeline import in_atomic_block

__all__ = [
    "BASELINE",
    "INSERTING",
    "baseline",
    "remember",
    "set_baseline",
    "settle",
    "wrap",
]

BASELINE: Final = "_eventlog_baseline"
"""Instance attribute: the row as last loaded or saved, ``{attname: value}``
(or, straight from ``from_db``, the row's values: of every concrete field
in the model's order, or of those named by :data:`BASELINE_NAMES`)."""
BASELINE_NAMES: Final = "_eventlog_baseline_names"
INSERTING: Final = "_eventlog_inserting"
"""Instance attribute set while a save with ``force_insert`` runs."""
_wrapped: set[type[Model]] = set()
_set: Final = object.__setattr__
_FETCH_MODE: Final = frozenset({"fetch_mode"})


def wrap(model: type[Model]) -> None:
    """Install the ``from_db``/``refresh_from_db``/``save_base`` wrappers on
    ``model`` once.

    A wrapper rather than a ``post_init`` receiver: ``post_init`` runs for
    every instance built, loaded or not, and costs a signal dispatch per row;
    this costs one attribute per loaded row (see the load benchmark).
    """
    if model in _wrapped:
        return
    original_from_db = model.from_db.__func__  # type: ignore[attr-defined]
    original_refresh = model.refresh_from_db

    # Django 6.1 passes fetch_mode= to a from_db() that accepts it; pass it on
    # only where the wrapped one does (a project's own from_db may not).
    passes_kwargs = func_accepts_kwargs(original_from_db) or func_supports_parameter(
        original_from_db, "fetch_mode"
    )

    def keep(cls: type[Model], instance: Model, field_names: Any, values: Any) -> None:
        reg = BY_MODEL.get(cls) or BY_MODEL.get(cls._meta.concrete_model)  # type: ignore[arg-type]
        # object.__setattr__, never instance.__dict__: reading __dict__ makes
        # CPython build a dict object for an instance that had none, one more
        # object per row for the garbage collector to track and walk (it
        # doubled the time of a large load). Nor the model's own __setattr__.
        if reg is not None and reg.mutable:
            row = dict(zip(field_names, values, strict=False))
            _set(instance, BASELINE, _copy_mutable(reg, row))
        else:
            # A reference, no new object. A row of every concrete field is in
            # their order (Django's from_db relies on it too): its names are
            # the model's, so only a partial row (only(), defer()) keeps them.
            _set(instance, BASELINE, values)
            if len(values) != len(cls._meta.concrete_fields):
                _set(instance, BASELINE_NAMES, field_names)

    full = len(model._meta.concrete_fields)  # fields are final once apps are ready
    # Where the wrapped from_db is Django's own, a whole row of the registered
    # class is built here as Django's does it: a second Python call per row is
    # a measurable part of a large load. tests/test_model_baseline.py fails
    # when Django's from_db builds an instance differently.
    own = original_from_db is Model.from_db.__func__  # type: ignore[attr-defined]
    # Two shapes, so that loading a row under Django < 6.1 builds no kwargs dict.
    if passes_kwargs:

        def from_db(
            cls: type[Model], db: str | None, field_names: Any, values: Any, **kwargs: Any
        ) -> Model:
            reg = BY_MODEL.get(cls)
            if (
                own
                and cls is model
                and len(values) == full
                and reg is not None
                and not reg.mutable
                and kwargs.keys() <= _FETCH_MODE
            ):
                new = cls(*values)  # Django's from_db of a whole row, inline
                st = new._state
                st.adding = False
                st.db = db
                fetch_mode = kwargs.get("fetch_mode")
                if fetch_mode is not None:
                    st.fetch_mode = fetch_mode
                _set(new, BASELINE, values)  # keep()'s usual case
                return new
            instance: Model = original_from_db(cls, db, field_names, values, **kwargs)
            keep(cls, instance, field_names, values)
            return instance

    else:

        def from_db(  # type: ignore[misc]
            cls: type[Model], db: str | None, field_names: Any, values: Any
        ) -> Model:
            reg = BY_MODEL.get(cls)
            if own and cls is model and len(values) == full and reg is not None and not reg.mutable:
                new = cls(*values)  # Django's from_db of a whole row, inline
                st = new._state
                st.adding = False
                st.db = db
                _set(new, BASELINE, values)  # keep()'s usual case
                return new
            instance: Model = original_from_db(cls, db, field_names, values)
            keep(cls, instance, field_names, values)
            return instance

    def refresh_from_db(self: Model, *args: Any, **kwargs: Any) -> None:
        original_refresh(self, *args, **kwargs)
        fields = kwargs.get("fields", args[1] if len(args) > 1 else None)
        if fields is not None and not fields:
            return  # nothing was reloaded
        names = (
            {attname(type(self), n) for n in fields}
            if fields is not None
            else {f.attname for f in self._meta.concrete_fields}
        )
        set_baseline(self, {n: self.__dict__[n] for n in names if n in self.__dict__})

    original_save_base = model.save_base

    def save_base(self: Model, *args: Any, **kwargs: Any) -> None:
        # create() forces an INSERT: there is no old row to read in pre_save.
        forced = kwargs.get("force_insert", args[1] if len(args) > 1 else False)
        if forced:
            self.__dict__[INSERTING] = True
        try:
            original_save_base(self, *args, **kwargs)
        finally:
            if forced:
                self.__dict__.pop(INSERTING, None)

    original_getstate = model.__getstate__

    def __getstate__(self: Model) -> Any:
        state = original_getstate(self)
        if type(state) is dict and state.get(BASELINE) is not None:
            state[BASELINE] = _portable(self, state)
            state.pop(BASELINE_NAMES, None)
        return state

    model.__getstate__ = __getstate__  # type: ignore[method-assign]
    model.save_base = save_base  # type: ignore[method-assign]
    model.from_db = classmethod(from_db)  # type: ignore[method-assign,assignment,arg-type]
    model.refresh_from_db = refresh_from_db  # type: ignore[method-assign]
    _wrapped.add(model)


def _copy_mutable(reg: Registration, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its JSON-like values copied: they can be changed in place,
    and the baseline must keep what the database holds."""
    return {k: copy.deepcopy(v) if k in reg.mutable else v for k, v in row.items()}


def _portable(instance: Model, state: dict[str, Any]) -> dict[str, Any]:
    """The baseline in ``state`` (a copy of the instance's) as pickle and
    deepcopy take it: by name, since a pickle may be loaded by a later version
    of the model, and memoryviews (PostgreSQL's binary values, which neither
    takes) as bytes, as Django's ``__getstate__`` does with the fields."""
    base = state[BASELINE]
    if not isinstance(base, dict):
        base = _named(instance, base, state.get(BASELINE_NAMES))
    return {k: bytes(v) if isinstance(v, memoryview) else v for k, v in base.items()}


def _named(instance: Model, values: Any, names: Any) -> dict[str, Any]:
    """The row ``values`` as ``from_db`` kept it, by attname: ``names``, or
    for a whole row (no names kept) the model's concrete fields in order."""
    if names is None:
        names = [f.attname for f in instance._meta.concrete_fields]
    return dict(zip(names, values, strict=False))


def baseline(instance: Model) -> dict[str, Any] | None:
    """The instance's row as last loaded or saved (``None`` if never)."""
    state = instance.__dict__
    base = state.get(BASELINE)
    if base is None or isinstance(base, dict):
        return base
    row = _named(instance, base, state.pop(BASELINE_NAMES, None))
    state[BASELINE] = row
    return row


def set_baseline(instance: Model, values: dict[str, Any], *, replace: bool = False) -> None:
    """Record ``values`` (``{attname: value}``) as known to be in the database."""
    reg = lookup(type(instance))
    if reg is not None and reg.mutable:
        values = _copy_mutable(reg, values)
    old = None if replace else baseline(instance)
    state = instance.__dict__
    state[BASELINE] = values if old is None else {**old, **values}
    state.pop(BASELINE_NAMES, None)


PENDING: Final = "_eventlog_pending"
"""Instance attribute: baselines replaced by saves whose transaction has not
committed yet, ``[(committed flag, weakref to its on_commit callback,
previous baseline), ...]``."""


class _Pending(list[Any]):
    """The pending entries of an instance: never pickled or deep-copied (they
    describe this process's open transactions, and hold weak references)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, ())  # a builtin: a pickle names no module of eventlog

    def __deepcopy__(self, memo: Any) -> _Pending:
        return _Pending()


class _Committed:
    """An ``on_commit`` callback that only records that its save committed.

    Django drops the callbacks of a rolled-back transaction or savepoint; this
    one is referenced only from Django's list, so once dropped its weak
    reference dies: a dead reference without the flag means the save was
    rolled back. (Django has no ``on_rollback`` hook to tell us directly.)
    """

    __slots__ = ("__weakref__", "flag")

    def __init__(self, flag: list[bool]) -> None:
        self.flag = flag

    def __call__(self) -> None:
        self.flag[0] = True


def remember(instance: Model, using: str, previous: dict[str, Any] | None) -> None:
    """Note that a save inside a transaction replaced ``previous`` as the
    baseline, so :func:`settle` can restore it if that transaction rolls back."""
    if not in_atomic_block(using):
        return
    flag = [False]
    callback = _Committed(flag)
    pending = instance.__dict__.get(PENDING)
    if type(pending) is not _Pending:  # absent, or the empty list of an unpickled instance
        pending = instance.__dict__[PENDING] = _Pending()
    pending.append((flag, weakref.ref(callback), previous))
    transaction.on_commit(callback, using=using)


def settle(instance: Model) -> None:
    """Restore the baseline of before the earliest save that was rolled back
    (its values never reached the database); forget committed saves."""
    pending = instance.__dict__.get(PENDING)
    if not pending:
        return
    for index, (flag, ref, previous) in enumerate(pending):
        if not flag[0] and ref() is None:  # rolled back
            if previous is None:
                instance.__dict__.pop(BASELINE, None)
            else:
                instance.__dict__[BASELINE] = previous
            del pending[index:]
            break
    pending[:] = [entry for entry in pending if not entry[0][0]]
    if not pending:
        del instance.__dict__[PENDING]
