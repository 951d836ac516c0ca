"""Readings range-partitioned by month on PostgreSQL, created ahead by a periodic task, old months dropped by the
retention prune; on SQLite one plain table and the prune deletes rows. The same test runs on both databases (CI runs
the suite on each); what differs is asserted per database, nothing is skipped."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from aftersales.telematics import partitions
from aftersales.telematics.models import Reading
from aftersales.telematics.services import readings_prune
from aftersales.telematics.tasks import partitions as partitions_task
from aftersales.telematics.tasks import prune as prune_task

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"


def _reading(tel, seq: int, at: dt.datetime) -> Reading:
    return Reading.objects.create(device=tel.device, vehicle=tel.vehicle, seq=seq, recorded_at=at, battery_v="12.5")


def _partition_of(reading: Reading) -> str | None:
    if not POSTGRES:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM telematics_reading WHERE id = %s", [reading.pk])
        return cursor.fetchone()[0]


def test_the_table_is_partitioned_on_postgresql_only_and_months_are_created_ahead(tel):
    now = timezone.now()
    this_month = partitions.month_start(now)
    assert partitions.is_partitioned() is POSTGRES
    partitions_task()  # the daily task: idempotent
    assert partitions_task() == 0
    months = partitions.monthly_partitions()
    if POSTGRES:
        expected = [this_month]
        for _ in range(partitions.months_ahead()):
            expected.append(partitions.next_month(expected[-1]))
        assert set(expected) <= set(months)
        # the ingest path writes into this month's partition
        tel.send(1, battery_v=12.4)
        assert _partition_of(Reading.objects.get(seq=1)) == partitions.partition_name(partitions.month_start(Reading.objects.get(seq=1).recorded_at))
    else:
        assert months == [] and partitions.ensure_partitions() == []
        tel.send(1, battery_v=12.4)
        assert Reading.objects.count() == 1


def test_a_reading_outside_every_month_lands_in_the_default_and_moves_when_its_month_is_created(tel):
    far = timezone.now() + dt.timedelta(days=300)
    reading = _reading(tel, 1, far)
    if POSTGRES:
        assert _partition_of(reading) == partitions.DEFAULT
        created = partitions.ensure_partitions(now=far, ahead=0)
        assert created == [partitions.partition_name(partitions.month_start(far))]
        assert _partition_of(reading) == created[0]  # moved out of the default, same id, same row
    else:
        assert partitions.ensure_partitions(now=far, ahead=0) == []
    assert Reading.objects.get(pk=reading.pk).recorded_at == far


def test_retention_drops_whole_old_months_and_deletes_the_rest(tel, settings):
    settings.TELEMATICS_RETENTION_DAYS = 60
    now = timezone.now()
    old = now - dt.timedelta(days=200)
    recent = now - dt.timedelta(days=10)
    edge = now - dt.timedelta(days=60, hours=2)  # just past retention: deleted row by row unless its month ended
    partitions.ensure_partitions(now=old, ahead=0)
    partitions.ensure_partitions(now=edge, ahead=0)
    keep = _reading(tel, 3, recent)
    _reading(tel, 1, old)
    _reading(tel, 2, edge)
    prune_task()
    assert list(Reading.objects.values_list("pk", flat=True)) == [keep.pk]
    if POSTGRES:
        assert partitions.month_start(old) not in partitions.monthly_partitions()  # the whole month was dropped
        assert partitions.month_start(now) in partitions.monthly_partitions()
    assert readings_prune() == 0


def test_a_redelivered_message_is_still_refused_once_partitioned(tel):
    first = tel.send(5, battery_v=12.2)
    again = tel.send(5, battery_v=12.2)
    assert first.accepted and not again.accepted and again.reason == "duplicate"
    assert Reading.objects.filter(seq=5).count() == 1
