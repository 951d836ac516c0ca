"""The GB/T 32960 adapter's crash mapping (issue 20): the general alarm flags, the alarm level and the vendor's
extension → our schema's ``crash`` / ``airbag`` / ``nev_alarm``; unknown or bad bits ignored and counted, the rest
of the message taken, nothing raised."""

from __future__ import annotations

import pytest

from aftersales.telematics import schema, services
from aftersales.telematics.choices import Protocol, RejectReason, RuleKind
from aftersales.telematics.models import Alert, Device, Reading, Rejection
from aftersales.telematics.tests.conftest import signed

BASE = {"device": "EV-1", "serial": 5, "collect_time": "2026-12-07T08:00:00+08:00"}


def adapt(**fields):
    return schema.check({**BASE, **fields}, Protocol.GBT32960_JSON)


def test_the_standards_flags_are_not_a_crash_and_level_3_stays_the_nev_alarm():
    # every bit the 2016 and 2025 editions define (0–27), with the highest level: a severe alarm, not a collision
    message = adapt(alarm={"max_level": 3, "general_flags": 2**28 - 1})
    assert (message.nev_alarm, message.crash, message.airbag, message.ignored) == (3, None, None, [])
    assert adapt(alarm={"general_flags": "0x00800000"}).ignored == []  # bit 23, the battery thermal event, in hex


def test_the_vendor_extension_maps_to_crash_and_airbag():
    message = adapt(extension={"collision": True, "airbag_deployed": True}, alarm={"max_level": 3})
    assert (message.crash, message.airbag, message.nev_alarm, message.ignored) == (True, True, 3, [])
    calm = adapt(extension={"collision": False, "airbag_deployed": False})
    assert (calm.crash, calm.airbag) == (False, False)


def test_reserved_bits_map_only_where_the_settings_name_them(settings):
    assert adapt(alarm={"general_flags": 2**31}).crash is None
    settings.TELEMATICS_GBT32960_RESERVED_BITS = {31: "crash", "30": "airbag", 7: "crash", 29: "brakes"}
    message = adapt(alarm={"general_flags": 2**31 | 2**30 | 2**29 | 2**7}, extension={"collision": False})
    # bit 7 is the standard's (SOC high): never remapped; 29 names no flag of ours: ignored; the bit outweighs a false
    assert (message.crash, message.airbag) == (True, True)
    assert message.ignored == ["alarm.general_flags: reserved bit 29"]


@pytest.mark.parametrize("flags, extension, expected", [
    (2**29 | 2**28, None, ["alarm.general_flags: reserved bit 28", "alarm.general_flags: reserved bit 29"]),
    (-1, None, ["alarm.general_flags: not a 32-bit number"]),
    (2**32, None, ["alarm.general_flags: not a 32-bit number"]),
    ("0xZZ", None, ["alarm.general_flags: not a 32-bit number"]),
    (True, None, ["alarm.general_flags: not a 32-bit number"]),
    ([1, 2], None, ["alarm.general_flags: not a 32-bit number"]),
    (None, {"collision": "yes", "airbag_deployed": 1, "rollover": True},
     ["extension.collision: not true or false", "extension.airbag_deployed: not true or false", "extension.rollover: unknown"]),
    (None, [True], ["extension: not an object"]),
])
def test_bad_or_unknown_bits_are_left_out_and_named(flags, extension, expected):
    fields = {"alarm": {"max_level": 1, **({"general_flags": flags} if flags is not None else {})}}
    if extension is not None:
        fields["extension"] = extension
    message = adapt(**fields)
    assert message.ignored == expected and message.nev_alarm == 1 and message.crash is None and message.airbag is None


def test_a_device_of_our_own_schema_cannot_smuggle_ignored_notes():
    message = schema.check({"device": "OBD-1", "seq": 1, "time": "2026-12-07T08:00:00Z", schema.IGNORED_KEY: ["x"],
                            "extension": {"collision": True}}, Protocol.JSON_V1)
    assert message.ignored == [] and message.crash is None


def _payload(tel, serial, **fields):
    return signed(tel.key, device=tel.device.device_id, serial=serial,
                  collect_time=(tel.base.replace(microsecond=0) + __import__("datetime").timedelta(seconds=serial)).isoformat(),
                  **fields)


@pytest.mark.django_db
def test_ignored_bits_are_counted_and_the_message_taken_by_both_ingest_paths(tel):
    Device.objects.filter(pk=tel.device.pk).update(protocol=Protocol.GBT32960_JSON)
    one = services.ingest(payload=_payload(tel, 1, alarm={"max_level": 1, "general_flags": 2**30}),
                          topic_device=tel.device.device_id)
    assert one.accepted, one
    batch = services.ingest_batch([
        (_payload(tel, 2, alarm={"general_flags": "junk"}, extension={"collision": "maybe"}), tel.device.device_id),
        (_payload(tel, 3, alarm={"general_flags": 1}), tel.device.device_id),  # bit 0: known, nothing ignored
    ])
    assert [r.accepted for r in batch] == [True, True]
    assert Reading.objects.count() == 3
    row = Rejection.objects.get(device=tel.device, reason=RejectReason.IGNORED)
    assert row.count == 2 and "extension.collision: not true or false" in row.last_detail
    tel.device.refresh_from_db()
    assert tel.device.rejected_count == 0 and tel.device.accepted_count == 3  # taken, not refused
    assert not Alert.objects.filter(kind__in=[RuleKind.CRASH, RuleKind.AIRBAG]).exists()


@pytest.mark.django_db
def test_the_mqtt_batch_path_keeps_the_crash_flags(tel):
    """The batch ingester (MQTT) stores the reading's crash / airbag flags and opens the alerts, as ``ingest`` does."""
    Device.objects.filter(pk=tel.device.pk).update(protocol=Protocol.GBT32960_JSON)
    result, = services.ingest_batch([(_payload(tel, 1, extension={"collision": True, "airbag_deployed": True}),
                                      tel.device.device_id)])
    assert result.accepted, result
    reading = Reading.objects.get()
    assert (reading.crash, reading.airbag) == (True, True)
    assert sorted(a.kind for a in result.opened) == [RuleKind.AIRBAG, RuleKind.CRASH]
