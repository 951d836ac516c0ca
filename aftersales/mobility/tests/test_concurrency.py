"""Two advisors book the same courtesy car for the same time at the same moment: exactly one booking is written.
On PostgreSQL the exclusion constraint also refuses an overlap written past the service."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction

from aftersales.common.errors import Conflict
from aftersales.mobility import services
from aftersales.mobility.models import CourtesyBooking


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_car_one_wins(fleet):
    barrier = threading.Barrier(2)
    results: list[str] = []

    def attempt(offset_minutes: int) -> None:
        try:
            barrier.wait(timeout=10)
            services.courtesy_book(
                actor=fleet.world.advisor, order=fleet.order, car=fleet.car,
                starts_at=fleet.start + dt.timedelta(minutes=offset_minutes), ends_at=fleet.end,
            )
            results.append("booked")
        except Conflict as exc:
            results.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in (0, 30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["booked", "overlap"]
    assert CourtesyBooking.objects.filter(car=fleet.car).count() == 1


@pytest.mark.django_db
def test_overlap_written_past_the_service(fleet):
    """PostgreSQL: the exclusion constraint refuses it. SQLite has no such constraint (the migration skips it); there
    the service's serialized check is the only guard, and it sees the overlap."""
    services.courtesy_book(actor=fleet.world.advisor, order=fleet.order, car=fleet.car, starts_at=fleet.start, ends_at=fleet.end)
    later = fleet.start + dt.timedelta(hours=1)
    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError), transaction.atomic():
            CourtesyBooking.objects.create(store=fleet.world.a, car=fleet.car, order=fleet.order, customer=fleet.order.customer,
                                           starts_at=later, ends_at=fleet.end)
    else:
        assert services.overlapping(fleet.car.pk, later, fleet.end).count() == 1
    # cancelled bookings do not hold the car
    CourtesyBooking.objects.create(store=fleet.world.a, car=fleet.car, order=fleet.order, customer=fleet.order.customer,
                                   starts_at=fleet.start, ends_at=fleet.end, status="cancelled")
