"""The customer's tier is recomputed once per paid visit: not on every workshop move, once per delivery (which moves
the order twice and may settle the invoice), and when a car delivered on credit is finally paid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.billing.services import delivery_credit_allow, invoice_issue, order_deliver, payment_record
from aftersales.common import events
from aftersales.engagement.models import CustomerTier
from aftersales.workshop.choices import OrderStatus

from .helpers import ready_order

pytestmark = pytest.mark.django_db


def tier_hooks(callbacks, customer_id):
    # The lane publishes "paid visit changed" after commit (common/events.py); engagement recomputes the tier on it.
    wanted = events.PaidVisitChanged(customer_id=customer_id)
    return [c for c in callbacks if getattr(c, "domain_event", None) == wanted]


def pay(world, invoice, key):
    return payment_record(actor=world.staff["cashier"], invoice=invoice, method="cash", amount=str(invoice.total),
                          idempotency_key=key)


def test_moves_before_delivery_do_not_recompute_and_delivery_does_once(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as before:
        order = ready_order(world)  # check-in … quality check … ready: no paid visit yet
    assert tier_hooks(before, order.customer_id) == []
    invoice = invoice_issue(actor=world.advisor, order=order)
    with django_capture_on_commit_callbacks(execute=True) as paying:
        pay(world, invoice, "k1")
    assert tier_hooks(paying, order.customer_id) == []  # paid but not delivered: not a visit yet
    with django_capture_on_commit_callbacks(execute=True) as delivering:
        order_deliver(actor=world.advisor, order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED
    assert len(tier_hooks(delivering, order.customer_id)) == 1  # delivered + closed: one recompute
    tier = CustomerTier.objects.get(customer_id=order.customer_id)
    assert (tier.f, tier.m) == (1, Decimal(invoice.total))


def test_car_delivered_on_credit_counts_when_paid(world, django_capture_on_commit_callbacks):
    order = ready_order(world)
    invoice = invoice_issue(actor=world.advisor, order=order)
    delivery_credit_allow(actor=world.manager, order=order, reason="fleet account")
    with django_capture_on_commit_callbacks(execute=True):
        order_deliver(actor=world.advisor, order=order)
    assert CustomerTier.objects.get(customer_id=order.customer_id).f == 0  # delivered, unpaid: no paid visit
    with django_capture_on_commit_callbacks(execute=True) as paying:
        pay(world, invoice, "k2")
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED
    assert len(tier_hooks(paying, order.customer_id)) == 1
    assert CustomerTier.objects.get(customer_id=order.customer_id).f == 1
