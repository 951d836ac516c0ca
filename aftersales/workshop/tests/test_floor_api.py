"""/api/workshop: every endpoint refuses the anonymous (401), another store's objects (404) and the wrong role (403);
bad input names the field and writes nothing; the flows work over HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill
from aftersales.workshop import floor_services as fs
from aftersales.workshop.choices import JobStatus
from aftersales.workshop.models import ProgressNote, RepairJob, RepairLine, TimeEntry

from .conftest import authorized_order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["workshop"])
def test_unauthenticated_is_401(world, method, path):
    response = Api.anonymous().request(method, fill(path), {} if method != "get" else None)
    assert_error(response, 401, "unauthenticated")


@pytest.fixture
def other(floor):
    """An order at store B with a dispatched job and a part line, and the objects' ids."""
    order = authorized_order(floor, [{
        "title": "B 店作业", "standard_hours": "1",
        "lines": [{"kind": "part", "code": "X-1", "description": "滤芯", "quantity": "1", "unit_price": "50"}],
    }], store=floor.world.b, advisor=floor.world.advisor_b)
    job = fs.job_dispatch(actor=floor.world.manager_b, job=order.made_jobs[0], technician=floor.tech_b, bay=floor.bay_b)
    return {"order_id": order.pk, "job_id": job.pk, "line_id": RepairLine.objects.get(order=order).pk}


OBJECT_CALLS = [
    ("get", "/api/workshop/jobs/{job_id}/suggestions", None),
    ("post", "/api/workshop/jobs/{job_id}/dispatch", {"technician_id": 1, "bay_id": 1}),
    ("post", "/api/workshop/jobs/{job_id}/clock-on", {}),
    ("post", "/api/workshop/jobs/{job_id}/finish", {}),
    ("get", "/api/workshop/orders/{order_id}/jobs", None),
    ("post", "/api/workshop/orders/{order_id}/waiting-parts", {"waiting": True, "reason": "等件"}),
    ("post", "/api/workshop/orders/{order_id}/promised", {"promised_at": "2099-01-01T10:00:00+08:00"}),
    ("post", "/api/workshop/orders/{order_id}/public-note", {"text": "进行中"}),
    ("get", "/api/workshop/orders/{order_id}/parts", None),
    ("post", "/api/workshop/jobs/{job_id}/parts/issue", {"part_id": 1, "quantity": "1"}),
    ("post", "/api/workshop/jobs/{job_id}/parts/return", {"part_id": 1, "quantity": "1"}),
    ("post", "/api/workshop/lines/{line_id}/keep-old-part", {"keep": True}),
]


@pytest.mark.parametrize(("method", "path", "body"), OBJECT_CALLS)
def test_another_stores_objects_are_404(floor, other, method, path, body):
    job_before = RepairJob.objects.get(pk=other["job_id"])
    for user in (floor.foreman, floor.world.manager):
        response = Api.session(user).request(method, path.format(**other), body)
        assert_error(response, 404, "not_found")
    job = RepairJob.objects.get(pk=other["job_id"])
    assert (job.status, job.technician_id) == (job_before.status, job_before.technician_id)
    assert not ProgressNote.objects.exists() and not TimeEntry.objects.exists()


def test_board_of_another_store_is_404_and_wrong_role_is_403(floor, other):
    assert_error(Api.session(floor.foreman).get("/api/workshop/board", {"store_id": floor.world.b.pk}), 404)
    for role in ("cashier", "parts_clerk", "call_centre_agent"):
        assert_error(Api.session(floor.world.staff[role]).get("/api/workshop/board"), 403, "permission_denied")
    assert_error(Api.session(floor.advisor).get("/api/workshop/my-jobs"), 403)
    assert_error(Api.session(floor.tech).get("/api/workshop/efficiency"), 403)
    assert_error(Api.session(floor.tech).get("/api/workshop/progress-intervals"), 403)


def test_dispatch_over_http(floor):
    order = authorized_order(floor, [{"title": "发动机", "standard_hours": "2", "required_skill": "engine"}])
    job = order.made_jobs[0]
    api = Api.session(floor.foreman)
    response = api.get(f"/api/workshop/jobs/{job.pk}/suggestions")
    assert response.status_code == 200
    body = response.json()
    assert body["technicians"][0]["technician_id"] == floor.tech.pk and body["technicians"][0]["reasons"]
    assert body["technicians"][-1]["has_skill"] is False
    assert body["suggested_bay_id"] == floor.bays[0].pk
    # the technician may not dispatch
    assert_error(Api.session(floor.tech).post(f"/api/workshop/jobs/{job.pk}/dispatch",
                                              {"technician_id": floor.tech.pk, "bay_id": floor.bays[0].pk}), 403)
    # wrong skill: 422 naming the field, nothing written
    bad = api.post(f"/api/workshop/jobs/{job.pk}/dispatch", {"technician_id": floor.body.pk, "bay_id": floor.bays[0].pk})
    assert_error(bad, 422, "technician_lacks_skill", "technician")
    assert_error(api.post(f"/api/workshop/jobs/{job.pk}/dispatch", {"technician_id": "x", "bay_id": 1}), 422, field="technician_id")
    assert RepairJob.objects.get(pk=job.pk).status == JobStatus.AUTHORIZED
    ok = api.post(f"/api/workshop/jobs/{job.pk}/dispatch", {"technician_id": floor.tech.pk, "bay_id": floor.bays[0].pk})
    assert ok.status_code == 200 and ok.json()["status"] == "dispatched"
    board = api.get("/api/workshop/board").json()
    assert board["orders"][0]["jobs"][0]["technician_id"] == floor.tech.pk
    assert board["bays"][0]["job_ids"] == [job.pk]


