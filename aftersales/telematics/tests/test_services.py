"""Ingestion (every rejection reason, counted per device, nothing written), mileage, alert rules and their messages."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.common.errors import Conflict, Forbidden, ValidationFailed
from aftersales.messaging.models import Message
from aftersales.telematics import credentials, services
from aftersales.telematics.choices import AlertStatus, RejectReason, RuleKind, Severity
from aftersales.telematics.models import Alert, Device, Reading, Rejection
from aftersales.vehicles.models import MileageReading

from .conftest import signed

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["one", "batch"])
def tel(request, tel):
    """Every test of a message runs twice: through ``ingest`` (the HTTPS gateway, one message) and through
    ``ingest_batch`` (what the MQTT ingester calls for the messages it has received)."""
    if request.param == "batch":
        tel.take = lambda payload, topic: services.ingest_batch([(payload, topic)])[0]
        tel.send = lambda seq, **fields: tel.take(tel.message(seq, **fields), tel.device.device_id)
    else:
        tel.take = lambda payload, topic: services.ingest(payload=payload, topic_device=topic)
    return tel


def _rejections(device_ref: str) -> dict[str, int]:
    return dict(Rejection.objects.filter(device_ref=device_ref).values_list("reason", "count"))


def test_accepted_message_is_stored_with_last_seen(tel):
    result = tel.send(1, odometer_km=12000, battery_v=12.6, fuel_pct=55, dtc=["p0420"], gps={"lat": 23.1291, "lon": 113.2644},
                      nev_alarm=0, ignition=True, speed_kmh=40)
    assert result.accepted, result
    reading = Reading.objects.get()
    assert reading.seq == 1 and reading.battery_v == Decimal("12.60") and reading.dtcs == ["P0420"]
    assert reading.lat == Decimal("23.129100")
    device = Device.objects.get()
    assert device.last_seen_at is not None and device.last_seq == 1 and device.accepted_count == 1


@pytest.mark.parametrize(("case", "reason"), [
    ("not_json", RejectReason.MALFORMED), ("bad_field", RejectReason.MALFORMED), ("wrong_topic", RejectReason.MALFORMED),
    ("unknown", RejectReason.UNKNOWN_DEVICE), ("revoked", RejectReason.REVOKED), ("bad_sig", RejectReason.BAD_SIGNATURE),
    ("no_sig", RejectReason.BAD_SIGNATURE), ("old_key", RejectReason.BAD_SIGNATURE), ("future", RejectReason.FUTURE),
    ("out_of_order", RejectReason.OUT_OF_ORDER), ("duplicate", RejectReason.DUPLICATE),
])
def test_every_rejection_is_counted_and_writes_nothing(tel, case, reason):
    device_ref = tel.device.device_id
    if case in ("out_of_order", "duplicate"):
        assert tel.send(100, battery_v=12.5).accepted
    before = (Reading.objects.count(), Alert.objects.count(), Message.objects.count(), MileageReading.objects.count())
    topic = tel.device.device_id
    if case == "not_json":
        payload = b"\xff{not json"
    elif case == "bad_field":
        payload = tel.message(1, battery_v="high", fuel_pct=140, dtc=["XYZ"])
    elif case == "wrong_topic":
        payload, topic = tel.message(1), "OBD-OTHER"
    elif case == "unknown":
        payload = signed(tel.key, device="OBD-NOBODY", seq=1, time=timezone.now().isoformat())
        topic = device_ref = "OBD-NOBODY"
    elif case == "revoked":
        services.device_revoke(actor=tel.world.manager, device=tel.device)
        payload = tel.message(1)
    elif case == "bad_sig":
        payload = tel.message(1, sign_with="0" * 64)
    elif case == "no_sig":
        payload = json.dumps({"device": device_ref, "seq": 1, "time": timezone.now().isoformat()}).encode()
    elif case == "old_key":
        services.device_rotate(actor=tel.world.manager, device=tel.device)
        payload = tel.message(1)  # signed with the key before the rotation
    elif case == "future":
        payload = tel.message(1, at=timezone.now() + dt.timedelta(hours=1))
    elif case == "out_of_order":
        payload = tel.message(5, at=tel.base + dt.timedelta(seconds=30 * 100) - dt.timedelta(hours=2))
    else:
        payload = tel.message(100, battery_v=12.5)
    result = tel.take(payload, topic)
    assert not result.accepted and result.reason == reason
    assert _rejections(device_ref) == {reason: 1}
    after = (Reading.objects.count(), Alert.objects.count(), Message.objects.count(), MileageReading.objects.count())
    assert after == before
    tel.take(payload, topic)
    assert _rejections(device_ref) == {reason: 2}


def test_malformed_detail_names_every_bad_field(tel):
    result = services.ingest(payload=tel.message(1, battery_v="high", fuel_pct=140, dtc=["XYZ"], nev_alarm=7),
                             topic_device=tel.device.device_id)
    assert result.reason == RejectReason.MALFORMED
    for name in ("battery_v", "fuel_pct", "dtc", "nev_alarm"):
        assert name in result.detail


@pytest.mark.parametrize("payload", [b"", b"[]", b"null", b"1e999", b'{"device": 5}', b"{" * 5000, b'{"device": "x", "seq": NaN}'])
def test_garbage_never_raises(tel, payload):
    result = services.ingest(payload=payload, topic_device=None)
    assert not result.accepted and result.reason == RejectReason.MALFORMED
    assert Reading.objects.count() == 0


def test_a_little_late_message_is_taken_but_does_not_move_the_latest(tel):
    assert tel.send(10).accepted
    assert tel.send(9).accepted  # another ingester was a moment slower: inside the reorder window
    assert Device.objects.get().last_seq == 10


def test_odometer_feeds_mileage_never_backwards(tel):
    tel.send(1, odometer_km=15000)
    tel.vehicle.refresh_from_db()
    assert tel.vehicle.current_mileage == 15000
    assert MileageReading.objects.get().source == "telematics"
    later = tel.base + dt.timedelta(minutes=61)
    assert tel.send(2, odometer_km=14000, at=later).accepted  # an hour later, lower: not fed, never a correction
    tel.vehicle.refresh_from_db()
    assert tel.vehicle.current_mileage == 15000
    tel.send(3, odometer_km=15100, at=later + dt.timedelta(minutes=1))
    tel.vehicle.refresh_from_db()
    assert tel.vehicle.current_mileage == 15100
    assert Reading.objects.count() == 3


def test_mileage_fed_at_most_hourly(tel):
    for seq in range(1, 6):
        tel.send(seq, odometer_km=15000 + seq)
    assert MileageReading.objects.count() == 1


def test_battery_low_at_rest_after_repeats_messages_owner_and_advisor(tel):
    tel.send(1, battery_v=11.2, ignition=False)
    tel.send(2, battery_v=11.1, ignition=True)  # driving: does not count
    tel.send(3, battery_v=11.3, ignition=False)
    assert not Alert.objects.exists()
    result = tel.send(4, battery_v=11.0, ignition=False)
    alert = Alert.objects.get()
    assert result.opened == [alert] and alert.kind == RuleKind.BATTERY_LOW and alert.status == AlertStatus.OPEN
    assert alert.severity == Severity.IMPORTANT
    owner_msg = Message.objects.get(kind="telematics.alert")
    assert owner_msg.customer == tel.owner and owner_msg.purpose == "marketing"
    assert "电池电量低" in owner_msg.body and "建议到店检测" in owner_msg.body
    assert f"/book/{tel.world.a.code}/?v={tel.vehicle.pk}" in owner_msg.body
    task = Message.objects.get(kind="staff.task")
    assert task.staff_user == tel.world.advisor and "粤A12345" in task.subject + task.body
    tel.send(5, battery_v=11.0, ignition=False)  # still low: the same alert, no new message
    assert Alert.objects.count() == 1 and Message.objects.count() == 2
    result = tel.send(6, battery_v=12.7, ignition=False)
    alert.refresh_from_db()
    assert result.closed and alert.status == AlertStatus.CLOSED and alert.closed_at is not None


def test_booking_link_names_the_recommended_service(tel):
    from aftersales.appointments.models import ServiceType

    service = ServiceType.objects.create(store=tel.world.a, name_zh="故障诊断", name_en="Diagnosis", kind="repair", duration_minutes=60)
    tel.send(1, dtc=["P0301"])
    tel.send(2, dtc=["P0301"])
    alert = Alert.objects.get()
    assert alert.recommended_service == service and alert.severity == Severity.CRITICAL
    message = Message.objects.get(kind="telematics.alert_critical")
    assert message.purpose == "service"
    assert f"service_type={service.pk}" in message.body and "第1缸失火" in message.body


def test_misfire_closes_when_the_code_clears(tel):
    tel.send(1, dtc=["P0302"])
    assert not Alert.objects.exists()  # one reading is not enough (the rule waits for 2)
    tel.send(2, dtc=["P0302", "P0420"])
    alert = Alert.objects.get(kind=RuleKind.MISFIRE)
    assert alert.code == "P0302"
    tel.send(3, dtc=["P0420"])
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CLOSED
    assert alert.events.last().reason == "code cleared"


def test_nev_alarm_level_three_alerts_at_once(tel):
    tel.send(1, nev_alarm=2)
    assert not Alert.objects.exists()
    tel.send(2, nev_alarm=3)
    assert Alert.objects.get().kind == RuleKind.NEV_ALARM


def test_owner_without_advisor_gets_a_call_task_for_the_store(tel):
    tel.owner.preferred_advisor = None
    tel.owner.save()
    tel.send(1, dtc=["P0524"])  # oil pressure: one reading is enough
    assert Message.objects.filter(kind="telematics.call", channel="phone").count() == 1


def test_english_owner_reads_english(tel):
    tel.owner.language = "en"
    tel.owner.save()
    tel.send(1, dtc=["P0217"])
    body = Message.objects.get(kind="telematics.alert_critical").body
    assert "Engine overheating" in body and "过热" not in body


def test_rules_are_tunable_and_refuse_bad_values(tel):
    world = tel.world
    with pytest.raises(ValidationFailed) as exc:
        services.alert_rule_update(actor=world.manager, store=world.a, kind=RuleKind.BATTERY_LOW, repeats=0, threshold="20")
    assert {e["field"] for e in exc.value.extra["errors"]} == {"repeats", "threshold"}
    with pytest.raises(Forbidden):
        services.alert_rule_update(actor=world.advisor, store=world.a, kind=RuleKind.BATTERY_LOW, repeats=1)
    services.alert_rule_update(actor=world.manager, store=world.a, kind=RuleKind.BATTERY_LOW, repeats=1, threshold="12.0")
    tel.send(1, battery_v=11.9, ignition=False)
    assert Alert.objects.get().kind == RuleKind.BATTERY_LOW
    services.alert_rule_update(actor=world.manager, store=world.a, kind=RuleKind.MISFIRE, enabled=False)
    tel.send(2, dtc=["P0301"], battery_v=11.9, ignition=False)
    tel.send(3, dtc=["P0301"], battery_v=11.9, ignition=False)
    assert not Alert.objects.filter(kind=RuleKind.MISFIRE).exists()


def test_device_services_check_input_and_permissions(tel):
    world = tel.world
    with pytest.raises(ValidationFailed) as exc:
        services.device_create(actor=world.manager, store=world.a, vehicle=None, device_id="!", protocol="x")
    assert {e["field"] for e in exc.value.extra["errors"]} == {"device_id", "protocol", "vehicle"}
    with pytest.raises(Conflict):
        services.device_create(actor=world.manager, store=world.a, vehicle=tel.vehicle, device_id="OBD-A-0001")
    with pytest.raises(Forbidden):
        services.device_create(actor=world.advisor, store=world.a, vehicle=tel.vehicle, device_id="OBD-A-0002")
    with pytest.raises(Forbidden):
        services.device_rotate(actor=world.manager_b, device=tel.device)
    new_key = services.device_rotate(actor=world.manager, device=tel.device)
    assert new_key != tel.key
    assert Device.objects.get().key_fingerprint == credentials.fingerprint(new_key)
    assert new_key not in str(Device.objects.filter(pk=tel.device.pk).values().get())  # the key itself is not stored
    assert tel.send(1, sign_with=new_key).accepted
    services.device_revoke(actor=world.manager, device=tel.device)
    with pytest.raises(Conflict):
        services.device_rotate(actor=world.manager, device=tel.device)


def test_staff_close_alert(tel):
    tel.send(1, dtc=["P0524"])
    alert = Alert.objects.get()
    with pytest.raises(Forbidden):
        services.alert_close(actor=tel.world.advisor_b, alert=alert)
    services.alert_close(actor=tel.world.advisor, alert=alert, reason="booked in")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CLOSED
    from aftersales.common.errors import IllegalTransition

    with pytest.raises(IllegalTransition):
        services.alert_close(actor=tel.world.advisor, alert=alert)


def test_gbt32960_gateway_shape_is_adapted(tel):
    from aftersales.telematics.choices import Protocol

    Device.objects.filter(pk=tel.device.pk).update(protocol=Protocol.GBT32960_JSON)
    payload = signed(tel.key, device=tel.device.device_id, serial=7, collect_time=tel.base.isoformat(),
                     vehicle={"mileage_01km": 123456, "soc": 64}, alarm={"max_level": 3, "faults": []},
                     position={"lat_1e6": 23129100, "lon_1e6": 113264400})
    result = services.ingest(payload=payload, topic_device=tel.device.device_id)
    assert result.accepted, result
    reading = Reading.objects.get()
    assert reading.odometer_km == 12345 and reading.charge_pct == 64 and reading.nev_alarm == 3
    assert Alert.objects.get().kind == RuleKind.NEV_ALARM


def test_prune_keeps_recent_readings(tel, settings):
    settings.TELEMATICS_RETENTION_DAYS = 30
    tel.send(1)
    Reading.objects.update(recorded_at=timezone.now() - dt.timedelta(days=31))
    assert tel.send(2).accepted
    assert services.readings_prune() == 1
    assert list(Reading.objects.values_list("seq", flat=True)) == [2]


def test_the_recommended_service_fits_what_the_car_reported(tel):
    """An oil-pressure code never books a brake repair because brakes happen to be the store's first repair service."""
    from aftersales.appointments.models import ServiceType

    store = tel.world.a
    ServiceType.objects.create(store=store, code="brakes", name_zh="刹车维修", name_en="Brake repair", kind="repair",
                               duration_minutes=120, required_skill="tyres")
    inspection = ServiceType.objects.create(store=store, code="insp", name_zh="车辆检测", name_en="Vehicle inspection",
                                            kind="inspection", duration_minutes=45)
    electrical = ServiceType.objects.create(store=store, code="elec", name_zh="电路检修", name_en="Electrical repair",
                                            kind="repair", duration_minutes=60, required_skill="electrical")
    tel.send(1, dtc=["P0524"])  # oil pressure: engine; the store has no engine repair → the general inspection
    assert Alert.objects.get(kind=RuleKind.OIL_PRESSURE).recommended_service == inspection
    for seq in range(2, 5):
        tel.send(seq, battery_v=11.0, ignition=False, dtc=[])
    assert Alert.objects.get(kind=RuleKind.BATTERY_LOW).recommended_service == electrical


