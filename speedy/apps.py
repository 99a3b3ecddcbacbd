"""The speedy demo app."""

from __future__ import annotations

from django.apps import AppConfig


class SpeedyConfig(AppConfig):
    """Connects speedy's receivers when Django is ready."""

    name = "speedy"
    verbose_name = "Speedy demo"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from speedy import signals

        signals.connect()