def test_clocking_over_http(floor):
    order = authorized_order(floor)
    job = fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    api = Api.session(floor.tech)
    mine = api.get("/api/workshop/my-jobs").json()
    assert [j["id"] for j in mine["jobs"]] == [job.pk] and mine["open_entry"] is None
    on = api.post(f"/api/workshop/jobs/{job.pk}/clock-on")
    assert on.status_code == 200 and on.json()["ended_at"] is None
    assert api.get("/api/workshop/my-jobs").json()["open_entry"]["job_id"] == job.pk
    off = api.post("/api/workshop/clock-off")
    assert off.json()["closed"]["end_reason"] == "pause"
    api.post(f"/api/workshop/jobs/{job.pk}/clock-on")
    done = api.post(f"/api/workshop/jobs/{job.pk}/finish")
    assert done.json()["status"] == "done"
    hours = api.get(f"/api/workshop/orders/{order.pk}/jobs").json()["jobs"][0]
    assert hours["standard_hours"] == "1.00"
    # another technician's job is 403
    second = authorized_order(floor, [{"title": "钣金", "standard_hours": "1", "required_skill": "body"}])
    body_job = fs.job_dispatch(actor=floor.foreman, job=second.made_jobs[0], technician=floor.body, bay=floor.bays[1])
    assert_error(api.post(f"/api/workshop/jobs/{body_job.pk}/clock-on"), 403, "not_your_job")


def test_order_endpoints_over_http(floor):
    order = authorized_order(floor)
    api = Api.session(floor.advisor)
    assert_error(api.post(f"/api/workshop/orders/{order.pk}/promised", {"promised_at": "yesterday"}), 422, field="promised_at")
    ok = api.post(f"/api/workshop/orders/{order.pk}/promised", {"promised_at": "2099-01-01T17:30:00+08:00"})
    assert ok.status_code == 200
    assert dt.datetime.fromisoformat(ok.json()["promised_at"]) == dt.datetime(2099, 1, 1, 9, 30, tzinfo=dt.UTC)
    assert_error(api.post(f"/api/workshop/orders/{order.pk}/public-note", {"text": " "}), 422, "required", "text")
    note = api.post(f"/api/workshop/orders/{order.pk}/public-note", {"text": "已开始保养"})
    assert note.status_code == 201 and ProgressNote.objects.get().is_public
    assert_error(api.post(f"/api/workshop/orders/{order.pk}/waiting-parts", {"waiting": False}), 409, "not_waiting_parts")
    intervals = Api.session(floor.world.manager).get("/api/workshop/progress-intervals", {"store_id": floor.store.pk})
    assert intervals.status_code == 200 and "max_gap_minutes" in intervals.json()
    eff = Api.session(floor.foreman).get("/api/workshop/efficiency", {"since": "2026-01-02", "until": "2026-01-01"})
    assert_error(eff, 422, "period_reversed", "until")


def test_parts_over_http(floor):
    from aftersales.parts.catalogue import part_create
    from aftersales.parts.services import stock_receive

    part = part_create(actor=floor.world.manager, group=floor.world.group, number="F-1", name_zh="机滤",
                       cost_price="20", sale_price="60")
    stock_receive(actor=floor.world.manager, store=floor.store, part=part, quantity=5, unit_cost="20")
    order = authorized_order(floor, [{"title": "保养", "standard_hours": "1", "lines": [
        {"kind": "part", "code": "F-1", "description": "机滤", "quantity": "1", "unit_price": "60"}]}])
    job = order.made_jobs[0]
    api = Api.session(floor.parts_clerk)
    too_many = api.post(f"/api/workshop/jobs/{job.pk}/parts/issue", {"part_id": part.pk, "quantity": "2"})
    body = assert_error(too_many, 409, "authorization_needed", "quantity")
    assert body["amount"] == "60.00"
    ok = api.post(f"/api/workshop/jobs/{job.pk}/parts/issue", {"part_id": part.pk, "quantity": "1"})
    assert ok.status_code == 201 and Decimal(ok.json()["quantity"]) == Decimal("-1")
    fitted = Api.session(floor.advisor).get(f"/api/workshop/orders/{order.pk}/parts").json()
    assert fitted["fitted"][0]["number"] == "F-1"
    line = RepairLine.objects.get(job=job)
    kept = Api.session(floor.tech).post(f"/api/workshop/lines/{line.pk}/keep-old-part", {"keep": True})
    assert kept.json()["keep_old_part"] is True
    assert Api.session(floor.advisor).get(f"/api/workshop/orders/{order.pk}/parts").json()["old_parts_kept"][0]["line_id"] == line.pk
    back = api.post(f"/api/workshop/jobs/{job.pk}/parts/return", {"part_id": part.pk, "quantity": "1", "reason": "未用"})
    assert back.status_code == 201
    assert_error(api.post(f"/api/workshop/jobs/{job.pk}/parts/issue", {"part_id": part.pk, "quantity": "1", "batch_id": 999}),
                 422, "batch_unknown", "batch_id")
