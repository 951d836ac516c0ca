"""Rescue services: the transition table, dispatch (never twice), the crew's moves, ETA, check-in, escalation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.rescue import eta, selectors, services
from aftersales.rescue.choices import AlertKind, CaseStatus, UnitStatus
from aftersales.rescue.models import RescueAlert, RescueArea, RescueCase, RescueEvent, UnitPosition

from .conftest import CAR, data_url, png

pytestmark = pytest.mark.django_db


def _case(r, incident="accident", **kw):
    return services.case_create(actor=r.dispatcher, store=r.store, incident=incident, lat=CAR[0], lng=CAR[1],
                                vehicle=r.vehicle, **kw)


def test_great_circle_and_eta():
    km = float(eta.great_circle_km(22.5431, 114.0579, 23.1291, 113.2644))  # Shenzhen → Guangzhou ≈ 104 km
    assert 100 < km < 108
    assert eta.eta_minutes(10.0, detour=1.5, speed_kmh=30, prep=5) == pytest.approx(35.0)


def test_call_centre_case_names_every_bad_field_and_writes_nothing(rescue):
    with pytest.raises(ValidationFailed) as exc:
        services.case_create(actor=rescue.dispatcher, store=rescue.store, incident="meteor", lat=91, lng="east",
                             caller_phone="12", description="x" * 501)
    fields = {e["field"] for e in exc.value.extra["errors"]}
    assert fields == {"incident", "lat", "lng", "caller_phone", "description"}
    assert not RescueCase.objects.exists()
    with pytest.raises(ValidationFailed) as exc:
        services.case_create(actor=rescue.dispatcher, store=rescue.store, incident="tyre")
    assert exc.value.field == "address"
    case = services.case_create(actor=rescue.dispatcher, store=rescue.store, incident="tyre", address="滨海大道 100 号")
    assert case.approximate and case.lat == RescueArea.objects.get(store=rescue.store).base_lat
    services.case_locate(actor=rescue.dispatcher, case=case, lat=CAR[0], lng=CAR[1])
    case.refresh_from_db()
    assert not case.approximate


def test_the_whole_tow_from_request_to_reception(rescue):
    r = rescue
    case = _case(r, drivable=False, description="追尾")
    assert [e.to_state for e in case.events.all()] == [CaseStatus.REQUESTED]
    suggestions = selectors.suggest_units(r.dispatcher, case)
    assert [u.pk for u, _m, _km in suggestions] == [r.tow.pk]  # only the flatbed can take an accident
    case = services.case_dispatch(actor=r.dispatcher, case=case, unit=r.tow)
    assert case.status == CaseStatus.DISPATCHED and case.promised_at == case.eta_at
    r.tow.refresh_from_db()
    assert r.tow.status == UnitStatus.DISPATCHED and r.tow.case_id == case.pk
    with pytest.raises(Forbidden):
        services.case_crew_accept(actor=r.crew2, case=case)  # not the crew of this unit
    case = services.case_crew_accept(actor=r.crew, case=case)
    before = selectors.minutes_to_arrival(case)
    case = services.position_post(actor=r.crew, case=case, lat=22.585, lng=114.078)
    assert selectors.minutes_to_arrival(case) < before
    with pytest.raises(ValidationFailed) as exc:
        services.position_post(actor=r.crew, case=case, lat=200, lng=114)
    assert exc.value.field == "lat"
    case = services.case_on_scene(actor=r.crew, case=case, lat=CAR[0], lng=CAR[1])
    assert case.events.last().lat is not None
    services.photo_add(actor=r.crew, case=case, content=png(fmt="JPEG"), caption="左前")
    with pytest.raises(ValidationFailed) as exc:
        services.photo_add(actor=r.crew, case=case, content=b"MZ not an image")
    assert exc.value.code == "not_an_image"
    services.case_sign(actor=r.crew, case=case, signature=data_url(png()), signer_name="张伟")
    case = services.case_finish_on_site(actor=r.crew, case=case, work_done="", tow=True)
    assert case.status == CaseStatus.TOWING
    case = services.case_at_store(actor=r.crew, case=case)
    r.tow.refresh_from_db()
    assert r.tow.status == UnitStatus.AVAILABLE and r.tow.case_id is None
    handover = services.case_check_in(actor=r.dispatcher, case=case)
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.handover_id == handover.pk
    assert handover.vehicle_id == r.vehicle.pk and handover.photos.count() == 1 and "追尾" in handover.customer_words
    with pytest.raises(Conflict):
        services.case_check_in(actor=r.dispatcher, case=case)


def test_positions_only_while_on_a_job(rescue):
    r = rescue
    case = _case(r, incident="battery")
    with pytest.raises(Forbidden):
        services.position_post(actor=r.crew2, case=case, lat=22.5, lng=114.0)  # no unit yet: not their job
    case = services.case_dispatch(actor=r.dispatcher, case=case, unit=r.van)
    case = services.case_crew_accept(actor=r.crew2, case=case)
    case = services.case_on_scene(actor=r.crew2, case=case)
    case = services.case_finish_on_site(actor=r.crew2, case=case, work_done="搭电启动")
    with pytest.raises(Conflict) as exc:
        services.position_post(actor=r.crew2, case=case, lat=22.5, lng=114.0)
    assert exc.value.code == "not_on_job"
    assert UnitPosition.objects.count() == 0
    services.case_close(actor=r.crew2, case=case)


def test_moves_out_of_order_are_refused_and_nothing_written(rescue):
    r = rescue
    case = _case(r)
    events = RescueEvent.objects.count()
    with pytest.raises((IllegalTransition, Forbidden)):
        services.case_on_scene(actor=r.crew, case=case)
    services.case_dispatch(actor=r.dispatcher, case=case, unit=r.tow)
    with pytest.raises(IllegalTransition) as exc:
        services.case_at_store(actor=r.crew, case=case)
    assert exc.value.status == 409 and "“" in str(exc.value.message)
    case.refresh_from_db()
    assert case.status == CaseStatus.DISPATCHED and RescueEvent.objects.count() == events + 2  # accepted + dispatched


def test_a_unit_is_never_dispatched_twice(rescue):
    r = rescue
    first, second = _case(r), _case(r)
    services.case_dispatch(actor=r.dispatcher, case=first, unit=r.tow)
    with pytest.raises(Conflict) as exc:
        services.case_dispatch(actor=r.dispatcher, case=second, unit=r.tow)
    assert exc.value.code == "unit_busy"
    with pytest.raises(Conflict):
        services.case_dispatch(actor=r.dispatcher, case=first, unit=r.tow)
    # a second dispatcher holding a stale copy of the unit (read as available before the first dispatch) is refused
    # by the conditional UPDATE (status = available AND no case), not by the copy it holds
    stale = type(r.tow).objects.get(pk=r.tow.pk)
    stale.status, stale.case_id = UnitStatus.AVAILABLE, None
    with pytest.raises(Conflict):
        services.case_dispatch(actor=r.world.manager, case=second, unit=stale)
    second.refresh_from_db()
    assert second.status == CaseStatus.REQUESTED and second.unit_id is None


def test_crew_decline_frees_the_unit(rescue):
    r = rescue
    case = services.case_dispatch(actor=r.dispatcher, case=_case(r), unit=r.tow)
    case = services.case_crew_decline(actor=r.crew, case=case, reason="车辆故障")
    r.tow.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED and case.unit_id is None and r.tow.status == UnitStatus.AVAILABLE


def test_optimal_assignment_minimises_total_eta(rescue):
    from aftersales.rescue.choices import Capability

    r = rescue
    far = services.unit_save(actor=r.world.manager, store=r.store, name="拖车2", kind="tow_truck",
                             capabilities=[Capability.FLATBED], lat=22.70, lng=114.30)
    near_base = services.case_create(actor=r.dispatcher, store=r.store, incident="accident", lat=22.545, lng=114.06)
    near_far = services.case_create(actor=r.dispatcher, store=r.store, incident="accident", lat=22.69, lng=114.29)
    plan = {c.pk: u.pk for c, u, _m in selectors.assignment_plan(r.dispatcher, r.store)}
    assert plan == {near_base.pk: r.tow.pk, near_far.pk: far.pk}
    done = services.cases_assign_optimal(actor=r.dispatcher, store=r.store)
    assert {c.unit_id for c in done} == {r.tow.pk, far.pk}


def test_escalation_sweep_raises_each_alert_once(rescue):
    r = rescue
    now = timezone.now()
    waiting = services.case_create(actor=r.dispatcher, store=r.store, incident="tyre", lat=CAR[0], lng=CAR[1],
                                   at=now - dt.timedelta(minutes=8))
    sent = _case(r)
    services.case_dispatch(actor=r.dispatcher, case=sent, unit=r.tow, at=now - dt.timedelta(minutes=90))
    assert services.escalation_sweep(now=now) == 3
    assert services.escalation_sweep(now=now) == 0
    kinds = set(RescueAlert.objects.values_list("case_id", "kind"))
    assert kinds == {(waiting.pk, AlertKind.UNASSIGNED), (sent.pk, AlertKind.ACCEPTANCE_LATE), (sent.pk, AlertKind.ARRIVAL_LATE)}
    alert = RescueAlert.objects.filter(case=waiting).get()
    services.alert_done(actor=r.dispatcher, alert=alert)
    assert selectors.open_alerts(r.dispatcher, r.store).__len__() == 2


def test_calibration_and_figures(rescue):
    r = rescue
    now = timezone.now()
    for i in range(6):
        case = _case(r, at=now - dt.timedelta(hours=3 + i))
        at = case.requested_at + dt.timedelta(minutes=2)
        case = services.case_dispatch(actor=r.dispatcher, case=case, unit=r.tow, at=at)
        case = services.case_crew_accept(actor=r.crew, case=case, at=at + dt.timedelta(minutes=1))
        travel = float(case.promised_km) * 2.0 / 30 * 60  # the roads were twice the straight line
        case = services.case_on_scene(actor=r.crew, case=case, at=at + dt.timedelta(minutes=5 + travel))
        case = services.case_finish_on_site(actor=r.crew, case=case, work_done="", tow=True, at=case.on_scene_at)
        services.case_at_store(actor=r.crew, case=case, at=case.on_scene_at + dt.timedelta(minutes=30))
    area = services.area_calibrate(store=r.store, now=now)
    assert area.detour_factor == pytest.approx(2.0, abs=0.02) and area.calibration_samples == 6
    today = timezone.localdate(timezone=r.store.zone)
    figures = selectors.rescue_figures(r.dispatcher, r.store, today - dt.timedelta(days=2), today)
    assert figures["arrived"] == 6 and figures["acceptance_share"] == 100.0
    assert figures["within_promise_share"] == 0.0  # the old factor promised too little
    assert figures["average_response_minutes"] > 2


def test_owner_request_goes_to_the_nearest_store_and_checks_photos(rescue):
    r = rescue
    with pytest.raises(ValidationFailed) as exc:
        services.owner_request(customer=r.customer, vehicle_id=r.vehicle.pk, incident="accident", lat="-91", lng=181,
                               photos=[b"not an image"])
    assert {e["field"] for e in exc.value.extra["errors"]} == {"lat", "lng", "photos"}
    case = services.owner_request(customer=r.customer, vehicle_id=r.vehicle.pk, incident="accident", lat=23.13, lng=113.27,
                                  drivable=False, photos=[png(fmt="JPEG")])
    assert case.store_id == r.world.b.pk and case.photos.count() == 1 and case.source == "app"
    assert selectors.owner_case_get(r.customer, case.pk) == case


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_leave_one_dispatch(rescue):
    """Two threads (two connections) send the same unit to two cases at the same moment: one wins, one is refused."""
    import threading

    r = rescue
    cases = [_case(r), _case(r)]
    start = threading.Barrier(2)
    results: list[str] = []

    def send(case):
        from django.db import connection

        try:
            start.wait(timeout=10)
            services.case_dispatch(actor=type(r.dispatcher).objects.get(pk=r.dispatcher.pk), case=case,
                                   unit=type(r.tow).objects.get(pk=r.tow.pk))
            results.append("ok")
        except Conflict:
            results.append("busy")
        except Exception as exc:
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["busy", "ok"], results
    assert RescueCase.objects.filter(unit=r.tow).count() == 1


def test_owner_hears_of_the_dispatch_and_of_a_slipping_arrival_in_their_language(rescue):
    from aftersales.messaging.models import Message

    r = rescue
    r.customer.language = "en"
    r.customer.save(update_fields=["language"])
    case = services.case_dispatch(actor=r.dispatcher, case=_case(r), unit=r.tow)
    sent = Message.objects.get(kind="rescue.dispatched")
    assert sent.customer == r.customer and sent.language == "en" and "is on the way" in sent.body and "rescue" in sent.body
    assert f"/app/rescue/{case.pk}/" in sent.body and "伟" in sent.body and "4008" not in sent.body
    case = services.case_crew_accept(actor=r.crew, case=case)
    case = services.position_post(actor=r.crew, case=case, lat=22.585, lng=114.078)  # closer: no message
    assert not Message.objects.filter(kind="rescue.eta_slipped").exists()
    case = services.position_post(actor=r.crew, case=case, lat=22.43, lng=113.95)  # stuck far away: later than promised
    late = Message.objects.get(kind="rescue.eta_slipped")
    assert "later than promised" in late.body and timezone.localtime(case.eta_at, r.store.zone).strftime("%H:%M") in late.body
    services.position_post(actor=r.crew, case=case, lat=22.43, lng=113.95)  # the same slip: told once
    assert Message.objects.filter(kind="rescue.eta_slipped").count() == 1
    services.position_post(actor=r.crew, case=case, lat=22.20, lng=113.70)  # 10+ minutes later still: told again
    assert Message.objects.filter(kind="rescue.eta_slipped").count() == 2


def test_chinese_maps_get_gcj02_and_bd09_points():
    from decimal import Decimal

    import prcoords

    from aftersales.rescue.maps import map_point, to_gcj

    point = map_point(Decimal("22.590000"), Decimal("114.080000"), "深南大道 1 号")
    # GCJ-02 is a few hundred metres off WGS-84 in Shenzhen; converting back lands on the stored point
    assert 0.002 < abs(point.gcj[0] - point.wgs[0]) + abs(point.gcj[1] - point.wgs[1]) < 0.01
    back = prcoords.gcj_wgs_bored(prcoords.Coords(float(point.gcj[0]), float(point.gcj[1])))
    assert abs(back.lat - 22.59) < 1e-5 and abs(back.lon - 114.08) < 1e-5
    assert point.bd != point.gcj
    assert f"position={point.gcj[1]},{point.gcj[0]}" in point.amap_url and "coordinate=gaode" in point.amap_url
    assert f"location={point.bd[0]},{point.bd[1]}" in point.baidu_url and "%E6%B7%B1" in point.baidu_url
    assert point.geo_url == "geo:22.590000,114.080000?q=22.590000,114.080000"
    assert to_gcj(48.8566, 2.3522) == (Decimal("48.856600"), Decimal("2.352200"))  # outside China: unchanged
    assert map_point(None, None) is None
