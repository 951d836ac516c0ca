"""Concurrent check-ins at one store get consecutive repair-order numbers: never a collision, never a gap."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.staff.models import User
from aftersales.workshop.models import RepairOrder
from aftersales.workshop.services import repair_order_check_in

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6


def test_concurrent_check_ins_number_without_collision(world):
    cars = [VehicleFactory(owner=CustomerFactory(home_store=world.a)) for _ in range(THREADS)]
    # an order numbered before the counter existed (e.g. data from before the upgrade) is counted, not reused
    first = repair_order_check_in(actor=world.advisor, store=world.a, customer=cars[0].owner, vehicle=cars[0])
    from aftersales.workshop.models import OrderNumberCounter

    OrderNumberCounter.objects.all().delete()
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            actor = User.objects.get(pk=world.advisor.pk)
            barrier.wait(timeout=30)
            repair_order_check_in(actor=actor, store=world.a, customer=cars[i].owner, vehicle=cars[i], at=timezone.now())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    numbers = sorted(RepairOrder.objects.values_list("number", flat=True))
    prefix = first.number[:-3]
    assert numbers == [f"{prefix}{n:03d}" for n in range(1, THREADS + 2)]
