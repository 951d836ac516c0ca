"""A customer at store A with a car bought on a known date; helpers for readings and maintenance visits."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from types import SimpleNamespace

import pytest

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.vehicles.models import MileageReading
from aftersales.workshop.models import RepairJob, RepairOrder

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
_numbers = iter(range(1, 10_000))


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SH)


def reading(vehicle, day: dt.date, km: int) -> MileageReading:
    return MileageReading.objects.create(vehicle=vehicle, km=km, read_at=at(day))


def visit(vehicle, day: dt.date, km: int | None = None, *, job_type: str = "maintenance", status: str = "delivered",
          total: str = "500.00", store=None) -> RepairOrder:
    order = RepairOrder.objects.create(
        store=store or vehicle.owner.home_store, number=f"RO{next(_numbers):05d}", customer=vehicle.owner, vehicle=vehicle,
        opened_at=at(day), delivered_at=at(day, 16) if status != "open" else None, mileage_in=km, status=status,
        total=Decimal(total),
    )
    RepairJob.objects.create(order=order, title="保养" if job_type == "maintenance" else "维修", job_type=job_type)
    return order


@pytest.fixture
def car(world):
    customer = CustomerFactory(home_store=world.a, name="张伟", title="mr")
    vehicle = VehicleFactory(owner=customer, plate="粤B12345", make="Toyota", model="Camry",
                             purchase_date=dt.date(2026, 1, 10))
    world.a.directions = "天河路 1 号，地下停车场 B2"
    world.a.save()
    return SimpleNamespace(world=world, store=world.a, customer=customer, vehicle=vehicle)
