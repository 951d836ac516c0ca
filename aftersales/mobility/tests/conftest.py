"""A store with two courtesy cars and a checked-in repair order (helpers shared by the mobility tests)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_vin
from aftersales.reception.tests.conftest import data_url, png

__all__ = ["data_url", "png", "signed"]


def signed() -> str:
    return data_url(png())


def checked_in(world, store, *, name="张伟", actor=None):
    from aftersales.workshop.services import repair_order_check_in

    customer = CustomerFactory(home_store=store, name=name, title="mr")
    vehicle = VehicleFactory(owner=customer, make="Toyota", model="Camry")
    return repair_order_check_in(actor=actor or (world.advisor if store == world.a else world.advisor_b), store=store,
                                 customer=customer, vehicle=vehicle, mileage=15000, complaint="保养")


@pytest.fixture
def fleet(world, settings, tmp_path):
    from aftersales.mobility.services import courtesy_car_add

    settings.MEDIA_ROOT = str(tmp_path / "media")
    expires = (timezone.localdate() + dt.timedelta(days=365)).isoformat()
    car = courtesy_car_add(actor=world.manager, store=world.a, plate="粤A12345", vin=make_vin(), model_name="Corolla",
                           insurance_expires=expires, mileage=20000)
    car2 = courtesy_car_add(actor=world.manager, store=world.a, plate="粤A67890", vin=make_vin(), model_name="BYD Qin",
                            energy="ev", insurance_expires=expires, mileage=8000)
    car_b = courtesy_car_add(actor=world.manager_b, store=world.b, plate="粤B99999", vin=make_vin(), model_name="Civic",
                             insurance_expires=expires)
    order = checked_in(world, world.a)
    order_b = checked_in(world, world.b, name="李娜")
    start = timezone.now() + dt.timedelta(hours=1)
    return SimpleNamespace(world=world, car=car, car2=car2, car_b=car_b, order=order, order_b=order_b, start=start,
                           end=start + dt.timedelta(days=2))
