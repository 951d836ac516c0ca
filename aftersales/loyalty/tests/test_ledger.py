"""The points ledger: invariants under any sequence of operations (Hypothesis), earning, redeeming, FIFO expiry,
reversals, idempotency and the balance copy on the customer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from aftersales.common.errors import DomainError
from aftersales.common.models import AuditEvent
from aftersales.customers.models import Customer
from aftersales.loyalty.models import Gift, LoyaltySettings, PointsAllocation, PointsEntry, Referral
from aftersales.loyalty.services import (
    add_months_end,
    earn_sweep,
    expiry_sweep,
    gift_redeem,
    ledger_check,
    points_adjust,
    points_earn_behaviour,
    points_earn_for_invoice,
    points_expire_customer,
    points_redeem_on_invoice,
    points_reverse,
    referral_create,
)

from .factories import customer_at, make_invoice, pay

pytestmark = pytest.mark.django_db


def assert_consistent(customer_id: int | None = None) -> None:
    """balance_after is the running sum; never negative; lots add up to the balance; the customer copy agrees."""
    customers = [customer_id] if customer_id else list(PointsEntry.objects.values_list("customer_id", flat=True).distinct())
    for cid in customers:
        running = 0
        for entry in PointsEntry.objects.filter(customer_id=cid).order_by("id"):
            running += entry.points
            assert entry.balance_after == running >= 0, (entry.pk, entry.balance_after, running)
            used = entry.uses.aggregate(s=Sum("points"))["s"] or 0
            if entry.points > 0:
                assert entry.remaining == entry.points - used, entry.pk
            else:
                assert entry.remaining == 0 and used == 0
                assert (entry.allocations.aggregate(s=Sum("points"))["s"] or 0) == -entry.points, entry.pk
        lots = PointsEntry.objects.filter(customer_id=cid).aggregate(s=Sum("remaining"))["s"] or 0
        assert lots == running
        assert Customer.objects.get(pk=cid).points_balance == running
    assert ledger_check() == []


def balance(customer) -> int:
    return Customer.objects.get(pk=customer.pk).points_balance


# ---- the state machine ------------------------------------------------------------------------------------------
class PointsMachine(RuleBasedStateMachine):
    """A model of one customer's balance; every service call is checked against it, refusals change nothing."""

    ctx: dict = {}

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        c = self.ctx
        self.store, self.manager, self.cashier = c["store"], c["manager"], c["cashier"]
        self.customer = customer_at(self.store)
        self.balance = 0
        self.keys: dict[str, int] = {}
        self.n = 0
        self.entries: list[PointsEntry] = []

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def snapshot(self) -> tuple:
        return (PointsEntry.objects.count(), PointsAllocation.objects.count(), balance(self.customer),
                list(PointsEntry.objects.order_by("id").values_list("remaining", flat=True)))

    def refused(self, call, code: str | set[str]) -> None:
        before = self.snapshot()
        with pytest.raises(DomainError) as info:
            call()
        codes = {code} if isinstance(code, str) else code
        assert info.value.code in codes, info.value.as_dict()
        assert info.value.field, info.value.as_dict()
        assert self.snapshot() == before

    @rule(amount=st.integers(0, 3000), months_ago=st.integers(0, 30))
    def paid_invoice_earns(self, amount, months_ago):
        at = timezone.now() - dt.timedelta(days=30 * months_ago)
        invoice = make_invoice(self.store, self.customer, lines=[("maintenance", "labour", "OIL", f"{amount}.50")], paid=True, at=at)
        entry = points_earn_for_invoice(invoice=invoice)
        if amount == 0:  # 0.50 CNY earns nothing (rounded down): no entry
            assert entry is None and points_earn_for_invoice(invoice=invoice) is None
            return
        assert entry is not None and entry.points == amount
        self.balance += amount
        self.entries.append(entry)
        assert points_earn_for_invoice(invoice=invoice).pk == entry.pk  # again: the same entry, nothing more

    @rule(behaviour=st.sampled_from(["checkin", "review", "sharing"]), key=st.integers(0, 3))
    def behaviour(self, behaviour, key):
        k = f"{behaviour}:{key}"
        entry = points_earn_behaviour(actor=self.cashier, customer=self.customer, store=self.store, behaviour=behaviour,
                                      source_key=f"{self.customer.pk}:{key}")
        if k not in self.keys:
            self.keys[k] = entry.pk
            self.balance += entry.points
            self.entries.append(entry)
        else:
            assert entry.pk == self.keys[k]

    @rule(points=st.integers(1, 4000), share=st.sampled_from(["0.10", "0.50", "1.00"]))
    def redeem_on_invoice(self, points, share):
        invoice = make_invoice(self.store, self.customer, lines=[("repair", "part", "P1", "30.00")])
        self.n += 1
        key = f"r{self.customer.pk}-{self.n}"
        call = lambda: points_redeem_on_invoice(  # noqa: E731
            actor=self.cashier, customer=self.customer, invoice=invoice, points=points, idempotency_key=key
        )
        cap = Decimal("15.00")  # the default 50% of 30.00
        value = Decimal(points) / 100
        if points > self.balance and value <= cap:
            self.refused(call, "insufficient_points")
        elif value > cap:
            self.refused(call, {"points_over_cap", "insufficient_points"})
        else:
            assert call() == value.quantize(Decimal("0.01"))
            self.balance -= points
            assert call() == value.quantize(Decimal("0.01"))  # same key: nothing more spent

    @rule(points=st.integers(-3000, 3000))
    def adjust(self, points):
        self.n += 1
        call = lambda: points_adjust(actor=self.manager, customer=self.customer, store=self.store, points=points,  # noqa: E731
                                     reason="盘点更正", idempotency_key=f"a{self.customer.pk}-{self.n}")
        if points == 0:
            self.refused(call, "points_not_positive")
        elif self.balance + points < 0:
            self.refused(call, "insufficient_points")
        else:
            entry = call()
            self.balance += points
            if points > 0:
                self.entries.append(entry)

    @rule(bad=st.sampled_from(["", "x", "1.5", "-", "99999999999"]))
    def bad_points(self, bad):
        self.refused(lambda: points_adjust(actor=self.manager, customer=self.customer, store=self.store, points=bad,
                                           reason="更正", idempotency_key="bad"),
                     {"points_format", "points_too_large"})

    @rule(data=st.data())
    def reverse(self, data):
        candidates = [e for e in self.entries if not e.reversals.exists()]
        if not candidates:
            return
        entry = candidates[data.draw(st.integers(0, len(candidates) - 1))]
        if self.balance == 0:
            self.refused(lambda: points_reverse(actor=self.manager, entry=entry, reason="退款"), "insufficient_points")
            return
        reversal = points_reverse(actor=self.manager, entry=entry, reason="退款")
        assert reversal.points == -min(entry.points, self.balance)
        self.balance += reversal.points
        assert points_reverse(actor=self.manager, entry=entry, reason="退款").pk == reversal.pk

    @rule()
    def expiry(self):
        today = timezone.localtime(timezone.now(), self.store.zone).date()
        due = PointsEntry.objects.filter(customer=self.customer, remaining__gt=0, expires_on__lt=today).aggregate(
            s=Sum("remaining"))["s"] or 0
        points_expire_customer(customer=self.customer, today=today)
        self.balance -= due
        assert points_expire_customer(customer=self.customer, today=today) == []  # again: nothing more

    @invariant()
    def ledger_matches_model(self):
        assert balance(self.customer) == self.balance >= 0
        assert_consistent(self.customer.pk)


