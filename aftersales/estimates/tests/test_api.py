"""The estimates API: 401 without credentials, another store's order → 404, wrong role → 403, bad input → 4xx
naming the field with nothing written, the whole estimate → decision flow, and the public signed-link endpoints."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill, ids, token_key_for
from aftersales.estimates import services
from aftersales.estimates.models import Authorization
from aftersales.workshop.models import RepairJob

from .conftest import signature_data_url, upload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["estimates"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, method, path):
    response = Api.anonymous().request(method, fill(path), {} if method != "get" else None)
    assert_error(response, 401, "unauthenticated")


ORDER_ENDPOINTS = [(m, p) for m, p in ENDPOINTS["estimates"] if "{order_id}" in p]


@pytest.mark.parametrize(("method", "path"), ORDER_ENDPOINTS, ids=lambda v: str(v))
def test_another_stores_order_is_404(world, shop, method, path):
    body = None if method == "get" else {
        "operation_id": shop.brakes.pk, "canned_job_id": 1, "title": "x", "job_ids": [1, 2], "decisions": [],
        "approver_name": "x", "said": "y", "signer_name": "x", "signature": "", "job_id": 1, "cause": "x",
    }
    api = Api.session(world.advisor_b)
    job = services.estimate_add_job(actor=world.advisor, order=shop.order, title="检查异响", hours="1")
    url = path.replace("{order_id}", str(shop.order.pk)).replace("{job_id}", str(job.pk))
    if url.endswith("additional-work"):  # multipart with photos
        response = api.client.post(url, {"title": "x", "hours": "1", "cause": "y", "photos": [upload()]})
    else:
        response = api.request(method, url, body)
    assert_error(response, 404)
    assert list(RepairJob.objects.filter(order=shop.order)) == [job]  # nothing added, edited or deleted
    assert job.lines.get().quantity == 1


def test_estimate_flow_over_the_api(world, shop):
    key = token_key_for(world.advisor, actor=world.manager)
    api = Api.bearer(key)
    response = api.post(f"/api/estimates/orders/{shop.order.pk}/operations", {"operation_id": shop.brakes.pk, "part_choice": "both"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["jobs"]) == 2 and body["jobs"][0]["option_group"] == body["jobs"][1]["option_group"] == "更换前刹车片"
    assert Decimal(body["estimate"]["total"]) == Decimal("1070.00") and body["open_estimate"]["status"] == "draft"
    oem_id, after_id = (j["id"] for j in body["jobs"])
    response = api.post(f"/api/estimates/orders/{shop.order.pk}/jobs", {
        "title": "空调清洗", "job_type": "maintenance", "hours": "0.5", "discount": "20.00",
        "lines": [{"kind": "fee", "description": "环保处理费", "unit_price": "30.00"}],
    })
    assert response.status_code == 201, response.content
    ac = response.json()["jobs"][-1]
    assert [(ln["kind"], ln["amount"]) for ln in ac["lines"]] == [("labour", "80.00"), ("fee", "30.00")]
    response = api.post(f"/api/estimates/orders/{shop.order.pk}/send", {"note": "请确认"})
    assert response.status_code == 200 and "/e/" in response.json()["approval_url"]
    assert response.json()["job_ids"] == sorted([oem_id, after_id, ac["id"]])
    response = api.post(f"/api/estimates/orders/{shop.order.pk}/phone-approval", {
        "approver_name": "张伟", "said": "电话确认：副厂刹车片，空调清洗不做",
        "decisions": [{"job_id": after_id, "approve": True}, {"job_id": oem_id, "approve": False},
                      {"job_id": ac["id"], "approve": False, "reason": "不需要"}],
    })
    assert_error(response, 422, "aftermarket_consent_required", f"job_{after_id}.aftermarket_consent")
    assert not Authorization.objects.exists()
    response = api.post(f"/api/estimates/orders/{shop.order.pk}/phone-approval", {
        "approver_name": "张伟", "said": "电话确认：副厂刹车片，空调清洗不做",
        "decisions": [{"job_id": after_id, "approve": True, "aftermarket_consent": True}, {"job_id": oem_id, "approve": False},
                      {"job_id": ac["id"], "approve": False, "reason": "不需要"}],
    })
    assert response.status_code == 201, response.content
    auth = response.json()
    assert (auth["method"], auth["approved_total"], auth["recorded_by_id"]) == ("phone", "900.00", world.advisor.pk)
    response = api.get(f"/api/estimates/orders/{shop.order.pk}/authorized-total")
    assert response.json()["authorized_total"] == "900.00"
    response = api.get(f"/api/estimates/orders/{shop.order.pk}")
    assert response.json()["status"] == "authorized" and response.json()["customer_authorized_total"] == "900.00"
    declined = api.get(f"/api/estimates/vehicles/{shop.vehicle.pk}/declined").json()
    assert [(d["title"], d["amount"], d["reason"]) for d in declined] == [("空调清洗", "110.00", "不需要")]
    assert len(api.get(f"/api/estimates/orders/{shop.order.pk}/authorizations").json()) == 1
    assert_error(Api.session(world.advisor_b).get(f"/api/estimates/vehicles/{shop.vehicle.pk}/declined"), 404)


def test_bad_input_names_the_field_and_writes_nothing(world, shop):
    api = Api.session(world.advisor)
    url = f"/api/estimates/orders/{shop.order.pk}"
    assert_error(api.post(f"{url}/operations", {"operation_id": 999999}), 422, "operation_not_found", "operation_id")
    assert_error(api.post(f"{url}/operations", {"operation_id": shop.brakes.pk, "part_choice": "cheap"}), 422, "invalid_choice", "part_choice")
    assert_error(api.post(f"{url}/jobs", {"title": "x", "hours": "-1"}), 422, None, "hours")
    assert_error(api.post(f"{url}/jobs", {"title": " ", "hours": "1"}), 422, "required", "title")
    assert_error(api.post(f"{url}/send", {}), 422, "nothing_to_send", "jobs")
    assert_error(api.request("put", "/api/estimates/rates", {"job_type": "repair", "rate": "-5"}), 403)
    assert RepairJob.objects.filter(order=shop.order).count() == 0


def test_roles(world, shop):
    tech = Api.session(world.technician)
    assert_error(tech.post(f"/api/estimates/orders/{shop.order.pk}/operations", {"operation_id": shop.brakes.pk}), 403)
    assert_error(tech.request("put", "/api/estimates/rates", {"job_type": "repair", "rate": "10"}), 403)
    manager = Api.session(world.manager)
    response = manager.request("put", "/api/estimates/rates", {"job_type": "inspection", "rate": "150.00"})
    assert response.status_code == 200 and response.json()["rate"] == "150.00"
    assert_error(manager.request("put", "/api/estimates/rates", {"job_type": "inspection", "rate": "1.234"}), 422, "money_precision", "rate")
    response = manager.post("/api/estimates/operations", {"code": "AC-CLEAN", "name_zh": "空调清洗", "standard_hours": "0.8", "job_type": "maintenance"})
    assert response.status_code == 200 and response.json()["code"] == "AC-CLEAN"
    assert_error(Api.session(world.advisor).post("/api/estimates/operations", {"code": "X", "name_zh": "x", "standard_hours": "1"}), 403)
    codes = {row["code"] for row in Api.session(world.technician).get("/api/estimates/operations").json()}
    assert codes == {"BRK-F", "OIL", "AC-CLEAN"}
    assert ids(Api.session(world.advisor).get("/api/estimates/orders")) == {shop.order.pk}
    assert ids(Api.session(world.advisor_b).get("/api/estimates/orders")) == set()


def test_additional_work_upload_over_the_api(world, shop):
    job = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes)[0]
    estimate = services.estimate_send(actor=world.advisor, order=shop.order)
    services.authorize_by_link(token=services.approval_token(estimate), decisions={job.pk: {"approve": True}},
                               signer_name="张伟", signature=signature_data_url())
    from aftersales.workshop.services import repair_order_move

    repair_order_move(actor=world.advisor, order=shop.order, to="in_progress")
    tech = Api.session(world.technician)
    url = f"/api/estimates/orders/{shop.order.pk}/additional-work"
    bad = tech.client.post(url, {"title": "x", "hours": "1", "cause": "y", "photos": [upload("a.txt", b"nope", "text/plain")]})
    assert_error(bad, 422, "photo_not_image", "photos")
    good = tech.client.post(url, {"title": "更换雨刮", "hours": "0.3", "cause": "开裂", "photos": [upload()]})
    assert good.status_code == 201, good.content
    body = good.json()
    assert body["status"] == "waiting_auth" and body["jobs"][-1]["is_additional"] and len(body["jobs"][-1]["photo_ids"]) == 1


def test_public_link_endpoints(world, shop):
    job = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes)[0]
    estimate = services.estimate_send(actor=world.advisor, order=shop.order)
    token = services.approval_token(estimate)
    anon = Api.anonymous()
    response = anon.get(f"/api/estimates/public/estimates/{token}")
    assert response.status_code == 200 and response.json()["estimate"]["total"] == "1070.00"
    assert_error(anon.get(f"/api/estimates/public/estimates/{token}x"), 404, "link_invalid")
    payload = {"signer_name": "张伟", "signature": signature_data_url(), "decisions": [{"job_id": job.pk, "approve": True}]}
    response = anon.post(f"/api/estimates/public/estimates/{token}/decision", payload, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 201 and response.json()["ip"] == "203.0.113.9"
    assert_error(anon.post(f"/api/estimates/public/estimates/{token}/decision", payload), 404, "already_decided")
    status = anon.get(f"/api/estimates/public/orders/{services.status_token(shop.order)}")
    assert status.status_code == 200 and status.json()["status"] == "authorized"
    assert_error(anon.get("/api/estimates/public/orders/forged:token"), 404, "link_invalid")
