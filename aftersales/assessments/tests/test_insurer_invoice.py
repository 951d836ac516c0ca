"""The insurer's part of an insured repair billed to the insurer (issue 20, 保险直赔): at invoicing the order's insurer
share becomes its own invoice addressed to the insurer (name, policy and claim numbers from the assessment), numbered
in the store's invoice series, with its PDF in both languages and its own receivable: the insurer's bank transfers
(partial allowed), credit notes and refunds; the car goes home once the customer's share is paid. Checked against
the case computed by hand: ¥1,740.00 = insurer ¥1,234.56 + customer ¥505.44."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from aftersales.billing import services as billing
from aftersales.billing.models import Invoice, Payment
from aftersales.common.errors import DomainError
from aftersales.estimates import services as estimates
from aftersales.estimates.tests.conftest import approve_all, signature_data_url

from .test_insurance_split import _to_ready

pytestmark = pytest.mark.django_db


def _insured_ready(shop, approved, *, insurer_approved="1234.56"):
    from aftersales.assessments import services

    s = shop
    a = approved(insurer_approved=insurer_approved)
    services.insurance_save(actor=s.assessor, assessment=a, insurer="中国人保财险 / PICC P&C", claim_number="RC-1",
                            policy_number="PDAA202644010000012345", insurer_approved=insurer_approved)
    order = a.order
    order.refresh_from_db()
    estimates.estimate_send(actor=s.assessor, order=order)
    estimates.authorize_on_tablet(actor=s.assessor, order=order, decisions=approve_all(order), signer_name="张伟",
                                  signature=signature_data_url())
    return _to_ready(order, s.world.manager)


def _client(user, lang="en"):
    user.language = lang
    user.save(update_fields=["language"])
    c = Client()
    c.force_login(user)
    c.cookies["django_language"] = lang
    return c


def test_the_insurer_share_is_its_own_invoice_to_the_cent(shop, approved):
    s = shop
    order = _insured_ready(s, approved)
    assert (order.insurance_policy, order.insurance_claim) == ("PDAA202644010000012345", "RC-1")
    customer_invoice = billing.invoice_issue(actor=s.world.manager, order=order)
    claim = Invoice.objects.get(claim_of=customer_invoice)
    # addressed to the insurer, with the assessment's numbers, the next number of the same store series
    assert (claim.bill_to, claim.insurer_name, claim.policy_number, claim.claim_number) == (
        "insurer", "中国人保财险 / PICC P&C", "PDAA202644010000012345", "RC-1")
    assert claim.order_id is None and claim.store_id == customer_invoice.store_id
    assert claim.year == customer_invoice.year and claim.seq == customer_invoice.seq + 1
    assert claim.number.startswith(f"INV-A-{claim.year}-") and claim.number.endswith(f"{claim.seq:06d}")
    # by hand: ¥1,740.00 = the insurer's ¥1,234.56 + the customer's ¥505.44, to the fen
    assert (claim.total, claim.balance, claim.status) == (Decimal("1234.56"), Decimal("1234.56"), "issued")
    assert (customer_invoice.amount_due, customer_invoice.balance) == (Decimal("505.44"), Decimal("505.44"))
    assert customer_invoice.amount_due + claim.total == order.total == Decimal("1740.00")
    assert sum(line.amount for line in claim.lines.all()) == claim.total
    # VAT 13 % included: 1234.56 − 1234.56 / 1.13 = 142.03
    assert claim.tax == Decimal("142.03")


def test_delivered_on_the_customers_share_then_the_insurer_pays_by_transfer(shop, approved):
    s = shop
    cashier = s.world.staff["cashier"]
    order = _insured_ready(s, approved)
    customer_invoice = billing.invoice_issue(actor=cashier, order=order)
    claim = customer_invoice.insurer_invoice
    billing.payment_record(actor=cashier, invoice=customer_invoice, method="wechat_pay", amount="505.44",
                           idempotency_key="c1", reference="4200001234")
    customer_invoice.refresh_from_db()
    assert customer_invoice.status == "paid"
    billing.order_deliver(actor=s.world.manager, order=order)
    order.refresh_from_db()
    assert order.status in ("delivered", "closed")
    claim.refresh_from_db()
    assert claim.status == "issued" and claim.balance == Decimal("1234.56")  # still the store's receivable
    # bad input: named, nothing written
    before = Payment.objects.count()
    for method, amount, reference, code in (
        ("cash", "100", "", "insurer_pays_by_transfer"),
        ("transfer", "100", "", "reference_required"),
        ("transfer", "-5", "BK1", "money_negative"),
        ("transfer", "1234.57", "BK1", "amount_exceeds_balance"),
    ):
        with pytest.raises(DomainError) as err:
            billing.payment_record(actor=cashier, invoice=claim, method=method, amount=amount, reference=reference,
                                   idempotency_key=f"bad-{code}")
        assert code in [e["code"] for e in err.value.as_dict().get("errors", [err.value.as_dict()])]
    assert Payment.objects.count() == before
    with pytest.raises(DomainError):  # the insurer's invoice is not paid with the customer's points
        billing.invoice_pay_with_points(actor=cashier, invoice=claim, points=10, idempotency_key="p1")
    # a partial transfer, then the rest
    billing.payment_record(actor=cashier, invoice=claim, method="transfer", amount="1000.00", reference="BK-2026-1",
                           idempotency_key="i1")
    claim.refresh_from_db()
    assert (claim.status, claim.balance) == ("issued", Decimal("234.56"))
    billing.payment_record(actor=cashier, invoice=claim, method="transfer", amount="234.56", reference="BK-2026-2",
                           idempotency_key="i2")
    claim.refresh_from_db()
    assert (claim.status, claim.balance, claim.paid_amount) == ("paid", Decimal("0.00"), Decimal("1234.56"))
    # the insurer's money earns the customer no points
    from aftersales.loyalty.models import PointsEntry
    from aftersales.loyalty.services import earn_sweep

    earn_sweep()
    assert not PointsEntry.objects.filter(invoice=claim).exists()


def test_credit_note_and_refund_on_the_insurer_invoice(shop, approved):
    s = shop
    cashier, manager = s.world.staff["cashier"], s.world.manager
    order = _insured_ready(s, approved)
    claim = billing.invoice_issue(actor=manager, order=order).insurer_invoice
    # the insurer cuts ¥34.56 off its part: a credit note; it pays the rest, once too much by ¥10 → refunded
    note = billing.credit_note_issue(actor=manager, invoice=claim, amount="34.56", reason="保险公司核减 / cut by the insurer")
    assert note.total == Decimal("-34.56") and note.number.startswith("CN-A-")
    claim.refresh_from_db()
    assert claim.balance == Decimal("1200.00")
    with pytest.raises(DomainError):
        billing.credit_note_issue(actor=manager, invoice=claim, amount="1200.01", reason="x")
    pay = billing.payment_record(actor=cashier, invoice=claim, method="transfer", amount="1200.00", reference="BK-9",
                                 idempotency_key="i9")
    claim.refresh_from_db()
    assert claim.status == "paid"
    billing.refund_record(actor=manager, payment=pay, amount="200.00", reason="退回多付 / overpaid", idempotency_key="r1",
                          reference="BK-R1")
    claim.refresh_from_db()
    assert (claim.status, claim.balance) == ("issued", Decimal("200.00"))


def test_receivables_screens_rights_and_pdfs(shop, approved, clock):
    s = shop
    cashier = s.world.staff["cashier"]
    order = _insured_ready(s, approved)
    customer_invoice = billing.invoice_issue(actor=cashier, order=order)
    claim = customer_invoice.insurer_invoice
    clock((dt.datetime.now(dt.UTC) + dt.timedelta(days=12)).isoformat())  # twelve days on, same hour
    c = _client(cashier)
    page = c.get(f"/billing/receivables/?store={s.world.a.pk}").content.decode()
    assert claim.number in page and "1,234.56" in page and "PICC P&amp;C" in page
    assert 'data-testid="receivable-age">12<' in page
    # the billing nav leads there; the order's billing page shows both invoices
    assert 'data-testid="nav-receivables"' in c.get(f"/billing/cashier/?store={s.world.a.pk}").content.decode()
    order_page = c.get(f"/billing/orders/{order.pk}/").content.decode()
    assert customer_invoice.number in order_page and claim.number in order_page
    assert 'data-testid="insurer-invoice-section"' in order_page
    inv_page = c.get(f"/billing/invoices/{claim.pk}/").content.decode()
    assert "PDAA202644010000012345" in inv_page and "RC-1" in inv_page and 'data-testid="loyalty-form"' not in inv_page
    for lang in ("zh-hans", "en"):
        r = c.get(f"/billing/invoices/{claim.pk}/insurer/{lang}.pdf")
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert c.get(f"/billing/invoices/{customer_invoice.pk}/insurer/en.pdf").status_code == 404
    # a form post with a bad amount: named, nothing written
    r = c.post(f"/billing/invoices/{claim.pk}/pay/", {"method": "transfer", "amount": "9999", "reference": "BK",
                                                      "idempotency_key": "v1"})
    assert r.status_code == 422 and "exceeds the balance" in r.content.decode()
    assert not Payment.objects.filter(invoice=claim).exists()
    r = c.post(f"/billing/invoices/{claim.pk}/pay/", {"method": "transfer", "amount": "1234.56", "reference": "BK-1",
                                                      "idempotency_key": "v2"})
    assert r.status_code == 302
    assert claim.number not in c.get(f"/billing/receivables/?store={s.world.a.pk}").content.decode()
    # least privilege: another store's manager and an advisor of the store get a 404 / 403
    other = _client(s.world.manager_b)
    assert other.get(f"/billing/invoices/{claim.pk}/").status_code == 404
    assert other.get(f"/billing/invoices/{claim.pk}/insurer/en.pdf").status_code == 404
    assert claim.number not in other.get(f"/billing/receivables/?store={s.world.a.pk}").content.decode()
    advisor = _client(s.world.advisor)
    assert advisor.get(f"/billing/invoices/{claim.pk}/").status_code == 404
    assert advisor.get("/billing/receivables/").status_code == 403
    assert advisor.get(f"/billing/invoices/{customer_invoice.pk}/").status_code == 200


def test_an_ordinary_invoice_has_no_insurer_invoice(shop, approved):
    s = shop
    from aftersales.assessments import services

    a = approved(insurer_approved="1000")
    services.insurance_save(actor=s.assessor, assessment=a, insurer="", insurer_approved=None)
    order = a.order
    order.refresh_from_db()
    assert order.insurer_amount is None and order.insurance_claim == ""
    estimates.estimate_send(actor=s.assessor, order=order)
    estimates.authorize_on_tablet(actor=s.assessor, order=order, decisions=approve_all(order), signer_name="张伟",
                                  signature=signature_data_url())
    invoice = billing.invoice_issue(actor=s.world.manager, order=_to_ready(order, s.world.manager))
    assert not Invoice.objects.filter(claim_of=invoice).exists() and invoice.amount_due == Decimal("1740.00")
