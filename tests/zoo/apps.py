"""A test-only app with a model for every concrete field type Django ships."""

from __future__ import annotations

from django.apps import AppConfig


class ZooConfig(AppConfig):
    """The zoo: models registered through the decorator and through settings."""

    name = "tests.zoo"
    label = "zoo"
    default_auto_field = "django.db.models.BigAutoField"
