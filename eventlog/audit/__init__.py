"""The audit layer: Django's model signals and eventlog's own signals turned
into events for the write layer.

The registry of audited models (:mod:`~eventlog.audit.registry`), the
per-instance baselines and pending changes (:mod:`~eventlog.audit.state`), the
model receivers (:mod:`~eventlog.audit.receivers`), the receivers of
``event_signal`` and ``state_changed`` (:mod:`~eventlog.audit.app_events`),
the bulk helpers (:mod:`~eventlog.audit.bulk`) and writing a logged state
back (:mod:`~eventlog.audit.restore`).
"""
