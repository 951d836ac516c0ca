"""SPEC §10 tiers on hand-built histories: every boundary, checked on the Python reference AND the set-based SQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.billing.models import Invoice
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.engagement import tiersql
from aftersales.engagement.models import CustomerTier, TierChange, TierSettings
from aftersales.engagement.rules import months_before
from aftersales.engagement.selectors import tier_as_of
from aftersales.engagement.services import tier_recompute_all, tier_recompute_customer

from .helpers import imported, paid_order

pytestmark = pytest.mark.django_db
D = dt.date(2026, 8, 31)


def both(customer, as_of=D):
    """The tier from the reference selector, asserted equal to the set-based SQL's."""
    ref = tier_as_of(customer, as_of)
    (row,) = tiersql.compute_rows(as_of, [customer.pk])
    assert (row["tier"], row["reason"], row["f"], Decimal(str(row["m"])).quantize(Decimal("0.01"))) == (
        ref.tier, ref.reason, ref.f, ref.m.quantize(Decimal("0.01"))
    )
    last = row["last_visit"]
    assert (str(last) if last is not None else None) == (ref.last_visit.isoformat() if ref.last_visit else None)
    assert row["r_days"] == ref.r_days
    return ref


@pytest.mark.parametrize(("day", "months", "expected"), [
    (dt.date(2026, 8, 31), 6, dt.date(2026, 2, 28)),
    (dt.date(2024, 8, 31), 6, dt.date(2024, 2, 29)),
    (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2026, 1, 15), 12, dt.date(2025, 1, 15)),
    (dt.date(2026, 5, 31), 3, dt.date(2026, 2, 28)),
    (dt.date(2026, 12, 31), 3, dt.date(2026, 9, 30)),
])
def test_calendar_months(day, months, expected):
    assert months_before(day, months) == expected


@pytest.fixture
def customer(world):
    return CustomerFactory(home_store=world.a)


def test_no_visit_no_car_is_new(customer):
    result = both(customer)
    assert (result.tier, result.reason, result.r_days, result.f) == ("C", "c_no_visit", None, 0)


@pytest.mark.parametrize(("bought", "tier"), [
    (dt.date(2026, 2, 28), "D"),  # exactly 6 months before 2026-08-31 (month end), never serviced
    (dt.date(2025, 6, 1), "D"),
    (dt.date(2026, 3, 1), "C"),  # less than 6 months: still a new customer waiting for the first service
])
def test_car_bought_never_serviced(customer, bought, tier):
    VehicleFactory(owner=customer, purchase_date=bought)
    assert both(customer).tier == tier


def test_car_bought_six_months_ago_with_a_visit_is_not_lapsed(world, customer):
    car = VehicleFactory(owner=customer, purchase_date=dt.date(2026, 2, 1))
    imported(customer, dt.date(2026, 5, 1), "800")
    assert both(customer).tier == "B"
    assert car.purchase_date


@pytest.mark.parametrize(("as_of", "visit", "tier"), [
    (dt.date(2026, 5, 31), dt.date(2026, 4, 30), "C"),  # 31 days ago, and on D − 1 month (April has 30 days)
    (dt.date(2026, 7, 1), dt.date(2026, 5, 31), "B"),  # 31 days ago but before D − 1 month (2026-06-01)
    (dt.date(2026, 8, 31), dt.date(2026, 7, 31), "C"),  # exactly one calendar month ago: within
    (dt.date(2026, 8, 31), dt.date(2026, 7, 30), "B"),
])
def test_one_visit_about_a_month_ago(customer, as_of, visit, tier):
    imported(customer, visit, "600")
    assert both(customer, as_of).tier == tier


@pytest.mark.parametrize(("last", "tier"), [
    (dt.date(2026, 2, 28), "D"),  # exactly 6 months ago (2026-08-31 − 6 months): "6 months ago or more"
    (dt.date(2026, 3, 1), "B"),
])
def test_exactly_six_months(customer, last, tier):
    imported(customer, dt.date(2025, 12, 1), "500")
    imported(customer, last, "500")
    assert both(customer).tier == tier


