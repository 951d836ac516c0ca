"""Money going back takes loyalty with it: refunds and credit notes take back the points the invoice earned in
proportion (once per refund or credit note, never below zero), a refunded points payment gives points back, a
refunded voucher payment gives the voucher back, and the sweep repairs what the after-commit call missed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from aftersales.billing.models import Invoice, Refund
from aftersales.billing.services import (
    credit_note_issue,
    invoice_issue,
    invoice_pay_with_points,
    invoice_pay_with_voucher,
    payment_record,
    refund_record,
)
from aftersales.common.errors import Conflict, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.customers.models import Customer
from aftersales.loyalty.models import LoyaltySettings, PointsClawback, PointsEntry, Voucher
from aftersales.loyalty.services import (
    clawback_sweep,
    ledger_check,
    points_adjust,
    points_reverse,
    voucher_check,
    voucher_issue,
)
from aftersales.loyalty.tasks import earn_sweep
from aftersales.loyalty.tests.factories import template

from .helpers import recorded_visit

pytestmark = pytest.mark.django_db

THOUSAND = [{"kind": "labour", "description": "Engine repair", "quantity": 1, "unit_price": "1000.00"}]


def balance(customer) -> int:
    value = Customer.objects.get(pk=customer.pk).points_balance
    assert not ledger_check(), "the ledger and the customer's balance disagree"
    return value


@pytest.fixture
def issued(world):
    return invoice_issue(actor=world.advisor, order=recorded_visit(world, lines=THOUSAND))


@pytest.fixture
def paid(world, issued, django_capture_on_commit_callbacks):
    """¥1,000 paid by card; it earned 1,000 points (the default rate) once committed."""
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record(actor=world.staff["cashier"], invoice=issued, method="card", amount="1000.00",
                                 idempotency_key="card-1")
    assert balance(issued.customer) == 1000
    return issued, payment


def refund(world, payment, amount, key, capture, reason="customer dropped the job"):
    with capture(execute=True):
        return refund_record(actor=world.manager, payment=payment, amount=amount, reason=reason, idempotency_key=key)


def clawed(invoice) -> int:
    return -sum(PointsEntry.objects.filter(invoice=invoice, kind="reverse", source="purchase").values_list("points", flat=True))


# ---- the points an invoice earned ----------------------------------------------------------------------------------
def test_a_partial_refund_takes_back_its_share_named_and_audited(world, paid, django_capture_on_commit_callbacks):
    invoice, payment = paid
    done = refund(world, payment, "400.00", "r1", django_capture_on_commit_callbacks)
    assert balance(invoice.customer) == 600
    claw = PointsClawback.objects.get(refund=done)
    assert (claw.due, claw.taken, claw.entry.points, claw.entry.kind) == (400, 400, -400, "reverse")
    earn = PointsEntry.objects.get(source_key=f"invoice:{invoice.pk}")
    assert claw.entry.reverses_id == earn.pk and claw.entry.invoice_id == invoice.pk
    assert f"#{done.pk}" in claw.entry.note and invoice.number in claw.entry.note
    assert PointsEntry.objects.get(pk=earn.pk).remaining == 600  # taken from the invoice's own lot first
    event = AuditEvent.objects.get(action="points.taken_back")
    assert event.changes["points_taken_back"] == [0, 400] and event.customer_id == invoice.customer_id


def test_a_full_refund_takes_back_exactly_all(world, paid, django_capture_on_commit_callbacks):
    invoice, payment = paid
    refund(world, payment, "1000.00", "r1", django_capture_on_commit_callbacks)
    assert balance(invoice.customer) == 0 and clawed(invoice) == 1000


def test_two_partial_refunds_adding_up_to_all_take_back_all_despite_rounding(world, issued, django_capture_on_commit_callbacks):
    LoyaltySettings.objects.create(store=world.a, points_per_cny=Decimal("0.33"))
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record(actor=world.staff["cashier"], invoice=issued, method="cash", amount="1000.00",
                                 idempotency_key="cash-1")
    assert balance(issued.customer) == 330
    refund(world, payment, "333.33", "r1", django_capture_on_commit_callbacks)
    assert clawed(issued) == 110  # 330 × 333.33 / 1000 = 109.9989, rounded half up
    refund(world, payment, "666.67", "r2", django_capture_on_commit_callbacks)
    assert clawed(issued) == 330 and balance(issued.customer) == 0
    assert list(PointsClawback.objects.order_by("id").values_list("due", flat=True)) == [110, 220]


def test_a_retried_refund_takes_nothing_twice(world, paid, django_capture_on_commit_callbacks):
    invoice, payment = paid
    first = refund(world, payment, "250.00", "r1", django_capture_on_commit_callbacks)
    again = refund(world, payment, "250.00", "r1", django_capture_on_commit_callbacks)
    assert again.pk == first.pk and Refund.objects.count() == 1
    assert PointsClawback.objects.count() == 1 and balance(invoice.customer) == 750
    assert clawback_sweep() == 0 and balance(invoice.customer) == 750


def test_points_already_spent_are_taken_only_as_far_as_the_balance_goes(world, paid, django_capture_on_commit_callbacks):
    invoice, payment = paid
    customer = invoice.customer
    points_adjust(actor=world.manager, customer=customer, store=world.a, points=-800, reason="gift", idempotency_key="spent")
    with translation.override("en"):
        done = refund(world, payment, "1000.00", "r1", django_capture_on_commit_callbacks)
    claw = PointsClawback.objects.get(refund=done)
    assert (claw.due, claw.taken) == (1000, 200) and balance(customer) == 0
    assert "only 200 points were left to take back" in claw.entry.note
    # points earned later are not chased for the shortfall, and the manager's reversal has nothing left to take
    points_adjust(actor=world.manager, customer=customer, store=world.a, points=300, reason="goodwill", idempotency_key="later")
    assert clawback_sweep() == 0 and balance(customer) == 300
    with pytest.raises(Conflict) as exc:
        points_reverse(actor=world.manager, entry=PointsEntry.objects.get(source_key=f"invoice:{invoice.pk}"), reason="refund")
    assert exc.value.code == "already_reversed"


def test_nothing_left_at_all_still_records_the_refund_as_handled(world, paid, django_capture_on_commit_callbacks):
    invoice, payment = paid
    points_adjust(actor=world.manager, customer=invoice.customer, store=world.a, points=-1000, reason="gift", idempotency_key="all")
    done = refund(world, payment, "100.00", "r1", django_capture_on_commit_callbacks)
    claw = PointsClawback.objects.get(refund=done)
    assert (claw.due, claw.taken, claw.entry) == (100, 0, None) and balance(invoice.customer) == 0
    assert clawback_sweep() == 0


def test_a_credit_note_takes_back_its_share_and_its_refund_nothing_more(world, paid, django_capture_on_commit_callbacks):
    invoice, payment = paid
    with django_capture_on_commit_callbacks(execute=True):
        note = credit_note_issue(actor=world.manager, invoice=invoice, amount="300.00", reason="labour overcharged")
    claw = PointsClawback.objects.get(credit_note=note)
    assert (claw.due, claw.taken) == (300, 300) and note.number in claw.entry.note
    assert balance(invoice.customer) == 700
    done = refund(world, payment, "300.00", "r1", django_capture_on_commit_callbacks)  # the overpayment given back
    assert PointsClawback.objects.get(refund=done).due == 0
    assert balance(invoice.customer) == 700 and Invoice.objects.get(pk=invoice.pk).balance == 0


def test_a_manager_reversal_after_a_partial_refund_takes_only_the_rest(world, paid, django_capture_on_commit_callbacks):
    invoice, payment = paid
    refund(world, payment, "400.00", "r1", django_capture_on_commit_callbacks)
    rest = points_reverse(actor=world.manager, entry=PointsEntry.objects.get(source_key=f"invoice:{invoice.pk}"), reason="fraud")
    assert rest.points == -600 and balance(invoice.customer) == 0
    refund(world, payment, "600.00", "r2", django_capture_on_commit_callbacks)
    assert PointsClawback.objects.order_by("-id").first().due == 0 and balance(invoice.customer) == 0


# ---- the sweep ------------------------------------------------------------------------------------------------------
def test_the_sweep_takes_back_what_the_after_commit_call_missed(world, paid):
    invoice, payment = paid
    # the on-commit callback is not run here: as if the worker died between the refund and loyalty
    done = refund_record(actor=world.manager, payment=payment, amount="500.00", reason="cancelled", idempotency_key="r1")
    with_note = credit_note_issue(actor=world.manager, invoice=invoice, amount="100.00", reason="discount")
    assert balance(invoice.customer) == 1000 and not PointsClawback.objects.exists()
    assert earn_sweep() == 0  # the periodic task runs the clawback sweep after earning
    assert PointsClawback.objects.get(refund=done).taken == 500
    # the credit note lowers what is owed to 900 while 500 is kept: nothing more is due
    assert PointsClawback.objects.get(credit_note=with_note).due == 0
    assert balance(invoice.customer) == 500
    assert clawback_sweep() == 0 and balance(invoice.customer) == 500


def test_the_sweep_leaves_refunds_older_than_its_window_and_invoices_that_never_earned(world, paid, issued):
    invoice, payment = paid
    refund_record(actor=world.manager, payment=payment, amount="100.00", reason="old", idempotency_key="r1",
                  at=timezone.now() - dt.timedelta(days=60))
    unearned = invoice_issue(actor=world.advisor, order=recorded_visit(world, lines=THOUSAND))
    card = payment_record(actor=world.staff["cashier"], invoice=unearned, method="card", amount="1000.00", idempotency_key="c2")
    refund_record(actor=world.manager, payment=card, amount="100.00", reason="x", idempotency_key="r2")  # its earn never ran
    assert clawback_sweep() == 0 and not PointsClawback.objects.exists()
    assert balance(invoice.customer) == 1000


# ---- points and vouchers paid with -------------------------------------------------------------------------------
@pytest.fixture
def points_and_card(world, issued, django_capture_on_commit_callbacks):
    """¥100 paid with 10,000 points and ¥900 by card: it earned 900 points (points earn nothing)."""
    customer = issued.customer
    points_adjust(actor=world.manager, customer=customer, store=world.a, points=20000, reason="welcome", idempotency_key="w")
    with django_capture_on_commit_callbacks(execute=True):
        by_points = invoice_pay_with_points(actor=world.manager, invoice=issued, points=10000, idempotency_key="p1")
        by_card = payment_record(actor=world.staff["cashier"], invoice=issued, method="card", amount="900.00",
                                 idempotency_key="card-1")
    assert balance(customer) == 10900
    return issued, by_points, by_card


def test_refunding_a_points_payment_gives_points_back_not_cash(world, points_and_card, django_capture_on_commit_callbacks):
    invoice, by_points, _by_card = points_and_card
    customer = invoice.customer
    first = refund(world, by_points, "40.00", "r1", django_capture_on_commit_callbacks)
    back = PointsEntry.objects.get(source_key=f"refund:{first.pk}")
    assert (back.kind, back.points, back.cny_value, back.reverses.kind) == ("reverse", 4000, Decimal("40.00"), "redeem")
    assert balance(customer) == 14900  # the 900 points earned with the card stay
    assert PointsClawback.objects.get(refund=first).due == 0
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("issued", Decimal("40.00"))  # owed again, in money or points
    again = refund(world, by_points, "40.00", "r1", django_capture_on_commit_callbacks)  # a retry gives nothing more
    assert again.pk == first.pk and balance(customer) == 14900
    refund(world, by_points, "60.00", "r2", django_capture_on_commit_callbacks)
    assert balance(customer) == 20900  # all 10,000 points back, exactly
    with pytest.raises(Conflict) as exc:
        points_reverse(actor=world.manager, entry=by_points_entry(invoice), reason="void")
    assert exc.value.code == "already_reversed"
    # the points given back count toward the invoice's cap again: they can pay the balance
    invoice_pay_with_points(actor=world.manager, invoice=invoice, points=10000, idempotency_key="p2")
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


def by_points_entry(invoice):
    return PointsEntry.objects.get(invoice=invoice, kind="redeem")


def test_refunding_the_card_part_takes_back_only_what_the_card_earned(world, points_and_card, django_capture_on_commit_callbacks):
    invoice, _by_points, by_card = points_and_card
    refund(world, by_card, "900.00", "r1", django_capture_on_commit_callbacks)
    assert clawed(invoice) == 900 and balance(invoice.customer) == 10000


@pytest.fixture
def voucher_and_card(world, issued, django_capture_on_commit_callbacks):
    customer = issued.customer
    voucher = voucher_issue(actor=world.manager, customer=customer, store=world.a, template=template(world.group), reason="gift")
    with django_capture_on_commit_callbacks(execute=True):
        by_voucher = invoice_pay_with_voucher(actor=world.manager, invoice=issued, code=voucher.code, idempotency_key="v1")
        payment_record(actor=world.staff["cashier"], invoice=issued, method="card", amount="950.00", idempotency_key="card-1")
    assert balance(customer) == 1000  # a voucher payment earns like money
    return issued, voucher, by_voucher


def test_refunding_a_voucher_payment_gives_the_voucher_back_whole(world, voucher_and_card, django_capture_on_commit_callbacks):
    invoice, voucher, by_voucher = voucher_and_card
    with pytest.raises(ValidationFailed) as exc:
        refund(world, by_voucher, "20.00", "r1", django_capture_on_commit_callbacks)
    assert (exc.value.code, exc.value.field) == ("voucher_refund_whole", "amount")
    assert not Refund.objects.exists() and Voucher.objects.get(pk=voucher.pk).status == "redeemed"
    done = refund(world, by_voucher, "50.00", "r2", django_capture_on_commit_callbacks)
    voucher.refresh_from_db()
    assert (voucher.status, voucher.invoice_id, voucher.discount) == ("issued", None, None)
    assert voucher.events.filter(to_state="issued", from_state="redeemed").count() == 1
    assert AuditEvent.objects.filter(action="voucher.returned").count() == 1
    assert PointsClawback.objects.get(refund=done).taken == 50 and balance(invoice.customer) == 950
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("50.00")
    assert voucher_check(voucher=voucher, invoice=invoice) == Decimal("50.00")  # usable again
    # the old request retried answers with its old payment and does not use the voucher again
    assert invoice_pay_with_voucher(actor=world.manager, invoice=invoice, code=voucher.code, idempotency_key="v1").pk == by_voucher.pk
    assert Voucher.objects.get(pk=voucher.pk).status == "issued"
    again = invoice_pay_with_voucher(actor=world.manager, invoice=invoice, code=voucher.code, idempotency_key="v3")
    assert again.amount == Decimal("50.00") and Invoice.objects.get(pk=invoice.pk).status == "paid"


def test_a_voucher_past_its_last_day_comes_back_expired(world, voucher_and_card, django_capture_on_commit_callbacks):
    _invoice, voucher, by_voucher = voucher_and_card
    Voucher.objects.filter(pk=voucher.pk).update(valid_from=dt.date(2020, 1, 1), valid_until=dt.date(2020, 1, 31))
    refund(world, by_voucher, "50.00", "r1", django_capture_on_commit_callbacks)
    assert Voucher.objects.get(pk=voucher.pk).status == "expired"
