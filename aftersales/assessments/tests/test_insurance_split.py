"""The insurer's part carried from an approved assessment onto the repair order's estimate and invoice (issue 20):
the customer approves and pays only their share; the insurer's part is shown apart on the estimate page and the
invoice (screen and PDF). Money stays exact (Decimal), checked against a case computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.billing import services as billing
from aftersales.common.money import insurance_split
from aftersales.estimates import services as estimates
from aftersales.estimates.tests.conftest import approve_all, signature_data_url
from aftersales.workshop.choices import JobStatus, OrderStatus
from aftersales.workshop.services import repair_job_move, repair_order_move

pytestmark = pytest.mark.django_db


def test_the_split_by_hand():
    assert insurance_split(Decimal("1740.00"), Decimal("1234.56")) == (Decimal("1234.56"), Decimal("505.44"))
    assert insurance_split(Decimal("1740.00"), Decimal("2000")) == (Decimal("1740.00"), Decimal("0.00"))  # capped
    assert insurance_split(Decimal("1740.00"), None) == (Decimal("0.00"), Decimal("1740.00"))
    assert insurance_split(Decimal("0.10"), Decimal("0.03")) == (Decimal("0.03"), Decimal("0.07"))


def _to_ready(order, actor):
    for job in order.jobs.filter(status=JobStatus.AUTHORIZED):
        for to in (JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.DONE, JobStatus.PASSED_QC):
            repair_job_move(actor=actor, job=job, to=to, reason="QC: function test ok" if to == JobStatus.PASSED_QC else "")
    order.refresh_from_db()
    if order.status == OrderStatus.AUTHORIZED:
        repair_order_move(actor=actor, order=order, to=OrderStatus.IN_PROGRESS)
    repair_order_move(actor=actor, order=order, to=OrderStatus.QUALITY_CHECK)
    repair_order_move(actor=actor, order=order, to=OrderStatus.READY)
    order.refresh_from_db()
    return order


def test_the_customer_approves_and_pays_only_their_share(shop, approved, staff_client):
    s = shop
    # by hand: the severe bumper dent is replaced: 1.8 h × ¥300 = ¥540.00 labour + the bumper ¥1,200.00 = ¥1,740.00;
    # the insurer approves ¥1,234.56, so the customer's share is ¥505.44
    a = approved(insurer_approved="1234.56")
    order = a.order
    order.refresh_from_db()
    assert a.total == order.total == Decimal("1740.00")
    assert (order.insurer_name, order.insurer_amount) == ("中国人保财险 / PICC P&C", Decimal("1234.56"))
    estimate = estimates.estimate_send(actor=s.assessor, order=order)
    # the customer's page shows the insurer's part apart and their share
    from django.test import Client

    page = Client().get(f"/e/{estimates.approval_token(estimate)}/?lang=en").content.decode()
    assert 'data-testid="insurance-split"' in page and "1,234.56" in page and "505.44" in page
    auth = estimates.authorize_on_tablet(actor=s.assessor, order=order, decisions=approve_all(order),
                                         signer_name="张伟", signature=signature_data_url())
    assert (auth.approved_total, auth.insurer_part, auth.customer_share) == (
        Decimal("1740.00"), Decimal("1234.56"), Decimal("505.44"))
    assert auth.snapshot["customer_share"] == "505.44" and auth.snapshot["insurer_part"] == "1234.56"
    order = _to_ready(order, s.world.manager)
    invoice = billing.invoice_issue(actor=s.world.manager, order=order)
    assert (invoice.total, invoice.insurer_amount, invoice.customer_share, invoice.amount_due, invoice.balance) == (
        Decimal("1740.00"), Decimal("1234.56"), Decimal("505.44"), Decimal("505.44"), Decimal("505.44"))
    # the customer pays their share: the invoice is settled; paying more than the share is refused
    cashier = s.world.staff["cashier"]
    from aftersales.common.errors import DomainError

    with pytest.raises(DomainError):
        billing.payment_record(actor=cashier, invoice=invoice, method="cash", amount="505.45", idempotency_key="k0")
    billing.payment_record(actor=cashier, invoice=invoice, method="cash", amount="505.44", idempotency_key="k1")
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.balance == Decimal("0.00")
    # the invoice screen and PDF show the insurer's part apart
    page = staff_client(s.world.manager, "en").get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert 'data-testid="insurer-part"' in page and "1,234.56" in page and "505.44" in page
    assert "Paid by the insurer (PICC P&amp;C)" in page
    from aftersales.billing.documents import render_document

    pdf = render_document(order=order, kind="invoice", language="en")
    assert pdf.startswith(b"%PDF")


def test_the_insurer_pays_it_all_and_a_changed_amount_follows_onto_the_order(shop, approved):
    s = shop
    a = approved(insurer_approved="1000")
    from aftersales.assessments import services

    services.insurance_save(actor=s.assessor, assessment=a, insurer="平安产险", insurer_approved="5000")
    a.order.refresh_from_db()
    assert (a.order.insurer_name, a.order.insurer_amount) == ("平安产险", Decimal("5000.00"))
    estimates.estimate_send(actor=s.assessor, order=a.order)
    auth = estimates.authorize_on_tablet(actor=s.assessor, order=a.order, decisions=approve_all(a.order),
                                         signer_name="张伟", signature=signature_data_url())
    assert (auth.insurer_part, auth.customer_share) == (Decimal("1740.00"), Decimal("0.00"))
    order = _to_ready(a.order, s.world.manager)
    invoice = billing.invoice_issue(actor=s.world.manager, order=order)
    assert invoice.status == "paid" and invoice.amount_due == Decimal("0.00")  # nothing to collect from the customer
