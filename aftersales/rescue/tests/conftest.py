from __future__ import annotations

from types import SimpleNamespace

import pytest

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_staff
from aftersales.reception.tests.conftest import data_url, png  # noqa: F401 - shared helpers

# Shenzhen: the store's base, a car 6 km away, a unit waiting 2 km from the car
BASE = (22.543100, 114.057900)
CAR = (22.590000, 114.080000)


@pytest.fixture
def rescue(world, settings, tmp_path):
    from aftersales.rescue import services
    from aftersales.rescue.choices import Capability, UnitKind

    settings.MEDIA_ROOT = str(tmp_path / "media")
    services.area_save(actor=world.manager, store=world.a, base_lat=BASE[0], base_lng=BASE[1], speed_kmh=30,
                       detour_factor="1.4", prep_minutes=5, hotline="4008001234")
    services.area_save(actor=world.manager_b, store=world.b, base_lat=23.129, base_lng=113.264, hotline="4008005678")
    crew = world.technician
    crew.first_name = "伟"
    crew.save(update_fields=["first_name"])
    crew2 = make_staff("technician", world.a, first_name="强")
    tow = services.unit_save(actor=world.manager, store=world.a, name="拖车1", kind=UnitKind.TOW_TRUCK,
                             capabilities=[Capability.FLATBED], crew=[crew], lat=BASE[0], lng=BASE[1])
    van = services.unit_save(actor=world.manager, store=world.a, name="服务车1", kind=UnitKind.SERVICE_VAN,
                             capabilities=[Capability.BATTERY, Capability.TYRE, Capability.REPAIR], crew=[crew2],
                             lat=22.58, lng=114.07)
    tow_b = services.unit_save(actor=world.manager_b, store=world.b, name="拖车B", kind=UnitKind.TOW_TRUCK,
                               capabilities=[Capability.FLATBED])
    customer = CustomerFactory(home_store=world.a, name="张伟", title="mr")
    vehicle = VehicleFactory(owner=customer, plate="粤B12345", make="Toyota", model="Camry")
    return SimpleNamespace(world=world, store=world.a, crew=crew, crew2=crew2, tow=tow, van=van, tow_b=tow_b,
                           customer=customer, vehicle=vehicle, dispatcher=world.advisor)
