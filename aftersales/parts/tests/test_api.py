import json

import pytest

from aftersales.parts.models import AdjustmentRequest, Part, Reservation, StockItem, StockMovement
from aftersales.parts.services import reserve

from .partsui_helpers import authorized_job, make_part, open_job, stocked


def _call(client, method, url, body=None):
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    response = getattr(client, method)(url, **kwargs)
    return response.status_code, response.json() if response.content else None


@pytest.fixture
def part(world):
    return make_part(world, "04152-YZZA1", aliases=[{"number": "W712/75", "brand": "MANN"}])


@pytest.fixture
def api(client, world):
    client.force_login(world.staff["parts_clerk"])
    return client


def test_anonymous_is_401_everywhere(client, world, part):
    urls = [("get", "/api/parts/"), ("post", "/api/parts/"), ("get", f"/api/parts/{part.pk}"), ("patch", f"/api/parts/{part.pk}"),
            ("get", f"/api/parts/{part.pk}/stock"), ("get", f"/api/parts/{part.pk}/movements"),
            ("post", f"/api/parts/{part.pk}/receive"), ("post", f"/api/parts/{part.pk}/issue"),
            ("post", f"/api/parts/{part.pk}/return"), ("post", f"/api/parts/{part.pk}/adjust"),
            ("get", "/api/parts/reservations"), ("post", "/api/parts/reservations"), ("post", "/api/parts/reservations/1/release"),
            ("get", "/api/parts/stock-items/1/movements"), ("get", "/api/parts/movements/1"), ("get", "/api/parts/adjustments"),
            ("post", "/api/parts/adjustments/1/decide")]
    for method, url in urls:
        status, body = _call(client, method, url, {} if method != "get" else None)
        assert status == 401 and body["code"] == "unauthenticated", url


def test_list_search_and_detail(api, world, part):
    stocked(world, part, "4")
    stocked(world, part, "6", store=world.b)
    status, body = _call(api, "get", "/api/parts/?q=w712")
    assert status == 200 and body["count"] == 1 and body["items"][0]["number"] == "04152-YZZA1"
    assert body["items"][0]["available_here"] == "4.00"
    status, body = _call(api, "get", f"/api/parts/{part.pk}")
    assert status == 200 and body["aliases"] == [{"number": "W712/75", "brand": "MANN", "is_oem": False}]
    assert [(s["store_id"], s["on_hand"]) for s in body["stock"]] == [(world.a.pk, "4.00")]
    assert [s["store_id"] for s in body["elsewhere"]] == [world.b.pk]
    status, body = _call(api, "get", f"/api/parts/{part.pk}/stock")
    assert status == 200 and body["elsewhere"][0]["available"] == "6.00"


def test_create_and_update(api, world, part):
    status, body = _call(api, "post", "/api/parts/", {"number": "bp-1", "name_zh": "刹车片", "unit": "set", "sale_price": "120.50",
                                                       "aliases": [{"number": "D1234", "brand": "Brembo"}]})
    assert status == 201 and body["number"] == "BP-1"
    status, body = _call(api, "post", "/api/parts/", {"number": "BP-1", "name_zh": "刹车片"})
    assert status == 409 and body["field"] == "number"
    status, body = _call(api, "post", "/api/parts/", {"number": "BP-2", "name_zh": "刹车片", "unit": "bucket"})
    assert status == 422 and body["field"] == "unit"
    status, body = _call(api, "post", "/api/parts/", {"number": "BP-2", "name_zh": "刹车片", "sale_price": "-1"})
    assert status == 422 and body["field"] == "sale_price"
    assert Part.objects.count() == 2
    status, body = _call(api, "patch", f"/api/parts/{part.pk}", {"sale_price": "99.00", "tax_rate": "2"})
    assert status == 422 and body["field"] == "tax_rate"
    part.refresh_from_db()
    assert str(part.sale_price) == "68.00"
    status, body = _call(api, "patch", f"/api/parts/{part.pk}", {"sale_price": "99.00"})
    assert status == 403 and body["code"] == "price_group_only" and body["field"] == "sale_price"  # a store's role
    api.force_login(world.admin)
    status, body = _call(api, "patch", f"/api/parts/{part.pk}", {"sale_price": "99.00"})
    assert status == 200 and body["sale_price"] == "99.00"
    api.force_login(world.advisor)
    status, body = _call(api, "patch", f"/api/parts/{part.pk}", {"sale_price": "1.00"})
    assert status == 403


