"""Readings range-partitioned by month on PostgreSQL (aftersales/telematics/partitions.py); SQLite is unchanged."""

from django.db import migrations


def forwards(apps, schema_editor):
    from aftersales.telematics.partitions import to_partitioned

    to_partitioned(schema_editor)


def backwards(apps, schema_editor):
    from aftersales.telematics.partitions import to_plain

    to_plain(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("telematics", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
