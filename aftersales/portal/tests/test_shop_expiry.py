"""The shop's follow-ups: unpaid pickup orders expire (the sweep, once, never alongside a payment), the owner is told
when an order is ready, cancelled or expired (outbox, their language, a link that opens), and cancelling a paid order
needs billing's refund right (a parts clerk: 403 and no button; a cashier: refunded, the invoice credited)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from aftersales.billing.models import Invoice, OnlinePayment, Payment
from aftersales.billing.services import online_payment_confirm, online_payment_start, owner_pay_with_points
from aftersales.common.errors import DomainError
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import make_staff
from aftersales.loyalty.services import points_adjust
from aftersales.messaging.models import Message
from aftersales.parts.models import Reservation
from aftersales.portal import shop
from aftersales.portal.models import ShopOrder

from .conftest import sign_in
from .test_shop import _item, offer

pytestmark = pytest.mark.django_db


def _place(owners, part, customer=None, qty=1):
    return shop.shop_order_place(customer=customer or owners.zhang, store=owners.world.a, items={part.pk: qty},
                                 fulfilment="pickup")


def test_an_unpaid_order_expires_once_after_the_set_time_and_the_owner_sees_it(client, owners, settings):
    settings.SHOP_ORDER_UNPAID_MINUTES = 30
    settings.AFTERSALES_PUBLIC_URL = "http://testserver"
    world = owners.world
    part = offer(world, stock="3")
    order = _place(owners, part, qty=2)
    assert _item(part, world.a).reserved == 2
    at = order.created_at
    assert shop.shop_orders_expire(at=at + dt.timedelta(minutes=29)) == {"expired": 0, "skipped": 0}
    assert shop.shop_orders_expire(at=at + dt.timedelta(minutes=31)) == {"expired": 1, "skipped": 0}
    assert shop.shop_orders_expire(at=at + dt.timedelta(minutes=32)) == {"expired": 0, "skipped": 0}  # once
    order.refresh_from_db()
    assert order.status == "expired"
    assert _item(part, world.a).reserved == 0
    assert Reservation.objects.get(reference=f"shop:{order.pk}").status == "released"
    assert Invoice.objects.get(pk=order.invoice_id).status == "credited"
    assert AuditEvent.objects.filter(action="shop_order.expired", object_id=str(order.pk)).count() == 1
    message = Message.objects.get(kind="shop.expired", customer=owners.zhang)
    assert f"/app/shop/orders/{order.pk}/" in message.body and "30 分钟" in message.body
    assert shop.shop_order_expire(order_id=order.pk, at=at + dt.timedelta(hours=1)) is False
    # the owner: "expired" in their list and on the page, in their language; no pay link; another owner: 404
    sign_in(client, owners.zhang)
    listing = client.get("/app/shop/orders/").content.decode()
    assert "已过期（未按时付款）" in listing
    page = client.get(f"/app/shop/orders/{order.pk}/")
    assert page.status_code == 200 and 'data-testid="shop-expired"' in page.content.decode()
    assert 'data-testid="shop-pay"' not in page.content.decode()
    assert client.get(f"/app/shop/orders/{order.pk}/pay/").status_code == 404
    owners.zhang.language = "en"
    owners.zhang.save(update_fields=["language"])
    assert "Expired (not paid in time)" in client.get("/app/shop/orders/").content.decode()
    other = Client()
    sign_in(other, owners.li, ip="10.0.0.2")
    assert other.get(f"/app/shop/orders/{order.pk}/").status_code == 404


def test_paid_or_still_paying_orders_do_not_expire_and_fitting_orders_never_do(owners, settings):
    from django.utils import timezone

    from aftersales.workshop.models import RepairOrder

    settings.SHOP_ORDER_UNPAID_MINUTES = 30
    world = owners.world
    part = offer(world, stock="5")
    paid = _place(owners, part)
    online = online_payment_start(invoice=paid.invoice)
    online_payment_confirm(out_trade_no=online.out_trade_no, transaction_id="wx-9", total_fen=19900)
    paying = _place(owners, part, customer=owners.li)
    late = paying.created_at + dt.timedelta(minutes=20)
    online_payment_start(invoice=paying.invoice, at=late)  # the owner is at the pay screen
    ro = RepairOrder.objects.create(store=world.a, number="RO-FIT2", customer=owners.zhang, vehicle=owners.car,
                                    status="checked_in", opened_at=timezone.now())
    fit = shop.shop_order_place(customer=owners.zhang, store=world.a, items={part.pk: 1}, fulfilment="fit",
                                target=f"ro:{ro.pk}")
    base = paid.created_at
    assert shop.shop_orders_expire(at=base + dt.timedelta(minutes=40)) == {"expired": 0, "skipped": 0}
    # the open online payment has passed its time: it is closed, then the order expires
    assert shop.shop_orders_expire(at=late + dt.timedelta(minutes=31)) == {"expired": 1, "skipped": 0}
    assert OnlinePayment.objects.get(invoice=paying.invoice_id).status == "closed"
    statuses = dict(ShopOrder.objects.values_list("pk", "status"))
    assert statuses == {paid.pk: "placed", paying.pk: "expired", fit.pk: "placed"}
    assert _item(part, world.a).reserved == 2


@pytest.mark.django_db(transaction=True)
def test_sweep_and_payment_at_the_same_moment_never_both(owners, settings):
    from aftersales.billing.tests.helpers import run_in_threads

    settings.SHOP_ORDER_UNPAID_MINUTES = 30
    part = offer(owners.world, stock="9")
    outcomes = set()
    for n in range(3):
        order = _place(owners, part)
        online = online_payment_start(invoice=order.invoice, at=order.created_at)
        at = order.created_at + dt.timedelta(minutes=45)
        results = run_in_threads(
            lambda at=at: shop.shop_orders_expire(at=at),
            lambda no=online.out_trade_no, n=n: online_payment_confirm(out_trade_no=no, transaction_id=f"wx-race-{n}",
                                                                      total_fen=19900),
        )
        assert not any(isinstance(r, Exception) for r in results), results
        order.refresh_from_db()
        invoice = Invoice.objects.get(pk=order.invoice_id)
        online.refresh_from_db()
        if order.status == "expired":  # the payment came second: refused (billing refunds it), nothing recorded
            assert invoice.paid_amount == 0 and online.status == "rejected"
            assert not Reservation.objects.filter(reference=f"shop:{order.pk}", status="active").exists()
        else:  # paid first: the order stays, its stock held
            assert order.status == "placed" and invoice.status == "paid" and online.status == "paid"
            assert Reservation.objects.filter(reference=f"shop:{order.pk}", status="active").exists()
        assert Payment.objects.filter(invoice=invoice).count() == (0 if order.status == "expired" else 1)
        outcomes.add(order.status)
    assert outcomes <= {"expired", "placed"}


def test_the_task_runs_the_sweep_and_beat_schedules_it(owners, settings):
    from aftersales.celery import app
    from aftersales.portal.tasks import shop_expiry_sweep

    settings.SHOP_ORDER_UNPAID_MINUTES = 0
    part = offer(owners.world)
    order = _place(owners, part)
    assert shop_expiry_sweep.apply().get() == {"expired": 1, "skipped": 0}
    assert shop_expiry_sweep.apply().get() == {"expired": 0, "skipped": 0}
    assert ShopOrder.objects.get(pk=order.pk).status == "expired"
    assert app.conf.beat_schedule["portal-shop-expiry-sweep"]["task"] == shop_expiry_sweep.name


def test_ready_and_cancel_tell_the_owner_with_a_link_that_opens(client, owners, settings):
    settings.AFTERSALES_PUBLIC_URL = "http://testserver"
    world = owners.world
    part = offer(world, stock="4")
    owners.zhang.language = "en"
    owners.zhang.save(update_fields=["language"])
    order = _place(owners, part)
    online = online_payment_start(invoice=order.invoice)
    online_payment_confirm(out_trade_no=online.out_trade_no, transaction_id="wx-r1", total_fen=19900)
    clerk = world.staff["parts_clerk"]
    shop.shop_order_move(actor=clerk, order=order, to="picking")
    shop.shop_order_move(actor=clerk, order=order, to="ready")
    ready = Message.objects.get(kind="shop.ready", customer=owners.zhang)
    assert ready.language == "en" and "collect them at the store" in ready.body and order.number in ready.body
    sign_in(client, owners.zhang)
    link = ready.body.split("http://testserver")[1].split()[0]
    page = client.get(link)
    assert page.status_code == 200 and 'data-testid="shop-ready"' in page.content.decode()
    assert 'lang="en"' in page.content.decode()[:400]
    # li's unpaid order cancelled by the store: told, in Chinese, with the reason
    other = _place(owners, part, customer=owners.li)
    shop.shop_order_move(actor=world.manager, order=other, to="cancelled", reason="商品缺货")
    cancelled = Message.objects.get(kind="shop.cancelled", customer=owners.li)
    assert "商品缺货" in cancelled.body and f"/app/shop/orders/{other.pk}/" in cancelled.body
    assert Message.objects.filter(customer__in=[owners.zhang, owners.li]).filter(kind__startswith="shop.").count() == 2


def test_a_paid_order_is_cancelled_only_with_the_refund_right(client, owners):
    world = owners.world
    part = offer(world)
    clerk = world.staff["parts_clerk"]
    clerk.language = "en"
    clerk.save(update_fields=["language"])
    points_adjust(actor=world.manager, customer=owners.zhang, store=world.a, points=50000, reason="gift", idempotency_key="g2")
    order = _place(owners, part)
    owner_pay_with_points(customer=owners.zhang, invoice=order.invoice, points="3000", idempotency_key="p2")
    # the parts clerk: no button, and a 403 naming why, in their language; nothing written
    client.force_login(clerk)
    page = client.get(f"/shop/orders/{order.pk}/").content.decode()
    assert 'data-testid="move-cancelled"' not in page and 'data-testid="cancel-needs-refund-right"' in page
    refused = client.post(f"/shop/orders/{order.pk}/", {"to": "cancelled", "reason": "out of stock"})
    assert refused.status_code == 403
    assert "only staff who may give refunds" in refused.content.decode()
    with pytest.raises(DomainError) as caught:
        shop.shop_order_move(actor=clerk, order=order, to="cancelled", reason="x")
    assert caught.value.code == "shop_refund_not_allowed"
    order.refresh_from_db()
    assert order.status == "placed" and _item(part, world.a).reserved == 1
    assert Payment.objects.get(invoice=order.invoice_id).refunded_amount == 0
    # bad input on the page: named, nothing written
    bad = client.post(f"/shop/orders/{order.pk}/", {"to": "nowhere"})
    assert bad.status_code == 422 and 'data-field="status"' in bad.content.decode()
    # a cashier (refund right, no credit-note right, no other moves): refunded, credited, the owner told
    cashier = make_staff("cashier", world.a, username="cashier-shop")
    client.force_login(cashier)
    page = client.get(f"/shop/orders/{order.pk}/").content.decode()
    assert 'data-testid="move-cancelled"' in page and 'data-testid="move-picking"' not in page
    assert client.post(f"/shop/orders/{order.pk}/", {"to": "picking"}).status_code == 403
    done = client.post(f"/shop/orders/{order.pk}/", {"to": "cancelled", "reason": "缺货"})
    assert done.status_code == 302, done.content.decode()[:2000]
    order.refresh_from_db()
    payment = Payment.objects.get(invoice=order.invoice_id)
    assert order.status == "cancelled" and payment.refunded_amount == payment.amount > Decimal("0")
    assert Invoice.objects.get(pk=order.invoice_id).status == "credited"
    assert _item(part, world.a).reserved == 0
    assert Message.objects.filter(kind="shop.cancelled", customer=owners.zhang).count() == 1
    # another store's cashier: 404
    other_cashier = make_staff("cashier", world.b, username="cashier-b")
    client.force_login(other_cashier)
    assert client.get(f"/shop/orders/{order.pk}/").status_code == 404


def test_an_order_with_only_points_taken_off_expires_and_gives_them_back(owners, settings):
    """Points off the invoice are not money: the unpaid order still expires on time, and the points go back to the
    owner's balance, once; money paid keeps the order. (Vouchers cover a visit's lines, so none applies to an app
    order's sale invoice; the same return path gives a voucher back: billing's loyalty_payments_return.)"""
    from aftersales.loyalty.selectors import balance_of

    settings.SHOP_ORDER_UNPAID_MINUTES = 30
    world = owners.world
    part = offer(world, stock="5")
    points_adjust(actor=world.manager, customer=owners.zhang, store=world.a, points=5000, reason="gift", idempotency_key="g-exp")
    order = _place(owners, part)
    before = balance_of(owners.zhang)
    owner_pay_with_points(customer=owners.zhang, invoice=order.invoice, points="3000", idempotency_key="p-exp")
    assert balance_of(owners.zhang) == before - 3000
    # another order with money on it (cash at the till, part of the total) does not expire
    kept = _place(owners, part, customer=owners.li)
    from aftersales.billing.services import payment_record

    payment_record(actor=world.manager, invoice=kept.invoice, method="cash", amount="50.00", idempotency_key="cash-kept")
    at = order.created_at + dt.timedelta(minutes=31)
    assert shop.shop_orders_expire(at=at) == {"expired": 1, "skipped": 0}
    assert shop.shop_orders_expire(at=at + dt.timedelta(minutes=1)) == {"expired": 0, "skipped": 0}
    order.refresh_from_db()
    kept.refresh_from_db()
    assert (order.status, kept.status) == ("expired", "placed")
    assert balance_of(owners.zhang) == before
    invoice = Invoice.objects.get(pk=order.invoice_id)
    assert invoice.status == "credited" and invoice.refunded_amount == invoice.paid_amount > 0
    assert all(p.refunded_amount == p.amount for p in Payment.objects.filter(invoice=invoice))
    assert _item(part, world.a).reserved == 1  # only the kept order's


def test_the_owner_cancels_after_taking_points_off_and_gets_them_back(client, owners):
    from aftersales.loyalty.selectors import balance_of

    world = owners.world
    part = offer(world, stock="2")
    points_adjust(actor=world.manager, customer=owners.zhang, store=world.a, points=5000, reason="gift", idempotency_key="g-can")
    order = _place(owners, part)
    before = balance_of(owners.zhang)
    owner_pay_with_points(customer=owners.zhang, invoice=order.invoice, points="2000", idempotency_key="p-can")
    sign_in(client, owners.zhang)
    done = shop.shop_order_cancel_by_owner(customer=owners.zhang, order=order)
    assert done.status == "cancelled" and balance_of(owners.zhang) == before
    assert Invoice.objects.get(pk=order.invoice_id).status == "credited"
    assert _item(part, world.a).reserved == 0
    # money on the invoice: the owner calls the store instead
    other = _place(owners, part)
    from aftersales.billing.services import payment_record

    payment_record(actor=world.manager, invoice=other.invoice, method="cash", amount="10.00", idempotency_key="cash-can")
    with pytest.raises(DomainError) as caught:
        shop.shop_order_cancel_by_owner(customer=owners.zhang, order=other)
    assert caught.value.code == "shop_order_not_cancellable"
    assert ShopOrder.objects.get(pk=other.pk).status == "placed"
