"""Two holding bookings of one courtesy car never overlap: on PostgreSQL an exclusion constraint over the car and
the booking's time range (btree_gist for the equality on car_id). SQLite skips it; there the booking service's
serialized write does the same (services.courtesy_book)."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE mobility_courtesybooking ADD CONSTRAINT courtesy_booking_no_overlap
    EXCLUDE USING gist (car_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
    WHERE (status <> 'cancelled');
"""
DROP = "ALTER TABLE mobility_courtesybooking DROP CONSTRAINT IF EXISTS courtesy_booking_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("mobility", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