def test_any_sequence_of_operations_keeps_the_ledger_consistent(world):
    PointsMachine.ctx = {"store": world.a, "manager": world.manager, "cashier": world.staff["cashier"]}
    run_state_machine_as_test(
        PointsMachine,
        settings=settings(max_examples=25, stateful_step_count=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )


# ---- earning ----------------------------------------------------------------------------------------------------
def test_paid_invoice_earns_once_at_the_store_rate(world):
    LoyaltySettings.objects.create(store=world.a, points_per_cny=Decimal("2"))
    zhang = customer_at(world.a)
    invoice = make_invoice(world.a, zhang, lines=[("maintenance", "labour", "OIL", "680.90")])
    assert points_earn_for_invoice(invoice=invoice) is None  # not paid yet
    pay(invoice)
    entry = points_earn_for_invoice(invoice=invoice)
    assert (entry.kind, entry.source, entry.points, entry.invoice_id) == ("earn", "purchase", 1361, invoice.pk)
    assert points_earn_for_invoice(invoice=invoice).pk == entry.pk
    assert earn_sweep() == 0
    assert PointsEntry.objects.count() == 1 and balance(zhang) == 1361
    assert AuditEvent.objects.filter(action="points.earned", customer=zhang).count() == 1


def test_sweep_finds_paid_invoices_billing_did_not_report_but_not_old_history(world):
    zhang = customer_at(world.a)
    recent = make_invoice(world.a, zhang, paid=True)
    old = make_invoice(world.a, zhang, paid=True, at=timezone.now() - dt.timedelta(days=400))
    unpaid = make_invoice(world.a, zhang)
    assert earn_sweep() == 1
    assert earn_sweep() == 0
    assert set(PointsEntry.objects.values_list("invoice_id", flat=True)) == {recent.pk}
    assert old.pk != unpaid.pk
    assert balance(zhang) == 1000


def test_points_paid_with_points_do_not_earn(world):
    zhang = customer_at(world.a)
    points_adjust(actor=world.manager, customer=zhang, store=world.a, points=5000, reason="开户赠送", idempotency_key="k0")
    invoice = make_invoice(world.a, zhang, lines=[("repair", "labour", "L", "200.00")])
    assert points_redeem_on_invoice(actor=world.manager, customer=zhang, invoice=invoice, points=5000, idempotency_key="k1") == Decimal("50.00")
    pay(invoice)
    assert points_earn_for_invoice(invoice=invoice).points == 150
    assert balance(zhang) == 150


def test_behaviour_points_are_idempotent_by_source_key_and_configurable(world):
    zhang = customer_at(world.a)
    first = points_earn_behaviour(actor=world.advisor, customer=zhang, store=world.a, behaviour="checkin", source_key="appt:7")
    again = points_earn_behaviour(actor=world.advisor, customer=zhang, store=world.a, behaviour="checkin", source_key="appt:7")
    assert first.pk == again.pk and first.points == 10
    LoyaltySettings.objects.create(store=world.a, review_points=0)
    with pytest.raises(DomainError) as info:
        points_earn_behaviour(actor=world.advisor, customer=zhang, store=world.a, behaviour="review", source_key="fb:1")
    assert info.value.code == "behaviour_not_rewarded"
    with pytest.raises(DomainError) as info:
        points_earn_behaviour(actor=world.advisor, customer=zhang, store=world.a, behaviour="bogus", source_key="x")
    assert (info.value.code, info.value.field) == ("invalid_choice", "behaviour")
    assert balance(zhang) == 10


def test_source_key_is_unique_in_the_database(world):
    zhang = customer_at(world.a)
    points_earn_behaviour(actor=world.advisor, customer=zhang, store=world.a, behaviour="checkin", source_key="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.create(group=world.group, customer=zhang, store=world.a, kind="earn", source="checkin",
                                   points=5, balance_after=15, remaining=5, source_key="checkin:a")


def test_negative_balance_is_refused_by_the_database_too(world):
    zhang = customer_at(world.a)
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.create(group=world.group, customer=zhang, store=world.a, kind="adjust", source="manual",
                                   points=-5, balance_after=-5, source_key="raw")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=zhang.pk).update(points_balance=-1)


