"""Certificates: recorded with every bad field named at once, the scan checked and served only within the store;
the store's list and the person's own; another store's are 404; the expiry reminder goes once to holder and foreman."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from aftersales.common.tests.api_helpers import Api, assert_error
from aftersales.messaging.models import Message
from aftersales.people import services
from aftersales.staff.models import Certification

from .helpers import certify, png, today

pytestmark = pytest.mark.django_db


def test_bad_input_names_every_field_and_writes_nothing(floor):
    api = Api.session(floor.foreman)
    response = api.client.post("/api/people/certifications", {
        "holder_id": floor.tech.pk, "kind": "nope", "issuer": "", "number": "", "valid_from": "2026-13-01",
        "valid_until": "",
    })
    body = assert_error(response, 422)
    assert {e["field"] for e in body["errors"]} == {"kind", "issuer", "number", "valid_from", "valid_until"}
    not_image = api.client.post("/api/people/certifications", {
        "holder_id": floor.tech.pk, "kind": "hv_ev", "issuer": "x", "number": "1", "valid_from": "2026-01-01",
        "valid_until": "2025-01-01", "scan": _upload(b"<svg onload=alert(1)>"),
    })
    body = assert_error(not_image, 422)
    assert {e["field"] for e in body["errors"]} == {"valid_until", "scan"}
    assert not Certification.objects.exists()


def _upload(content: bytes, name: str = "scan.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="image/png")


def test_recorded_with_its_scan_and_served_only_within_the_store(floor):
    d = today(floor.store)
    api = Api.session(floor.foreman)
    response = api.client.post("/api/people/certifications", {
        "holder_id": floor.tech.pk, "kind": "srs", "issuer": "丰田技术培训中心", "level": "二级", "number": "SRS-77",
        "valid_from": d.isoformat(), "valid_until": (d + dt.timedelta(days=30)).isoformat(), "scan": _upload(png()),
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "expiring" and body["days_left"] == 30 and body["has_scan"]
    cert = Certification.objects.get()
    assert cert.scan.name.startswith(f"people/certificates/{floor.tech.pk}/")
    # duplicate number → 409, nothing more written
    again = api.client.post("/api/people/certifications", {
        "holder_id": floor.tech.pk, "kind": "srs", "issuer": "丰田技术培训中心", "number": "SRS-77",
        "valid_from": d.isoformat(), "valid_until": (d + dt.timedelta(days=30)).isoformat(),
    })
    assert_error(again, 409, "certificate_exists", "number")
    client = Client()
    client.force_login(floor.foreman)
    assert client.get(f"/people/certificates/{cert.pk}/scan/").status_code == 200
    client.force_login(floor.tech)  # the holder sees their own scan
    assert client.get(f"/people/certificates/{cert.pk}/scan/").status_code == 200
    client.force_login(floor.world.manager_b)  # another store's manager does not
    assert client.get(f"/people/certificates/{cert.pk}/scan/").status_code == 404
    client.force_login(floor.body)  # a colleague without the permission does not either
    assert client.get(f"/people/certificates/{cert.pk}/scan/").status_code == 404


def test_other_store_is_404_and_roles(floor):
    d = today(floor.store)
    cert = certify(floor.foreman, floor.tech, start=d, end=d + dt.timedelta(days=400))
    manager_b = Api.session(floor.world.manager_b)
    assert_error(manager_b.get("/api/people/certifications", {"store_id": floor.store.pk}), 404)
    assert manager_b.get("/api/people/certifications").json() == []
    assert_error(manager_b.post(f"/api/people/certifications/{cert.pk}/withdraw", {"reason": "x"}), 404)
    # recording for a person of another store: 404
    assert_error(manager_b.client.post("/api/people/certifications", {
        "holder_id": floor.tech.pk, "kind": "hv_ev", "issuer": "x", "number": "2", "valid_from": d.isoformat(),
        "valid_until": d.isoformat()}), 404)
    tech = Api.session(floor.tech)
    assert_error(tech.get("/api/people/certifications"), 403)
    assert_error(tech.client.post("/api/people/certifications", {
        "holder_id": floor.tech.pk, "kind": "hv_ev", "issuer": "x", "number": "3", "valid_from": d.isoformat(),
        "valid_until": d.isoformat()}), 403)
    assert [c["id"] for c in tech.get("/api/people/me/certifications").json()] == [cert.pk]
    assert Api.session(floor.body).get("/api/people/me/certifications").json() == []
    assert_error(Api.session(floor.foreman).post(f"/api/people/certifications/{cert.pk}/withdraw", {"reason": " "}),
                 422, "reason_required", "reason")
    ok = Api.session(floor.foreman).post(f"/api/people/certifications/{cert.pk}/withdraw", {"reason": "吊销"})
    assert ok.status_code == 200 and ok.json()["status"] == "withdrawn"
    client = Client()
    client.force_login(floor.world.manager_b)
    assert 'data-testid="certificate-row"' not in client.get("/people/").content.decode()  # their own store: none
    assert client.get(f"/people/?store={floor.store.pk}").status_code == 404
    client.force_login(floor.tech)
    assert client.get("/people/").status_code == 403


def test_screens_show_what_expires_within_60_days(floor):
    d = today(floor.store)
    certify(floor.foreman, floor.tech, start=d - dt.timedelta(days=300), end=d + dt.timedelta(days=45), number="HV-45")
    certify(floor.foreman, floor.body, start=d, end=d + dt.timedelta(days=200), kind="srs", number="SRS-200")
    client = Client()
    client.force_login(floor.foreman)
    html = client.get("/people/").content.decode()
    assert 'data-testid="expiring"' in html and "HV-45" in html and "SRS-200" in html
    assert html.count('data-status="expiring"') == 1
    client.force_login(floor.tech)
    html = client.get("/people/me/").content.decode()
    assert 'data-testid="my-expiring"' in html and "SRS-200" not in html


def test_record_on_the_screen_with_the_scan(floor):
    d = today(floor.store)
    client = Client()
    client.force_login(floor.foreman)
    bad = client.post("/people/", {"holder": floor.tech.pk, "kind": "hv_ev", "issuer": "", "number": "",
                                   "valid_from": d.isoformat(), "valid_until": (d - dt.timedelta(days=1)).isoformat()})
    assert bad.status_code == 422 and not Certification.objects.exists()
    ok = client.post("/people/", {"holder": floor.tech.pk, "kind": "hv_ev", "issuer": "广汽培训", "number": "HV-3",
                                  "valid_from": d.isoformat(), "valid_until": (d + dt.timedelta(days=90)).isoformat(),
                                  "scan": _upload(png())})
    assert ok.status_code == 302
    assert Certification.objects.get().scan


def test_reminder_sweep_goes_once_to_the_holder_and_the_foreman(floor):
    d = today(floor.store)
    soon = certify(floor.foreman, floor.tech, start=d - dt.timedelta(days=300), end=d + dt.timedelta(days=20), number="HV-20")
    certify(floor.foreman, floor.body, start=d, end=d + dt.timedelta(days=120), kind="srs", number="SRS-120")
    certify(floor.foreman, floor.body, start=d - dt.timedelta(days=50), end=d - dt.timedelta(days=1), number="OLD")
    assert services.certificate_reminder_sweep() == 2
    sent = Message.objects.filter(kind="people.certificate_expiring")
    assert {m.staff_user_id for m in sent} == {floor.tech.pk, floor.foreman.pk}
    assert all("HV-20" in m.body for m in sent)
    assert services.certificate_reminder_sweep() == 0  # idempotent
    assert sent.count() == 2
    # renewed: a new end date is reminded again when it comes within 60 days, not before
    services.certification_withdraw(actor=floor.foreman, certification=soon, reason="换证")
    assert services.certificate_reminder_sweep() == 0
