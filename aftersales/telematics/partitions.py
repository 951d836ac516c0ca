"""Monthly range partitions of the readings table on PostgreSQL (issue 21); SQLite keeps one plain table.

On PostgreSQL ``telematics_reading`` is declared ``PARTITION BY RANGE (recorded_at)``: one partition per calendar
month (UTC bounds, named ``telematics_reading_pYYYYMM``) and a default partition that catches anything outside the
months created (a car whose clock is far off), so an insert never fails for want of a partition.

- ``ensure_partitions`` (the periodic task ``aftersales.telematics.partitions``, daily) creates the current month and
  the next ``TELEMATICS_PARTITIONS_AHEAD`` (3) ahead; rows that fell into the default partition for a month being
  created are moved into it in the same transaction.
- ``drop_expired`` (called by ``services.readings_prune``, nightly) drops whole monthly partitions that ended before
  the retention cut-off (``TELEMATICS_RETENTION_DAYS``): no row-by-row delete, no table bloat. The rows of the month
  that straddles the cut-off are deleted by the prune as before.

What partitioning changes in the table (PostgreSQL only): the primary key is ``(id, recorded_at)`` and the unique key
``(device_id, seq, recorded_at)`` (a partitioned table's unique keys must include the partition key). A QoS-1
redelivery has the same ``time`` and so still hits the key; a different message re-using a ``seq`` is refused before
the insert by ``services._accept``'s duplicate check, which runs under the device's row lock (one ingester per device
at a time). ``id`` takes its value from the sequence ``telematics_reading_id_pseq`` (owned by the column) instead of an
identity column (identity columns on partitioned tables need PostgreSQL 17). No foreign key points at readings.
"""

# ruff: noqa: S608  (every name in this SQL is a module constant or built from a date, never from input)
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.db import connection as default_connection
from django.db import transaction
from django.utils import timezone

TABLE = "telematics_reading"
DEFAULT = f"{TABLE}_default"
SEQUENCE = f"{TABLE}_id_pseq"
_NAME = re.compile(rf"^{TABLE}_p(\d{{4}})(\d{{2}})$")


def months_ahead() -> int:
    return int(getattr(settings, "TELEMATICS_PARTITIONS_AHEAD", 3))


def month_start(at: dt.datetime | dt.date) -> dt.date:
    if isinstance(at, dt.datetime):
        at = (at.astimezone(dt.UTC) if timezone.is_aware(at) else at).date()
    return at.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_p{month:%Y%m}"


def _bound(month: dt.date) -> str:
    return f"{month:%Y-%m-%d} 00:00:00+00"


def is_partitioned(connection: Any = None) -> bool:
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s AND relnamespace = current_schema()::regnamespace",
                       [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def monthly_partitions(connection: Any = None) -> list[dt.date]:
    """The months that have a partition (oldest first); [] on SQLite."""
    connection = connection or default_connection
    if not is_partitioned(connection):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s", [TABLE])
        names = [r[0] for r in cursor.fetchall()]
    months = []
    for name in names:
        m = _NAME.match(name)
        if m:
            months.append(dt.date(int(m.group(1)), int(m.group(2)), 1))
    return sorted(months)


def _create_month(cursor: Any, month: dt.date) -> None:
    """Create one month's partition; rows of that month sitting in the default partition move into it."""
    name, lo, hi = partition_name(month), _bound(month), _bound(next_month(month))
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE recorded_at >= %s AND recorded_at < %s)", [lo, hi])
    if not cursor.fetchone()[0]:
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM ('{lo}') TO ('{hi}')")
        return
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(f"INSERT INTO {name} SELECT * FROM {DEFAULT} WHERE recorded_at >= %s AND recorded_at < %s", [lo, hi])
    cursor.execute(f"DELETE FROM {DEFAULT} WHERE recorded_at >= %s AND recorded_at < %s", [lo, hi])
    cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')")


def ensure_partitions(*, now: dt.datetime | None = None, ahead: int | None = None, connection: Any = None) -> list[str]:
    """Create the partitions of the current month and ``ahead`` months after it that are missing (PostgreSQL with a
    partitioned table; nothing elsewhere). Safe to run twice, and by two workers at once (a lock on the table)."""
    connection = connection or default_connection
    if not is_partitioned(connection):
        return []
    first = month_start(now or timezone.now())
    wanted = [first]
    for _ in range(months_ahead() if ahead is None else ahead):
        wanted.append(next_month(wanted[-1]))
    created = []
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
        have = set(monthly_partitions(connection))
        for month in wanted:
            if month not in have:
                _create_month(cursor, month)
                created.append(partition_name(month))
    return created


