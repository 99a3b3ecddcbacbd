"""The eventlog Django app."""

from __future__ import annotations

from django.apps import AppConfig
from django.core.signals import setting_changed


class EventlogConfig(AppConfig):
    """Configures the pipeline and connects the receivers when Django is ready."""

    name = "eventlog"
    verbose_name = "Event log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from eventlog.audit import app_events as _receivers
        from eventlog.audit import registry as _registry
        from eventlog.conf import checks as _checks
        from eventlog.write import pipeline as _pipeline

        _checks.register()
        _pipeline.configure()
        _receivers.connect()
        _registry.register_from_settings()
        _registry.activate_all()
        setting_changed.connect(
            _pipeline.on_setting_changed, dispatch_uid="eventlog.setting_changed"
        )
