"""System checks of the audit layer: ``EVENTLOG_MODELS`` entries that name no
installed app or model (``eventlog.E041``) or fields a model does not have
(``eventlog.E042``), and a session model audited (``eventlog.W040``).
Malformed entries are the settings table's (``eventlog.E040``,
:mod:`eventlog.conf.checks`)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.utils.module_loading import import_string

from eventlog import conf
from eventlog.audit.registry import has_field, is_session_model, registrations, spec_models

__all__ = ["check_models", "register"]


def check_models(app_configs: Any = None, **_kwargs: Any) -> list[checks.CheckMessage]:
    """One error per ``EVENTLOG_MODELS`` label or field name that does not
    exist; one warning per audited session model."""
    errors: list[checks.CheckMessage] = []
    audited = {reg.model for reg in registrations()}
    for spec in conf.models():
        try:
            models = spec_models(spec)
        except (LookupError, ValueError):
            errors.append(
                checks.Error(
                    f"EVENTLOG_MODELS: no installed app or model {spec.label!r}.",
                    id="eventlog.E041",
                )
            )
            continue
        audited.update(models)
        if spec.extra is not None:
            errors.extend(_extra_problem(spec.label, spec.extra))
        names = {*(spec.include or ()), *spec.exclude, *spec.mask}
        known = {name for model in models for name in names if has_field(model, name)}
        errors.extend(
            checks.Error(
                f"EVENTLOG_MODELS: {spec.label!r} has no field {name!r}.", id="eventlog.E042"
            )
            for name in sorted(names - known)
        )
    errors.extend(
        checks.Warning(
            f"{model._meta.label} is audited: every request that touches its "
            "session writes a line.",
            hint='Session keys and data are never written (they show as "***"); '
            "remove it from EVENTLOG_MODELS or eventlog.register() unless these lines "
            "are wanted.",
            id="eventlog.W040",
        )
        for model in sorted(audited, key=lambda m: m._meta.label)
        if is_session_model(model)
    )
    return errors


def _extra_problem(label: str, path: str) -> list[checks.CheckMessage]:
    try:
        fn = import_string(path)
    except Exception as exc:
        problem = f"does not import: {type(exc).__name__}: {exc}"
    else:
        if callable(fn):
            return []
        problem = f"is a {type(fn).__name__}, not a callable"
    message = " ".join(f"EVENTLOG_MODELS: 'extra' of {label!r}, {path!r}, {problem}.".split())
    return [checks.Error(message[:500], id="eventlog.E062")]


def register() -> None:
    """Register the checks (idempotent)."""
    checks.register(check_models, "eventlog")