def test_receive_issue_return_adjust(api, world, part):
    status, body = _call(api, "post", f"/api/parts/{part.pk}/receive", {"quantity": "1.5", "unit_cost": "30"})
    assert status == 422 and body["field"] == "quantity"
    status, body = _call(api, "post", f"/api/parts/{part.pk}/receive", {"quantity": "-1", "unit_cost": "30"})
    assert status == 422 and body["field"] == "quantity"
    status, body = _call(api, "post", f"/api/parts/{part.pk}/receive", {"quantity": "1", "unit_cost": "30", "store_id": world.b.pk})
    assert status == 404
    assert not StockMovement.objects.exists()
    status, body = _call(api, "post", f"/api/parts/{part.pk}/receive", {"quantity": "3", "unit_cost": "30"})
    assert status == 201 and body["kind"] == "receipt"
    unapproved = open_job(world.a, "RO-0", "Tyre pressure check")  # the customer authorized nothing on it
    status, body = _call(api, "post", f"/api/parts/{part.pk}/issue", {"job_id": unapproved.pk, "quantity": "1"})
    assert status == 409 and body["code"] == "job_not_authorized" and body["field"] == "job"
    job = authorized_job(world.a, part, "5")
    status, body = _call(api, "post", f"/api/parts/{part.pk}/issue", {"job_id": job.pk, "quantity": "6"})
    assert status == 409 and body["code"] == "authorization_needed" and body["field"] == "quantity"  # beyond the estimate
    assert not StockMovement.objects.filter(kind="issue").exists()
    status, body = _call(api, "post", f"/api/parts/{part.pk}/issue", {"job_id": job.pk, "quantity": "5"})
    assert status == 422 and body["field"] == "quantity" and body["code"] == "insufficient_stock"
    status, body = _call(api, "post", f"/api/parts/{part.pk}/issue", {"job_id": open_job(world.b, "RO-B").pk, "quantity": "1"})
    assert status == 404
    status, body = _call(api, "post", f"/api/parts/{part.pk}/issue", {"job_id": job.pk, "quantity": "2"})
    assert status == 201 and body["repair_job_id"] == job.pk
    status, body = _call(api, "post", f"/api/parts/{part.pk}/return", {"job_id": job.pk, "quantity": "3"})
    assert status == 422 and body["field"] == "quantity"
    status, body = _call(api, "post", f"/api/parts/{part.pk}/return", {"job_id": job.pk, "quantity": "1"})
    assert status == 201
    status, body = _call(api, "post", f"/api/parts/{part.pk}/adjust", {"quantity": "-1", "reason": ""})
    assert status == 422 and body["field"] == "reason"
    status, body = _call(api, "post", f"/api/parts/{part.pk}/adjust", {"quantity": "-1", "reason": "damaged"})
    assert status == 201 and body["applied"] is True
    assert StockItem.objects.get(store=world.a, part=part).on_hand == 1
    status, body = _call(api, "get", f"/api/parts/{part.pk}/movements")
    assert status == 200 and body["count"] == 4


def test_adjustment_above_threshold_waits_and_is_decided(api, world):
    engine = make_part(world, "ENG-1", name_zh="发动机", cost_price="9000")
    stocked(world, engine, "2")
    status, body = _call(api, "post", f"/api/parts/{engine.pk}/adjust", {"quantity": "-1", "reason": "dropped"})
    assert status == 202 and body["applied"] is False
    request_id = body["request"]["id"]
    status, _body = _call(api, "post", f"/api/parts/adjustments/{request_id}/decide", {"approve": True})
    assert status == 403
    api.force_login(world.manager_b)
    status, _body = _call(api, "post", f"/api/parts/adjustments/{request_id}/decide", {"approve": True})
    assert status == 404
    api.force_login(world.manager)
    status, body = _call(api, "get", "/api/parts/adjustments")
    assert status == 200 and body["count"] == 1
    status, body = _call(api, "post", f"/api/parts/adjustments/{request_id}/decide", {"approve": False, "reason": "recount"})
    assert status == 200 and body["status"] == "rejected"
    assert AdjustmentRequest.objects.get().status == "rejected"
    assert StockItem.objects.get(store=world.a, part=engine).on_hand == 2


def test_reservations(api, world, part):
    stocked(world, part, "3")
    body = {"part_id": part.pk, "quantity": "5", "reference": "appointment:1", "source": "appointment"}
    status, out = _call(api, "post", "/api/parts/reservations", body)
    assert status == 422 and out["field"] == "quantity"
    status, out = _call(api, "post", "/api/parts/reservations", body | {"quantity": "2", "source": "nope"})
    assert status == 422 and out["field"] == "source"
    status, out = _call(api, "post", "/api/parts/reservations", body | {"quantity": "2", "store_id": world.b.pk})
    assert status == 404
    assert not Reservation.objects.exists()
    status, out = _call(api, "post", "/api/parts/reservations", body | {"quantity": "2"})
    assert status == 201 and out["status"] == "active"
    status, listing = _call(api, "get", "/api/parts/reservations")
    assert listing["count"] == 1
    status, out = _call(api, "post", f"/api/parts/reservations/{out['id']}/release")
    assert status == 200 and out["status"] == "released"
    assert StockItem.objects.get(store=world.a, part=part).reserved == 0
    api.force_login(world.advisor)
    status, out = _call(api, "post", "/api/parts/reservations", body | {"quantity": "1"})
    assert status == 403


def test_other_store_objects_are_404(api, world, part):
    movement = stocked(world, part, "4", store=world.b)
    item = StockItem.objects.get(store=world.b, part=part)
    reservation = reserve(actor=world.manager_b, store=world.b, part=part, quantity="1", source="manual", reference="b:1")
    assert _call(api, "get", f"/api/parts/stock-items/{item.pk}/movements")[0] == 404
    assert _call(api, "get", f"/api/parts/movements/{movement.pk}")[0] == 404
    assert _call(api, "post", f"/api/parts/reservations/{reservation.pk}/release")[0] == 404
    assert Reservation.objects.get(pk=reservation.pk).status == "active"
    api.force_login(world.manager_b)
    assert _call(api, "get", f"/api/parts/stock-items/{item.pk}/movements")[1]["count"] == 1


def test_other_group_part_is_404(api, world):
    from aftersales.common.tests.factories import DealerGroupFactory

    other = Part.objects.create(group=DealerGroupFactory(name="Elsewhere"), number="Z-1", name_zh="零件")
    assert _call(api, "get", f"/api/parts/{other.pk}")[0] == 404
    assert _call(api, "post", f"/api/parts/{other.pk}/receive", {"quantity": "1", "unit_cost": "1"})[0] == 404
