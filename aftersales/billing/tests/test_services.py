"""Invoices and payments: totals from common.money, idempotent payments, partial payments, no overpayment."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from aftersales.billing.choices import InvoiceStatus
from aftersales.billing.models import Invoice, Payment
from aftersales.billing.services import invoice_issue, payment_record
from aftersales.common.errors import Conflict, Forbidden, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.staff.models import User
from aftersales.workshop.services import repair_order_record_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(world):
    customer = CustomerFactory(home_store=world.a)
    car = VehicleFactory(owner=customer)
    return repair_order_record_visit(
        actor=world.advisor, store=world.a, customer=customer, vehicle=car, opened_at=timezone.now(),
        jobs=[
            {
                "title": "Service",
                "lines": [
                    {"kind": "labour", "description": "Labour", "quantity": 2, "unit_price": "150", "discount": "10"},
                    {"kind": "part", "description": "Filter", "unit_price": "113.00"},
                ],
            }
        ],
    )


@pytest.fixture
def invoice(world, order):
    return invoice_issue(actor=world.advisor, order=order)


def pay(world, invoice, amount, key, actor=None, method="wechat_pay"):
    return payment_record(
        actor=actor or world.staff["cashier"], invoice=invoice, method=method, amount=amount, idempotency_key=key
    )


def test_invoice_totals(world, order, invoice):
    invoice.refresh_from_db()
    assert (invoice.subtotal, invoice.discount, invoice.total, invoice.tax) == (
        Decimal("413.00"), Decimal("10.00"), Decimal("403.00"), Decimal("46.36"),
    )
    assert invoice.total == order.total
    assert invoice.status == InvoiceStatus.ISSUED
    assert invoice.paid_amount == Decimal("0")
    assert invoice.number.startswith("INVA") and invoice.number.endswith("001")
    assert (invoice.customer_id, invoice.store_id) == (order.customer_id, order.store_id)
    assert AuditEvent.objects.get(action="invoice.issued").changes == {"total": [None, "403.00"]}


def test_second_invoice_for_the_same_order_is_refused(world, order, invoice):
    with pytest.raises(Conflict) as exc:
        invoice_issue(actor=world.advisor, order=order)
    assert exc.value.code == "invoice_exists"
    assert Invoice.objects.count() == 1


def test_invoice_needs_permission(world, order):
    with pytest.raises(Forbidden):
        invoice_issue(actor=world.technician, order=order)
    assert not Invoice.objects.exists()


def test_payment_is_idempotent(world, invoice):
    first = pay(world, invoice, "100.00", "pos-1")
    again = pay(world, invoice, "100.00", "pos-1")
    assert again.pk == first.pk
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.paid_amount == Decimal("100.00")
    assert AuditEvent.objects.filter(action="invoice.payment").count() == 1


def test_partial_payments_then_paid(world, invoice):
    pay(world, invoice, "100.00", "k1", method="cash")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_amount, invoice.paid_at) == (InvoiceStatus.ISSUED, Decimal("100.00"), None)
    pay(world, invoice, 303, "k2", method="card", actor=world.manager)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.paid_amount == invoice.total == Decimal("403.00")
    assert invoice.paid_at is not None
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [Decimal("100.00"), Decimal("303.00")]
    changes = [e.changes for e in AuditEvent.objects.filter(action="invoice.payment").order_by("id")]
    assert changes == [{"paid_amount": ["0.00", "100.00"]}, {"paid_amount": ["100.00", "403.00"]}]


def test_overpayment_is_refused(world, invoice):
    pay(world, invoice, "400.00", "k1")
    with pytest.raises(ValidationFailed) as exc:
        pay(world, invoice, "3.01", "k2")
    assert (exc.value.code, exc.value.field) == ("amount_exceeds_balance", "amount")
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.paid_amount == Decimal("400.00")


def test_payment_after_full_payment_is_refused(world, invoice):
    pay(world, invoice, "403.00", "k1")
    with pytest.raises(Conflict) as exc:
        pay(world, invoice, "0.01", "k2")
    assert (exc.value.code, exc.value.field) == ("invoice_not_open", "invoice")
    assert Payment.objects.count() == 1
    # the same key as the payment that settled it still answers with that payment
    assert pay(world, invoice, "403.00", "k1").amount == Decimal("403.00")


@pytest.mark.parametrize(
    ("amount", "method", "key", "field"),
    [("0", "cash", "k", "amount"), ("-5", "cash", "k", "amount"), ("1.001", "cash", "k", "amount"),
     ("abc", "cash", "k", "amount"), ("10", "bitcoin", "k", "method"), ("10", "cash", "", "idempotency_key")],
)
def test_payment_refusals_name_the_field(world, invoice, amount, method, key, field):
    with pytest.raises(ValidationFailed) as exc:
        pay(world, invoice, amount, key, method=method)
    assert exc.value.field == field
    assert not Payment.objects.exists()


def test_payment_needs_permission(world, invoice):
    for role in ("service_advisor", "technician", "call_centre_agent"):
        with pytest.raises(Forbidden):
            pay(world, invoice, "10", f"k-{role}", actor=world.staff[role])
    assert not Payment.objects.exists()


def run_in_threads(*targets):
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def runner(i, target):
        try:
            barrier.wait()
            results[i] = target()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("amount", ["403.00", "250.00"])
def test_concurrent_payments_with_the_same_key_record_one_payment(world, invoice, amount):
    """A double-tapped "pay" button: both requests carry the same key; one payment, both get it back."""
    cashier_id = world.staff["cashier"].pk

    def attempt():
        invoice_copy = Invoice.objects.get(pk=invoice.pk)
        return payment_record(
            actor=User.objects.get(pk=cashier_id), invoice=invoice_copy, method="alipay", amount=amount,
            idempotency_key="double-tap",
        )

    results = run_in_threads(attempt, attempt, attempt)
    assert all(isinstance(r, Payment) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.paid_amount == Decimal(amount)
