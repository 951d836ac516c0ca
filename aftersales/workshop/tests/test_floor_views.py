"""The workshop floor's screens: scoping (anonymous → login, another store → 404, wrong role → 403), inline errors,
the board's fixed query count, and the flows behind each button."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory

from aftersales.appointments.models import Bay
from aftersales.common.tests.api_helpers import count_queries
from aftersales.workshop import floor_services as fs
from aftersales.workshop.choices import JobStatus, OrderStatus
from aftersales.workshop.models import ProgressNote, RepairJob, RepairLine, RepairOrder, TimeEntry

from .conftest import authorized_order

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def b_objects(floor):
    order = authorized_order(floor, [{
        "title": "B 店作业", "standard_hours": "1",
        "lines": [{"kind": "part", "code": "X-1", "description": "滤芯", "quantity": "1", "unit_price": "50"}],
    }], store=floor.world.b, advisor=floor.world.advisor_b)
    job = fs.job_dispatch(actor=floor.world.manager_b, job=order.made_jobs[0], technician=floor.tech_b, bay=floor.bay_b)
    return {"order": order.pk, "job": job.pk, "line": RepairLine.objects.get(order=order).pk}


PAGES = [
    ("get", "/workshop/board/"), ("get", "/workshop/board/live/"), ("get", "/workshop/my-jobs/"), ("post", "/workshop/pause/"),
    ("get", "/workshop/report/"), ("get", "/workshop/jobs/1/dispatch/"), ("post", "/workshop/jobs/1/start/"),
    ("post", "/workshop/jobs/1/finish/"), ("post", "/workshop/jobs/1/waiting-parts/"), ("get", "/workshop/jobs/1/parts/"),
    ("post", "/workshop/lines/1/keep-old-part/"), ("post", "/workshop/orders/1/note/"), ("post", "/workshop/orders/1/promised/"),
    ("post", "/workshop/orders/1/waiting-parts/"),
]


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_anonymous_is_sent_to_login(world, method, path):
    response = getattr(Client(), method)(path)
    assert response.status_code == 302 and "/login/" in response["Location"]


OBJECT_PAGES = [
    ("get", "/workshop/jobs/{job}/dispatch/", "foreman"),
    ("post", "/workshop/jobs/{job}/start/", "tech"),
    ("post", "/workshop/jobs/{job}/finish/", "tech"),
    ("post", "/workshop/jobs/{job}/waiting-parts/", "tech"),
    ("get", "/workshop/jobs/{job}/parts/", "parts_clerk"),
    ("post", "/workshop/lines/{line}/keep-old-part/", "advisor"),
    ("post", "/workshop/orders/{order}/note/", "advisor"),
    ("post", "/workshop/orders/{order}/promised/", "advisor"),
    ("post", "/workshop/orders/{order}/waiting-parts/", "foreman"),
]


@pytest.mark.parametrize(("method", "path", "who"), OBJECT_PAGES)
def test_another_stores_objects_are_404(floor, b_objects, method, path, who):
    response = getattr(client_for(getattr(floor, who)), method)(path.format(**b_objects), {"text": "x", "waiting": "1", "reason": "x"})
    assert response.status_code == 404
    assert not ProgressNote.objects.exists() and not TimeEntry.objects.exists()
    assert RepairOrder.objects.get(pk=b_objects["order"]).status == OrderStatus.AUTHORIZED


def test_other_store_board_falls_back_or_404(floor, b_objects):
    # asking for a store the user does not work at is a 404
    assert client_for(floor.foreman).get(f"/workshop/board/?store={floor.world.b.pk}").status_code == 404


@pytest.mark.parametrize(
    ("path", "role"),
    [("/workshop/board/", "cashier"), ("/workshop/my-jobs/", "service_advisor"), ("/workshop/report/", "technician"),
     ("/workshop/board/live/", "parts_clerk")],
)
def test_wrong_role_is_403(floor, path, role):
    assert client_for(floor.world.staff[role]).get(path).status_code == 403


def test_dispatch_page_ranks_and_refuses_inline(floor):
    order = authorized_order(floor, [{"title": "发动机异响", "standard_hours": "2", "required_skill": "engine"}])
    job = order.made_jobs[0]
    client = client_for(floor.foreman)
    page = client.get(f"/workshop/jobs/{job.pk}/dispatch/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index(str(floor.tech)) < html.index(str(floor.body))  # the skilled technician ranks first
    bad = client.post(f"/workshop/jobs/{job.pk}/dispatch/", {"technician": floor.body.pk, "bay": floor.bays[0].pk})
    assert bad.status_code == 422 and 'data-testid="error-technician"' in bad.content.decode()
    assert RepairJob.objects.get(pk=job.pk).status == JobStatus.AUTHORIZED
    ok = client.post(f"/workshop/jobs/{job.pk}/dispatch/", {"technician": floor.tech.pk, "bay": floor.bays[1].pk})
    assert ok.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.technician_id, job.bay_id) == (JobStatus.DISPATCHED, floor.tech.pk, floor.bays[1].pk)


def test_board_page_and_one_click_update(floor):
    order = authorized_order(floor, promised="17:00")
    fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    client = client_for(floor.advisor)
    page = client.get("/workshop/board/")
    html = page.content.decode()
    assert page.status_code == 200 and order.vehicle.plate in html and 'data-refresh-every="20"' in html
    assert client.get("/workshop/board/live/").status_code == 200
    sent = client.post(f"/workshop/orders/{order.pk}/note/", {"text": "机油更换中"})
    assert sent.status_code == 302
    note = ProgressNote.objects.get()
    assert note.is_public and note.actor_id == floor.advisor.pk
    empty = client.post(f"/workshop/orders/{order.pk}/note/", {"text": ""})
    assert empty.status_code == 422 and "errorlist" in empty.content.decode()
    past = client.post(f"/workshop/orders/{order.pk}/promised/", {"promised_at": "2001-01-01T10:00"})
    assert past.status_code == 422
    ok = client.post(f"/workshop/orders/{order.pk}/promised/", {"promised_at": "2099-01-01T10:00"})
    assert ok.status_code == 302
    assert RepairOrder.objects.get(pk=order.pk).promised_at.year == 2099


def test_board_page_query_count_is_fixed(floor):
    client = client_for(floor.foreman)

    def build(n):
        for i in range(n):
            o = authorized_order(floor, [{"title": f"作业{i}", "standard_hours": "1"}], promised="17:00")
            bay = Bay.objects.create(store=floor.store, name=f"{Bay.objects.count() + 1}号工位")  # one car per bay (issue 14, item 3)
            fs.job_dispatch(actor=floor.foreman, job=o.made_jobs[0], technician=floor.tech, bay=bay)

    build(1)
    small, _r = count_queries(lambda: client.get("/workshop/board/live/"))
    build(4)
    large, response = count_queries(lambda: client.get("/workshop/board/live/"))
    assert response.status_code == 200
    assert small == large, (small, large)


def test_phone_page_start_pause_finish(floor):
    order = authorized_order(floor)
    job = fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    client = client_for(floor.tech)
    page = client.get("/workshop/my-jobs/").content.decode()
    assert 'data-testid="start"' in page
    assert client.post(f"/workshop/jobs/{job.pk}/start/", {"job": job.pk}).status_code == 302
    assert 'data-testid="pause"' in client.get("/workshop/my-jobs/").content.decode()
    assert client.post("/workshop/pause/").status_code == 302
    assert not TimeEntry.objects.filter(ended_at__isnull=True).exists()
    client.post(f"/workshop/jobs/{job.pk}/start/", {"job": job.pk})
    # seconds against a 1 h standard: the page asks before finishing (issue 14), nothing changes yet
    fast = client.post(f"/workshop/jobs/{job.pk}/finish/", {"job": job.pk})
    assert fast.status_code == 409 and 'data-testid="fast-finish"' in fast.content.decode()
    assert RepairJob.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    assert client.post(f"/workshop/jobs/{job.pk}/finish/", {"job": job.pk, "confirm_fast": "1"}).status_code == 302
    assert RepairJob.objects.get(pk=job.pk).status == JobStatus.DONE
    # a refusal shows on the job's card
    refused = client.post(f"/workshop/jobs/{job.pk}/start/", {"job": job.pk})
    assert refused.status_code == 409 and 'data-testid="job-error"' in refused.content.decode()


def test_parts_page_refuses_beyond_the_authorization_inline(floor):
    from aftersales.parts.catalogue import part_create
    from aftersales.parts.services import stock_receive

    part = part_create(actor=floor.world.manager, group=floor.world.group, number="F-1", name_zh="机滤", cost_price="20", sale_price="60")
    stock_receive(actor=floor.world.manager, store=floor.store, part=part, quantity=5, unit_cost="20")
    order = authorized_order(floor, [{"title": "保养", "standard_hours": "1", "lines": [
        {"kind": "part", "code": "F-1", "description": "机滤", "quantity": "1", "unit_price": "60"}]}])
    job = order.made_jobs[0]
    client = client_for(floor.parts_clerk)
    assert client.get(f"/workshop/jobs/{job.pk}/parts/").status_code == 200
    refused = client.post(f"/workshop/jobs/{job.pk}/parts/", {"part": "F-1", "quantity": "3", "direction": "issue"})
    assert refused.status_code in (409, 422) and 'data-testid="error-quantity"' in refused.content.decode()
    unknown = client.post(f"/workshop/jobs/{job.pk}/parts/", {"part": "NOPE", "quantity": "1", "direction": "issue"})
    assert unknown.status_code == 422
    ok = client.post(f"/workshop/jobs/{job.pk}/parts/", {"part": "f-1", "quantity": "1", "direction": "issue"})
    assert ok.status_code == 302
    assert 'data-testid="fitted-part"' in client.get(f"/workshop/jobs/{job.pk}/parts/").content.decode()
    line = RepairLine.objects.get(job=job)
    client_for(floor.advisor).post(f"/workshop/lines/{line.pk}/keep-old-part/", {"keep": "1"})
    assert RepairLine.objects.get(pk=line.pk).keep_old_part


def test_sections_for_the_order_page(floor):
    order = authorized_order(floor, promised="17:00")
    fs.job_dispatch(actor=floor.foreman, job=order.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    request = RequestFactory().get("/orders/1/")
    request.user = floor.advisor
    html = Template("{% load workshop_floor %}{% floor_jobs order %}{% floor_parts order %}{% floor_old_parts order %}").render(
        Context({"order": order, "request": request, "user": floor.advisor})
    )
    assert 'data-testid="dispatch-section"' in html and str(floor.tech) in html and floor.bays[0].name in html
    assert 'data-testid="parts-section"' in html and 'data-testid="old-parts-section"' in html


def test_report_page(floor):
    assert client_for(floor.world.manager).get("/workshop/report/").status_code == 200