def _loyal(customer, last, *, count=4, each="4000"):
    days = [dt.date(2025, 10, 1), dt.date(2025, 12, 1), dt.date(2026, 2, 1), dt.date(2026, 4, 1)][: count - 1]
    for day in [*days, last]:
        imported(customer, day, each)


@pytest.mark.parametrize(("last", "tier"), [
    (dt.date(2026, 5, 31), "A"),  # exactly 3 months before 2026-08-31: within
    (dt.date(2026, 5, 30), "B"),
])
def test_exactly_three_months(customer, last, tier):
    _loyal(customer, last)
    assert both(customer).tier == tier


@pytest.mark.parametrize(("count", "tier"), [(4, "A"), (3, "B")])
def test_f_equals_four(customer, count, tier):
    _loyal(customer, dt.date(2026, 8, 1), count=count, each="6000")
    result = both(customer)
    assert (result.f, result.tier) == (count, tier)


@pytest.mark.parametrize(("last_amount", "tier"), [("3000.00", "A"), ("2999.99", "B")])
def test_m_equals_15000(customer, last_amount, tier):
    _loyal(customer, dt.date(2026, 8, 1), count=4, each="4000")
    # replace the last visit's amount: 3 × 4000 + last
    customer.imported_visits.filter(visit_date=dt.date(2026, 8, 1)).update(amount_paid=Decimal(last_amount))
    result = both(customer)
    assert (result.m, result.tier) == (Decimal("12000") + Decimal(last_amount), tier)


def test_twelve_month_window_excludes_its_first_day(customer):
    imported(customer, dt.date(2025, 8, 31), "9000")  # D − 12 months: not in "the last 12 months"
    imported(customer, dt.date(2025, 9, 1), "1000")
    imported(customer, dt.date(2026, 8, 30), "1000")
    result = both(customer)
    assert (result.f, result.m, result.visits_total, result.tier) == (2, Decimal("2000"), 3, "B")


def test_refunds_are_excluded_and_net(customer):
    _loyal(customer, dt.date(2026, 8, 1), count=4, each="4000")
    assert both(customer).tier == "A"
    imported(customer, dt.date(2026, 8, 20), "500", refunded="500")  # refunded in full: not a visit
    assert both(customer).f == 4
    customer.imported_visits.filter(visit_date=dt.date(2026, 8, 1)).update(amount_refunded=Decimal("1000.01"))
    result = both(customer)  # M net of refunds: 15,999.99 − … = 14,999.99
    assert (result.m, result.tier) == (Decimal("14999.99"), "B")


def test_visits_after_as_of_are_ignored(customer):
    imported(customer, dt.date(2026, 9, 1), "20000")
    assert both(customer).tier == "C"


def test_repair_orders_count_only_when_delivered_and_paid(world, customer):
    car = VehicleFactory(owner=customer)
    paid_order(world, customer, car, dt.date(2026, 8, 1), "700", deliver=False)
    paid_order(world, customer, car, dt.date(2026, 8, 2), "800", pay=False)
    assert both(customer).reason == "c_no_visit"
    order = paid_order(world, customer, car, dt.date(2026, 8, 3), "900")
    result = both(customer)
    assert (result.visits_total, result.m, result.last_visit, result.reason) == (
        1, Decimal("900.00"), dt.date(2026, 8, 3), "c_first_visit"
    )
    Invoice.objects.filter(order=order).update(status="void")  # refunded / voided invoices stop counting
    assert both(customer).reason == "c_no_visit"


def test_visit_date_is_the_stores_local_date(world, customer):
    car = VehicleFactory(owner=customer)
    # 2026-02-28 17:30 UTC is 2026-03-01 01:30 in Shanghai: the visit is on 1 March, not "6 months ago"
    paid_order(world, customer, car, dt.datetime(2026, 2, 28, 17, 30, tzinfo=dt.UTC), "500")
    imported(customer, dt.date(2025, 12, 1), "500")
    result = both(customer)
    assert (result.last_visit, result.tier) == (dt.date(2026, 3, 1), "B")


