"""Bulk operations that are logged: the public home of
:class:`~eventlog.audit.bulk.AuditedQuerySet` and
:class:`~eventlog.audit.bulk.AuditedManager` (see :mod:`eventlog.audit.bulk`)."""

from __future__ import annotations

from eventlog.audit.bulk import CHUNK, AuditedManager, AuditedQuerySet, AuditedQuerySetMixin

__all__ = ["CHUNK", "AuditedManager", "AuditedQuerySet", "AuditedQuerySetMixin"]
