"""Races on the real database (SQLite and PostgreSQL): gapless numbers, one payment per key, no overpayment,
no refund beyond what was paid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.billing.models import CreditNote, Invoice, Payment, Refund
from aftersales.billing.services import credit_note_issue, invoice_issue, payment_record, refund_record
from aftersales.common.errors import DomainError
from aftersales.staff.models import User
from aftersales.workshop.models import RepairOrder

from .helpers import recorded_visit, run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6


def _user(pk):
    return User.objects.get(pk=pk)


def test_concurrent_invoices_get_consecutive_numbers_without_gaps_or_duplicates(world):
    orders = [recorded_visit(world) for _ in range(THREADS)]
    advisor_id = world.advisor.pk

    def issue(order_id):
        return lambda: invoice_issue(actor=_user(advisor_id), order=RepairOrder.objects.get(pk=order_id))

    results = run_in_threads(*[issue(o.pk) for o in orders])
    assert all(isinstance(r, Invoice) for r in results), results
    seqs = sorted(Invoice.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, THREADS + 1))
    assert len(set(Invoice.objects.values_list("number", flat=True))) == THREADS


def test_concurrent_credit_notes_are_numbered_without_gaps_and_never_exceed_the_invoice(world):
    invoice = invoice_issue(actor=world.advisor, order=recorded_visit(world))  # 403.00
    manager_id = world.manager.pk

    def credit():
        return credit_note_issue(
            actor=_user(manager_id), invoice=Invoice.objects.get(pk=invoice.pk), amount="100.00", reason="race"
        )

    results = run_in_threads(*[credit for _ in range(THREADS)])
    won = [r for r in results if isinstance(r, CreditNote)]
    assert len(won) == 4 and all(isinstance(r, DomainError) for r in results if r not in won), results
    assert sorted(CreditNote.objects.values_list("seq", flat=True)) == [1, 2, 3, 4]
    invoice.refresh_from_db()
    assert invoice.credited_amount == Decimal("400.00")


@pytest.mark.parametrize("amount", ["403.00", "250.00"])
def test_concurrent_retries_with_the_same_key_record_one_payment(world, amount):
    """A double-tapped "pay" button or a retried request: one payment, every caller gets it back."""
    invoice = invoice_issue(actor=world.advisor, order=recorded_visit(world))
    cashier_id = world.staff["cashier"].pk

    def attempt():
        return payment_record(
            actor=_user(cashier_id), invoice=Invoice.objects.get(pk=invoice.pk), method="alipay", amount=amount,
            idempotency_key="double-tap", reference="2026120122001000",
        )

    results = run_in_threads(*[attempt for _ in range(THREADS)])
    assert all(isinstance(r, Payment) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.paid_amount == Decimal(amount)


def test_concurrent_payments_never_exceed_the_balance(world):
    invoice = invoice_issue(actor=world.advisor, order=recorded_visit(world))  # 403.00
    cashier_id = world.staff["cashier"].pk

    def attempt(n):
        return lambda: payment_record(
            actor=_user(cashier_id), invoice=Invoice.objects.get(pk=invoice.pk), method="cash", amount="150.00",
            idempotency_key=f"till-{n}",
        )

    results = run_in_threads(*[attempt(n) for n in range(THREADS)])
    assert sum(isinstance(r, Payment) for r in results) == 2
    invoice.refresh_from_db()
    assert invoice.paid_amount == Decimal("300.00")


def test_concurrent_refunds_never_exceed_the_payment(world):
    invoice = invoice_issue(actor=world.advisor, order=recorded_visit(world))
    payment = payment_record(
        actor=world.staff["cashier"], invoice=invoice, method="cash", amount="403.00", idempotency_key="p"
    )
    manager_id = world.manager.pk

    def attempt(n):
        return lambda: refund_record(
            actor=_user(manager_id), payment=Payment.objects.get(pk=payment.pk), amount="150.00", reason="race",
            idempotency_key=f"r-{n}",
        )

    results = run_in_threads(*[attempt(n) for n in range(THREADS)])
    assert sum(isinstance(r, Refund) for r in results) == 2
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("300.00")
