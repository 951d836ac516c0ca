"""The workshop demo leaves a live floor: dispatched and in-progress jobs, time entries (one open per technician at
most), promises late and at risk, and it goes through the services (events, audit)."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.workshop import floor_selectors as sel
from aftersales.workshop.choices import JobStatus
from aftersales.workshop.demo import SCENARIOS, load
from aftersales.workshop.models import RepairJob, RepairJobEvent, TimeEntry

pytestmark = pytest.mark.django_db


def test_demo_makes_a_live_board(floor):
    from aftersales.common.tests.factories import make_staff

    from .conftest import shifts

    for skills in (["electrical", "ev", "aircon"], ["transmission", "tyres", "maintenance"]):
        shifts(make_staff("technician", floor.store, skills=skills), floor.store)
    from aftersales.appointments.models import Bay

    for n in range(3, 6):
        Bay.objects.create(store=floor.store, name=f"{n}号工位")
    for _ in SCENARIOS:
        VehicleFactory(owner=CustomerFactory(home_store=floor.store))
    now = floor.at("11:00")
    counts = load(group=floor.world.group, now=now)
    assert counts["orders"] == len(SCENARIOS) and counts["dispatched"] >= 5 and counts["clocked"] >= 3
    assert RepairJob.objects.filter(status=JobStatus.IN_PROGRESS).exists()
    assert RepairJob.objects.filter(status=JobStatus.DISPATCHED).exists()
    assert RepairJobEvent.objects.filter(to_state=JobStatus.DISPATCHED).count() == counts["dispatched"]
    open_by_tech = TimeEntry.objects.filter(ended_at__isnull=True).values_list("technician_id", flat=True)
    assert len(open_by_tech) == len(set(open_by_tech)) >= 1
    assert all(e.started_at <= now and (e.ended_at is None or e.ended_at <= now) for e in TimeEntry.objects.all())
    board = sel.board_for(floor.foreman, floor.store, now=now + dt.timedelta(minutes=1))
    assert board.counts["late"] >= 1 and board.counts["orders"] == len(SCENARIOS)
