"""Vouchers: issue (limit, store, window), redeem rules with their errors, idempotency, coverage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from aftersales.common.errors import DomainError
from aftersales.loyalty.models import Voucher, VoucherEvent
from aftersales.loyalty.services import (
    voucher_cancel,
    voucher_check,
    voucher_expire_sweep,
    voucher_issue,
    voucher_redeem,
)

from .factories import customer_at, make_invoice, pay, template

pytestmark = pytest.mark.django_db


def test_issue_gives_a_unique_code_and_a_store_local_window(world):
    zhang = customer_at(world.a)
    t = template(world.group, validity_days=30, per_customer_limit=2)
    v1 = voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="welcome")
    v2 = voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="welcome")
    assert v1.code != v2.code and v1.code.startswith("V") and len(v1.code) == 10
    today = timezone.localtime(timezone.now(), world.a.zone).date()
    assert (v1.valid_from, v1.valid_until) == (today, today + dt.timedelta(days=29))
    assert v1.status == "issued" and v1.issued_by == world.manager
    assert VoucherEvent.objects.filter(voucher=v1, to_state="issued").count() == 1


def test_per_customer_limit_refuses_and_writes_nothing(world):
    zhang = customer_at(world.a)
    t = template(world.group, per_customer_limit=1)
    voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="")
    with pytest.raises(DomainError) as exc:
        voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="")
    assert exc.value.code == "voucher_limit_reached" and exc.value.field == "template"
    assert Voucher.objects.filter(customer=zhang).count() == 1


def test_system_issue_without_actor_and_other_store_refused(world):
    zhang = customer_at(world.a)
    t = template(world.group, store=world.b)
    with pytest.raises(DomainError) as exc:
        voucher_issue(actor=None, customer=zhang, store=world.a, template=t, reason="playbook")
    assert exc.value.code == "template_not_for_store"
    with pytest.raises(DomainError) as exc:
        voucher_issue(actor=world.manager, customer=zhang, store=world.b, template=t, reason="")
    assert exc.value.code == "store_not_allowed"
    v = voucher_issue(actor=None, customer=zhang, store=world.b, template=t, reason="playbook")
    assert v.issued_by is None


def test_advisor_may_not_issue(world):
    zhang = customer_at(world.a)
    with pytest.raises(DomainError) as exc:
        voucher_issue(actor=world.advisor, customer=zhang, store=world.a, template=template(world.group), reason="")
    assert exc.value.code == "permission_denied"


# ---- redeeming ----------------------------------------------------------------------------------------------------
LINES = [("maintenance", "labour", "OIL-CHG", "200.00"), ("maintenance", "part", "04152-YZZA1", "150.00"),
         ("repair", "labour", "AC-CLEAN", "120.00"), ("repair", "part", "88568-02040", "300.00")]


def _voucher(world, customer, **kwargs):
    t = template(world.group, code=kwargs.pop("code", "t"), **kwargs)
    return voucher_issue(actor=world.manager, customer=customer, store=world.a, template=t, reason="test")


@pytest.mark.parametrize(
    ("kwargs", "discount"),
    [
        ({"kind": "amount_off", "amount": Decimal("50")}, "50.00"),
        ({"kind": "amount_off", "amount": Decimal("500"), "job_types": ["maintenance"]}, "350.00"),  # at most the covered lines
        ({"kind": "percent_labour", "percent": Decimal("30")}, "96.00"),  # 30% of 200 + 120
        ({"kind": "percent_labour", "percent": Decimal("30"), "job_types": ["repair"]}, "36.00"),
        ({"kind": "percent_parts", "percent": Decimal("20"), "max_discount": Decimal("50")}, "50.00"),  # 20% of 450 = 90, capped
        ({"kind": "free_item", "service_codes": ["ac-clean"]}, "120.00"),
    ],
)
def test_discount_per_kind_and_coverage(world, kwargs, discount):
    zhang = customer_at(world.a)
    voucher = _voucher(world, zhang, **kwargs)
    invoice = make_invoice(world.a, zhang, lines=LINES)
    assert voucher_check(voucher=voucher, invoice=invoice) == Decimal(discount)
    assert voucher_redeem(actor=world.staff["cashier"], voucher=voucher, invoice=invoice, idempotency_key="k1") == Decimal(discount)
    voucher.refresh_from_db()
    assert (voucher.status, voucher.invoice_id, voucher.discount) == ("redeemed", invoice.pk, Decimal(discount))
    # the same request again: the same answer, nothing more
    assert voucher_redeem(actor=world.staff["cashier"], voucher=voucher, invoice=invoice, idempotency_key="k1") == Decimal(discount)
    assert voucher.events.filter(to_state="redeemed").count() == 1


def _refused(call, code, field="voucher"):
    with pytest.raises(DomainError) as info:
        call()
    assert (info.value.code, info.value.field) == (code, field), info.value.as_dict()
    return info.value


def test_refusals_are_clear_and_write_nothing(world):
    zhang, li = customer_at(world.a), customer_at(world.a)
    cashier = world.staff["cashier"]
    voucher = _voucher(world, zhang, kind="free_item", service_codes=["AC-CLEAN"])
    other_invoice = make_invoice(world.a, li, lines=LINES)
    with translation.override("en"):
        err = _refused(lambda: voucher_redeem(actor=cashier, voucher=voucher, invoice=other_invoice, idempotency_key="a"),
                       "voucher_other_customer")
    assert "another customer" in str(err.message)
    with translation.override("zh-hans"):
        err = _refused(lambda: voucher_redeem(actor=cashier, voucher=voucher, invoice=other_invoice, idempotency_key="a"),
                       "voucher_other_customer")
    assert "其他客户" in str(err.message)
    uncovered = make_invoice(world.a, zhang, lines=[("maintenance", "labour", "OIL-CHG", "200.00")])
    _refused(lambda: voucher_redeem(actor=cashier, voucher=voucher, invoice=uncovered, idempotency_key="b"), "voucher_not_covered")
    paid = make_invoice(world.a, zhang, lines=LINES, paid=True)
    _refused(lambda: voucher_redeem(actor=cashier, voucher=voucher, invoice=paid, idempotency_key="c"), "invoice_not_open", "invoice")
    Voucher.objects.filter(pk=voucher.pk).update(valid_until=dt.date(2020, 1, 31), valid_from=dt.date(2020, 1, 1))
    voucher.refresh_from_db()
    good = make_invoice(world.a, zhang, lines=LINES)
    err = _refused(lambda: voucher_redeem(actor=cashier, voucher=voucher, invoice=good, idempotency_key="d"), "voucher_expired")
    assert "2020-01-31" in str(err.message)
    voucher.refresh_from_db()
    assert voucher.status == "issued" and voucher.invoice_id is None
    assert not VoucherEvent.objects.filter(voucher=voucher, to_state="redeemed").exists()


def test_used_and_cancelled_vouchers_are_refused(world):
    zhang = customer_at(world.a)
    cashier = world.staff["cashier"]
    voucher = _voucher(world, zhang)
    voucher_redeem(actor=cashier, voucher=voucher, invoice=make_invoice(world.a, zhang, lines=LINES), idempotency_key="k1")
    _refused(lambda: voucher_redeem(actor=cashier, voucher=voucher, invoice=make_invoice(world.a, zhang, lines=LINES),
                                    idempotency_key="k2"), "voucher_used")
    second = _voucher(world, zhang, code="t2")
    voucher_cancel(actor=world.manager, voucher=second, reason="发错了")
    _refused(lambda: voucher_redeem(actor=cashier, voucher=second, invoice=make_invoice(world.a, zhang, lines=LINES),
                                    idempotency_key="k3"), "voucher_cancelled")


def test_store_bound_template_and_min_spend(world):
    zhang = customer_at(world.a)
    t = template(world.group, code="a-only", store=world.a, min_spend=Decimal("1000"))
    voucher = voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="")
    _refused(lambda: voucher_check(voucher=voucher, invoice=make_invoice(world.a, zhang, lines=LINES)), "voucher_min_spend")
    _refused(lambda: voucher_check(voucher=voucher, invoice=make_invoice(world.b, zhang, lines=LINES * 2)), "voucher_other_store")
    assert voucher_check(voucher=voucher, invoice=make_invoice(world.a, zhang, lines=LINES * 2)) == Decimal("50.00")


def test_redeem_needs_role_and_store(world):
    zhang = customer_at(world.a)
    voucher = _voucher(world, zhang)
    invoice = make_invoice(world.a, zhang, lines=LINES)
    _refused(lambda: voucher_redeem(actor=world.technician, voucher=voucher, invoice=invoice, idempotency_key="x"),
             "permission_denied", None)
    _refused(lambda: voucher_redeem(actor=world.manager_b, voucher=voucher, invoice=invoice, idempotency_key="x"),
             "store_not_allowed", "store")


def test_expiry_sweep_marks_old_vouchers(world):
    zhang = customer_at(world.a)
    old, fresh = _voucher(world, zhang), _voucher(world, zhang, code="t2")
    Voucher.objects.filter(pk=old.pk).update(valid_from=dt.date(2020, 1, 1), valid_until=dt.date(2020, 1, 31))
    assert voucher_expire_sweep() == 1
    assert voucher_expire_sweep() == 0
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == ("expired", "issued")
    assert old.events.filter(to_state="expired").count() == 1


def test_a_voucher_paid_invoice_still_earns_on_what_was_paid(world):
    from aftersales.loyalty.services import points_earn_for_invoice

    zhang = customer_at(world.a)
    invoice = make_invoice(world.a, zhang, lines=LINES)
    voucher_redeem(actor=world.manager, voucher=_voucher(world, zhang), invoice=invoice, idempotency_key="k")
    pay(invoice)
    assert points_earn_for_invoice(invoice=invoice).points == 770


def test_issue_tells_the_customer_through_the_outbox_once(world):
    from aftersales.messaging.models import Message

    zhang = customer_at(world.a, language="en")
    t = template(world.group, per_customer_limit=0)
    v = voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="")
    message = Message.objects.get(dedup_key=f"loyalty.voucher_issued:{v.pk}")
    assert message.customer_id == zhang.pk and message.kind == "loyalty.voucher_issued"
    assert v.code in message.body and "Service voucher" in message.body
    voucher_issue(actor=world.manager, customer=zhang, store=world.a, template=t, reason="", notify=False)
    assert Message.objects.filter(kind="loyalty.voucher_issued").count() == 1
