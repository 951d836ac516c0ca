from decimal import Decimal

import pytest

from aftersales.parts.models import AdjustmentRequest, Part, Reservation, StockItem, StockMovement
from aftersales.parts.services import reserve, stock_adjust

from .partsui_helpers import authorized_job, make_part, open_job, stocked


@pytest.fixture
def part(world):
    return make_part(world, "04152-YZZA1", aliases=[{"number": "W712/75", "brand": "MANN"}])


@pytest.fixture
def clerk_client(client, world):
    client.force_login(world.staff["parts_clerk"])
    return client


def _pages(part, item, movement):
    return [
        "/parts/", "/parts/?q=0415", f"/parts/{part.pk}/", "/parts/new/", f"/parts/{part.pk}/edit/",
        f"/parts/{part.pk}/receive/", f"/parts/{part.pk}/issue/", f"/parts/{part.pk}/return/", f"/parts/{part.pk}/adjust/",
        f"/parts/stock/{item.pk}/movements/", f"/parts/movements/{movement.pk}/", "/parts/adjustments/",
        "/parts/reservations/", "/parts/import/", "/parts/export.xlsx",
    ]


def test_pages_require_login_and_work_for_the_clerk(client, world, part):
    movement = stocked(world, part)
    item = StockItem.objects.get(store=world.a, part=part)
    for url in _pages(part, item, movement):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    client.force_login(world.staff["parts_clerk"])
    for url in _pages(part, item, movement):
        assert client.get(url).status_code == 200, url


def test_permissions_403(client, world, part):
    movement = stocked(world, part)
    item = StockItem.objects.get(store=world.a, part=part)
    client.force_login(world.staff["cashier"])  # no parts permission at all
    for url in _pages(part, item, movement):
        assert client.get(url).status_code == 403, url
    client.force_login(world.advisor)  # read-only availability
    assert client.get("/parts/?q=0415").status_code == 200
    assert client.get(f"/parts/{part.pk}/").status_code == 200
    for url in [f"/parts/{part.pk}/edit/", f"/parts/{part.pk}/receive/", f"/parts/{part.pk}/issue/", "/parts/new/",
                f"/parts/stock/{item.pk}/movements/", "/parts/import/"]:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/parts/{part.pk}/receive/", {"store": world.a.pk, "quantity": "1", "unit_cost": "1"}).status_code == 403
    client.force_login(world.staff["parts_clerk"])
    assert client.post("/parts/adjustments/1/decide/", {"decision": "approve"}).status_code == 403
    assert StockMovement.objects.count() == 1


def test_advisor_sees_availability_here_and_elsewhere(client, world, part):
    stocked(world, part, "3", store=world.b)
    client.force_login(world.advisor)
    page = client.get(f"/parts/{part.pk}/").content.decode()
    assert 'data-testid="stock-row"' in page and "Store B" in page and 'data-testid="elsewhere"' in page
    assert "Receive" not in page and 'id="movements"' not in page


def test_other_stores_objects_are_404(clerk_client, world, part):
    movement = stocked(world, part, "5", store=world.b)
    item = StockItem.objects.get(store=world.b, part=part)
    reservation = reserve(actor=world.manager_b, store=world.b, part=part, quantity="1", source="manual", reference="b:1")
    assert clerk_client.get(f"/parts/stock/{item.pk}/movements/").status_code == 404
    assert clerk_client.get(f"/parts/movements/{movement.pk}/").status_code == 404
    assert clerk_client.post(f"/parts/reservations/{reservation.pk}/release/").status_code == 404
    big = make_part(world, "ENG-1", name_zh="发动机", cost_price="9000")
    stocked(world, big, "2", store=world.b)
    pending = stock_adjust(actor=_clerk_b(world), store=world.b, part=big, quantity="-1", reason="damaged")
    assert isinstance(pending, AdjustmentRequest)
    client_manager = clerk_client
    client_manager.force_login(world.manager)
    assert client_manager.post(f"/parts/adjustments/{pending.pk}/decide/", {"decision": "approve"}).status_code == 404
    pending.refresh_from_db()
    assert pending.status == "pending"
    assert Reservation.objects.get(pk=reservation.pk).status == "active"
    # the other store's receipt form choice is refused: the store is not offered
    response = client_manager.post(f"/parts/{part.pk}/receive/", {"store": world.b.pk, "quantity": "1", "unit_cost": "1"})
    assert response.status_code == 200 and 'data-field="store"' in response.content.decode()


