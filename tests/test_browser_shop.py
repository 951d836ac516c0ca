"""The accessories shop in headless Chromium: the parts manager offers an item at desk size (photo, online price,
both descriptions), the owner on a 390 px phone adds it to the cart and orders it for pickup, the store picks it
(screenshots in var/screenshots/shop-*.png)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from aftersales.appointments.tests.conftest import setup_store
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.messaging.models import Message
from aftersales.parts.models import Part, StockItem
from aftersales.parts.services import stock_receive
from aftersales.portal.models import ShopOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"shop-{name}.png"), full_page=True)


def _staff_login(page, base, user):
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_parts_manager_offers_the_owner_orders_on_a_phone_the_store_picks(live_server, world, browser_page, tmp_path):
    setup_store(world.a)
    clerk = world.staff["parts_clerk"]
    part = Part.objects.create(group=world.group, number="ACC-MAT", name_zh="全包围脚垫", name_en="All-weather floor mats",
                               category="accessory", sale_price="260.00")
    stock_receive(actor=clerk, store=world.a, part=part, quantity="4", unit_cost="120.00")
    photo = tmp_path / "mats.png"
    Image.new("RGB", (320, 200), (40, 90, 160)).save(photo, format="PNG")

    page = browser_page
    page.set_default_timeout(60_000)  # the machine is shared: the first page of a run can be slow
    page.set_viewport_size({"width": 1366, "height": 900})
    _staff_login(page, live_server.url, clerk)
    page.goto(f"{live_server.url}/parts/{part.pk}/online/")
    page.check("[data-testid=sold-online]")
    page.fill("[data-testid=online-price]", "-5")
    page.fill("[data-testid=online-zh]", "x" * 1001)
    page.evaluate("document.querySelector('[data-testid=online-zh]').removeAttribute('maxlength')")
    page.fill("[data-testid=online-zh]", "x" * 1001)
    page.click("[data-testid=online-save]")
    page.wait_for_selector("[data-testid=online-errors]")
    errors = page.inner_text("[data-testid=online-errors]")
    assert "1000" in errors  # both bad fields named at once
    assert page.locator("[data-testid=online-errors] [data-field=online_price]").count() == 1
    assert page.locator("[data-testid=online-errors] [data-field=online_description_zh]").count() == 1
    _shot(page, "1-staff-errors")
    page.fill("[data-testid=online-price]", "199")
    page.fill("[data-testid=online-zh]", "加厚耐磨，<防水>，原厂尺寸")
    page.fill("[data-testid=online-en]", "Thick, hard-wearing, waterproof, made to fit")
    page.set_input_files("[data-testid=online-photo]", str(photo))
    page.click("[data-testid=online-save]")
    page.wait_for_selector("[data-testid=online-row]")
    assert page.locator("img.thumb").count() == 1
    _shot(page, "2-staff-offered")
    page.context.clear_cookies()

    owner = CustomerFactory(group=world.group, home_store=world.a, name="张伟", title="mr")
    VehicleFactory(group=world.group, owner=owner, plate="粤B12345")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/app/login/?next=/app/")
    page.fill("[data-testid=mobile]", owner.mobile[3:])
    page.click("[data-testid=send-code]")
    page.wait_for_selector("[data-testid=code]")
    body = Message.objects.filter(kind="portal.sign_in_code").latest("id").body
    page.fill("[data-testid=code]", re.search(r"\b(\d{6})\b", body).group(1))
    page.click("[data-testid=verify]")
    page.click("[data-testid=to-shop]")  # from home
    page.wait_for_selector("[data-testid=shop-item]")
    assert "加厚耐磨，<防水>，原厂尺寸" in page.inner_text("[data-testid=shop-item]")  # escaped, shown as typed
    assert "¥199.00" in page.inner_text("[data-testid=shop-item]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # the photo loads lazily (loading="lazy"): wait until the browser has it, then check it was scaled down to 320 px
    page.locator("img.shop-photo").scroll_into_view_if_needed()
    page.wait_for_function("(() => { const i = document.querySelector('img.shop-photo'); return i.complete && i.naturalWidth > 0; })()")
    assert page.evaluate("document.querySelector('img.shop-photo').naturalWidth") == 320
    page.fill("[data-testid=shop-qty]", "2")
    page.click("[data-testid=shop-add]")
    page.wait_for_selector("[data-testid=added]")
    _shot(page, "3-owner-shop")
    page.click("[data-testid=shop-cart-link]")
    page.wait_for_selector("[data-testid=cart-line]")
    assert "398.00" in page.inner_text("[data-testid=cart-total]")
    page.fill("[data-testid=cart-qty]", "9")
    page.check("[data-testid=fulfilment-pickup]")
    page.click("[data-testid=cart-place]")
    page.wait_for_selector("[data-testid=cart-errors]")
    assert "仅剩 4 件" in page.inner_text("[data-testid=cart-errors]")
    assert page.get_attribute("[data-testid=cart-qty]", "aria-invalid") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "4-owner-cart-error")
    page.fill("[data-testid=cart-qty]", "2")
    page.check("[data-testid=fulfilment-pickup]")
    page.click("[data-testid=cart-place]")
    page.wait_for_selector("[data-testid=pay-page]")
    _shot(page, "5-owner-pay")
    order = ShopOrder.objects.get(customer=owner)
    assert StockItem.objects.get(part=part, store=world.a).reserved == 2
    page.click("[data-testid=back-to-shop-order]")
    page.wait_for_selector("[data-testid=shop-unpaid]")
    _shot(page, "6-owner-order")
    page.context.clear_cookies()

    page.set_viewport_size({"width": 1366, "height": 900})
    _staff_login(page, live_server.url, clerk)
    page.goto(f"{live_server.url}/shop/orders/")
    page.wait_for_selector("[data-testid=shop-order-staff-row]")
    _shot(page, "7-staff-orders")
    page.goto(f"{live_server.url}/shop/orders/{order.pk}/")
    page.click("[data-testid=move-picking]")
    page.wait_for_selector("[data-testid=move-ready]")
    page.click("[data-testid=move-ready]")
    page.wait_for_selector("[data-testid=shop-move-error]")
    assert page.get_attribute("[data-testid=shop-move-error]", "data-field") == "status"  # not paid yet
    _shot(page, "8-staff-order")
    order.refresh_from_db()
    assert order.status == "picking"


def test_owner_sees_an_expired_and_a_ready_order_on_a_phone(live_server, world, browser_page, settings):
    import datetime as dt

    from aftersales.billing.services import online_payment_confirm, online_payment_start
    from aftersales.parts.services import part_online_set
    from aftersales.portal import shop

    setup_store(world.a)
    clerk = world.staff["parts_clerk"]
    part = Part.objects.create(group=world.group, number="ACC-HOOK", name_zh="车载挂钩", name_en="Seat-back hook",
                               category="accessory", sale_price="39.00")
    part = part_online_set(actor=clerk, part=part, data={"sold_online": "1", "online_price": "29.00"})
    stock_receive(actor=clerk, store=world.a, part=part, quantity="5", unit_cost="10.00")
    owner = CustomerFactory(group=world.group, home_store=world.a, name="张伟", title="mr")
    VehicleFactory(group=world.group, owner=owner, plate="粤B12345")
    late = shop.shop_order_place(customer=owner, store=world.a, items={part.pk: 2}, fulfilment="pickup")
    assert shop.shop_order_expire(order_id=late.pk, at=late.created_at + dt.timedelta(minutes=31))
    ready = shop.shop_order_place(customer=owner, store=world.a, items={part.pk: 1}, fulfilment="pickup")
    online = online_payment_start(invoice=ready.invoice)
    online_payment_confirm(out_trade_no=online.out_trade_no, transaction_id="wx-b1", total_fen=2900)
    shop.shop_order_move(actor=clerk, order=ready, to="picking")
    shop.shop_order_move(actor=clerk, order=ready, to="ready")
    assert StockItem.objects.get(part=part, store=world.a).reserved == 1

    page = browser_page
    page.set_default_timeout(60_000)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/app/login/?next=/app/shop/orders/")
    page.fill("[data-testid=mobile]", owner.mobile[3:])
    page.click("[data-testid=send-code]")
    page.wait_for_selector("[data-testid=code]")
    body = Message.objects.filter(kind="portal.sign_in_code").latest("id").body
    page.fill("[data-testid=code]", re.search(r"\b(\d{6})\b", body).group(1))
    page.click("[data-testid=verify]")
    page.wait_for_selector("[data-testid=shop-order-row]")
    statuses = page.locator("[data-testid=shop-order-row-status]").all_inner_texts()
    assert "待取货" in statuses and "已过期（未按时付款）" in statuses
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "9-owner-orders-expired-ready")
    page.goto(f"{live_server.url}/app/shop/orders/{late.pk}/")
    page.wait_for_selector("[data-testid=shop-expired]")
    assert "30 分钟" in page.inner_text("[data-testid=shop-expired]")
    assert page.locator("[data-testid=shop-pay]").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "10-owner-expired")
    # the owner's inbox has the messages; the ready one's link opens the order
    page.goto(f"{live_server.url}/app/shop/orders/{ready.pk}/")
    page.wait_for_selector("[data-testid=shop-ready]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "11-owner-ready")
    assert set(Message.objects.filter(customer=owner, kind__startswith="shop.").values_list("kind", flat=True)) == {
        "shop.expired", "shop.ready"}