def test_thresholds_per_store(world, customer):
    _loyal(customer, dt.date(2026, 8, 1), count=3, each="6000")
    assert both(customer).tier == "B"
    TierSettings.objects.create(store=world.a, a_min_visits=3)
    assert both(customer).tier == "A"
    other = CustomerFactory(home_store=world.b)
    _loyal(other, dt.date(2026, 8, 1), count=3, each="6000")
    assert both(other).tier == "B"  # store B keeps the defaults


def test_nightly_records_changes_once(world, customer):
    imported(customer, dt.date(2026, 8, 1), "500")
    first = tier_recompute_all(as_of=D)
    assert first["new"] >= 1 and first["written"] == first["new"]
    row = CustomerTier.objects.get(customer=customer)
    assert (row.tier, row.reason, row.f, row.last_visit, row.r_days) == ("C", "c_first_visit", 1, dt.date(2026, 8, 1), 30)
    change = TierChange.objects.get(customer=customer)
    assert (change.old_tier, change.new_tier, change.changed_on) == ("", "C", D)
    again = tier_recompute_all(as_of=D)
    assert again["new"] == 0 and again["written"] == 0  # nothing changed: nothing rewritten
    assert again["changed"] == 0 and TierChange.objects.filter(customer=customer).count() == 1
    next_day = tier_recompute_all(as_of=D + dt.timedelta(days=2))  # 2026-09-02: C → B, one row rewritten
    row.refresh_from_db()
    assert (next_day["written"], row.tier, row.computed_on) == (1, "B", D + dt.timedelta(days=2))
    later = dt.date(2027, 2, 1)  # last visit 2026-08-01 is 6 months ago: D
    tier_recompute_all(as_of=later)
    row.refresh_from_db()
    assert (row.tier, row.since, row.computed_on) == ("D", later, later)
    latest = TierChange.objects.filter(customer=customer).order_by("-id").first()
    assert (latest.old_tier, latest.new_tier, latest.f, latest.reason) == ("B", "D", 1, "d_lapsed")


def test_recompute_after_paid_visit(world, customer, django_capture_on_commit_callbacks):
    from django.utils import timezone

    car = VehicleFactory(owner=customer)
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        paid_order(world, customer, car, today, "1200")
    row = CustomerTier.objects.get(customer=customer)
    assert (row.tier, row.reason, row.f, row.m) == ("C", "c_first_visit", 1, Decimal("1200.00"))
    assert TierChange.objects.filter(customer=customer, new_tier="C", source="visit").exists()


def test_recompute_customer_keeps_history(customer):
    imported(customer, dt.date(2026, 1, 10), "500")
    tier_recompute_customer(customer_id=customer.pk, as_of=dt.date(2026, 1, 20))
    tier_recompute_customer(customer_id=customer.pk, as_of=dt.date(2026, 3, 20))
    changes = list(TierChange.objects.filter(customer=customer).order_by("id").values_list("old_tier", "new_tier"))
    assert changes == [("", "C"), ("C", "B")]


def test_a_repair_orders_m_is_net_of_its_refunds(world, customer):
    """An invoice refunded in part and credited for the same amount is settled again (paid): M counts what stayed."""
    from aftersales.billing.models import Payment
    from aftersales.billing.services import credit_note_issue, refund_record

    car = VehicleFactory(owner=customer)
    order = paid_order(world, customer, car, dt.date(2026, 8, 3), "900")
    invoice = Invoice.objects.get(order=order)
    credit_note_issue(actor=world.manager, invoice=invoice, amount="200", reason="labour overcharged")
    refund_record(actor=world.manager, payment=Payment.objects.get(invoice=invoice), amount="200",
                  reason="labour overcharged", idempotency_key="r-net")
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.paid_amount - invoice.refunded_amount == Decimal("700.00")
    assert both(customer).m == Decimal("700.00")
