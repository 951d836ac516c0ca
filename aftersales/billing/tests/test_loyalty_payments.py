"""Points and vouchers settle part of an invoice (SPEC §12): the loyalty ledger spends them and billing records the
value as a payment, in one transaction; refusals on either side write nothing; retries record once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.billing.models import Payment
from aftersales.billing.services import invoice_pay_with_points, invoice_pay_with_voucher, payment_record
from aftersales.common.errors import Conflict, Forbidden, ValidationFailed
from aftersales.loyalty.models import PointsEntry, Voucher
from aftersales.loyalty.services import points_adjust, voucher_issue
from aftersales.loyalty.tests.factories import customer_at, make_invoice, template

pytestmark = pytest.mark.django_db


@pytest.fixture
def till(world):
    customer = customer_at(world.a)
    points_adjust(actor=world.manager, customer=customer, store=world.a, points=20000, reason="welcome", idempotency_key="w1")
    invoice = make_invoice(world.a, customer, lines=[("maintenance", "labour", "OIL", "1000.00")])
    return customer, invoice


def test_points_pay_part_of_the_invoice_once(world, till):
    customer, invoice = till
    cashier = world.staff["cashier"] if world.staff["cashier"].has_perm("loyalty.redeem_points") else world.manager
    payment = invoice_pay_with_points(actor=cashier, invoice=invoice, points=10000, idempotency_key="k1")
    assert (payment.method, payment.amount) == ("points", Decimal("100.00"))  # 100 points = ¥1 by default
    again = invoice_pay_with_points(actor=cashier, invoice=invoice, points=10000, idempotency_key="k1")
    assert again.pk == payment.pk
    customer.refresh_from_db()
    invoice.refresh_from_db()
    assert customer.points_balance == 10000 and invoice.paid_amount == Decimal("100.00")
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_points_refusals_write_nothing(world, till):
    customer, invoice = till
    with pytest.raises(ValidationFailed) as exc:
        invoice_pay_with_points(actor=world.manager, invoice=invoice, points=30000, idempotency_key="k2")
    assert exc.value.field == "points"
    with pytest.raises(Forbidden):
        invoice_pay_with_points(actor=world.manager_b, invoice=invoice, points=100, idempotency_key="k3")
    with pytest.raises(ValidationFailed) as exc:  # points go through the ledger, never as a plain payment
        payment_record(actor=world.manager, invoice=invoice, method="points", amount="10.00", idempotency_key="k4")
    assert exc.value.field == "method"
    customer.refresh_from_db()
    assert customer.points_balance == 20000 and not Payment.objects.exists()
    assert PointsEntry.objects.filter(customer=customer).count() == 1


def test_a_voucher_settles_its_value_once(world, till):
    customer, invoice = till
    voucher = voucher_issue(actor=world.manager, customer=customer, store=world.a, template=template(world.group), reason="gift")
    payment = invoice_pay_with_voucher(actor=world.manager, invoice=invoice, code=voucher.code, idempotency_key="v1")
    assert (payment.method, payment.amount, payment.reference) == ("voucher", Decimal("50.00"), voucher.code)
    assert invoice_pay_with_voucher(actor=world.manager, invoice=invoice, code=voucher.code, idempotency_key="v1").pk == payment.pk
    with pytest.raises(Conflict) as exc:
        invoice_pay_with_voucher(actor=world.manager, invoice=invoice, code=voucher.code, idempotency_key="v2")
    assert exc.value.code == "voucher_used"
    other = customer_at(world.a)
    theirs = voucher_issue(actor=world.manager, customer=other, store=world.a, template=template(world.group, "t2"), reason="gift")
    with pytest.raises(ValidationFailed) as exc:
        invoice_pay_with_voucher(actor=world.manager, invoice=invoice, code=theirs.code, idempotency_key="v3")
    assert exc.value.field == "code"
    assert Voucher.objects.get(pk=theirs.pk).status != "redeemed"
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_cashier_page_takes_points_with_inline_errors(world, till, client):
    _customer, invoice = till
    client.force_login(world.manager)
    page = client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert 'data-testid="loyalty-form"' in page and "20000" in page
    response = client.post(f"/billing/invoices/{invoice.pk}/pay-loyalty/", {"points": "999999", "idempotency_key": "p1"})
    assert response.status_code == 422 and 'data-field="points"' in response.content.decode()
    response = client.post(f"/billing/invoices/{invoice.pk}/pay-loyalty/", {"points": "5000", "code": "VXXXX", "idempotency_key": "p2"})
    assert response.status_code == 422
    assert not Payment.objects.exists()
    response = client.post(f"/billing/invoices/{invoice.pk}/pay-loyalty/", {"points": "5000", "idempotency_key": "p3"})
    assert response.status_code == 302
    assert Payment.objects.get().amount == Decimal("50.00")
    client.force_login(world.manager_b)
    assert client.post(f"/billing/invoices/{invoice.pk}/pay-loyalty/", {"points": "100", "idempotency_key": "p4"}).status_code == 404
