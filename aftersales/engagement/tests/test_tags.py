"""Automatic tags, computed set-based; manual tags untouched."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.customers.models import Tag
from aftersales.engagement.tags import recompute_auto_tags

from .helpers import imported, paid_order

pytestmark = pytest.mark.django_db


def names(customer):
    return set(customer.tags.values_list("name", flat=True))


def test_auto_tags(world):
    today = timezone.localdate()
    new_ev = CustomerFactory(home_store=world.a, birthday=dt.date(1990, today.month, 1))
    VehicleFactory(owner=new_ev, purchase_date=today - dt.timedelta(days=100), fuel_type="ev",
                   insurance_expiry=today + dt.timedelta(days=20))
    old = CustomerFactory(home_store=world.a)
    old_car = VehicleFactory(owner=old, purchase_date=today.replace(year=today.year - 4), fuel_type="petrol",
                             insurance_expiry=today + dt.timedelta(days=45))
    manual = Tag.objects.create(group=world.group, name="钓鱼爱好者")
    old.tags.add(manual)
    # two brake repairs on the same car within 12 months: fault-prone; no maintenance: rare repair
    paid_order(world, old, old_car, today - dt.timedelta(days=200), "800", job_type="repair", title="前刹车片更换")
    paid_order(world, old, old_car, today - dt.timedelta(days=30), "600", job_type="repair", title="Brake disc repair")
    regular = CustomerFactory(home_store=world.b)
    VehicleFactory(owner=regular, purchase_date=today - dt.timedelta(days=700))
    imported(regular, today - dt.timedelta(days=90), "500", items="机油保养")
    imported(regular, today - dt.timedelta(days=20), "500", items="Oil change")
    recompute_auto_tags(today=today)
    assert names(new_ev) == {"auto:new_car", "auto:ev_hybrid_owner", "auto:birthday_this_month", "auto:insurance_expiring"}
    assert names(old) == {"auto:car_over_3_years", "auto:fault_prone", "auto:rare_repair", "钓鱼爱好者"}
    assert names(regular) == {"auto:frequent_maintenance"}
    # nightly again: same result; a customer who stops matching loses the tag, manual tags stay
    old_car.insurance_expiry = today + dt.timedelta(days=10)
    old_car.save()
    recompute_auto_tags(today=today)
    assert "auto:insurance_expiring" in names(old) and "钓鱼爱好者" in names(old)
    recompute_auto_tags(today=today + dt.timedelta(days=400))
    assert "auto:fault_prone" not in names(old) and "钓鱼爱好者" in names(old)


def test_different_systems_are_not_fault_prone(world):
    today = timezone.localdate()
    customer = CustomerFactory(home_store=world.a)
    car = VehicleFactory(owner=customer)
    paid_order(world, customer, car, today - dt.timedelta(days=60), "800", job_type="repair", title="空调不制冷")
    paid_order(world, customer, car, today - dt.timedelta(days=30), "600", job_type="repair", title="更换蓄电池")
    recompute_auto_tags(today=today)
    assert "auto:fault_prone" not in names(customer)