def _stream(device: Device, key: str, base: dt.datetime) -> list[tuple[bytes, str]]:
    """Thirty-odd messages of one device: alerts opening and closing, duplicates, every refusal, mileage."""
    ref = device.device_id

    def m(seq: int, minutes: float, *, sign_with: str | None = None, **fields) -> tuple[bytes, str]:
        at = base + dt.timedelta(minutes=minutes)
        return signed(sign_with or key, v=1, device=ref, seq=seq, time=at.isoformat(), **fields), ref

    out = [
        m(1, 0, odometer_km=15000, battery_v=11.2, ignition=False),
        m(2, 1, battery_v=11.1, ignition=False, dtc=["P0302"]),
        m(3, 2, battery_v=11.0, ignition=False, dtc=["P0302"]),  # battery (3 at rest) and misfire (2 in a row) open
        m(3, 2, battery_v=11.0, ignition=False, dtc=["P0302"]),  # redelivered: a duplicate
        m(4, 3, battery_v=12.7, ignition=False),  # both close
        m(5, 4, sign_with="0" * 64),
        m(6, 120, odometer_km=15100, nev_alarm=3),  # an hour later: mileage fed; NEV alarm opens
        m(7, 119, odometer_km=15090),  # a little late: taken, not the newest
        m(0, 30, battery_v=12.0),  # long out of order: refused
        m(8, 600),  # in the future
        (signed(key, v=1, device=ref, seq=9, time=(base + dt.timedelta(minutes=121)).isoformat(), fuel_pct=140), ref),
        (b"not json", ref),
        (signed(key, v=1, device=ref, seq=9, time=base.isoformat()), "SOMEONE-ELSE"),
        (signed(key, v=1, device=ref + "-X", seq=1, time=base.isoformat()), ref + "-X"),
    ]
    for seq in range(10, 30):
        out.append(m(seq, 121 + seq, odometer_km=15100 + seq, nev_alarm=0, battery_v=12.5, ignition=seq % 3 == 0,
                     dtc=["P0524"] if seq in (15, 16, 22) else []))
    out.append(m(12, 133))  # a duplicate of an earlier batch
    return out


