"""The race for the last unit: many threads, each with its own database connection, issue or reserve at once.

SQLite serialises writers (IMMEDIATE transactions, 20 s busy timeout); PostgreSQL serialises them on the stock item's
row lock (SELECT ... FOR UPDATE). Either way exactly the available quantity goes out, and every loser gets a domain
error the user can act on, never an IntegrityError or a database error.
"""

from __future__ import annotations

import threading
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection

from aftersales.common.errors import ValidationFailed
from aftersales.common.tests.factories import make_staff
from aftersales.parts.choices import ReservationStatus
from aftersales.parts.models import Part, Reservation, StockItem, StockMovement
from aftersales.parts.services import reserve, stock_issue, stock_receive
from aftersales.staff.models import User

from .test_ledger import assert_ledger_consistent, make_jobs

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def race(work, n: int = THREADS) -> list:
    """Run ``work(i)`` in ``n`` threads released together; each thread's result or exception, in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            prepared = work(i, None)  # per-thread set-up (own connection, own user object) before the start
            barrier.wait(timeout=30)
            results[i] = work(i, prepared)
        except BaseException as exc:  # reported per thread and checked by the test
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


def outcome(results: list) -> Counter:
    """'ok' or the domain error code of each thread; anything else (IntegrityError, OperationalError...) fails."""
    counts: Counter = Counter()
    for r in results:
        if isinstance(r, ValidationFailed):
            assert r.field == "quantity", r.as_dict()
            counts[r.code] += 1
        elif isinstance(r, BaseException):
            raise AssertionError(f"unexpected {type(r).__name__}: {r!r}") from r
        else:
            counts["ok"] += 1
    return counts


@pytest.fixture
def stocked(world):
    clerk = make_staff("parts_clerk", world.a)
    part = Part.objects.create(group=world.group, number="04465-33450", name_zh="前刹车片", unit="set", cost_price="300")
    part.refresh_from_db()
    stock_receive(actor=clerk, store=world.a, part=part, quantity="3", unit_cost="300")
    jobs = make_jobs(world.a, world.advisor, THREADS)
    return clerk, part, jobs


def test_many_issues_race_for_the_last_three_units(world, stocked):
    clerk, part, jobs = stocked

    def work(i, prepared):
        if prepared is None:
            return User.objects.get(pk=clerk.pk), Part.objects.get(pk=part.pk)
        actor, p = prepared
        return stock_issue(actor=actor, store=world.a, part=p, quantity="1", job=jobs[i])

    counts = outcome(race(work))
    assert counts["ok"] == 3, counts
    assert counts["insufficient_stock"] + counts["insufficient_available"] == THREADS - 3, counts
    item = StockItem.objects.get(store=world.a, part=part)
    assert item.on_hand == 0
    assert StockMovement.objects.filter(stock_item=item, kind="issue").count() == 3
    assert_ledger_consistent()


def test_many_reservations_race_for_the_last_units(world, stocked):
    clerk, part, jobs = stocked

    def work(i, prepared):
        if prepared is None:
            return Part.objects.get(pk=part.pk)
        return reserve(actor=clerk, store=world.a, part=prepared, quantity="1", source="job", reference=f"job:{jobs[i].pk}")

    counts = outcome(race(work))
    assert counts == Counter({"ok": 3, "insufficient_available": THREADS - 3}), counts
    item = StockItem.objects.get(store=world.a, part=part)
    assert (item.on_hand, item.reserved) == (3, 3)
    assert Reservation.objects.filter(stock_item=item, status=ReservationStatus.ACTIVE).count() == 3
    assert_ledger_consistent()


def test_issues_and_reservations_race_together(world, stocked):
    """Half the threads reserve, half issue: never more than 3 units promised or gone in total."""
    clerk, part, jobs = stocked

    def work(i, prepared):
        if prepared is None:
            return User.objects.get(pk=clerk.pk), Part.objects.get(pk=part.pk)
        actor, p = prepared
        if i % 2:
            return reserve(actor=actor, store=world.a, part=p, quantity="1", source="appointment", reference=f"appointment:{i}")
        return stock_issue(actor=actor, store=world.a, part=p, quantity="1", job=jobs[i])

    counts = outcome(race(work))
    assert counts["ok"] == 3, counts
    item = StockItem.objects.get(store=world.a, part=part)
    issued = StockMovement.objects.filter(stock_item=item, kind="issue").count()
    assert item.on_hand == 3 - issued and item.reserved == 3 - issued == item.on_hand
    assert_ledger_consistent()


def test_first_receipts_race_to_create_the_stock_item(world):
    """Nobody has stocked the part yet: every thread creates the stock item; one row, every receipt counted."""
    clerk = make_staff("parts_clerk", world.a)
    part = Part.objects.create(group=world.group, number="90915-YZZD1", name_zh="机油滤清器", unit="piece", cost_price="30")

    def work(i, prepared):
        if prepared is None:
            return User.objects.get(pk=clerk.pk), Part.objects.get(pk=part.pk)
        actor, p = prepared
        return stock_receive(actor=actor, store=world.a, part=p, quantity="2", unit_cost=str(30 + i))

    counts = outcome(race(work))
    assert counts == Counter({"ok": THREADS}), counts
    item = StockItem.objects.get(store=world.a, part=part)
    assert item.on_hand == 2 * THREADS
    # no lost update: replaying the receipts in ledger order gives the stored average exactly (rounded per step,
    # so the order matters in the last place), and every cost counted once: (30 + ... + 37) / 8 = 33.5
    avg, balance = Decimal(0), Decimal(0)
    for m in StockMovement.objects.filter(stock_item=item).order_by("id"):
        avg = ((balance * avg + m.quantity * m.unit_cost) / (balance + m.quantity)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        balance += m.quantity
    assert item.avg_cost == avg
    assert abs(item.avg_cost - Decimal("33.5")) <= Decimal("0.001")
    assert_ledger_consistent()
