"""The eventlog Django app."""

from __future__ import annotations

from django.apps import AppConfig, apps
from django.core.signals import setting_changed


class EventlogConfig(AppConfig):
    """Configures the pipeline and connects the receivers when Django is ready."""

    name = "eventlog"
    verbose_name = "Event log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: the app registry must be ready before models are touched.
        from eventlog.audit import app_events, auth_events, collector, receivers, register
        from eventlog.audit import checks as audit_checks
        from eventlog.conf import checks as conf_checks
        from eventlog.write import pipeline

        conf_checks.register()
        audit_checks.register()
        pipeline.configure()
        app_events.connect()
        auth_events.connect()
        register.register_from_settings()
        receivers.activate_all()
        collector.install()
        # The admin's modules import its models: only when the project has it.
        if apps.is_installed("django.contrib.admin"):
            from eventlog.admin import attach as admin_attach

            admin_attach.register_checks()
            admin_attach.attach()
        setting_changed.connect(
            pipeline.on_setting_changed, dispatch_uid="eventlog.setting_changed"
        )