def _clerk_b(world):
    from aftersales.common.tests.factories import make_staff

    return make_staff("parts_clerk", world.b)


def test_create_part_inline_errors_nothing_written(clerk_client, world, part):
    data = {"number": "04152-yzza1", "name_zh": "滤清器", "category": "filter", "unit": "piece", "tracking": "none",
            "sale_price": "-5", "cost_price": "1", "tax_rate": "0.13"}
    response = clerk_client.post("/parts/new/", data)
    page = response.content.decode()
    assert response.status_code == 200 and 'data-field="sale_price"' in page
    data["sale_price"] = "5"
    response = clerk_client.post("/parts/new/", data)
    assert 'data-field="number"' in response.content.decode()  # duplicate number
    data["number"] = "NEW-1"
    data["unit"] = "bucket"
    assert 'data-field="unit"' in clerk_client.post("/parts/new/", data).content.decode()
    assert Part.objects.count() == 1
    data["unit"] = "set"
    data["aliases"] = "X-9, Bosch\n90915, Toyota, OEM"
    response = clerk_client.post("/parts/new/", data)
    created = Part.objects.get(number="NEW-1")
    assert response.status_code == 302 and response["Location"] == f"/parts/{created.pk}/"
    assert sorted(created.aliases.values_list("number", "is_oem")) == [("90915", True), ("X-9", False)]


def test_edit_part(clerk_client, world, part):
    clerk_client.force_login(world.admin)  # prices are the group's (issue 13, item 10)
    response = clerk_client.post(f"/parts/{part.pk}/edit/", {
        "number": part.number, "name_zh": "机油格", "category": "filter", "unit": "piece", "tracking": "none",
        "sale_price": "70", "cost_price": "30", "tax_rate": "0.13", "is_active": "on", "is_oem": "on",
        "aliases": "W712/75, MANN"})
    assert response.status_code == 302
    part.refresh_from_db()
    assert part.name_zh == "机油格" and part.sale_price == Decimal("70.00")


