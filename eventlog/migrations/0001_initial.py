"""The unmanaged :class:`eventlog.models.Event`: no table, only its permission."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Event",
            fields=[("event_id", models.UUIDField(primary_key=True, serialize=False))],
            options={
                "verbose_name": "event",
                "verbose_name_plural": "events",
                "db_table": "eventlog_event_files",
                "managed": False,
                "default_permissions": ("view",),
            },
        ),
    ]