# ---- redeeming --------------------------------------------------------------------------------------------------
def test_redeem_on_invoice_returns_cny_and_respects_cap_and_customer(world):
    zhang, li = customer_at(world.a), customer_at(world.a)
    points_adjust(actor=world.manager, customer=zhang, store=world.a, points=20000, reason="开户", idempotency_key="o")
    invoice = make_invoice(world.a, zhang, lines=[("repair", "labour", "L", "300.00")])
    with pytest.raises(DomainError) as info:
        points_redeem_on_invoice(actor=world.manager, customer=zhang, invoice=invoice, points=15001, idempotency_key="r0")
    assert (info.value.code, info.value.field) == ("points_over_cap", "points")
    assert "150.00" in str(info.value.message)
    assert points_redeem_on_invoice(actor=world.manager, customer=zhang, invoice=invoice, points=10000, idempotency_key="r1") == Decimal("100.00")
    with pytest.raises(DomainError) as info:  # the cap counts what was already redeemed on the invoice
        points_redeem_on_invoice(actor=world.manager, customer=zhang, invoice=invoice, points=6000, idempotency_key="r2")
    assert info.value.code == "points_over_cap"
    with pytest.raises(DomainError) as info:
        points_redeem_on_invoice(actor=world.manager, customer=li, invoice=invoice, points=100, idempotency_key="r3")
    assert (info.value.code, info.value.field) == ("invoice_other_customer", "invoice")
    pay(invoice)
    with pytest.raises(DomainError) as info:
        points_redeem_on_invoice(actor=world.manager, customer=zhang, invoice=invoice, points=100, idempotency_key="r4")
    assert info.value.code == "invoice_not_open"
    assert balance(zhang) == 10000
    assert_consistent()


