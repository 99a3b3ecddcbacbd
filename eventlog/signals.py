"""eventlog's custom signals: send them from views, receivers or any code.

Both are plain :class:`django.dispatch.Signal` objects; eventlog's receivers
(connected in ``EventlogConfig.ready()`` with stable ``dispatch_uid``\\ s) turn
each ``send()`` into one line of ``events.jsonl``. Sending never raises
because of logging.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["event_signal", "state_changed"]

event_signal = Signal()
"""An application event.

``event_signal.send(sender, message=None, instance=None, event="app.event",
level="info", on_commit=None, using=None, **extra)``

* ``sender``: who sends (a class, a module name or any string); logged as
  ``sender`` (a model class as ``app_label.modelname``).
* ``message``: free text, logged as ``message``.
* ``instance``: a model instance the event is about, logged as
  ``instance: {model, object_id, repr}``.
* ``event``: the dotted event name (default ``app.event``).
* ``level``: ``debug``, ``info``, ``warning``, ``error`` or ``critical``.
* ``on_commit``: inside a transaction, write once it commits (default for
  levels below ``error``) or at once (default for ``error`` and ``critical``).
* ``using``: the database alias whose transaction counts (default ``default``).
* ``**extra``: more keys for the line, JSON-native per the contract.
"""

state_changed = Signal()
"""A state transition of a model field (an account's ``current_state``...).

``state_changed.send(sender, instance, field, source, target, transition,
**extra)`` logs ``state.changed`` with ``model``, ``object_id``, ``field``,
``source``, ``target`` and ``transition`` (``"admin_override"`` for a forced
change), plus the actor and IP of the current context, once the transaction
commits.
"""
