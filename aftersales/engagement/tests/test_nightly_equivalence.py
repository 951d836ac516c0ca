"""The nightly set-based recompute gives, for every customer, exactly what the per-customer selector says."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.engagement.models import CustomerTier, TierSettings
from aftersales.engagement.rules import months_before
from aftersales.engagement.selectors import tier_as_of
from aftersales.engagement.services import tier_recompute_all

from .helpers import imported, paid_order

pytestmark = pytest.mark.django_db


def _population(world, rng: random.Random, as_of: dt.date, size: int) -> list:
    customers = []
    # boundary dates are over-represented: exactly N months before, and the day after
    specials = [months_before(as_of, n) + dt.timedelta(days=k) for n in (1, 3, 6, 12) for k in (-1, 0, 1)]
    for i in range(size):
        store = world.a if i % 3 else world.b
        customer = CustomerFactory(home_store=store)
        customers.append(customer)
        car = None
        if rng.random() < 0.7:
            bought = as_of - dt.timedelta(days=rng.randint(0, 900)) if rng.random() < 0.8 else rng.choice(specials)
            car = VehicleFactory(owner=customer, purchase_date=bought)
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 4, 5, 6])):
            day = rng.choice(specials) if rng.random() < 0.4 else as_of - dt.timedelta(days=rng.randint(-20, 500))
            amount = Decimal(rng.choice([500, 2000, 3750, 4000, 5000, 7499.99, 15000])).quantize(Decimal("0.01"))
            if car is not None and rng.random() < 0.3:
                paid_order(world, customer, car, day, amount, pay=rng.random() < 0.85, deliver=rng.random() < 0.9,
                           store=store)
            else:
                refunded = amount if rng.random() < 0.1 else Decimal("0.00")
                imported(customer, day, amount, refunded=refunded, store=store)
    return customers


@pytest.mark.parametrize("seed", [7, 2026])
def test_set_based_equals_selector(world, seed):
    rng = random.Random(seed)
    as_of = dt.date(2026, 8, 31) if seed == 7 else dt.date(2026, 3, 31)
    TierSettings.objects.create(store=world.b, a_min_visits=3, a_min_amount=Decimal("10000"), d_lapsed_months=5)
    customers = _population(world, rng, as_of, 45)
    tier_recompute_all(as_of=as_of)
    stored = {row.customer_id: row for row in CustomerTier.objects.all()}
    tiers = set()
    for customer in customers:
        ref = tier_as_of(customer, as_of)
        row = stored[customer.pk]
        assert (row.tier, row.reason, row.f, row.m, row.last_visit, row.r_days, row.visits_total) == (
            ref.tier, ref.reason, ref.f, ref.m, ref.last_visit, ref.r_days, ref.visits_total
        ), customer.pk
        tiers.add(row.tier)
    assert tiers == {"A", "B", "C", "D"}  # the population exercises every tier


def test_value_classes_follow_rank(world):
    """Customer classes by value rank within the store: top 10% VIP, next 20% key, the rest basic."""
    as_of = dt.date(2026, 8, 31)
    customers = []
    for i in range(10):
        customer = CustomerFactory(home_store=world.a)
        imported(customer, dt.date(2026, 8, 1), str(1000 * (i + 1)))
        customers.append(customer)
    tier_recompute_all(as_of=as_of)
    classes = [CustomerTier.objects.get(customer=c).value_class for c in customers]
    assert classes == ["basic"] * 7 + ["key"] * 2 + ["vip"]