def test_redeem_scoping_and_roles(world):
    zhang = customer_at(world.a)
    invoice = make_invoice(world.a, zhang)
    with pytest.raises(DomainError) as info:
        points_redeem_on_invoice(actor=world.manager_b, customer=zhang, invoice=invoice, points=100, idempotency_key="x")
    assert info.value.code == "store_not_allowed"
    with pytest.raises(DomainError) as info:
        points_redeem_on_invoice(actor=world.technician, customer=zhang, invoice=invoice, points=100, idempotency_key="x")
    assert info.value.code == "permission_denied"
    with pytest.raises(DomainError) as info:
        points_adjust(actor=world.advisor, customer=zhang, store=world.a, points=100, reason="why not", idempotency_key="y")
    assert info.value.code == "permission_denied"


def test_gift_redemption_takes_points_and_stock(world):
    zhang = customer_at(world.a)
    gift = Gift.objects.create(store=world.a, name_zh="车载香薰", name_en="Car fragrance", points_cost=800, stock=1)
    with pytest.raises(DomainError) as info:
        gift_redeem(actor=world.manager, customer=zhang, gift=gift, idempotency_key="g0")
    assert info.value.code == "insufficient_points"
    points_adjust(actor=world.manager, customer=zhang, store=world.a, points=2000, reason="活动", idempotency_key="o")
    r = gift_redeem(actor=world.manager, customer=zhang, gift=gift, idempotency_key="g1")
    assert gift_redeem(actor=world.manager, customer=zhang, gift=gift, idempotency_key="g1").pk == r.pk
    assert r.entry.points == -800 and balance(zhang) == 1200
    with pytest.raises(DomainError) as info:
        gift_redeem(actor=world.manager, customer=zhang, gift=gift, idempotency_key="g2")
    assert (info.value.code, info.value.field) == ("gift_out_of_stock", "gift")
    gift.refresh_from_db()
    assert gift.stock == 0 and balance(zhang) == 1200


# ---- expiry (FIFO lots) -----------------------------------------------------------------------------------------
def test_expiry_date_is_end_of_the_24th_month():
    assert add_months_end(dt.date(2026, 1, 15), 24) == dt.date(2028, 1, 31)
    assert add_months_end(dt.date(2026, 12, 1), 24) == dt.date(2028, 12, 31)
    assert add_months_end(dt.date(2026, 2, 28), 12) == dt.date(2027, 2, 28)
    assert add_months_end(dt.date(2027, 2, 3), 12) == dt.date(2028, 2, 29)


def test_spending_takes_the_oldest_lot_first_and_expiry_takes_what_is_left(world):
    zhang = customer_at(world.a)
    now = timezone.now()
    old = points_earn_for_invoice(invoice=make_invoice(world.a, zhang, paid=True, at=now - dt.timedelta(days=760)))  # 1000
    new = points_earn_for_invoice(invoice=make_invoice(world.a, zhang, lines=[("repair", "labour", "L", "500")], paid=True, at=now))
    assert old.expires_on < new.expires_on
    invoice = make_invoice(world.a, zhang, lines=[("repair", "labour", "L", "4000")])
    points_redeem_on_invoice(actor=world.manager, customer=zhang, invoice=invoice, points=1200, idempotency_key="k")
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.remaining, new.remaining) == (0, 300)  # 1000 from the old lot, 200 from the new one
    points_adjust(actor=world.manager, customer=zhang, store=world.a, points=400, reason="补偿", idempotency_key="adj")
    # the old lot had nothing left; move the new lot's date into the past to expire it
    PointsEntry.objects.filter(pk=new.pk).update(expires_on=dt.date(2020, 1, 31))
    assert expiry_sweep() == 1
    assert expiry_sweep() == 0
    expired = PointsEntry.objects.get(kind="expire")
    assert (expired.points, expired.source_key) == (-300, f"expire:{new.pk}")
    assert list(expired.allocations.values_list("lot_id", "points")) == [(new.pk, 300)]
    assert balance(zhang) == 400
    assert_consistent()


def test_store_without_expiry_never_expires(world):
    LoyaltySettings.objects.create(store=world.a, expiry_months=0)
    zhang = customer_at(world.a)
    entry = points_earn_behaviour(actor=world.advisor, customer=zhang, store=world.a, behaviour="review", source_key="1")
    assert entry.expires_on is None
    assert points_expire_customer(customer=zhang, today=dt.date(2099, 1, 1)) == []


