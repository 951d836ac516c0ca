"""Races: many threads, each with its own database connection, spend the same points or use the same voucher.

SQLite serialises writers; PostgreSQL serialises them on the customer's (or voucher's) row lock. Exactly what the
balance allows goes out, the balance never goes negative, and every loser gets a domain error it can act on.
"""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from aftersales.common.errors import DomainError
from aftersales.customers.models import Customer
from aftersales.loyalty.models import PointsEntry, Voucher
from aftersales.loyalty.services import (
    gift_redeem,
    points_adjust,
    points_earn_for_invoice,
    points_redeem_on_invoice,
    voucher_issue,
    voucher_redeem,
)
from aftersales.staff.models import User

from .factories import customer_at, make_invoice, template
from .test_ledger import assert_consistent

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def race(work, n: int = THREADS) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            prepared = work(i, None)
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
    counts: Counter = Counter()
    for r in results:
        if isinstance(r, DomainError):
            counts[r.code] += 1
        elif isinstance(r, BaseException):
            raise AssertionError(f"unexpected {type(r).__name__}: {r!r}") from r
        else:
            counts["ok"] += 1
    return counts


def test_concurrent_redemptions_never_overspend(world):
    cashier = world.staff["cashier"]
    zhang = customer_at(world.a)
    points_adjust(actor=world.manager, customer=zhang, store=world.a, points=1000, reason="开户", idempotency_key="o")
    invoices = [make_invoice(world.a, zhang) for _ in range(THREADS)]

    def work(i, prepared):
        if prepared is None:
            return User.objects.get(pk=cashier.pk)
        return points_redeem_on_invoice(actor=prepared, customer=zhang, invoice=invoices[i], points=400,
                                        idempotency_key=f"race-{i}")

    counts = outcome(race(work))
    assert counts == Counter({"ok": 2, "insufficient_points": THREADS - 2}), counts
    assert Customer.objects.get(pk=zhang.pk).points_balance == 200
    assert PointsEntry.objects.filter(kind="redeem").count() == 2
    assert_consistent()


def test_the_same_request_sent_many_times_spends_once(world):
    zhang = customer_at(world.a)
    points_adjust(actor=world.manager, customer=zhang, store=world.a, points=1000, reason="开户", idempotency_key="o")
    invoice = make_invoice(world.a, zhang)

    def work(i, prepared):
        if prepared is None:
            return True
        return points_redeem_on_invoice(actor=world.manager, customer=zhang, invoice=invoice, points=300,
                                        idempotency_key="one-click")

    results = race(work)
    assert outcome(results) == Counter({"ok": THREADS})
    assert set(results) == {Decimal("3.00")}
    assert Customer.objects.get(pk=zhang.pk).points_balance == 700
    assert_consistent()


def test_a_paid_invoice_reported_many_times_earns_once(world):
    zhang = customer_at(world.a)
    invoice = make_invoice(world.a, zhang, paid=True)

    def work(i, prepared):
        return True if prepared is None else points_earn_for_invoice(invoice=invoice)

    results = race(work)
    outcome(results)
    assert len({r.pk for r in results}) == 1
    assert Customer.objects.get(pk=zhang.pk).points_balance == 1000
    assert_consistent()


def test_mixed_gift_and_invoice_redemptions_race(world):
    from aftersales.loyalty.models import Gift

    zhang = customer_at(world.a)
    points_adjust(actor=world.manager, customer=zhang, store=world.a, points=1000, reason="开户", idempotency_key="o")
    gift = Gift.objects.create(store=world.a, name_zh="雨刷", points_cost=300, stock=10)
    invoices = [make_invoice(world.a, zhang) for _ in range(THREADS)]

    def work(i, prepared):
        if prepared is None:
            return True
        if i % 2:
            return gift_redeem(actor=world.manager, customer=zhang, gift=gift, idempotency_key=f"g{i}")
        return points_redeem_on_invoice(actor=world.manager, customer=zhang, invoice=invoices[i], points=300,
                                        idempotency_key=f"r{i}")

    counts = outcome(race(work))
    assert counts["ok"] == 3 and counts["insufficient_points"] == THREADS - 3, counts
    assert Customer.objects.get(pk=zhang.pk).points_balance == 100
    assert_consistent()


def test_concurrent_voucher_redemptions_exactly_one_wins(world):
    zhang = customer_at(world.a)
    voucher = voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=template(world.group), reason="")
    invoices = [make_invoice(world.a, zhang) for _ in range(THREADS)]

    def work(i, prepared):
        if prepared is None:
            return Voucher.objects.get(pk=voucher.pk)
        return voucher_redeem(actor=world.manager, voucher=prepared, invoice=invoices[i], idempotency_key=f"v{i}")

    counts = outcome(race(work))
    assert counts == Counter({"ok": 1, "voucher_used": THREADS - 1}), counts
    voucher.refresh_from_db()
    assert voucher.status == "redeemed" and voucher.discount == Decimal("50.00")
    assert voucher.events.filter(to_state="redeemed").count() == 1
