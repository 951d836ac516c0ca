"""The inspections API: 401 for every endpoint, another store's objects are 404, roles are 403, bad input is a
4xx naming the field with nothing written, and the happy paths."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill, ids
from aftersales.inspections import services
from aftersales.inspections.models import Checklist, InspectionItem, InspectionPhoto, QcCheck
from aftersales.inspections.photos import tiny_png
from aftersales.messaging.models import Message
from aftersales.workshop.models import RepairJob

from .conftest import finish_work

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["inspections"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, method, path):
    response = Api.anonymous().request(method, fill(path), {} if method != "get" else None)
    assert_error(response, 401, "unauthenticated")


@pytest.fixture
def started(shop):
    return services.inspection_start(actor=shop.advisor, order=shop.order, technician=shop.technician)


def item(inspection, name_en):
    return InspectionItem.objects.get(inspection=inspection, name_en=name_en)


def test_inspection_flow_over_the_api(shop):
    advisor, tech = Api.session(shop.advisor), Api.session(shop.technician)
    response = advisor.post(f"/api/inspections/orders/{shop.order.pk}/start", {"technician_id": shop.technician.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    inspection_id = body["id"]
    pads = next(i for i in body["items"] if i["name_en"] == "Front brake pad thickness")
    assert pads["unit"] == "mm" and pads["red_below"] == "3.00" and pads["rating"] == ""
    url = f"/api/inspections/{inspection_id}/items/{pads['id']}"
    response = tech.patch(url, {"value": "2.4", "notes": "刹车片很薄"})
    assert response.status_code == 200, response.content
    assert (response.json()["rating"], response.json()["auto_rating"], response.json()["value"]) == ("red", "red", "2.40")
    assert_error(tech.patch(url, {"rating": "green"}), 422, "override_note_required", "override_note")
    assert_error(tech.patch(url, {"value": "abc"}), 422, "number_format", "value")
    assert str(InspectionItem.objects.get(pk=pads["id"]).value) == "2.40"
    response = tech.client.post(f"{url}/photos", {"photo": _file(tiny_png(), "p.png")})
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "image/png"
    assert Client().get(response.json()["url"]).status_code == 302  # photos need a login (or the customer's link)
    assert tech.client.get(response.json()["url"]).status_code == 200
    response = tech.client.post(f"{url}/photos", {"photo": _file(b"GIF89a fake", "x.jpg")})
    assert_error(response, 422, "not_an_image", "photo")
    assert InspectionPhoto.objects.count() == 1
    response = tech.patch(f"/api/inspections/{inspection_id}/diagnosis", {"findings": "前刹车片 2.4 mm"})
    assert response.status_code == 200 and response.json()["findings"] == "前刹车片 2.4 mm"
    assert_error(tech.post(f"/api/inspections/{inspection_id}/complete"), 422, "items_unrated")
    for row in InspectionItem.objects.filter(inspection_id=inspection_id, rating=""):
        tech.patch(f"/api/inspections/{inspection_id}/items/{row.pk}", {"rating": "green"})
    response = tech.post(f"/api/inspections/{inspection_id}/complete")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    response = advisor.post(f"/api/inspections/{inspection_id}/propose-jobs")
    assert response.status_code == 201 and [j["title"] for j in response.json()] == ["前刹车片厚度 (2.4 mm) / Front brake pad thickness (2.4 mm)"]
    assert_error(advisor.post(f"/api/inspections/{inspection_id}/propose-jobs"), 409, "nothing_to_propose")
    response = advisor.post(f"/api/inspections/{inspection_id}/send-report")
    assert response.status_code == 200 and "/inspections/r/" in response.json()["link"]
    assert Message.objects.filter(kind="inspection.report").count() == 1
    assert ids(advisor.get("/api/inspections/", {"status": "completed"})) == {inspection_id}
    rows = advisor.get("/api/inspections/report-coverage").json()
    assert rows[0]["completed"] == 1 and rows[0]["share"] == "100.0"


def _file(data, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_other_store_is_404_everywhere(shop, started):
    api = Api.session(shop.world.advisor_b)
    manager_b = Api.session(shop.world.manager_b)
    any_item = started.items.first()
    checklist = Checklist.objects.get(store=shop.store, code="general")
    assert_error(api.get(f"/api/inspections/{started.pk}"), 404)
    assert ids(api.get("/api/inspections/")) == set()
    assert_error(api.get("/api/inspections/", {"store_id": shop.store.pk}), 404)
    assert_error(api.post(f"/api/inspections/orders/{shop.order.pk}/start", {}), 404)
    assert_error(manager_b.patch(f"/api/inspections/{started.pk}/items/{any_item.pk}", {"rating": "red"}), 404)
    assert_error(manager_b.client.post(f"/api/inspections/{started.pk}/items/{any_item.pk}/photos", {"photo": _file(tiny_png(), "p.png")}), 404)
    assert_error(manager_b.patch(f"/api/inspections/{started.pk}/diagnosis", {"findings": "x"}), 404)
    assert_error(manager_b.post(f"/api/inspections/{started.pk}/complete"), 404)
    assert_error(api.post(f"/api/inspections/{started.pk}/propose-jobs"), 404)
    assert_error(api.post(f"/api/inspections/{started.pk}/send-report"), 404)
    assert_error(api.get(f"/api/inspections/checklists/{checklist.pk}"), 404)
    assert_error(api.get("/api/inspections/checklists", {"store_id": shop.store.pk}), 404)
    assert_error(manager_b.request("put", f"/api/inspections/checklists/{checklist.pk}", {
        "code": "x", "name_zh": "x", "groups": [{"name_zh": "g", "items": [{"name_zh": "i"}]}]}), 404)
    assert_error(api.get(f"/api/inspections/qc/orders/{shop.order.pk}"), 404)
    assert_error(api.post(f"/api/inspections/qc/orders/{shop.order.pk}/checks", {"kind": "cleaning", "results": []}), 404)
    assert_error(api.get("/api/inspections/report-coverage", {"store_id": shop.store.pk}), 404)
    assert_error(api.get("/api/inspections/qc/figures", {"store_id": shop.store.pk}), 404)
    any_item.refresh_from_db()
    assert any_item.rating == "" and not InspectionPhoto.objects.exists()
    # their own store's list works
    assert Api.session(shop.world.advisor_b).get("/api/inspections/checklists").status_code == 200


def test_roles_are_403(shop, started):
    cashier, tech, advisor = Api.session(shop.cashier), Api.session(shop.technician), Api.session(shop.advisor)
    any_item = started.items.first()
    assert_error(cashier.get(f"/api/inspections/{started.pk}"), 403)
    assert_error(advisor.patch(f"/api/inspections/{started.pk}/items/{any_item.pk}", {"rating": "red"}), 403)
    assert_error(tech.post(f"/api/inspections/orders/{shop.order_b.pk}/start", {}), 403)
    assert_error(tech.post(f"/api/inspections/{started.pk}/propose-jobs"), 403)
    assert_error(tech.post(f"/api/inspections/{started.pk}/send-report"), 403)
    assert_error(advisor.post("/api/inspections/checklists", {
        "code": "x", "name_zh": "x", "groups": [{"name_zh": "g", "items": [{"name_zh": "i"}]}]}), 403)
    assert Api.session(shop.technician).patch(
        f"/api/inspections/{started.pk}/items/{any_item.pk}", {"rating": "red"}).status_code == 200


def test_checklist_api_create_replace_and_field_errors(shop):
    manager = Api.session(shop.manager)
    payload = {"code": "pdi", "name_zh": "新车 PDI", "name_en": "Pre-delivery inspection", "groups": [
        {"name_zh": "外观", "items": [{"name_zh": "漆面", "kind": "check"},
                                      {"name_zh": "胎压", "kind": "measure", "unit": "bar", "red_below": "1.8", "yellow_below": "2.1"}]}]}
    response = manager.post("/api/inspections/checklists", payload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert [i["name_zh"] for i in body["groups"][0]["items"]] == ["漆面", "胎压"]
    payload["groups"][0]["items"][1]["unit"] = ""
    assert_error(manager.request("put", f"/api/inspections/checklists/{body['id']}", payload), 422, "unit_required",
                 "groups[1].items[2].unit")
    assert_error(manager.post("/api/inspections/checklists", {**payload, "code": "pdi"}), 409, "code_taken", "code")
    assert Checklist.objects.filter(code="pdi").count() == 1
    rows = manager.get("/api/inspections/checklists", {"purpose": "final"}).json()
    assert [r["code"] for r in rows] == ["qc-final"]


def test_qc_over_the_api(shop):
    jobs = finish_work(shop, shop.order)
    base = f"/api/inspections/qc/orders/{shop.order.pk}"

    def results(kind, fail=None):
        checklist = services.qc_checklist(shop.store.pk, kind)
        return [{"item_id": i.pk, "result": "fail" if i.pk == fail else ("na" if i.optional else "pass"),
                 "note": "不合格" if i.pk == fail else ""} for i in checklist.items.all()]

    tech, foreman, qc = Api.session(shop.technician), Api.session(shop.foreman), Api.session(shop.qc)
    assert_error(foreman.post(f"{base}/checks", {"kind": "final", "results": results("final")}), 403)
    assert tech.post(f"{base}/checks", {"kind": "self", "results": results("self")}).status_code == 201
    assert foreman.post(f"{base}/checks", {"kind": "peer", "results": results("peer")}).status_code == 201
    first = services.qc_checklist(shop.store.pk, "final").items.order_by("group__seq", "seq").first()
    response = qc.post(f"{base}/checks", {"kind": "final", "results": results("final", fail=first.pk), "rework_job_ids": [jobs[1].pk]})
    assert response.status_code == 201 and response.json()["result"] == "fail"
    status = qc.get(base).json()
    assert (status["cycle"], status["reworks"], status["next_check"], status["order_status"]) == (2, 1, "self", "in_progress")
    assert RepairJob.objects.get(pk=jobs[1].pk).status == "rework"
    assert_error(qc.post(f"{base}/checks", {"kind": "bogus", "results": []}), 422, "invalid_choice", "kind")
    figures = Api.session(shop.manager).get("/api/inspections/qc/figures").json()
    assert figures["reworks"] == 1 and figures["by_technician"][0]["technician_id"] == shop.technician.pk
    assert QcCheck.objects.count() == 3
