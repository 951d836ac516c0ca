"""Editing a certificate: correct or renew it (number, dates, scan) and withdraw it, audited, within the store;
nobody changes their own; a withdrawn one cannot be changed; the renewed end date is what dispatch and the
reminder follow."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from aftersales.common.models import AuditEvent
from aftersales.common.tests.api_helpers import Api, assert_error
from aftersales.staff.models import Certification
from aftersales.staff.selectors import certified_user_ids

from .helpers import certify, png, today

pytestmark = pytest.mark.django_db


def _upload(content: bytes, name: str = "scan.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="image/png")


def test_renew_through_the_api_audited_and_counted_by_dispatch(floor):
    d = today(floor.store)
    cert = certify(floor.foreman, floor.tech, start=d - dt.timedelta(days=400), end=d - dt.timedelta(days=1))
    assert certified_user_ids("hv_ev", [floor.tech.pk], d) == set()
    api = Api.session(floor.world.manager)
    bad = api.client.post(f"/api/people/certifications/{cert.pk}", {
        "number": "", "valid_from": "2026-02-30", "valid_until": "x", "scan": _upload(b"not an image")})
    body = assert_error(bad, 422)
    assert {e["field"] for e in body["errors"]} == {"number", "valid_from", "valid_until", "scan"}
    ok = api.client.post(f"/api/people/certifications/{cert.pk}", {
        "number": "HV-2", "valid_from": d.isoformat(), "valid_until": (d + dt.timedelta(days=730)).isoformat(),
        "scan": _upload(png()), "reason": "复训合格"})
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "valid" and ok.json()["number"] == "HV-2" and ok.json()["has_scan"]
    assert certified_user_ids("hv_ev", [floor.tech.pk], d) == {floor.tech.pk}
    event = AuditEvent.objects.get(action="certification.changed")
    assert event.changes["number"] == ["HV-1", "HV-2"] and event.reason == "复训合格" and "scan" in event.changes
    assert event.actor_id == floor.world.manager.pk


def test_scoping_roles_and_own_certificate(floor):
    d = today(floor.store)
    cert = certify(floor.foreman, floor.tech, start=d, end=d + dt.timedelta(days=100))
    own = certify(floor.world.manager, floor.foreman, start=d, end=d + dt.timedelta(days=100), kind="srs", number="S-1")
    payload = {"valid_until": (d + dt.timedelta(days=200)).isoformat()}
    assert_error(Api.session(floor.world.manager_b).client.post(f"/api/people/certifications/{cert.pk}", payload), 404)
    assert_error(Api.session(floor.tech).client.post(f"/api/people/certifications/{cert.pk}", payload), 403)
    assert_error(Api.session(floor.foreman).client.post(f"/api/people/certifications/{own.pk}", payload), 403,
                 "own_certificate")
    assert_error(Api.session(floor.foreman).post(f"/api/people/certifications/{own.pk}/withdraw", {"reason": "x"}), 403)
    assert Api.session(floor.foreman).client.post(f"/api/people/certifications/{cert.pk}", payload).status_code == 200
    Api.session(floor.world.manager).post(f"/api/people/certifications/{cert.pk}/withdraw", {"reason": "吊销"})
    assert_error(Api.session(floor.world.manager).client.post(f"/api/people/certifications/{cert.pk}", payload), 409,
                 "certificate_withdrawn")
    client = Client()
    client.force_login(floor.world.manager_b)
    assert client.get(f"/people/certificates/{cert.pk}/").status_code == 404
    client.force_login(floor.tech)
    assert client.get(f"/people/certificates/{cert.pk}/").status_code == 403
    client.force_login(floor.foreman)
    assert client.get(f"/people/certificates/{own.pk}/").status_code == 403


def test_the_screen_renews_and_withdraws_with_history(floor):
    d = today(floor.store)
    cert = certify(floor.foreman, floor.tech, start=d - dt.timedelta(days=300), end=d + dt.timedelta(days=20))
    client = Client()
    client.force_login(floor.world.manager)
    store_page = client.get(f"/people/?store={floor.store.pk}").content.decode()
    assert f"/people/certificates/{cert.pk}/" in store_page
    page = client.get(f"/people/certificates/{cert.pk}/")
    assert page.status_code == 200 and 'data-testid="certificate-change-form"' in page.content.decode()
    bad = client.post(f"/people/certificates/{cert.pk}/", {
        "action": "change", "issuer": "广汽培训", "number": "HV-1", "valid_from": d.isoformat(),
        "valid_until": (d - dt.timedelta(days=5)).isoformat()})
    assert bad.status_code == 422 and "must end after it starts" in bad.content.decode()
    ok = client.post(f"/people/certificates/{cert.pk}/", {
        "action": "change", "issuer": "广汽培训", "level": "中级", "number": "HV-1", "valid_from": d.isoformat(),
        "valid_until": (d + dt.timedelta(days=700)).isoformat(), "reason": "换证", "scan": _upload(png())})
    assert ok.status_code == 302
    cert.refresh_from_db()
    assert cert.level == "中级" and cert.valid_until == d + dt.timedelta(days=700) and cert.scan
    empty = client.post(f"/people/certificates/{cert.pk}/", {"action": "withdraw", "reason": " "})
    assert empty.status_code == 422 and Certification.objects.get().withdrawn_at is None
    assert client.post(f"/people/certificates/{cert.pk}/", {"action": "withdraw", "reason": "证书吊销"}).status_code == 302
    html = client.get(f"/people/certificates/{cert.pk}/").content.decode()
    assert "证书吊销" in html and "换证" in html and "certification." not in html
    assert 'data-testid="certificate-change-form"' not in html
    # the holder sees the withdrawn certificate on their own page
    client.force_login(floor.tech)
    assert 'data-status="withdrawn"' in client.get("/people/me/").content.decode()
