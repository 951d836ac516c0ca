"""The race for the last slot: many threads, each with its own database connection, book the same time at once.

SQLite serialises writers (IMMEDIATE transactions); PostgreSQL serialises bookings on the store's bay rows and the
candidate technicians' and advisors' user rows (SELECT ... FOR UPDATE in id order). Either way exactly one booking
wins; every other thread gets ``slot_taken`` naming ``start`` with the next free times, never a database error.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from aftersales.appointments.models import Appointment
from aftersales.appointments.services import appointment_book
from aftersales.common.errors import Conflict
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.staff.models import User

from .conftest import local, next_monday, setup_store

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6


def race(work, n: int = THREADS) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            prepared = work(i, None)
            barrier.wait(timeout=30)
            results[i] = work(i, prepared)
        except BaseException as exc:  # checked by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


@pytest.mark.parametrize("new_customers", [False, True])
def test_many_people_book_the_last_slot_at_once(world, new_customers):
    setup = setup_store(world.a, techs=1, bays=2)
    monday = next_monday()
    customers = [CustomerFactory(home_store=world.a) for _ in range(THREADS)]
    vehicles = [VehicleFactory(owner=c) for c in customers]
    start = local(monday, "09:00")

    def work(i: int, prepared):
        if prepared is None:
            return User.objects.get(pk=world.advisor.pk)  # own user object and connection, ready before the start
        return appointment_book(actor=prepared, store=world.a, service_type=setup.maintenance, start=start, customer=customers[i], vehicle=vehicles[i])

    if new_customers:
        from aftersales.common.tests.factories import make_vin

        vins = [make_vin() for _ in range(THREADS)]

        def work(i: int, prepared):  # the new-customer variant: customer and vehicle created in the booking
            if prepared is None:
                return User.objects.get(pk=world.advisor.pk)
            return appointment_book(
                actor=prepared, store=world.a, service_type=setup.maintenance, start=start,
                customer_data={"name": f"新客{i}", "mobile": f"1370000{i:04d}"},
                vehicle_data={"vin": vins[i], "make": "BYD", "model": "Han"},
            )

    results = race(work)
    winners = [r for r in results if isinstance(r, Appointment)]
    losers = [r for r in results if isinstance(r, Conflict)]
    others = [r for r in results if not isinstance(r, Appointment | Conflict)]
    assert not others, others
    assert len(winners) == 1 and len(losers) == THREADS - 1
    for exc in losers:
        assert exc.code == "slot_taken" and exc.field == "start"
        assert exc.extra["next_free"] and exc.extra["next_free"][0] == local(monday, "10:00").isoformat()
    assert Appointment.objects.filter(start__lt=local(monday, "10:00"), end__gt=start).count() == 1
    if new_customers:
        from aftersales.customers.models import Customer

        assert Customer.objects.filter(mobile__startswith="+86137").count() == 1  # the losers' customers rolled back
