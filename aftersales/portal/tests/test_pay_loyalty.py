"""The owner takes a voucher and points off the balance on the pay page, then pays the rest online: their own
vouchers and invoices only, audited as the owner's own act, once per key, and never twice under a race."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.billing.models import Invoice, OnlinePayment, Payment
from aftersales.billing.services import owner_pay_with_points, owner_pay_with_voucher
from aftersales.billing.tests.helpers import run_in_threads
from aftersales.common.errors import DomainError, NotFound
from aftersales.common.models import AuditEvent
from aftersales.customers.models import Customer
from aftersales.loyalty.models import PointsEntry, Voucher
from aftersales.loyalty.services import points_adjust, voucher_issue
from aftersales.loyalty.tests.factories import customer_at, make_invoice, template

from .conftest import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(world):
    owner = customer_at(world.a, name="王芳", mobile="+8613900000111")
    points_adjust(actor=world.manager, customer=owner, store=world.a, points=20000, reason="welcome", idempotency_key="w1")
    voucher = voucher_issue(actor=world.manager, customer=owner, store=world.a, template=template(world.group), reason="gift")
    invoice = make_invoice(world.a, owner, lines=[("maintenance", "labour", "OIL", "1000.00")])
    return owner, voucher, invoice


def test_owner_uses_a_voucher_and_points_then_the_balance_is_lower(client, world, wallet):
    owner, voucher, invoice = wallet
    sign_in(client, owner)
    url = f"/app/orders/{invoice.order_id}/pay/"
    page = client.get(url).content.decode()
    assert 'data-testid="pay-loyalty"' in page and f'data-testid="voucher-{voucher.code}"' in page
    assert 'value="20000"' in page  # all points may pay (¥200 of ¥1000; the cap is the store's share)
    done = client.post(url, {"action": "voucher", "voucher": voucher.pk, "key": "k-voucher"})
    assert done.status_code == 302 and done["Location"].endswith("?applied=voucher")
    again = client.post(url, {"action": "voucher", "voucher": voucher.pk, "key": "k-voucher"})  # a double tap
    assert again.status_code == 302
    invoice.refresh_from_db()
    assert invoice.paid_amount == Decimal("50.00") and Payment.objects.filter(invoice=invoice).count() == 1
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"
    used = client.post(url, {"action": "voucher", "voucher": voucher.pk, "key": "k-other"})
    assert used.status_code == 409 and 'data-testid="loyalty-error"' in used.content.decode()
    bad = client.post(url, {"action": "points", "points": "abc", "key": "k-p0"})
    assert bad.status_code == 422 and 'data-field="points"' in bad.content.decode()
    too_many = client.post(url, {"action": "points", "points": "90000", "key": "k-p1"})
    assert too_many.status_code == 422 and 'data-field="points"' in too_many.content.decode()
    assert client.post(url, {"action": "points", "points": "10000", "key": "k-p2"}).status_code == 302
    invoice.refresh_from_db()
    owner.refresh_from_db()
    assert invoice.paid_amount == Decimal("150.00") and invoice.balance == Decimal("850.00")
    assert owner.points_balance == 10000
    page = client.get(f"{url}?applied=points").content.decode()
    assert 'data-testid="applied-points"' in page and "850.00" in page
    # audited as the owner's own act (no staff user), with the customer named
    events = AuditEvent.objects.filter(customer_id=owner.pk, action__in=["points.redeemed", "voucher.redeemed"])
    assert {e.action for e in events} == {"points.redeemed", "voucher.redeemed"}
    from django.utils import translation

    with translation.override("en"):  # the reason is stored as a code and read in the reader's language
        assert all(e.actor_id is None and "owner app" in str(e.reason) for e in events)
    with translation.override("zh-hans"):
        assert all("车主App" in str(e.reason) or "owner app" in str(e.reason) for e in events)


def test_another_owners_voucher_or_invoice_is_not_found(client, world, wallet):
    owner, voucher, invoice = wallet
    other = customer_at(world.a, name="赵磊", mobile="+8613900000222")
    theirs = voucher_issue(actor=world.manager, customer=other, store=world.a, template=template(world.group, "t2"), reason="gift")
    their_invoice = make_invoice(world.a, other)
    sign_in(client, owner)
    url = f"/app/orders/{invoice.order_id}/pay/"
    wrong = client.post(url, {"action": "voucher", "voucher": theirs.pk, "key": "k1"})
    assert wrong.status_code == 422 and 'data-field="voucher"' in wrong.content.decode()
    assert client.get(f"/app/orders/{their_invoice.order_id}/pay/").status_code == 404
    assert client.post(f"/app/orders/{their_invoice.order_id}/pay/",
                       {"action": "points", "points": "100", "key": "k2"}).status_code == 404
    with pytest.raises(NotFound):
        owner_pay_with_points(customer=owner, invoice=their_invoice, points=100, idempotency_key="k3")
    with pytest.raises(NotFound):
        owner_pay_with_voucher(customer=other, invoice=invoice, voucher_id=voucher.pk, idempotency_key="k4")
    assert not Payment.objects.exists() and Voucher.objects.get(pk=theirs.pk).status == "issued"


def test_an_open_online_payment_of_the_old_balance_is_closed_first(client, world, wallet):
    owner, voucher, invoice = wallet
    stale = OnlinePayment.objects.create(invoice=invoice, out_trade_no="stale1", amount=invoice.balance,
                                         created_at=invoice.issued_at)
    owner_pay_with_voucher(customer=owner, invoice=invoice, voucher_id=voucher.pk, idempotency_key="k1")
    stale.refresh_from_db()
    assert stale.status == "closed"


@pytest.mark.django_db(transaction=True)
def test_racing_owner_redemptions_never_spend_twice(world):
    owner = customer_at(world.a, mobile="+8613900000333")
    points_adjust(actor=world.manager, customer=owner, store=world.a, points=15000, reason="welcome", idempotency_key="w1")
    voucher = voucher_issue(actor=world.manager, customer=owner, store=world.a, template=template(world.group), reason="gift")
    invoices = [make_invoice(world.a, owner, lines=[("maintenance", "labour", "OIL", "1000.00")]) for _ in range(2)]
    owner_id = owner.pk

    def use_voucher(invoice_id, key):
        return lambda: owner_pay_with_voucher(customer=Customer.objects.get(pk=owner_id),
                                              invoice=Invoice.objects.get(pk=invoice_id), voucher_id=voucher.pk,
                                              idempotency_key=key)

    def spend(invoice_id, key):  # 10000 points each: only one of two fits in 15000
        return lambda: owner_pay_with_points(customer=Customer.objects.get(pk=owner_id),
                                             invoice=Invoice.objects.get(pk=invoice_id), points=10000, idempotency_key=key)

    results = run_in_threads(use_voucher(invoices[0].pk, "a"), use_voucher(invoices[1].pk, "b"),
                             use_voucher(invoices[0].pk, "a"))  # the third is a retry of the first (same key)
    won = Payment.objects.get(method="voucher")  # exactly one payment with the voucher
    _check(results, won, "voucher_used", retried=won.invoice_id == invoices[0].pk)
    assert Voucher.objects.get(pk=voucher.pk).invoice_id == won.invoice_id

    results = run_in_threads(spend(invoices[0].pk, "p1"), spend(invoices[1].pk, "p2"), spend(invoices[0].pk, "p1"))
    won = Payment.objects.get(method="points")  # 10000 of 15000 points: only one spend fits
    _check(results, won, "insufficient_points", retried=won.invoice_id == invoices[0].pk)
    owner.refresh_from_db()
    assert owner.points_balance == 5000
    assert PointsEntry.objects.filter(customer=owner, kind="redeem").count() == 1


def _check(results, won, loser_code, *, retried):
    """The winner's callers (the first, and its retry when the retry's key won) get the one payment; the others a
    domain error they can act on."""
    paid = [r for r in results if isinstance(r, Payment)]
    lost = [r for r in results if isinstance(r, DomainError)]
    assert len(paid) + len(lost) == 3, results
    assert {p.pk for p in paid} == {won.pk}
    assert len(paid) == (2 if retried else 1), results
    assert all(e.code == loser_code for e in lost), results


def test_an_invoice_that_ends_unpaid_gives_points_and_the_voucher_back_once_never_money(world, wallet):
    """billing.loyalty_payments_return (the expiry's and the owner's-cancel path, no staff actor): every points and
    voucher payment goes back whole (points to the balance, the voucher usable again), once; cash stays."""
    from aftersales.billing.services import loyalty_payments_return, payment_record
    from aftersales.loyalty.selectors import balance_of

    owner, voucher, invoice = wallet
    before = balance_of(owner)
    owner_pay_with_voucher(customer=owner, invoice=invoice, voucher_id=voucher.pk, idempotency_key="r1")
    owner_pay_with_points(customer=owner, invoice=invoice, points="5000", idempotency_key="r2")
    cash = payment_record(actor=world.manager, invoice=invoice, method="cash", amount="10.00", idempotency_key="r3")
    refunds = loyalty_payments_return(invoice=invoice, reason="expired")
    assert sorted(r.payment.method for r in refunds) == ["points", "voucher"]
    assert balance_of(owner) == before and Voucher.objects.get(pk=voucher.pk).status == "issued"
    assert Payment.objects.get(pk=cash.pk).refunded_amount == 0
    again = loyalty_payments_return(invoice=invoice, reason="expired")
    assert again == [] and balance_of(owner) == before
    assert Invoice.objects.get(pk=invoice.pk).refunded_amount == sum(r.amount for r in refunds)