# ---- reversals --------------------------------------------------------------------------------------------------
def test_reversing_a_redemption_gives_the_points_back_with_their_expiry(world):
    zhang = customer_at(world.a)
    lot = points_earn_for_invoice(invoice=make_invoice(world.a, zhang, paid=True))
    invoice = make_invoice(world.a, zhang, lines=[("repair", "labour", "L", "100")])
    points_redeem_on_invoice(actor=world.manager, customer=zhang, invoice=invoice, points=500, idempotency_key="k")
    redeem = PointsEntry.objects.get(kind="redeem")
    back = points_reverse(actor=world.manager, entry=redeem, reason="发票作废")
    assert (back.points, back.expires_on, back.reverses_id) == (500, lot.expires_on, redeem.pk)
    assert balance(zhang) == 1000
    with pytest.raises(DomainError):
        points_reverse(actor=world.manager, entry=back, reason="again")
    assert_consistent()


def test_reversing_an_earn_already_spent_takes_only_what_is_left(world):
    zhang = customer_at(world.a)
    earn = points_earn_for_invoice(invoice=make_invoice(world.a, zhang, paid=True))
    invoice = make_invoice(world.a, zhang, lines=[("repair", "labour", "L", "20")])
    points_redeem_on_invoice(actor=world.manager, customer=zhang, invoice=invoice, points=800, idempotency_key="k")  # 8 CNY of 20
    back = points_reverse(actor=world.manager, entry=earn, reason="退款")
    assert back.points == -200 and balance(zhang) == 0
    assert "200" in back.note
    assert_consistent()


# ---- the customer copy --------------------------------------------------------------------------------------------
def test_check_finds_and_repairs_a_drifted_customer_balance(world):
    zhang = customer_at(world.a)
    points_earn_behaviour(actor=world.advisor, customer=zhang, store=world.a, behaviour="checkin", source_key="1")
    Customer.objects.filter(pk=zhang.pk).update(points_balance=999)
    assert ledger_check() == [{"customer_id": zhang.pk, "ledger": 10, "customer": 999, "lots": 10}]
    ledger_check(repair=True)
    assert ledger_check() == [] and balance(zhang) == 10


# ---- referrals ----------------------------------------------------------------------------------------------------
def test_referral_qualifies_on_first_paid_visit_and_rewards_the_referrer(world):
    wang, newbie = customer_at(world.a), customer_at(world.a)
    ref = referral_create(actor=world.advisor, referrer=wang, referred=newbie, store=world.a)
    assert (ref.status, ref.staff_id) == ("pending", world.advisor.pk)
    invoice = make_invoice(world.a, newbie, paid=True)
    points_earn_for_invoice(invoice=invoice)
    ref.refresh_from_db()
    assert ref.status == "rewarded" and ref.invoice_id == invoice.pk
    assert list(ref.events.values_list("to_state", flat=True)) == ["pending", "qualified", "rewarded"]
    assert (ref.reward_entry.customer_id, ref.reward_entry.points, ref.reward_entry.source) == (wang.pk, 500, "referral")
    assert balance(wang) == 500 and balance(newbie) == 1000
    # a second paid visit changes nothing for the referral
    points_earn_for_invoice(invoice=make_invoice(world.a, newbie, paid=True))
    assert balance(wang) == 500
    assert_consistent()


def test_referral_refusals(world):
    wang, newbie, old = customer_at(world.a), customer_at(world.a), customer_at(world.a)
    make_invoice(world.a, old, paid=True)
    cases = [
        ({"referrer": wang, "referred": wang}, "referral_self", "referrer"),
        ({"referrer": wang, "referred": old}, "not_a_new_customer", "referred"),
        ({"referrer": wang, "referred": newbie, "staff": world.advisor_b}, "staff_not_at_store", "staff"),
    ]
    for kwargs, code, field in cases:
        with pytest.raises(DomainError) as info:
            referral_create(actor=world.advisor, store=world.a, **kwargs)
        assert (info.value.code, info.value.field) == (code, field)
    referral_create(actor=world.advisor, referrer=wang, referred=newbie, store=world.a)
    for referrer, referred in ((old, newbie), (newbie, wang)):
        with pytest.raises(DomainError) as info:
            referral_create(actor=world.advisor, referrer=referrer, referred=referred, store=world.a)
        assert info.value.code == "already_referred"
    assert Referral.objects.count() == 1


def test_sweep_rewards_a_referral_whose_customer_paid(world):
    wang, newbie = customer_at(world.a), customer_at(world.a)
    referral_create(actor=world.advisor, referrer=wang, referred=newbie, store=world.a)
    make_invoice(world.a, newbie, paid=True)
    earn_sweep()
    assert Referral.objects.get().status == "rewarded"
    assert balance(wang) == 500