def test_search_page_and_htmx_results(clerk_client, world, part):
    stocked(world, part, "7")
    page = clerk_client.get("/parts/?q=w712").content.decode()
    assert 'data-testid="part-search-input"' in page and "04152-YZZA1" in page
    partial = clerk_client.get("/parts/?q=机油", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and partial.count('data-testid="part-result"') == 1 and ">7<" in partial


def test_receive_inline_errors(clerk_client, world, part):
    url = f"/parts/{part.pk}/receive/"
    for quantity in ("1.5", "-2", "abc"):
        response = clerk_client.post(url, {"store": world.a.pk, "quantity": quantity, "unit_cost": "30"})
        assert response.status_code == 200 and 'data-field="quantity"' in response.content.decode(), quantity
    response = clerk_client.post(url, {"store": world.a.pk, "quantity": "2", "unit_cost": "-1"})
    assert 'data-field="unit_cost"' in response.content.decode()
    assert not StockMovement.objects.exists()
    assert clerk_client.post(url, {"store": world.a.pk, "quantity": "2", "unit_cost": "30"}).status_code == 302
    assert StockItem.objects.get(store=world.a, part=part).on_hand == 2


def test_issue_and_return(clerk_client, world, part):
    stocked(world, part, "3")
    unapproved = open_job(world.a, "RO-0", "Tyre pressure check")
    job = authorized_job(world.a, part, "4")
    url = f"/parts/{part.pk}/issue/"
    page = clerk_client.get(url).content.decode()
    assert job.order.number in page and "RO-0" not in page  # only jobs the customer authorized are offered
    response = clerk_client.post(url, {"store": world.a.pk, "job": unapproved.pk, "quantity": "1"})
    assert 'data-field="job"' in response.content.decode()
    response = clerk_client.post(url, {"store": world.a.pk, "job": job.pk, "quantity": "4"})
    page = response.content.decode()
    assert response.status_code == 200 and 'data-field="quantity"' in page and "Only 3" in page
    assert 'data-field="quantity"' in clerk_client.post(url, {"store": world.a.pk, "job": job.pk, "quantity": "0.5"}).content.decode()
    other_job = authorized_job(world.b, part, "1", "RO-B")
    response = clerk_client.post(url, {"store": world.a.pk, "job": other_job.pk, "quantity": "1"})
    assert 'data-field="job"' in response.content.decode()
    assert StockMovement.objects.filter(kind="issue").count() == 0
    assert clerk_client.post(url, {"store": world.a.pk, "job": job.pk, "quantity": "2"}).status_code == 302
    ret = f"/parts/{part.pk}/return/"
    response = clerk_client.post(ret, {"store": world.a.pk, "job": job.pk, "quantity": "3"})
    assert 'data-field="quantity"' in response.content.decode()
    assert clerk_client.post(ret, {"store": world.a.pk, "job": job.pk, "quantity": "1"}).status_code == 302
    assert StockItem.objects.get(store=world.a, part=part).on_hand == 2


def test_adjustment_approval_flow(client, world):
    engine = make_part(world, "ENG-1", name_zh="发动机总成", cost_price="9000")
    stocked(world, engine, "2")
    client.force_login(world.staff["parts_clerk"])
    response = client.post(f"/parts/{engine.pk}/adjust/", {"store": world.a.pk, "quantity": "-1", "reason": ""})
    assert 'data-field="reason"' in response.content.decode()
    response = client.post(f"/parts/{engine.pk}/adjust/", {"store": world.a.pk, "quantity": "-1", "reason": "dropped"})
    assert response.status_code == 302
    pending = AdjustmentRequest.objects.get()
    assert 'data-testid="pending-adjustment"' in client.get("/parts/adjustments/").content.decode()
    assert client.post(f"/parts/adjustments/{pending.pk}/decide/", {"decision": "approve"}).status_code == 403
    client.force_login(world.manager)
    page = client.get("/parts/adjustments/").content.decode()
    assert "Approve" in page
    assert client.post(f"/parts/adjustments/{pending.pk}/decide/", {"decision": "approve"}).status_code == 302
    assert StockItem.objects.get(store=world.a, part=engine).on_hand == 1
    pending.refresh_from_db()
    assert pending.status == "approved"


def test_reservations_list_and_release(clerk_client, world, part):
    stocked(world, part, "5")
    reservation = reserve(actor=world.advisor, store=world.a, part=part, quantity="2", source="appointment", reference="appointment:9")
    page = clerk_client.get("/parts/reservations/").content.decode()
    assert "#9" in page and "appointment:9" not in page  # the reference by its number, not as a code
    response = clerk_client.post(f"/parts/reservations/{reservation.pk}/release/")
    assert response.status_code == 302
    assert StockItem.objects.get(store=world.a, part=part).reserved == 0
    assert Reservation.objects.get(pk=reservation.pk).status == "released"


def test_movements_paginated(clerk_client, world, part):
    for _ in range(55):
        stocked(world, part, "1")
    item = StockItem.objects.get(store=world.a, part=part)
    first = clerk_client.get(f"/parts/stock/{item.pk}/movements/").content.decode()
    second = clerk_client.get(f"/parts/stock/{item.pk}/movements/?page=2").content.decode()
    assert first.count('data-testid="movement"') == 50 and second.count('data-testid="movement"') == 5


def test_nav_link(client, world):
    client.force_login(world.staff["parts_clerk"])
    assert 'href="/parts/"' in client.get("/").content.decode()
    client.force_login(world.staff["cashier"])
    assert 'href="/parts/"' not in client.get("/").content.decode()


def test_clerk_sees_why_a_price_change_is_refused(clerk_client, world, part):
    """Issue 13, item 10: the form names the price field; nothing is saved."""
    response = clerk_client.post(f"/parts/{part.pk}/edit/", {
        "number": part.number, "name_zh": "机油格", "category": "filter", "unit": "piece", "tracking": "none",
        "sale_price": "1", "cost_price": str(part.cost_price), "tax_rate": str(part.tax_rate), "is_active": "on",
        "aliases": ""})
    assert response.status_code != 302  # the form comes back
    assert "sale_price" in response.context["form"].errors
    part.refresh_from_db()
    assert part.name_zh != "机油格"
