"""A job requiring a certificate is dispatched only to a technician holding a valid one (service, API, screen);
the ranked suggestion puts the certified first; a manager may override with a reason, audited."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.common.errors import Forbidden, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.api_helpers import Api, assert_error
from aftersales.people import services
from aftersales.workshop import floor_selectors as sel
from aftersales.workshop import floor_services as fs
from aftersales.workshop.choices import JobStatus
from aftersales.workshop.models import RepairJob
from aftersales.workshop.tests.conftest import authorized_order

from .helpers import certify, today

pytestmark = pytest.mark.django_db

HV_JOB = {"title": "高压电池包检修", "standard_hours": "2", "required_skill": "maintenance", "required_certificate": "hv_ev"}


def hv_job(floor):
    return authorized_order(floor, [dict(HV_JOB)]).made_jobs[0]


def test_refused_without_a_certificate_accepted_with_one_and_refused_again_when_expired_or_withdrawn(floor):
    job = hv_job(floor)
    d = today(floor.store)
    with pytest.raises(ValidationFailed) as exc:
        fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[0])
    assert (exc.value.code, exc.value.field) == ("technician_not_certified", "technician")
    assert RepairJob.objects.get(pk=job.pk).status == JobStatus.AUTHORIZED
    # an expired certificate does not count
    certify(floor.foreman, floor.tech, start=d - dt.timedelta(days=800), end=d - dt.timedelta(days=1), number="HV-OLD")
    with pytest.raises(ValidationFailed):
        fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[0])
    # nor one for another kind of work
    certify(floor.foreman, floor.tech, start=d, end=d + dt.timedelta(days=365), kind="srs", number="SRS-1")
    with pytest.raises(ValidationFailed):
        fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[0])
    cert = certify(floor.foreman, floor.tech, start=d - dt.timedelta(days=10), end=d + dt.timedelta(days=365))
    done = fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[0])
    assert (done.status, done.technician_id) == (JobStatus.DISPATCHED, floor.tech.pk)
    fs.job_unassign(actor=floor.foreman, job=job)
    services.certification_withdraw(actor=floor.foreman, certification=cert, reason="证书被吊销")
    with pytest.raises(ValidationFailed):
        fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[0])


def test_a_certificate_valid_on_the_day_of_dispatch_only(floor):
    job = hv_job(floor)
    d = today(floor.store)
    certify(floor.foreman, floor.tech, start=d - dt.timedelta(days=30), end=d)
    fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[0])  # its last day counts
    fs.job_unassign(actor=floor.foreman, job=job)
    tomorrow = dt.datetime.combine(d + dt.timedelta(days=1), dt.time(9, 0), tzinfo=floor.store.zone)
    with pytest.raises(ValidationFailed):
        fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[0], at=tomorrow)


def test_only_a_manager_overrides_with_a_reason_and_it_is_audited(floor):
    job = hv_job(floor)
    with pytest.raises(Forbidden) as exc:
        fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[0], override=True, reason="急单")
    assert exc.value.code == "override_not_allowed"
    manager = floor.world.manager
    with pytest.raises(ValidationFailed) as exc:
        fs.job_dispatch(actor=manager, job=job, technician=floor.tech, bay=floor.bays[0], override=True, reason="  ")
    assert exc.value.field == "reason"
    assert RepairJob.objects.get(pk=job.pk).status == JobStatus.AUTHORIZED
    done = fs.job_dispatch(actor=manager, job=job, technician=floor.tech, bay=floor.bays[0], override=True,
                           reason="持证技师休假，厂家远程指导")
    assert done.status == JobStatus.DISPATCHED
    event = AuditEvent.objects.get(action="repair_job.certificate_override")
    assert event.actor_id == manager.pk and "远程指导" in event.reason


def test_suggestion_ranks_the_certified_first_and_says_why(floor):
    job = hv_job(floor)
    d = today(floor.store)
    ranked = sel.dispatch_suggestions(floor.foreman, job)
    assert not any(s.certified for s in ranked)
    assert any("No valid certificate" in r for r in ranked[0].reasons)
    certify(floor.foreman, floor.body, start=d, end=d + dt.timedelta(days=100))
    ranked = sel.dispatch_suggestions(floor.foreman, job)
    assert ranked[0].technician.pk == floor.body.pk and ranked[0].certified
    assert not ranked[0].eligible  # certified but without the skill
    assert [s.technician.pk for s in ranked if not s.certified] == [floor.tech.pk]


def test_job_from_the_labour_guide_carries_the_required_certificate(floor):
    from aftersales.estimates.services import labour_operation_save

    op = labour_operation_save(actor=floor.world.manager, group=floor.store.group, code="HV01", name_zh="高压系统绝缘检测",
                               standard_hours="1.5", required_certificate="hv_ev")
    assert op.required_certificate == "hv_ev"
    op = labour_operation_save(actor=floor.world.manager, group=floor.store.group, code="HV01", name_zh="高压系统绝缘检测",
                               standard_hours="1.5")  # not given: left as it was
    assert op.required_certificate == "hv_ev"
    with pytest.raises(ValidationFailed) as exc:
        labour_operation_save(actor=floor.world.manager, group=floor.store.group, code="HV02", name_zh="x",
                              standard_hours="1", required_certificate="nonsense")
    assert exc.value.field == "required_certificate"


def test_dispatch_api_refuses_then_accepts_after_the_certificate_is_recorded_over_http(floor):
    job = hv_job(floor)
    api = Api.session(floor.foreman)
    body = {"technician_id": floor.tech.pk, "bay_id": floor.bays[0].pk}
    assert_error(api.post(f"/api/workshop/jobs/{job.pk}/dispatch", body), 422, "technician_not_certified", "technician")
    assert RepairJob.objects.get(pk=job.pk).status == JobStatus.AUTHORIZED
    suggestions = api.get(f"/api/workshop/jobs/{job.pk}/suggestions").json()["technicians"]
    assert {s["technician_id"]: s["certified"] for s in suggestions}[floor.tech.pk] is False
    assert_error(api.post(f"/api/workshop/jobs/{job.pk}/dispatch", {**body, "override": True, "reason": "x"}), 403,
                 "override_not_allowed")
    d = today(floor.store)
    recorded = api.client.post("/api/people/certifications", {
        "holder_id": floor.tech.pk, "kind": "hv_ev", "issuer": "广汽培训中心", "number": "HV-9",
        "valid_from": (d - dt.timedelta(days=1)).isoformat(), "valid_until": (d + dt.timedelta(days=300)).isoformat(),
    })
    assert recorded.status_code == 201, recorded.content
    ok = api.post(f"/api/workshop/jobs/{job.pk}/dispatch", body)
    assert ok.status_code == 200 and ok.json()["status"] == "dispatched"


def test_dispatch_screen_refuses_then_accepts(floor):
    from django.test import Client

    job = hv_job(floor)
    client = Client()
    client.force_login(floor.foreman)
    url = f"/workshop/jobs/{job.pk}/dispatch/"
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="certificate-needed"' in html
    assert f'value="{floor.tech.pk}" id="tech-{floor.tech.pk}" disabled' in html.replace(" checked", "")
    assert 'data-testid="override"' not in html  # the foreman cannot override
    refused = client.post(url, {"technician": floor.tech.pk, "bay": floor.bays[0].pk})
    assert refused.status_code == 422 and 'data-testid="error-technician"' in refused.content.decode()
    assert RepairJob.objects.get(pk=job.pk).status == JobStatus.AUTHORIZED
    d = today(floor.store)
    certify(floor.foreman, floor.tech, start=d, end=d + dt.timedelta(days=200))
    assert client.post(url, {"technician": floor.tech.pk, "bay": floor.bays[0].pk}).status_code == 302
    assert RepairJob.objects.get(pk=job.pk).status == JobStatus.DISPATCHED


def test_dispatch_screen_override_by_the_manager(floor):
    from django.test import Client

    job = hv_job(floor)
    client = Client()
    client.force_login(floor.world.manager)
    url = f"/workshop/jobs/{job.pk}/dispatch/"
    assert 'data-testid="override"' in client.get(url).content.decode()
    no_reason = client.post(url, {"technician": floor.tech.pk, "bay": floor.bays[0].pk, "override": "1"})
    assert no_reason.status_code == 422
    ok = client.post(url, {"technician": floor.tech.pk, "bay": floor.bays[0].pk, "override": "1", "reason": "厂家远程指导"})
    assert ok.status_code == 302
    assert AuditEvent.objects.filter(action="repair_job.certificate_override").count() == 1
