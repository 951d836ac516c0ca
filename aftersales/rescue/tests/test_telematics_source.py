"""Telematics alerts as a rescue source (issue 20): a critical severe alarm (GB/T 32960 level 3) or a crash / airbag
alert opens a draft case for the call centre at the car's last known position, through the domain event
``TelematicsAlertOpened`` (telematics never imports rescue); deduplicated per vehicle; the sweep repairs a missed
handler; the call centre confirms (→ requested, dispatchable) or cancels it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from aftersales.common import events
from aftersales.common.errors import Conflict
from aftersales.rescue import selectors, services
from aftersales.rescue.choices import CaseStatus, Source
from aftersales.rescue.models import RescueCase
from aftersales.telematics.models import Alert
from aftersales.telematics.tests.conftest import tel  # noqa: F401 - the connected-car fixture

pytestmark = pytest.mark.django_db

WHERE = {"lat": 22.561234, "lon": 114.071234}


@pytest.fixture
def send(tel, django_capture_on_commit_callbacks):  # noqa: F811
    """A reading from the car, with the handlers of the events it publishes run as after a real commit."""

    def go(seq, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            return tel.send(seq, **fields)

    return go


def test_the_handler_is_subscribed_to_the_telematics_event():
    assert ("aftersales.rescue.services:on_telematics_alert", True) in events.handlers_for(events.TelematicsAlertOpened)


def test_a_level_3_alarm_opens_one_draft_at_the_cars_last_position(rescue, tel, send):  # noqa: F811
    send(1, gps=WHERE, nev_alarm=1)  # the last position the car reported
    result = send(2, nev_alarm=3)  # the alarm reading itself carries no position
    assert [a.kind for a in result.opened] == ["nev_alarm"]
    case = RescueCase.objects.get(vehicle=tel.vehicle)
    assert case.status == CaseStatus.DRAFT and case.source == Source.TELEMATICS
    assert case.telematics_alert_id == result.opened[0].pk
    assert (case.lat, case.lng) == (Decimal("22.561234"), Decimal("114.071234")) and not case.approximate
    assert case.customer == tel.owner and case.caller_phone == tel.owner.mobile and case.drivable is False
    assert "new-energy alarm level 3" in str(case.events.get().reason)
    # the same car alarms again (the alert closed and reopened): no second case, a line on the open one's timeline
    send(3, nev_alarm=0)
    again = send(4, nev_alarm=3)
    assert again.opened and RescueCase.objects.filter(vehicle=tel.vehicle).count() == 1
    assert case.events.count() == 2
    # not the owner's to see until confirmed; the escalation sweep counts a draft as waiting for a unit
    assert selectors.owner_open_case(tel.owner) is None


def test_non_critical_or_other_alerts_open_nothing(rescue, tel, send):  # noqa: F811
    send(1, gps=WHERE, dtc=["P0217"])  # overheating: critical, but not a rescue kind
    assert Alert.objects.filter(vehicle=tel.vehicle).exists()
    assert services.telematics_draft_open(alert_id=999, vehicle_id=tel.vehicle.pk, store_id=tel.world.a.pk,
                                          kind="airbag", severity="important") is None
    assert not RescueCase.objects.exists()


def test_a_crash_alert_while_the_owner_already_asked_for_help_adds_to_that_case(rescue, tel, send):  # noqa: F811
    case = services.case_create(actor=rescue.dispatcher, store=rescue.store, incident="accident", lat=22.5, lng=114.0,
                                vehicle=tel.vehicle)
    got = services.telematics_draft_open(alert_id=501, vehicle_id=tel.vehicle.pk, store_id=tel.world.a.pk, kind="crash",
                                         severity="critical")
    assert got.pk == case.pk and RescueCase.objects.count() == 1
    assert "crash detected" in str(case.events.order_by("-id").first().reason)


def test_the_same_alert_twice_and_two_alerts_at_once_leave_one_draft(rescue, tel, send):  # noqa: F811
    send(1, gps=WHERE)
    first = services.telematics_draft_open(alert_id=601, vehicle_id=tel.vehicle.pk, store_id=tel.world.a.pk,
                                           kind="airbag", severity="critical")
    assert services.telematics_draft_open(alert_id=601, vehicle_id=tel.vehicle.pk, store_id=tel.world.a.pk,
                                          kind="airbag", severity="critical").pk == first.pk
    # a second alert that raced past the open-case check still meets the per-vehicle unique constraint
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        RescueCase.objects.create(store=first.store, number="X1", incident="accident", lat=1, lng=1, vehicle=tel.vehicle,
                                  source=Source.TELEMATICS, status=CaseStatus.DRAFT, telematics_alert_id=602)
    assert RescueCase.objects.count() == 1


def test_the_sweep_opens_the_draft_a_missed_handler_left(rescue, tel, send):  # noqa: F811
    events._registry[events.TelematicsAlertOpened] = []  # the handler "missed" (worker down)
    try:
        send(1, gps=WHERE, nev_alarm=3)
        assert not RescueCase.objects.exists()
        assert services.telematics_intake_sweep() == 1
        assert services.telematics_intake_sweep() == 0  # idempotent
    finally:
        events._registry.pop(events.TelematicsAlertOpened, None)
        events.subscribe(events.TelematicsAlertOpened, services.on_telematics_alert, background=True)
    assert RescueCase.objects.get().status == CaseStatus.DRAFT


def test_the_call_centre_confirms_then_dispatches_or_dismisses(rescue, tel, send, client):  # noqa: F811
    send(1, gps=WHERE, nev_alarm=3)
    case = RescueCase.objects.get()
    with pytest.raises(Conflict):
        services.case_dispatch(actor=rescue.dispatcher, case=case, unit=rescue.tow)
    client.force_login(rescue.dispatcher)
    board = client.get(f"/rescue/?store={rescue.store.pk}").content.decode()
    assert 'data-testid="telematics-drafts"' in board and case.number in board
    assert client.post(f"/rescue/cases/{case.pk}/confirm/").status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.REQUESTED
    case = services.case_dispatch(actor=rescue.dispatcher, case=case, unit=rescue.tow)
    assert case.status == CaseStatus.DISPATCHED
    # another store's dispatcher: 404 on the confirm of a draft that is not theirs
    send(2, nev_alarm=0)
    services.case_cancel(actor=rescue.dispatcher, case=case, reason="误报")
    send(3, nev_alarm=3)
    draft = RescueCase.objects.get(status=CaseStatus.DRAFT)
    client.force_login(rescue.world.manager_b)
    assert client.post(f"/rescue/cases/{draft.pk}/confirm/").status_code == 404
    assert RescueCase.objects.get(pk=draft.pk).status == CaseStatus.DRAFT


def test_an_unconfirmed_draft_escalates(rescue, tel, send):  # noqa: F811
    send(1, gps=WHERE, nev_alarm=3)
    case = RescueCase.objects.get()
    assert services.escalation_sweep(now=case.requested_at + dt.timedelta(minutes=6)) == 1


# ---- crash / airbag flags reported by the car (telematics rule kinds "crash" and "airbag") ---------------------------
def test_a_crash_flag_opens_a_critical_alert_and_at_once_a_draft_at_the_cars_last_position(rescue, tel, send, client):  # noqa: F811
    from aftersales.messaging.models import Message

    send(1, gps=WHERE, speed_kmh=60)
    result = send(2, crash=True, speed_kmh=0)  # one reading is enough; this one carries no position
    assert [(a.kind, a.severity) for a in result.opened] == [("crash", "critical")]
    alert = result.opened[0]
    case = RescueCase.objects.get(vehicle=tel.vehicle)
    assert (case.status, case.source, case.incident, case.telematics_alert_id) == (
        CaseStatus.DRAFT, Source.TELEMATICS, "accident", alert.pk)
    assert (case.lat, case.lng, case.approximate, case.drivable) == (Decimal("22.561234"), Decimal("114.071234"), False, False)
    assert "crash detected" in str(case.events.get().reason)
    # the owner is told at once (a service message, even in quiet hours), in their language
    message = Message.objects.get(customer=tel.owner, kind="telematics.alert_critical")
    assert "碰撞" in message.body
    # the flag again on the next reading: the alert stays the one open alert, still one case
    send(3, crash=True)
    send(4, speed_kmh=0)  # a reading without the flag does not close a crash alert: staff do
    assert Alert.objects.get(vehicle=tel.vehicle, kind="crash").status == "open"
    assert RescueCase.objects.filter(vehicle=tel.vehicle).count() == 1
    # the dispatcher sees it at the top of the board, to confirm with the owner
    client.force_login(rescue.dispatcher)
    board = client.get(f"/rescue/?store={rescue.store.pk}").content.decode()
    assert 'data-testid="telematics-drafts"' in board and case.number in board


def test_an_airbag_flag_with_a_position_opens_its_draft_there(rescue, tel, send):  # noqa: F811
    result = send(1, airbag=True, gps={"lat": 22.57, "lon": 114.08})
    assert [(a.kind, a.severity) for a in result.opened] == [("airbag", "critical")]
    case = RescueCase.objects.get(vehicle=tel.vehicle)
    assert (case.lat, case.lng) == (Decimal("22.570000"), Decimal("114.080000"))
    assert "airbag deployed" in str(case.events.get().reason)


def test_a_disabled_crash_rule_or_false_flags_open_nothing(rescue, tel, send):  # noqa: F811
    from aftersales.telematics.services import alert_rule_update

    send(1, gps=WHERE, crash=False, airbag=False)
    assert not Alert.objects.exists()
    rule = alert_rule_update(actor=tel.world.manager, store=tel.world.a, kind="crash", enabled=False, repeats=5,
                             critical=False)
    assert (rule.enabled, rule.repeats, rule.critical) == (False, 1, True)  # one reading, always critical
    send(2, crash=True)
    assert not Alert.objects.exists() and not RescueCase.objects.exists()


# ---- a GB/T 32960 vehicle (the gateway's JSON form, through the MQTT batch path) ------------------------------------
def test_a_gbt32960_crash_opens_the_same_alert_and_draft(rescue, tel, django_capture_on_commit_callbacks):  # noqa: F811
    from aftersales.telematics import services as telematics
    from aftersales.telematics.choices import Protocol, RejectReason
    from aftersales.telematics.models import Device, Rejection
    from aftersales.telematics.tests.conftest import signed

    Device.objects.filter(pk=tel.device.pk).update(protocol=Protocol.GBT32960_JSON)

    def report(serial, **fields):
        return signed(tel.key, device=tel.device.device_id, serial=serial,
                      collect_time=(tel.base + dt.timedelta(seconds=30 * serial)).isoformat(), **fields)

    with django_capture_on_commit_callbacks(execute=True):
        results = telematics.ingest_batch([
            (report(1, vehicle={"soc": 80}, position={"lat_1e6": 22561234, "lon_1e6": 114071234}), tel.device.device_id),
            # the crash report carries no position; a reserved bit rides along (ignored, counted, nothing breaks)
            (report(2, alarm={"max_level": 2, "general_flags": 2**29 | 2**13}, extension={"collision": True}),
             tel.device.device_id),
        ])
    assert [r.accepted for r in results] == [True, True]
    assert [(a.kind, a.severity) for a in results[1].opened] == [("crash", "critical")]
    case = RescueCase.objects.get(vehicle=tel.vehicle)
    assert (case.status, case.source, case.incident, case.telematics_alert_id) == (
        CaseStatus.DRAFT, Source.TELEMATICS, "accident", results[1].opened[0].pk)
    assert (case.lat, case.lng) == (Decimal("22.561234"), Decimal("114.071234"))
    assert "crash detected" in str(case.events.get().reason)
    assert Rejection.objects.get(device=tel.device, reason=RejectReason.IGNORED).count == 1
