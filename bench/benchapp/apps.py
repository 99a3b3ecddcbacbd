"""The bench app."""

from django.apps import AppConfig


class BenchappConfig(AppConfig):
    """Twin models (``Plain``, ``Logged``, ``Audited``, ``Historied``)."""

    name = "bench.benchapp"
    label = "benchapp"
    default_auto_field = "django.db.models.BigAutoField"
