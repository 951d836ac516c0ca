"""The rescue API for unit shifts (list / create / update / delete within the user's stores) and for the telematics
drafts (confirm with the owner → requested; discard as a false alarm): least privilege (another store's unit, shift or
case is a 404, a dispatcher may not edit shifts), bad input names every field and writes nothing."""

from __future__ import annotations

import pytest

from aftersales.common.tests.api_helpers import Api, assert_error
from aftersales.rescue import services
from aftersales.rescue.choices import CaseStatus
from aftersales.rescue.models import RescueCase, UnitShift

pytestmark = pytest.mark.django_db


def test_shifts_over_the_api(rescue):
    r = rescue
    manager = Api.session(r.world.manager)
    url = f"/api/staff/rescue/units/{r.tow.pk}/shifts"
    # every bad field at once, nothing written
    bad = manager.post(url, {"days": "someday", "weekdays": [9], "starts": "25:99", "ends": "", "crew_ids": [r.world.advisor_b.pk]})
    err = assert_error(bad, 422)
    assert {e["field"] for e in err["errors"]} == {"days", "weekdays", "starts", "ends", "crew_ids"}
    assert not UnitShift.objects.exists()
    made = manager.post(url, {"days": "weekdays", "weekdays": [4], "starts": "22:00", "ends": "06:00", "crew_ids": [r.crew.pk]})
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["unit_id"], body["weekdays"], body["starts"], body["ends"], body["overnight"], body["crew_ids"]) == (
        r.tow.pk, [4], "22:00", "06:00", True, [r.crew.pk])
    sid = body["id"]
    # an overlapping second shift of the same unit is refused
    assert_error(manager.post(url, {"days": "weekdays", "weekdays": [4], "starts": "23:00", "ends": "01:00"}), 422,
                 "shift_overlap", "starts")
    # the crew member on another unit's shift at the same time: named on crew_ids
    assert_error(manager.post(f"/api/staff/rescue/units/{r.van.pk}/shifts", {
        "days": "weekdays", "weekdays": [4], "starts": "23:00", "ends": "02:00", "crew_ids": [r.crew.pk]}), 422,
        "crew_double_booked", "crew_ids")
    updated = manager.put(f"/api/staff/rescue/shifts/{sid}", {"days": "business", "starts": "08:00", "ends": "20:00",
                                                              "crew_ids": [r.crew.pk, r.crew2.pk]})
    assert updated.status_code == 200, updated.content
    assert (updated.json()["days"], updated.json()["starts"], sorted(updated.json()["crew_ids"])) == (
        "business", "08:00", sorted([r.crew.pk, r.crew2.pk]))
    bad = manager.put(f"/api/staff/rescue/shifts/{sid}", {"days": "weekdays", "weekdays": [], "starts": "8", "ends": "08:00"})
    assert {e["field"] for e in assert_error(bad, 422)["errors"]} == {"weekdays", "starts"}
    assert UnitShift.objects.get().days == "business"  # unchanged
    listed = manager.get("/api/staff/rescue/shifts").json()
    assert [s["id"] for s in listed] == [sid]
    assert manager.get(f"/api/staff/rescue/shifts?unit_id={r.van.pk}").json() == []
    # the dispatcher reads the shifts but may not change them
    dispatcher = Api.session(r.dispatcher)
    assert [s["id"] for s in dispatcher.get("/api/staff/rescue/shifts").json()] == [sid]
    assert_error(dispatcher.post(url, {"days": "business", "starts": "08:00", "ends": "09:00"}), 403)
    # another store's manager: 404 on the unit and the shift, nothing listed
    other = Api.session(r.world.manager_b)
    assert_error(other.post(url, {"days": "business", "starts": "08:00", "ends": "09:00"}), 404)
    assert_error(other.put(f"/api/staff/rescue/shifts/{sid}", {"days": "business", "starts": "01:00", "ends": "02:00"}), 404)
    assert_error(other.delete(f"/api/staff/rescue/shifts/{sid}"), 404)
    assert other.get("/api/staff/rescue/shifts").json() == []
    assert UnitShift.objects.get().starts.hour == 8
    assert manager.delete(f"/api/staff/rescue/shifts/{sid}").status_code == 204
    assert not UnitShift.objects.exists()


def _draft(r, alert_id):
    return services.telematics_draft_open(alert_id=alert_id, vehicle_id=r.vehicle.pk, store_id=r.store.pk, kind="crash",
                                          severity="critical")


def test_drafts_confirmed_or_discarded_over_the_api(rescue):
    r = rescue
    draft = _draft(r, 901)
    assert draft.status == CaseStatus.DRAFT
    api = Api.session(r.dispatcher)
    listed = api.get("/api/staff/rescue/cases", {"status": "draft"}).json()
    assert [c["id"] for c in listed] == [draft.pk]
    assert_error(api.get("/api/staff/rescue/cases", {"status": "nonsense"}), 422, "invalid_choice", "status")
    # another store's dispatcher: 404, nothing moved
    other = Api.session(r.world.manager_b)
    assert_error(other.post(f"/api/staff/rescue/cases/{draft.pk}/confirm"), 404)
    assert_error(other.post(f"/api/staff/rescue/cases/{draft.pk}/discard", {"reason": "x"}), 404)
    assert RescueCase.objects.get(pk=draft.pk).status == CaseStatus.DRAFT
    # a too long reason is named, nothing moved
    assert_error(api.post(f"/api/staff/rescue/cases/{draft.pk}/discard", {"reason": "x" * 301}), 422, "too_long", "reason")
    confirmed = api.post(f"/api/staff/rescue/cases/{draft.pk}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "requested"
    assert_error(api.post(f"/api/staff/rescue/cases/{draft.pk}/confirm"), 409, "illegal_transition", "status")
    assert_error(api.post(f"/api/staff/rescue/cases/{draft.pk}/discard"), 409, "not_a_draft", "status")
    # a second alert later: dismissed as a false alarm, the reason in the reader's language
    services.case_cancel(actor=r.dispatcher, case=RescueCase.objects.get(pk=draft.pk), reason="车主确认无事")
    second = _draft(r, 902)
    discarded = api.post(f"/api/staff/rescue/cases/{second.pk}/discard", headers={"Accept-Language": "en"})
    assert discarded.status_code == 200 and discarded.json()["status"] == "cancelled"
    assert discarded.json()["events"][-1]["reason"] in ("False alarm", "误报")


def test_rescue_validates_with_the_common_helpers():
    """Review finding D6: one set of validation helpers (behaviour and messages as before)."""
    from aftersales.common import errors, validators

    assert services.choice_value is validators.choice_value and services.text_value is validators.text_value
    assert services.Problems is errors.Problems
    assert not hasattr(services, "_choice") and not hasattr(services, "_text")