def _outcome(device: Device) -> dict:
    device.refresh_from_db()
    alerts = Alert.objects.filter(device=device).order_by("id")
    return {
        "device": (device.accepted_count, device.rejected_count, device.last_seq, device.last_recorded_at, device.mileage_fed_at),
        "readings": list(Reading.objects.filter(device=device).order_by("seq").values_list(
            "seq", "recorded_at", "odometer_km", "battery_v", "ignition", "dtcs", "nev_alarm")),
        "rejections": dict(Rejection.objects.filter(device_ref__startswith=device.device_id).values_list("reason", "count")),
        "alerts": [(a.kind, a.code, a.status, a.value, a.last_reading_at, a.severity,
                    [(e.from_state, e.to_state, e.reason) for e in a.events.order_by("id")]) for a in alerts],
        "messages": sorted(Message.objects.filter(customer=device.vehicle.owner).values_list("kind", flat=True)),
        "tasks": Message.objects.filter(kind="staff.task", dedup_key__in=[f"telematics:alert:{a.pk}:advisor" for a in alerts]).count(),
        "mileage": list(MileageReading.objects.filter(vehicle=device.vehicle).order_by("read_at").values_list("km", "read_at")),
    }


def test_a_batch_writes_exactly_what_one_message_at_a_time_writes(world):
    """The same stream taken one message at a time (``ingest``) and in batches of 7 (``ingest_batch``, as the MQTT
    ingester does): the same outcome for every message and the same rows, counters, alerts and messages."""
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

    base = timezone.now() - dt.timedelta(hours=4)
    pairs = []
    for name in ("ONE", "BATCH"):
        owner = CustomerFactory(home_store=world.a, preferred_advisor=world.advisor)
        vehicle = VehicleFactory(owner=owner)
        pairs.append(services.device_create(actor=world.manager, store=world.a, vehicle=vehicle, device_id=f"OBD-{name}"))
    (one, one_key), (batch, batch_key) = pairs
    one_results = [services.ingest(payload=p, topic_device=t) for p, t in _stream(one, one_key, base)]
    stream = _stream(batch, batch_key, base)
    batch_results = []
    for start in range(0, len(stream), 7):
        batch_results += services.ingest_batch(stream[start:start + 7])
    assert [(r.accepted, r.reason) for r in batch_results] == [(r.accepted, r.reason) for r in one_results]
    assert {r.reason for r in one_results} == {"", *RejectReason.values} - {RejectReason.REVOKED, RejectReason.IGNORED}  # ignored: taken
    expected, got = _outcome(one), _outcome(batch)
    assert len(expected["alerts"]) == 5 and len(expected["mileage"]) == 2  # the stream does what it is meant to
    assert got == expected


def test_a_batch_with_many_devices_and_a_revoked_one(world):
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory

    base = timezone.now() - dt.timedelta(hours=1)
    devices = [services.device_create(actor=world.manager, store=world.a, vehicle=VehicleFactory(owner=CustomerFactory(home_store=world.a)),
                                      device_id=f"OBD-MANY-{i}") for i in range(5)]
    services.device_revoke(actor=world.manager, device=devices[4][0])
    batch = [(signed(key, v=1, device=d.device_id, seq=seq, time=(base + dt.timedelta(seconds=seq)).isoformat(), odometer_km=1000 + seq),
              d.device_id) for seq in (1, 2) for d, key in devices]
    results = services.ingest_batch(batch)
    assert [r.accepted for r in results] == [True] * 4 + [False] + [True] * 4 + [False]
    assert Reading.objects.count() == 8 and MileageReading.objects.count() == 4  # fed once per car (hourly)
    assert _rejections("OBD-MANY-4") == {RejectReason.REVOKED: 2}
    assert Device.objects.get(device_id="OBD-MANY-4").rejected_count == 2
    assert list(Device.objects.filter(device_id__in=["OBD-MANY-0", "OBD-MANY-3"]).values_list("accepted_count", "last_seq")) == [(2, 2)] * 2
