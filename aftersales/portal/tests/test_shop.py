"""The accessories shop: the parts manager offers items (bad input named at once), the owner browses, fills a cart and
orders (pickup: a sale invoice paid through the existing paths; fitting: a job on the open repair order), the stock is
reserved so that it never goes below zero (also under a race), the store picks / hands over / cancels with refund.
Another owner's order, another store's order: 404."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.utils import timezone
from PIL import Image

from aftersales.billing.models import CreditNote, Invoice, Payment
from aftersales.billing.services import online_payment_confirm, online_payment_start
from aftersales.common.errors import DomainError
from aftersales.parts.models import Part, Reservation, StockItem, StockMovement
from aftersales.parts.services import part_online_set, stock_receive
from aftersales.portal import shop
from aftersales.portal.models import ShopOrder
from aftersales.workshop.models import RepairJob, RepairOrder

from .conftest import sign_in

pytestmark = pytest.mark.django_db


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, format="JPEG")
    return out.getvalue()


def offer(world, number="ACC-1", stock="3", price="199.00"):
    clerk = world.staff["parts_clerk"]
    part = Part.objects.create(group=world.group, number=number, name_zh="脚垫", name_en="Floor mats", category="accessory",
                               sale_price="220.00")
    part = part_online_set(actor=clerk, part=part, data={
        "sold_online": "1", "online_price": price, "online_description_zh": "全包围脚垫", "online_description_en": "All-round mats",
    }, photo=_jpeg())
    if stock:
        stock_receive(actor=clerk, store=world.a, part=part, quantity=stock, unit_cost="100.00")
    return part


def _item(part, store):
    return StockItem.objects.get(part=part, store=store)


def test_offering_an_item_names_every_bad_field_at_once_and_writes_nothing(client, world):
    part = Part.objects.create(group=world.group, number="ACC-9", name_zh="挂件", category="accessory")
    client.force_login(world.staff["parts_clerk"])
    bad = client.post(f"/parts/{part.pk}/online/", {
        "sold_online": "1", "online_price": "", "online_description_zh": "x" * 1001,
        "online_photo": io.BytesIO(b"not an image"),
    })
    text = bad.content.decode()
    assert bad.status_code == 422
    for field in ("online_price", "online_description_zh", "online_photo"):
        assert f'data-field="{field}"' in text, field
    part.refresh_from_db()
    assert not part.sold_online and not part.online_photo
    ok = client.post(f"/parts/{part.pk}/online/", {"sold_online": "1", "online_price": "88", "online_description_zh": "<b>挂件</b>"})
    assert ok.status_code == 302
    part.refresh_from_db()
    assert part.sold_online and part.online_price == Decimal("88.00")
    listing = client.get("/parts/online/").content.decode()
    assert "ACC-9" in listing
    client.force_login(world.technician)  # no catalogue rights
    assert client.get(f"/parts/{part.pk}/online/").status_code == 403


def test_owner_browses_orders_for_pickup_pays_and_the_store_hands_it_over(client, owners):
    world = owners.world
    part = offer(world)
    sign_in(client, owners.zhang)
    page = client.get("/app/shop/?store=a").content.decode()
    assert "全包围脚垫" in page and "¥199.00" in page and 'data-testid="shop-item"' in page
    photo = client.get(f"/app/shop/items/{part.pk}/photo/")
    assert photo.status_code == 200 and b"".join(photo.streaming_content)[:2] == b"\xff\xd8"
    added = client.post("/app/shop/", {"store": "a", "part": part.pk, "quantity": "2"})
    assert added.status_code == 302
    bad = client.post("/app/shop/", {"store": "a", "part": part.pk, "quantity": "0"})
    assert bad.status_code == 422 and 'data-testid="shop-error"' in bad.content.decode()
    cart = client.get("/app/shop/cart/").content.decode()
    assert "398.00" in cart
    placed = client.post("/app/shop/cart/", {"action": "place", f"qty_{part.pk}": "2", "fulfilment": "pickup"})
    assert placed.status_code == 302
    order = ShopOrder.objects.get(customer=owners.zhang)
    assert placed["Location"] == f"/app/shop/orders/{order.pk}/pay/"
    assert order.total == Decimal("398.00") and order.invoice.total == Decimal("398.00") and order.invoice.order_id is None
    assert _item(part, world.a).reserved == 2
    assert Reservation.objects.get(reference=f"shop:{order.pk}").status == "active"
    assert client.get(f"/app/shop/orders/{order.pk}/pay/").status_code == 200
    # another owner: 404 everywhere
    other = client.__class__()
    sign_in(other, owners.li, ip="10.0.0.2")
    for url in (f"/app/shop/orders/{order.pk}/", f"/app/shop/orders/{order.pk}/pay/"):
        assert other.get(url).status_code == 404, url
    # the store cannot hand over before it is paid
    client.force_login(world.staff["parts_clerk"])
    assert client.post(f"/shop/orders/{order.pk}/", {"to": "picking"}).status_code == 302
    refused = client.post(f"/shop/orders/{order.pk}/", {"to": "ready"})
    assert refused.status_code == 409 and 'data-testid="shop-move-error"' in refused.content.decode()
    # paid through the existing online path (the provider's notification)
    online = online_payment_start(invoice=order.invoice)
    online_payment_confirm(out_trade_no=online.out_trade_no, transaction_id="wx-1", total_fen=39800)
    assert client.post(f"/shop/orders/{order.pk}/", {"to": "ready"}).status_code == 302
    assert client.post(f"/shop/orders/{order.pk}/", {"to": "handed_over"}).status_code == 302
    item = _item(part, world.a)
    assert item.on_hand == 1 and item.reserved == 0
    sale = StockMovement.objects.get(part=part, kind="sale")
    assert sale.quantity == -2 and sale.customer_id == owners.zhang.pk
    # the sale invoice has no repair order: its staff page and API still answer
    from aftersales.common.tests.api_helpers import Api

    client.force_login(world.manager)
    page = client.get(f"/billing/invoices/{order.invoice_id}/")
    assert page.status_code == 200 and 'data-testid="invoice-sale"' in page.content.decode()
    got = Api.session(world.manager).get(f"/api/billing/invoices/{order.invoice_id}")
    assert got.status_code == 200 and got.json()["order_id"] is None and got.json()["number"] == order.invoice.number
    # another store's staff: 404
    client.force_login(world.manager_b)
    assert client.get(f"/shop/orders/{order.pk}/").status_code == 404


def test_ordering_more_than_is_free_names_the_item_and_writes_nothing(client, owners):
    world = owners.world
    part = offer(world, stock="1")
    gone = offer(world, number="ACC-2", stock="")
    sign_in(client, owners.zhang)
    bad = client.post("/app/shop/cart/", {})  # empty cart
    assert bad.status_code == 200
    client.post("/app/shop/", {"store": "a", "part": part.pk, "quantity": "1"})
    response = client.post("/app/shop/cart/", {"action": "place", f"qty_{part.pk}": "3", f"qty_{gone.pk}": "1",
                                               "fulfilment": "fit"})
    text = response.content.decode()
    assert response.status_code == 422
    assert f'data-field="qty_{part.pk}"' not in text or "1" in text
    with pytest.raises(DomainError) as caught:
        shop.shop_order_place(customer=owners.zhang, store=world.a, items={part.pk: 3, gone.pk: 1}, fulfilment="pickup")
    fields = {e["field"] for e in caught.value.extra["errors"]}
    assert fields == {f"qty_{part.pk}", f"qty_{gone.pk}"}
    with pytest.raises(DomainError) as caught:
        shop.shop_order_place(customer=owners.zhang, store=world.a, items={part.pk: "x"}, fulfilment="fit")
    assert {e["field"] for e in caught.value.extra["errors"]} == {f"qty_{part.pk}", "target"}
    assert not ShopOrder.objects.exists() and not Invoice.objects.exists()
    assert _item(part, world.a).reserved == 0


def test_fitting_at_the_open_repair_order_becomes_a_job_holding_the_reservation(client, owners):
    world = owners.world
    part = offer(world)
    ro = RepairOrder.objects.create(store=world.a, number="RO-FIT", customer=owners.zhang, vehicle=owners.car,
                                    status="checked_in", opened_at=timezone.now())
    targets = [value for value, _t in shop.fit_targets(owners.zhang, world.a)]
    assert targets == [f"ro:{ro.pk}"]
    assert shop.fit_targets(owners.li, world.a) == []  # not li's order
    order = shop.shop_order_place(customer=owners.zhang, store=world.a, items={part.pk: 1}, fulfilment="fit",
                                  target=f"ro:{ro.pk}")
    assert order.invoice_id is None and order.repair_order_id == ro.pk
    with pytest.raises(DomainError):  # li cannot fit onto zhang's repair order
        shop.shop_order_place(customer=owners.li, store=world.a, items={part.pk: 1}, fulfilment="fit", target=f"ro:{ro.pk}")
    shop.shop_order_move(actor=world.manager, order=order, to="picking")
    order.refresh_from_db()
    job = RepairJob.objects.get(pk=order.repair_job_id)
    assert job.order_id == ro.pk and job.lines.get().unit_price == Decimal("199.00")
    assert Reservation.objects.get(reference=f"job:{job.pk}", status="active").quantity == 1
    assert not Reservation.objects.filter(reference=f"shop:{order.pk}", status="active").exists()
    assert _item(part, world.a).reserved == 1


def test_owner_cancels_an_unpaid_order_the_store_cancels_a_paid_one_with_refund(client, owners):
    world = owners.world
    part = offer(world)
    sign_in(client, owners.zhang)
    first = shop.shop_order_place(customer=owners.zhang, store=world.a, items={part.pk: 1}, fulfilment="pickup")
    assert client.post(f"/app/shop/orders/{first.pk}/", {"action": "cancel"}).status_code == 302
    first.refresh_from_db()
    assert first.status == "cancelled" and _item(part, world.a).reserved == 0
    assert first.invoice.__class__.objects.get(pk=first.invoice_id).status == "credited"
    assert CreditNote.objects.get(invoice_id=first.invoice_id).total == Decimal("-199.00")
    # money paid on it (a deposit at the till), then cancelled by the store: refunded, the invoice is credited
    # (points alone taken off it the owner may still cancel in the app: test_shop_expiry.py)
    second = shop.shop_order_place(customer=owners.zhang, store=world.a, items={part.pk: 1}, fulfilment="pickup")
    from aftersales.billing.services import payment_record

    payment_record(actor=world.manager, invoice=second.invoice, method="cash", amount="30.00", idempotency_key="p1")
    assert client.post(f"/app/shop/orders/{second.pk}/", {"action": "cancel"}).status_code == 409  # paid: the store does it
    with pytest.raises(DomainError) as caught:
        shop.shop_order_move(actor=world.manager, order=second, to="cancelled", reason="")
    assert caught.value.field == "reason"
    shop.shop_order_move(actor=world.manager, order=second, to="cancelled", reason="缺货")
    payment = Payment.objects.get(invoice=second.invoice_id)
    assert payment.refunded_amount == payment.amount
    second.refresh_from_db()
    assert second.status == "cancelled" and _item(part, world.a).reserved == 0
    assert Invoice.objects.get(pk=second.invoice_id).status == "credited"


@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_never_take_more_than_is_free(owners):
    from aftersales.billing.tests.helpers import run_in_threads
    from aftersales.customers.models import Customer
    from aftersales.stores.models import Store

    world = owners.world
    part = offer(world, stock="3")
    buyers = [owners.zhang.pk, owners.li.pk] * 3

    def buy(customer_id):
        return lambda: shop.shop_order_place(customer=Customer.objects.get(pk=customer_id),
                                             store=Store.objects.get(pk=world.a.pk), items={part.pk: 1}, fulfilment="pickup")

    results = run_in_threads(*[buy(pk) for pk in buyers])
    won = [r for r in results if isinstance(r, ShopOrder)]
    assert len(won) == 3, results
    assert all(isinstance(r, DomainError) and r.code == "insufficient_available" for r in results if r not in won), results
    item = _item(part, world.a)
    assert item.reserved == 3 and item.on_hand == 3
    assert Invoice.objects.count() == 3


def test_the_shop_api_is_the_owners_own(client, owners):
    world = owners.world
    part = offer(world, stock="2")
    sign_in(client, owners.zhang)
    items = client.get("/api/portal/shop/items?store=a")
    assert items.status_code == 200 and items.json()[0]["available"] == 2 and items.json()[0]["photo_url"]
    bad = client.post("/api/portal/shop/orders", {"store": "a", "items": [{"part": part.pk, "quantity": 5}],
                                                  "fulfilment": "nope"}, content_type="application/json")
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"fulfilment", f"qty_{part.pk}"}
    assert not ShopOrder.objects.exists()
    ok = client.post("/api/portal/shop/orders", {"store": "a", "items": [{"part": part.pk, "quantity": 2}],
                                                 "fulfilment": "pickup"}, content_type="application/json")
    assert ok.status_code == 201, ok.content
    body = ok.json()
    assert body["total"] == "398.00" and body["balance"] == "398.00" and not body["paid"]
    assert client.get("/api/portal/shop/items?store=a").json()[0]["available"] == 0
    other = client.__class__()
    sign_in(other, owners.li, ip="10.0.0.3")
    for method, url in (("get", f"/api/portal/shop/orders/{body['id']}"), ("post", f"/api/portal/shop/orders/{body['id']}/cancel")):
        assert getattr(other, method)(url, content_type="application/json").status_code == 404, url
    assert other.get("/api/portal/shop/orders").json() == []
    cancelled = client.post(f"/api/portal/shop/orders/{body['id']}/cancel", content_type="application/json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.get("/api/portal/shop/items?store=a").json()[0]["available"] == 2


def test_an_orders_items_read_in_the_readers_language_not_the_ordering_one(client, owners, django_assert_max_num_queries):
    """The owner orders in Chinese; the order page in English names the items in English (and the staff list and
    page in the staff member's language), with the line's name read from the catalogue in one query for all lines."""
    world = owners.world
    mats = offer(world)
    hook = offer(world, number="ACC-3")
    Part.objects.filter(pk=hook.pk).update(name_zh="挂钩", name_en="Coat hook")
    sign_in(client, owners.zhang)
    client.cookies["django_language"] = "zh-hans"
    for part in (mats, hook):
        client.post("/app/shop/", {"store": "a", "part": part.pk, "quantity": "1"})
    client.post("/app/shop/cart/", {"action": "place", f"qty_{mats.pk}": "1", f"qty_{hook.pk}": "1", "fulfilment": "pickup"})
    order = ShopOrder.objects.get(customer=owners.zhang)
    assert sorted(order.lines.values_list("name", flat=True)) == ["挂钩", "脚垫"]  # as the owner saw them
    client.cookies["django_language"] = "en"
    page = client.get(f"/app/shop/orders/{order.pk}/").content.decode()
    assert "Floor mats × 1" in page and "Coat hook × 1" in page and "脚垫" not in page
    api = client.get("/api/portal/shop/orders", HTTP_ACCEPT_LANGUAGE="en").json()
    assert sorted(line["name"] for line in api[0]["lines"]) == ["Coat hook", "Floor mats"]
    staff_client = client.__class__()
    staff = world.staff["parts_clerk"]
    staff.language = "en"
    staff.save(update_fields=["language"])
    staff_client.force_login(staff)
    listing = staff_client.get("/shop/orders/").content.decode()
    assert "Floor mats × 1" in listing and "Coat hook × 1" in listing
    assert "Floor mats" in staff_client.get(f"/shop/orders/{order.pk}/").content.decode()
    # more lines do not cost more queries: the catalogue rows come in one prefetch
    client.cookies["django_language"] = "zh-hans"
    with django_assert_max_num_queries(40) as two:
        client.get(f"/app/shop/orders/{order.pk}/")
    third = offer(world, number="ACC-4")
    order.lines.create(part=third, name="x", quantity=1, unit_price=1, amount=1)
    with django_assert_max_num_queries(len(two.captured_queries)):
        assert "脚垫 × 1" in client.get(f"/app/shop/orders/{order.pk}/").content.decode()
