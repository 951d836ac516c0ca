"""The assessment screens and API: the desk (tap a panel, review suggestions, approve → the repair order), the phone
capture page, the rule table; both languages; another store's assessment is a 404, a wrong role a 403."""

from __future__ import annotations

import pytest

from aftersales.assessments import services
from aftersales.assessments.models import Assessment, AssessmentPhoto, Finding
from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill

from .conftest import jpeg

pytestmark = pytest.mark.django_db


def test_desk_from_the_handover_to_the_order(shop, staff_client):
    s = shop
    desk = staff_client(s.assessor)
    assert 'data-testid="nav-assessments"' in desk.get("/").content.decode()
    response = desk.post("/assessments/new/", {"handover": s.handover.pk})
    a = Assessment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/assessments/{a.pk}/"
    page = desk.get(f"/assessments/{a.pk}/").content.decode()
    assert "前保险杠" in page and 'data-testid="car-diagram"' in page and 'data-testid="propose"' in page
    assert desk.post(f"/assessments/{a.pk}/propose/").status_code == 302
    pending = list(Finding.objects.filter(source="proposer"))
    assert len(pending) == 2
    page = desk.get(f"/assessments/{a.pk}/?panel=bonnet").content.decode()
    assert "从接车单标记的损伤推荐" in page  # the suggestions are labelled as rules, not a model
    for f in pending:
        assert desk.post(f"/assessments/{a.pk}/accept/", {"finding": f.pk}).status_code == 302
    response = desk.post(f"/assessments/{a.pk}/add/", {"panel": "bonnet", "damage_type": "dent", "severity": "light"})
    assert response.status_code == 302 and Finding.objects.filter(source="assessor").count() == 3
    desk.post(f"/assessments/{a.pk}/add/", {"panel": "hood", "damage_type": "dent", "severity": "light"})
    assert Finding.objects.filter(source="assessor").count() == 3
    response = desk.post(f"/assessments/{a.pk}/approve/")
    a.refresh_from_db()
    assert a.status == "approved" and response["Location"] == f"/orders/{a.order_id}/"
    order_page = desk.get(response["Location"]).content.decode()
    assert "前保险杠" in order_page
    listing = desk.get("/assessments/?status=approved").content.decode()
    assert a.number in listing and 'data-testid="time-figure"' in listing


def test_english_desk_and_capture_page(shop, staff_client, upload):
    s = shop
    a = services.assessment_open(actor=s.assessor, handover=s.handover)
    page = staff_client(s.assessor, "en").get(f"/assessments/{a.pk}/").content.decode()
    assert "Front bumper" in page and "Tap the damaged panel" in page and "前保险杠" not in page
    crew = staff_client(s.world.technician, "en")
    page = crew.get(f"/assessments/{a.pk}/capture/").content.decode()
    assert "Front right" in page and 'capture="environment"' in page
    assert crew.post(f"/assessments/{a.pk}/capture/", {"angle": "front", "photo": upload(jpeg(5))}).status_code == 302
    crew.post(f"/assessments/{a.pk}/capture/", {"angle": "front", "photo": upload(b"not an image at all", "x.jpg")})
    assert list(AssessmentPhoto.objects.filter(assessment=a).values_list("angle", flat=True)) == ["close_up", "front"]
    page = crew.get(f"/assessments/{a.pk}/capture/").content.decode()
    assert "✓ Front" in page
    # the crew sees the capture page, not the desk's actions
    assert crew.post(f"/assessments/{a.pk}/approve/").status_code == 403
    assert crew.get("/assessments/rules/").status_code == 403


def test_scoping_and_roles_on_pages(shop, staff_client):
    s = shop
    a = services.assessment_open(actor=s.assessor, handover=s.handover)
    other = staff_client(s.world.advisor_b)
    assert other.get(f"/assessments/{a.pk}/").status_code == 404
    assert other.get(f"/assessments/{a.pk}/capture/").status_code == 404
    assert other.post(f"/assessments/{a.pk}/approve/").status_code == 404
    assert other.post("/assessments/new/", {"handover": s.handover.pk}).status_code == 404
    cashier = staff_client(s.world.staff["cashier"])
    assert cashier.get("/assessments/").status_code == 403
    assert cashier.get(f"/assessments/{a.pk}/").status_code == 403
    manager = staff_client(s.world.manager)
    assert manager.get("/assessments/rules/").status_code == 200
    assert manager.post("/assessments/rules/", {"form": "settings", "baseline_minutes": "50", "proposer": "none"}).status_code == 302
    assert services.settings_for(s.store).baseline_minutes == 50
    assert staff_client(s.assessor).post("/assessments/rules/", {"form": "settings", "baseline_minutes": "5", "proposer": "none"}).status_code == 403


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["assessments"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, method, path):
    response = Api.anonymous().request(method, fill(path), {} if method != "get" else None)
    assert_error(response, 401, "unauthenticated")


def test_the_api(shop):
    s = shop
    a = services.assessment_open(actor=s.assessor, handover=s.handover)
    api = Api.session(s.assessor)
    assert api.get(f"/api/staff/assessments/{a.pk}").json()["photos"] == 1
    body = api.post(f"/api/staff/assessments/{a.pk}/propose").json()
    assert len(body["findings"]) == 2 and {f["decision"] for f in body["findings"]} == {"pending"}
    assert_error(api.post(f"/api/staff/assessments/{a.pk}/approve"), 422, "suggestions_pending", "findings")
    for f in Finding.objects.filter(source="proposer"):
        services.proposal_reject(actor=s.assessor, proposal=f)
    bad = assert_error(api.post(f"/api/staff/assessments/{a.pk}/findings", {"panel": "x", "damage_type": "y", "severity": "light"}), 422)
    assert {e["field"] for e in bad["errors"]} == {"panel", "damage_type"}
    response = api.post(f"/api/staff/assessments/{a.pk}/findings", {"panel": "roof", "damage_type": "dent", "severity": "moderate"})
    assert response.status_code == 201 and response.json()["action"] == "repair"
    body = api.post(f"/api/staff/assessments/{a.pk}/approve").json()
    assert body["status"] == "approved" and body["order_id"] and body["minutes"] >= 1
    assert_error(api.post(f"/api/staff/assessments/{a.pk}/approve"), 409, "illegal_transition")
    assert_error(Api.session(s.world.advisor_b).get(f"/api/staff/assessments/{a.pk}"), 404)
    assert_error(Api.session(s.world.staff["cashier"]).get(f"/api/staff/assessments/{a.pk}"), 403)
    assert_error(Api.session(s.world.technician).post(f"/api/staff/assessments/{a.pk}/findings",
                                                      {"panel": "roof", "damage_type": "dent", "severity": "light"}), 403)