def drop_expired(*, cutoff: dt.datetime, connection: Any = None) -> list[str]:
    """Drop the monthly partitions that end on or before ``cutoff`` (all their rows are past retention)."""
    connection = connection or default_connection
    if not is_partitioned(connection):
        return []
    dropped = []
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
        # a partition with deferred foreign-key checks still pending in this transaction cannot be dropped: run them
        # now (the same checks the commit would run), then defer again as Django's constraints are declared
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for month in monthly_partitions(connection):
            end = dt.datetime.combine(next_month(month), dt.time.min, tzinfo=dt.UTC)
            if end <= cutoff:
                cursor.execute(f"DROP TABLE {partition_name(month)}")
                dropped.append(partition_name(month))
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return dropped


# ---- the migration (telematics 0002) --------------------------------------------------------------------------------
def to_partitioned(schema_editor: Any, *, now: dt.datetime | None = None) -> None:
    """Turn the plain readings table into a partitioned one, keeping every row (PostgreSQL only)."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or is_partitioned(connection):
        return
    days = int(getattr(settings, "TELEMATICS_RETENTION_DAYS", 400))
    now = now or timezone.now()
    run = schema_editor.execute
    run(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_plain")
    run(f"CREATE TABLE {TABLE} (LIKE {TABLE}_plain INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (recorded_at)")
    run(f"CREATE SEQUENCE {SEQUENCE} AS bigint OWNED BY {TABLE}.id")
    run(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{SEQUENCE}')")
    run(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(recorded_at) FROM {TABLE}_plain")
        oldest = cursor.fetchone()[0]
    first = month_start(max(oldest, now - dt.timedelta(days=days + 31)) if oldest else now)
    month, last = first, month_start(now)
    for _ in range(months_ahead()):
        last = next_month(last)
    while month <= last:
        run(f"CREATE TABLE {partition_name(month)} PARTITION OF {TABLE} "
            f"FOR VALUES FROM ('{_bound(month)}') TO ('{_bound(next_month(month))}')")
        month = next_month(month)
    run(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_plain")
    run(f"DROP TABLE {TABLE}_plain")
    run(f"SELECT setval('{SEQUENCE}', COALESCE((SELECT max(id) FROM {TABLE}), 0) + 1, false)")
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, recorded_at)")
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT telematics_reading_device_seq UNIQUE (device_id, seq, recorded_at)")
    run(f"CREATE INDEX tel_reading_vehicle_time ON {TABLE} (vehicle_id, recorded_at)")
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_device_id_fk FOREIGN KEY (device_id) "
        "REFERENCES telematics_device (id) DEFERRABLE INITIALLY DEFERRED")
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_vehicle_id_fk FOREIGN KEY (vehicle_id) "
        "REFERENCES vehicles_vehicle (id) DEFERRABLE INITIALLY DEFERRED")


def to_plain(schema_editor: Any) -> None:
    """The way back: one plain table with every row, the keys as Django declares them (PostgreSQL only)."""
    connection = schema_editor.connection
    if not is_partitioned(connection):
        return
    run = schema_editor.execute
    run(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_parted")
    run(f"CREATE TABLE {TABLE} (LIKE {TABLE}_parted INCLUDING CONSTRAINTS)")
    run(f"ALTER TABLE {TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    run(f"INSERT INTO {TABLE} OVERRIDING SYSTEM VALUE SELECT * FROM {TABLE}_parted")
    run(f"DROP TABLE {TABLE}_parted CASCADE")
    run(f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), COALESCE((SELECT max(id) FROM {TABLE}), 0) + 1, false)")
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)")
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT telematics_reading_device_seq UNIQUE (device_id, seq)")
    run(f"CREATE INDEX tel_reading_vehicle_time ON {TABLE} (vehicle_id, recorded_at)")
    run(f"CREATE INDEX {TABLE}_device_id ON {TABLE} (device_id)")
    run(f"CREATE INDEX {TABLE}_vehicle_id ON {TABLE} (vehicle_id)")
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_device_id_fk FOREIGN KEY (device_id) "
        "REFERENCES telematics_device (id) DEFERRABLE INITIALLY DEFERRED")
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_vehicle_id_fk FOREIGN KEY (vehicle_id) "
        "REFERENCES vehicles_vehicle (id) DEFERRABLE INITIALLY DEFERRED")
