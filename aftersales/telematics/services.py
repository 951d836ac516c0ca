"""Writes for connected vehicles: devices (create, rotate the key, revoke), ingestion of one message, alert rules
and alerts (opened and closed by the rules, closed by staff).

``ingest`` is what both the MQTT ingester and the HTTPS gateway endpoint call: it never raises for bad input; a
refused message is counted per device and reason and nothing else is written. An accepted message is one reading
(unique per device and sequence number), the device's last-seen, maybe an odometer reading for the vehicle and the
alerts its rules open or close, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from aftersales.common import audit
from aftersales.common.errors import Conflict, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.transitions import move

from . import credentials, schema
from .choices import ALERT_TRANSITIONS, EVENT_RULES, AlertStatus, Protocol, RejectReason, RuleKind, Severity
from .faultcodes import explain
from .models import Alert, AlertEvent, AlertRule, Device, Reading, Rejection

log = logging.getLogger(__name__)

DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
MILEAGE_EVERY = dt.timedelta(hours=1)
RECENT = 20  # readings looked at by the rules (the largest "readings in a row" a manager may set)


_ingester_process = False  # set by the MQTT ingester: it may read a store's rules from its short-lived cache


def reorder_window() -> dt.timedelta:
    """How much older than a device's latest reading a message may be and still be taken (several ingesters share
    the load, so a device's messages can arrive a little out of order); older ones are refused as out of order."""
    return dt.timedelta(seconds=getattr(settings, "TELEMATICS_REORDER_WINDOW_SECONDS", 300))


# ---- devices -------------------------------------------------------------------------------------------------------
def device_create(*, actor: Any, store: Any, vehicle: Any, device_id: str, protocol: str = Protocol.JSON_V1) -> tuple[Device, str]:
    """Register a device for a vehicle; returns the device and its key (shown once, never stored)."""
    require(actor, "telematics.add_device")
    require_store(actor, getattr(store, "pk", None))
    device_id = (device_id or "").strip()
    errors: list[ValidationFailed] = []
    if not DEVICE_ID_RE.match(device_id):
        errors.append(ValidationFailed("device_id_format", _("3 to 64 letters, digits, dots, dashes or underscores."), "device_id"))
    if protocol not in Protocol.values:
        errors.append(ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": protocol}, "protocol"))
    if vehicle is None or getattr(vehicle, "group_id", None) != store.group_id:
        errors.append(ValidationFailed("vehicle_unknown", _("Choose a vehicle of this dealer group."), "vehicle"))
    if errors:
        first = errors[0]
        raise ValidationFailed(first.code, first.message, first.field,
                               errors=[{"field": e.field, "code": e.code, "message": str(e.message)} for e in errors])
    return device_register_system(actor=actor, store=store, vehicle=vehicle, device_id=device_id, protocol=protocol)


def device_register_system(*, store: Any, vehicle: Any, device_id: str, protocol: str = Protocol.JSON_V1,
                           actor: Any = None) -> tuple[Device, str]:
    """The write of :func:`device_create` without its checks: for the simulator's demo cars (no person acts)."""
    salt = credentials.new_salt()
    key = credentials.device_key(device_id, salt)
    try:
        with transaction.atomic():
            device = Device.objects.create(
                store=store, vehicle=vehicle, device_id=device_id, protocol=protocol, key_salt=salt,
                key_fingerprint=credentials.fingerprint(key),
            )
            audit.record(actor=actor, obj=device, action="telematics_device.created", store_id=store.pk,
                         customer_id=vehicle.owner_id, changes={"vehicle": [None, vehicle.pk], "protocol": [None, protocol]})
    except IntegrityError as exc:
        raise Conflict("duplicate_device", _("A device with this ID is already registered."), "device_id") from exc
    return device, key


def device_rotate(*, actor: Any, device: Device) -> str:
    """A new key for the device; the old one stops working at once. Returns the new key (shown once)."""
    require(actor, "telematics.change_device")
    require_store(actor, device.store_id)
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        if locked.revoked_at is not None:
            raise Conflict("device_revoked", _("This device is revoked; register a new one."), "device")
        locked.key_salt = credentials.new_salt()
        key = credentials.device_key(locked.device_id, locked.key_salt)
        locked.key_fingerprint = credentials.fingerprint(key)
        locked.key_version += 1
        locked.key_rotated_at = timezone.now()
        locked.save(update_fields=["key_salt", "key_fingerprint", "key_version", "key_rotated_at"])
        audit.record(actor=actor, obj=locked, action="telematics_device.updated", store_id=locked.store_id,
                     changes={"key_version": [locked.key_version - 1, locked.key_version]})
    device.__dict__.update({k: getattr(locked, k) for k in ("key_salt", "key_fingerprint", "key_version", "key_rotated_at")})
    return key


def device_revoke(*, actor: Any, device: Device, reason: str = "") -> Device:
    require(actor, "telematics.change_device")
    require_store(actor, device.store_id)
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit.record(actor=actor, obj=locked, action="telematics_device.revoked", store_id=locked.store_id,
                     changes={"revoked_at": [None, locked.revoked_at.isoformat()]}, reason=reason)
    device.revoked_at = locked.revoked_at
    return locked


# ---- ingestion -----------------------------------------------------------------------------------------------------
@dataclass
class IngestResult:
    accepted: bool
    reason: str = ""
    detail: str = ""
    device_ref: str = ""
    reading: Reading | None = None
    opened: list[Alert] = field(default_factory=list)
    closed: list[Alert] = field(default_factory=list)


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def ingest(*, payload: bytes, topic_device: str | None = None, signature: str | None = None,
           signed_bytes: bytes | None = None) -> IngestResult:
    """Take one message (never raises for bad input). ``topic_device`` is the device named by the MQTT topic (it must
    be the one in the message); ``signature`` with ``signed_bytes`` is the HTTPS gateway's request signature, checked
    instead of the message's own ``sig``."""
    device_ref = topic_device or ""
    device: Device | None = None
    try:
        try:
            obj = schema.parse_json(payload)
        except schema.Malformed as exc:
            raise _Rejected(RejectReason.MALFORMED, str(exc)) from exc
        claimed = obj.get("device")
        if isinstance(claimed, str) and claimed:
            device_ref = claimed[:64]
        if not device_ref:
            raise _Rejected(RejectReason.MALFORMED, "device: required")
        if topic_device and claimed != topic_device:
            raise _Rejected(RejectReason.MALFORMED, "device: not the device of the topic")
        device = Device.objects.filter(device_id=device_ref).first()
        if device is None:
            raise _Rejected(RejectReason.UNKNOWN_DEVICE)
        if device.revoked_at is not None:
            raise _Rejected(RejectReason.REVOKED)
        key = credentials.device_key(device.device_id, device.key_salt)
        if signature is not None:
            good = credentials.verify(key, signed_bytes or b"", signature)
        else:
            good = credentials.verify(key, schema.signed_payload(obj), obj.get("sig"))
        if not good:
            raise _Rejected(RejectReason.BAD_SIGNATURE)
        try:
            message = schema.check(obj, device.protocol)
        except schema.Malformed as exc:
            raise _Rejected(RejectReason.MALFORMED, str(exc)) from exc
        now = timezone.now()
        if message.time > now + FUTURE_TOLERANCE:
            raise _Rejected(RejectReason.FUTURE, message.time.isoformat())
        result = _accept(device, message, now)
        if message.ignored:  # taken; what the adapter left out is counted (not on the device's refused counter)
            _count_rejection(device, device.device_id, RejectReason.IGNORED, "; ".join(message.ignored))
        return result
    except _Rejected as rejected:
        _count_rejection(device, device_ref or "?", rejected.reason, rejected.detail)
        return IngestResult(accepted=False, reason=rejected.reason, detail=rejected.detail, device_ref=device_ref)


def _count_rejection(device: Device | None, device_ref: str, reason: str, detail: str, *, n: int = 1) -> None:
    now = timezone.now()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                updated = Rejection.objects.filter(device_ref=device_ref, reason=reason).update(
                    count=F("count") + n, last_at=now, last_detail=detail[:200]
                )
                if not updated:
                    Rejection.objects.create(device=device, device_ref=device_ref, reason=reason, count=n, last_at=now,
                                             last_detail=detail[:200])
                if device is not None and reason != RejectReason.IGNORED:
                    Device.objects.filter(pk=device.pk).update(rejected_count=F("rejected_count") + n)
            return
        except IntegrityError:  # another ingester created the row meanwhile: update it
            continue


def _accept(device: Device, message: schema.Message, now: dt.datetime) -> IngestResult:
    try:
        with transaction.atomic():
            locked = Device.objects.select_for_update().get(pk=device.pk)
            if Reading.objects.filter(device=locked, seq=message.seq).exists():
                raise _Rejected(RejectReason.DUPLICATE, f"seq {message.seq}")
            if locked.last_recorded_at is not None and message.time < locked.last_recorded_at - reorder_window():
                raise _Rejected(RejectReason.OUT_OF_ORDER, f"seq {message.seq} at {message.time.isoformat()}")
            if locked.last_seq is not None and message.seq < locked.last_seq and locked.last_recorded_at is not None \
                    and message.time > locked.last_recorded_at:
                raise _Rejected(RejectReason.OUT_OF_ORDER, f"seq {message.seq} after {locked.last_seq}")
            reading = Reading.objects.create(
                device=locked, vehicle_id=locked.vehicle_id, seq=message.seq, recorded_at=message.time, received_at=now,
                odometer_km=message.odometer_km, battery_v=message.battery_v, fuel_pct=message.fuel_pct,
                charge_pct=message.charge_pct, ignition=message.ignition, speed_kmh=message.speed_kmh, dtcs=message.dtcs,
                lat=message.lat, lon=message.lon, nev_alarm=message.nev_alarm, crash=message.crash,
                airbag=message.airbag,
            )
            newest = locked.last_seq is None or message.seq > locked.last_seq
            locked.last_seen_at = now
            locked.accepted_count += 1
            fields = ["last_seen_at", "accepted_count"]
            if newest:
                locked.last_seq, locked.last_recorded_at = message.seq, message.time
                fields += ["last_seq", "last_recorded_at"]
            if message.odometer_km is not None and (locked.mileage_fed_at is None or message.time >= locked.mileage_fed_at + MILEAGE_EVERY):
                from aftersales.vehicles.services import mileage_record_from_device

                if mileage_record_from_device(vehicle=locked.vehicle, km=message.odometer_km, read_at=message.time) is not None:
                    locked.mileage_fed_at = message.time
                    fields.append("mileage_fed_at")
            locked.save(update_fields=fields)
            opened, closed = evaluate(locked, reading, newest=newest)
    except IntegrityError as exc:  # the same (device, seq) committed by another ingester meanwhile
        raise _Rejected(RejectReason.DUPLICATE, f"seq {message.seq}") from exc
    return IngestResult(accepted=True, device_ref=device.device_id, reading=reading, opened=opened, closed=closed)


_KEYS: dict[tuple[str, str, str], str] = {}


def _device_key(device: Device) -> str:
    """The device's derived key, computed once per (secret, device, salt): a rotation draws a new salt, so a rotated
    device is never checked against its old key (the salt itself is read afresh, under lock, for every batch)."""
    ref = (settings.SECRET_KEY, device.device_id, device.key_salt)
    key = _KEYS.get(ref)
    if key is None:
        if len(_KEYS) > 200_000:
            _KEYS.clear()
        key = _KEYS[ref] = credentials.device_key(device.device_id, device.key_salt)
    return key


def ingest_batch(messages: list[tuple[bytes, str | None]]) -> list[IngestResult]:
    """Take many MQTT messages ``(payload, topic device)`` in one transaction; the result of each, in order.

    The same checks, outcomes and writes as :func:`ingest` one message after the other, with the queries shared:
    the batch's devices are read and locked in one query (in id order, so two ingesters never deadlock), duplicates
    are looked up in one query, the readings written with one INSERT, the devices' counters with one UPDATE, the open
    alerts of the batch's cars read once; a car's earlier readings only for the readings a rule looks back from
    (a fault code, a battery at rest, an NEV alarm). The odometer feeds the vehicle's mileage at most hourly per
    device, as before. Nothing is acknowledged by the caller until this returns (the transaction committed); a crash
    before means redelivery, and a redelivered message already committed is refused as a duplicate under the
    device's lock. Raises on a database error (nothing written): the caller takes the messages one by one.
    """
    now = timezone.now()
    results: list[IngestResult | None] = [None] * len(messages)
    refused: list[tuple[int, Device | None, str, str, str]] = []  # (index, device, device ref, reason, detail)
    parsed: list[tuple[int, dict[str, Any], str, str | None]] = []
    for i, (payload, topic_device) in enumerate(messages):
        device_ref = topic_device or ""
        try:
            obj = schema.parse_json(payload)
        except schema.Malformed as exc:
            refused.append((i, None, device_ref or "?", RejectReason.MALFORMED, str(exc)))
            continue
        claimed = obj.get("device")
        if isinstance(claimed, str) and claimed:
            device_ref = claimed[:64]
        if not device_ref:
            refused.append((i, None, "?", RejectReason.MALFORMED, "device: required"))
        elif topic_device and claimed != topic_device:
            refused.append((i, None, device_ref, RejectReason.MALFORMED, "device: not the device of the topic"))
        else:
            parsed.append((i, obj, device_ref, topic_device))
    with transaction.atomic():
        refs = sorted({ref for _i, _obj, ref, _t in parsed})
        devices = {d.device_id: d for d in Device.objects.select_for_update(of=("self",)).select_related("vehicle")
                   .filter(device_id__in=refs).order_by("pk")} if refs else {}
        taken: list[tuple[int, Device, schema.Message]] = []
        for i, obj, ref, _topic in parsed:
            device = devices.get(ref)
            if device is None:
                refused.append((i, None, ref, RejectReason.UNKNOWN_DEVICE, ""))
                continue
            if device.revoked_at is not None:
                refused.append((i, device, ref, RejectReason.REVOKED, ""))
                continue
            if not credentials.verify(_device_key(device), schema.signed_payload(obj), obj.get("sig")):
                refused.append((i, device, ref, RejectReason.BAD_SIGNATURE, ""))
                continue
            try:
                message = schema.check(obj, device.protocol)
            except schema.Malformed as exc:
                refused.append((i, device, ref, RejectReason.MALFORMED, str(exc)))
                continue
            if message.time > now + FUTURE_TOLERANCE:
                refused.append((i, device, ref, RejectReason.FUTURE, message.time.isoformat()))
                continue
            taken.append((i, device, message))
        seen = set(Reading.objects.filter(device_id__in={d.pk for _i, d, _m in taken},
                                          seq__in={m.seq for _i, _d, m in taken}).values_list("device_id", "seq")) if taken else set()
        window = reorder_window()
        accepted: list[tuple[int, Device, Reading, bool]] = []
        ignored: list[tuple[Device, str]] = []
        for i, device, message in taken:
            if (device.pk, message.seq) in seen:
                refused.append((i, device, device.device_id, RejectReason.DUPLICATE, f"seq {message.seq}"))
                continue
            if device.last_recorded_at is not None and message.time < device.last_recorded_at - window:
                refused.append((i, device, device.device_id, RejectReason.OUT_OF_ORDER,
                                f"seq {message.seq} at {message.time.isoformat()}"))
                continue
            if device.last_seq is not None and message.seq < device.last_seq and device.last_recorded_at is not None \
                    and message.time > device.last_recorded_at:
                refused.append((i, device, device.device_id, RejectReason.OUT_OF_ORDER, f"seq {message.seq} after {device.last_seq}"))
                continue
            seen.add((device.pk, message.seq))
            reading = Reading(
                device=device, vehicle_id=device.vehicle_id, seq=message.seq, recorded_at=message.time, received_at=now,
                odometer_km=message.odometer_km, battery_v=message.battery_v, fuel_pct=message.fuel_pct,
                charge_pct=message.charge_pct, ignition=message.ignition, speed_kmh=message.speed_kmh, dtcs=message.dtcs,
                lat=message.lat, lon=message.lon, nev_alarm=message.nev_alarm, crash=message.crash,
                airbag=message.airbag,
            )
            if message.ignored:
                ignored.append((device, "; ".join(message.ignored)))
            newest = device.last_seq is None or message.seq > device.last_seq
            device.last_seen_at = now
            device.accepted_count += 1
            if newest:
                device.last_seq, device.last_recorded_at = message.seq, message.time
            accepted.append((i, device, reading, newest))
        if accepted:
            Reading.objects.bulk_create([reading for _i, _d, reading, _n in accepted])
            _feed_mileage(accepted)
            changed = {device.pk: device for _i, device, _r, _n in accepted}
            Device.objects.bulk_update(list(changed.values()), ["last_seen_at", "accepted_count", "last_seq",
                                                                 "last_recorded_at", "mileage_fed_at"])
            for i, device, reading, opened, closed in _evaluate_batch(accepted):
                results[i] = IngestResult(accepted=True, device_ref=device.device_id, reading=reading, opened=opened,
                                          closed=closed)
        # counted per device ref and reason (and per known device: a message refused before its device was read,
        # e.g. not JSON, does not count on the device's counter, as in ``ingest``), in a fixed order
        counts: dict[tuple[str, str, int], list[Any]] = {}
        for i, device, ref, reason, detail in refused:
            results[i] = IngestResult(accepted=False, reason=reason, detail=detail, device_ref=ref)
            entry = counts.setdefault((ref, reason, device.pk if device is not None else 0), [device, 0, ""])
            entry[1] += 1
            entry[2] = detail
        for (ref, reason, _pk), (device, n, detail) in sorted(counts.items()):
            _count_rejection(device, ref, reason, detail, n=n)
        partly: dict[str, list[Any]] = {}
        for device, detail in ignored:
            entry = partly.setdefault(device.device_id, [device, 0, ""])
            entry[1] += 1
            entry[2] = detail
        for ref, (device, n, detail) in sorted(partly.items()):
            _count_rejection(device, ref, RejectReason.IGNORED, detail, n=n)
    done = [r for r in results if r is not None]
    assert len(done) == len(messages)  # every message has its outcome
    return done


def _feed_mileage(accepted: list[tuple[int, Device, Reading, bool]]) -> None:
    """The odometer into the vehicle's mileage, at most hourly per device (vehicles locked in id order)."""
    from aftersales.vehicles.services import mileage_record_from_device

    due = [(device.vehicle_id, device.pk, reading) for _i, device, reading, _n in accepted if reading.odometer_km is not None]
    devices = {device.pk: device for _i, device, _r, _n in accepted}
    for _vehicle_id, device_pk, reading in sorted(due, key=lambda row: (row[0], row[1])):
        device = devices[device_pk]
        km = reading.odometer_km
        if km is None or (device.mileage_fed_at is not None and reading.recorded_at < device.mileage_fed_at + MILEAGE_EVERY):
            continue
        if mileage_record_from_device(vehicle=device.vehicle, km=km, read_at=reading.recorded_at) is not None:
            device.mileage_fed_at = reading.recorded_at


def _evaluate_batch(accepted: list[tuple[int, Device, Reading, bool]]) -> list[tuple[int, Device, Reading, list[Alert], list[Alert]]]:
    """The rules for every accepted reading of a batch, in order; the cars' open alerts read in one query and the
    earlier readings only of the devices whose readings a rule looks back from."""
    open_by_vehicle: dict[int, dict[tuple[str, str], Alert]] = {}
    for alert in Alert.objects.filter(vehicle_id__in={d.vehicle_id for _i, d, _r, _n in accepted}, status=AlertStatus.OPEN):
        open_by_vehicle.setdefault(alert.vehicle_id, {})[(alert.kind, alert.code)] = alert
    looking_back: dict[int, list[Reading]] = {}
    for _i, device, reading, newest in accepted:
        if needs_history(reading, newest=newest):
            looking_back.setdefault(device.pk, []).append(reading)
    history: dict[int, list[Reading]] = {}
    for device_pk, mine in looking_back.items():
        # the batch's own readings are written already: RECENT before the lowest of them is enough for every one
        lowest = min(r.seq for r in mine)
        since = list(Reading.objects.filter(device_id=device_pk, seq__gte=lowest, seq__lte=max(r.seq for r in mine))
                     .order_by("-seq"))
        older = list(Reading.objects.filter(device_id=device_pk, seq__lt=lowest).order_by("-seq")[:RECENT])
        history[device_pk] = [*since, *older]
    out = []
    for i, device, reading, newest in accepted:
        recent = [r for r in history.get(device.pk, []) if r.seq <= reading.seq][:RECENT] if needs_history(reading, newest=newest) else []
        opened, closed = evaluate(device, reading, newest=newest, recent=recent,
                                  open_alerts=open_by_vehicle.setdefault(device.vehicle_id, {}))
        out.append((i, device, reading, opened, closed))
    return out


# ---- alert rules ---------------------------------------------------------------------------------------------------
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    RuleKind.BATTERY_LOW: {"threshold": Decimal("11.80"), "repeats": 3, "critical": False, "service_kind": "inspection"},
    RuleKind.MISFIRE: {"repeats": 2, "critical": True, "service_kind": "repair"},
    RuleKind.OVERHEATING: {"repeats": 1, "critical": True, "service_kind": "repair"},
    RuleKind.OIL_PRESSURE: {"repeats": 1, "critical": True, "service_kind": "repair"},
    RuleKind.BRAKES: {"repeats": 1, "critical": True, "service_kind": "repair"},
    RuleKind.NEV_ALARM: {"threshold": Decimal("3"), "repeats": 1, "critical": True, "service_kind": "repair"},
    RuleKind.OTHER_CODE: {"repeats": 3, "critical": False, "service_kind": "repair"},
    RuleKind.CRASH: {"repeats": 1, "critical": True, "service_kind": "repair"},
    RuleKind.AIRBAG: {"repeats": 1, "critical": True, "service_kind": "repair"},
}
CODE_RULES = (RuleKind.MISFIRE, RuleKind.OVERHEATING, RuleKind.OIL_PRESSURE, RuleKind.BRAKES, RuleKind.OTHER_CODE)
SERVICE_KINDS = ("maintenance", "repair", "inspection", "other")


_RULES_CACHE: dict[int, tuple[float, dict[str, AlertRule]]] = {}
RULES_CACHE_SECONDS = 15.0  # an ingester re-reads a store's rules this often (a manager's change applies within it)


def rules_for(store: Any, *, cached: bool = False) -> dict[str, AlertRule]:
    """The store's rules by kind (the shipped defaults created the first time). ``cached``: the ingester's copy, at
    most RULES_CACHE_SECONDS old (one query less per message). ``store`` may be a store or its id."""
    store_id = store if isinstance(store, int) else store.pk
    if cached:
        hit = _RULES_CACHE.get(store_id)
        if hit is not None and time.monotonic() - hit[0] < RULES_CACHE_SECONDS:
            return hit[1]
    rules = {r.kind: r for r in AlertRule.objects.filter(store_id=store_id)}
    missing = [kind for kind in RuleKind.values if kind not in rules]
    if missing:
        AlertRule.objects.bulk_create([AlertRule(store_id=store_id, kind=k, **DEFAULT_RULES[k]) for k in missing],
                                      ignore_conflicts=True)
        rules = {r.kind: r for r in AlertRule.objects.filter(store_id=store_id)}
    _RULES_CACHE[store_id] = (time.monotonic(), rules)
    return rules


def rule_of_code(code: str) -> str | None:
    """The rule that watches a fault code (None: a code of informational severity, watched by no rule)."""
    info = explain(code)
    if code[:3] == "P03" and code[3:].isdigit() and 300 <= int(code[1:]) <= 312:
        return RuleKind.MISFIRE
    if (info.category == "cooling" and info.severity == Severity.CRITICAL) or code in ("P0217", "P0218"):
        return RuleKind.OVERHEATING
    if info.category == "oil":
        return RuleKind.OIL_PRESSURE
    if info.category == "brakes":
        return RuleKind.BRAKES
    if info.severity == Severity.INFO:
        return None
    return RuleKind.OTHER_CODE


def alert_rule_update(*, actor: Any, store: Any, kind: str, **data: Any) -> AlertRule:
    """Tune one rule of a store: enabled, threshold, repeats (1–20), critical, recommended service kind."""
    require(actor, "telematics.change_alertrule")
    require_store(actor, store.pk)
    if kind not in RuleKind.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": kind}, "kind")
    rule = rules_for(store)[kind]
    errors: list[ValidationFailed] = []
    clean: dict[str, Any] = {}
    if "enabled" in data:
        clean["enabled"] = bool(data["enabled"])
    if "critical" in data:
        clean["critical"] = bool(data["critical"])
    if "repeats" in data:
        try:
            repeats = int(str(data["repeats"]).strip())
            if not 1 <= repeats <= RECENT:
                raise ValueError
            clean["repeats"] = repeats
        except (TypeError, ValueError):
            errors.append(ValidationFailed("repeats_range", _("Between 1 and %(n)d readings.") % {"n": RECENT}, "repeats"))
    if "threshold" in data and kind in (RuleKind.BATTERY_LOW, RuleKind.NEV_ALARM):
        limits = (Decimal("9"), Decimal("13")) if kind == RuleKind.BATTERY_LOW else (Decimal("1"), Decimal("3"))
        try:
            value = Decimal(str(data["threshold"]).strip())
            if not value.is_finite() or not limits[0] <= value <= limits[1]:
                raise ValueError
            clean["threshold"] = value.quantize(Decimal("0.01"))
        except (ArithmeticError, ValueError):
            errors.append(ValidationFailed("threshold_range", _("Between %(a)s and %(b)s.") % {"a": limits[0], "b": limits[1]}, "threshold"))
    if "service_kind" in data:
        if data["service_kind"] not in SERVICE_KINDS:
            errors.append(ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": data["service_kind"]}, "service_kind"))
        else:
            clean["service_kind"] = data["service_kind"]
    if errors:
        first = errors[0]
        raise ValidationFailed(first.code, first.message, first.field,
                               errors=[{"field": e.field, "code": e.code, "message": str(e.message)} for e in errors])
    if kind in EVENT_RULES:  # a crash / airbag alert: one reading, always critical
        clean.pop("repeats", None)
        clean.pop("critical", None)
    with transaction.atomic():
        locked, changes = audit.update_locked(AlertRule, rule.pk, clean, ("enabled", "threshold", "repeats", "critical", "service_kind"))
        _RULES_CACHE.pop(store.pk, None)
        if changes:
            audit.record(actor=actor, obj=locked, action="alert_rule.updated", store_id=store.pk, changes=changes)
    return locked


def needs_history(reading: Reading, *, newest: bool) -> bool:
    """Whether a rule looks at the device's earlier readings for this one (most readings need none)."""
    return newest and bool((reading.ignition is False and reading.battery_v is not None) or reading.nev_alarm is not None
                           or reading.dtcs)


def evaluate(device: Device, reading: Reading, *, newest: bool, recent: list[Reading] | None = None,
             open_alerts: dict[tuple[str, str], Alert] | None = None) -> tuple[list[Alert], list[Alert]]:
    """Open and close the vehicle's alerts after one reading (inside the ingest transaction). ``recent`` (the
    device's last RECENT readings up to this one, newest first) and ``open_alerts`` (the vehicle's open alerts by
    (kind, code), updated here) are read when not given (``ingest_batch`` reads them once for many readings)."""
    rules = rules_for(device.store_id, cached=_ingester_process)
    if recent is None:
        recent = (list(Reading.objects.filter(device=device, seq__lte=reading.seq).order_by("-seq")[:RECENT])
                  if needs_history(reading, newest=newest) else [])
    opened: list[Alert] = []
    closed: list[Alert] = []
    if open_alerts is None:
        open_alerts = {(a.kind, a.code): a for a in Alert.objects.filter(vehicle_id=device.vehicle_id, status=AlertStatus.OPEN)}

    def want(kind: str, code: str, severity: str, value: str) -> None:
        if (kind, code) in open_alerts:
            Alert.objects.filter(pk=open_alerts[(kind, code)].pk).update(last_reading_at=reading.recorded_at, value=value)
            return
        alert = _open(device, reading, rules[kind], code, severity, value)
        if alert is not None:
            opened.append(alert)
            open_alerts[(kind, code)] = alert

    def clear(kind: str, code: str, reason: str) -> None:
        alert = open_alerts.pop((kind, code), None)
        if alert is not None:
            closed.append(_close(alert, actor=None, reason=reason))

    # battery low at rest: the last N readings taken at rest all below the threshold
    battery = rules[RuleKind.BATTERY_LOW]
    if reading.ignition is False and reading.battery_v is not None and newest:
        at_rest = [r for r in recent if r.ignition is False and r.battery_v is not None][: battery.repeats]
        threshold = battery.threshold or Decimal("11.8")
        if battery.enabled and len(at_rest) >= battery.repeats and all(r.battery_v is not None and r.battery_v < threshold for r in at_rest):
            want(RuleKind.BATTERY_LOW, "", Severity.CRITICAL if battery.critical else Severity.IMPORTANT, f"{reading.battery_v} V")
        elif reading.battery_v >= threshold:
            clear(RuleKind.BATTERY_LOW, "", "battery back to normal")
    # new-energy alarm level (GB/T 32960): level ≥ threshold on N readings in a row
    nev = rules[RuleKind.NEV_ALARM]
    if reading.nev_alarm is not None and newest:
        level = int(nev.threshold or 3)
        run = recent[: nev.repeats]
        if nev.enabled and len(run) >= nev.repeats and all((r.nev_alarm or 0) >= level for r in run):
            want(RuleKind.NEV_ALARM, "", Severity.CRITICAL, str(reading.nev_alarm))
        elif reading.nev_alarm < level:
            clear(RuleKind.NEV_ALARM, "", "alarm level back to normal")
    # a crash / an airbag deployment: one reading's flag is enough (even a late one: it happened), always critical;
    # the alert stays open until staff close it (a rescue draft follows through TelematicsAlertOpened)
    for event_kind, flag in ((RuleKind.CRASH, reading.crash), (RuleKind.AIRBAG, reading.airbag)):
        if flag and rules[event_kind].enabled:
            want(event_kind, "", Severity.CRITICAL, event_kind)
    # fault codes: present on N readings in a row; closed when the code clears
    for code in reading.dtcs:
        kind = rule_of_code(code)
        if kind is None or not newest:
            continue
        rule = rules[kind]
        run = recent[: rule.repeats]
        if rule.enabled and len(run) >= rule.repeats and all(code in r.dtcs for r in run):
            severity = Severity.CRITICAL if rule.critical else explain(code).severity
            want(kind, code, severity, code)
    if newest:
        for (kind, code), _alert in list(open_alerts.items()):
            if kind in CODE_RULES and code not in reading.dtcs:
                clear(kind, code, "code cleared")
    return opened, closed


# a fault code's category (faultcodes.CATEGORIES) → the vehicle system of the preliminary diagnosis
CATEGORY_SYSTEM = {
    "fuel_air": "engine", "ignition": "engine", "emissions": "engine", "speed_idle": "engine", "cooling": "engine",
    "oil": "engine", "computer": "electrical", "network": "electrical", "charging": "electrical", "body": "electrical",
    "transmission": "transmission", "hybrid": "ev", "brakes": "brakes", "chassis": "suspension",
}


def _service_for(store_id: int, rule: AlertRule, code: str) -> Any:
    """The store's bookable service that fits what the car reported (a battery alert books an electrical check, an
    oil-pressure code an engine repair or, where the store has none, a general inspection); None when none fits."""
    from aftersales.appointments.models import ServiceType
    from aftersales.estimates.diagnosis import suggest_service_type

    if rule.kind == RuleKind.BATTERY_LOW:
        system = "electrical"
    elif rule.kind == RuleKind.NEV_ALARM:
        system = "ev"
    elif rule.kind in EVENT_RULES:
        system = "body"
    elif code:
        system = CATEGORY_SYSTEM.get(explain(code).category, "engine")
    else:
        return None
    kinds = list(ServiceType.objects.filter(store_id=store_id, is_active=True).order_by("id"))
    return suggest_service_type(system, kinds)


def _open(device: Device, reading: Reading, rule: AlertRule, code: str, severity: str, value: str) -> Alert | None:
    from aftersales.appointments.models import ServiceType

    vehicle = device.vehicle
    service = _service_for(device.store_id, rule, code) or ServiceType.objects.filter(
        store_id=device.store_id, kind=rule.service_kind, is_active=True).order_by("id").first()
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                store_id=device.store_id, vehicle=vehicle, device=device, customer_id=vehicle.owner_id, kind=rule.kind,
                code=code, severity=severity, opened_at=timezone.now(), last_reading_at=reading.recorded_at, value=value,
                recommended_service=service,
            )
    except IntegrityError:
        return None
    AlertEvent.objects.create(alert=alert, from_state="", to_state=AlertStatus.OPEN, reason=f"reading {reading.seq}")
    audit.record(actor=None, obj=alert, action="telematics_alert.opened", store_id=device.store_id,
                 customer_id=vehicle.owner_id, changes={"kind": [None, rule.kind], **({"code": [None, code]} if code else {})})
    _notify(alert, rule, device)
    from aftersales.common.events import TelematicsAlertOpened, publish

    publish(TelematicsAlertOpened(alert_id=alert.pk, vehicle_id=vehicle.pk, store_id=device.store_id, kind=rule.kind, severity=severity))
    return alert


def _close(alert: Alert, *, actor: Any, reason: str) -> Alert:
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.status != AlertStatus.OPEN:
        return locked
    locked.closed_at = timezone.now()
    move(locked, to=AlertStatus.CLOSED, actor=actor, transitions=ALERT_TRANSITIONS, event_model=AlertEvent,
         event_fk="alert", reason=reason[:300], labels=AlertStatus, also_save=["closed_at"])
    audit.record(actor=actor, obj=locked, action="telematics_alert.closed", store_id=locked.store_id,
                 customer_id=locked.customer_id, reason=reason)
    return locked


def alert_close(*, actor: Any, alert: Alert, reason: str = "") -> Alert:
    """Staff close an alert (handled, or a false alarm); the rules open a new one if the problem comes back."""
    require(actor, "telematics.change_alert")
    require_store(actor, alert.store_id)
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.status != AlertStatus.OPEN:
            move(locked, to=AlertStatus.CLOSED, actor=actor, transitions=ALERT_TRANSITIONS, event_model=AlertEvent,
                 event_fk="alert", labels=AlertStatus)  # raises: already closed
        return _close(locked, actor=actor, reason=reason or "closed by staff")


# ---- what the owner and the advisor are told -----------------------------------------------------------------------
def problem_text(alert: Alert, language: str) -> tuple[str, str]:
    """(problem, advice) in ``language``: "电池电量低" / "到店检测"."""
    with override(language):
        if alert.kind == RuleKind.BATTERY_LOW:
            return _("the battery is low"), _("have it checked at the store")
        if alert.kind == RuleKind.NEV_ALARM:
            return (_("the electric drive system raised its highest (level 3) alarm"),
                    _("stop safely as soon as you can and call us"))
        if alert.kind in EVENT_RULES:
            problem = _("reported a crash") if alert.kind == RuleKind.CRASH else _("reported that an airbag deployed")
            return problem, _("make sure everyone is safe (call 120 if anyone is hurt); our rescue desk is calling you")
        info = explain(alert.code)
        problem = _("reported fault %(code)s (%(what)s)") % {"code": alert.code, "what": info.description(language)}
        if alert.severity == Severity.CRITICAL:
            return problem, _("have it repaired as soon as possible; stop driving if a warning light flashes")
        return problem, _("have it checked at the store")


def booking_link(alert: Alert, problem: str) -> str:
    """The owner app's booking page (/book/<store>/ → /app/book/) with the car, the recommended service and the
    problem filled in."""
    params: dict[str, Any] = {"v": alert.vehicle_id}
    if alert.recommended_service_id:
        params["service_type"] = alert.recommended_service_id
    params["fault_description"] = problem[:200]
    return f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}/book/{alert.store.code}/?{urlencode(params)}"


def _notify(alert: Alert, rule: AlertRule, device: Device) -> None:
    from aftersales.messaging.choices import Channel
    from aftersales.messaging.services import customer_variables, message_enqueue, recipient_language

    customer = alert.vehicle.owner
    store = device.store
    vehicle = alert.vehicle
    plate = vehicle.plate or f"{vehicle.make} {vehicle.model}".strip()
    if customer is not None:
        language = recipient_language(customer=customer)
        problem, advice = problem_text(alert, language)
        message = message_enqueue(
            kind="telematics.alert_critical" if rule.critical or rule.kind in EVENT_RULES else "telematics.alert", store=store, customer=customer,
            variables={**customer_variables(customer=customer, store=store), "plate": plate, "problem": problem,
                       "advice": advice, "link": booking_link(alert, problem)},
            dedup_key=f"telematics:alert:{alert.pk}",
        )
        Alert.objects.filter(pk=alert.pk).update(owner_message=message)
        alert.owner_message = message
    advisor = customer.preferred_advisor if customer is not None else None
    if customer is not None and advisor is not None:
        with override(getattr(advisor, "language", "") or "zh-hans"):
            problem, _advice = problem_text(alert, getattr(advisor, "language", "") or "zh-hans")
            title = _("Remote diagnosis: %(plate)s") % {"plate": plate}
            details = _("%(customer)s's car: %(problem)s. Call the owner and book a visit.") % {
                "customer": customer.name, "problem": problem}
        message_enqueue(kind="staff.task", store=store, staff_user=advisor, channel=Channel.APP,
                        variables={"title": title, "details": details}, dedup_key=f"telematics:alert:{alert.pk}:advisor")
    elif customer is not None:  # no advisor of their own: a call task for the store's front desk (its script in Chinese)
        problem, _advice = problem_text(alert, "zh-hans")
        message_enqueue(
            kind="telematics.call", store=store, customer=customer, channel=Channel.PHONE, language="zh-hans",
            variables={**customer_variables(customer=customer, store=store), "plate": plate, "problem": problem},
            dedup_key=f"telematics:alert:{alert.pk}:call",
        )


# ---- retention -----------------------------------------------------------------------------------------------------
def readings_prune(*, now: dt.datetime | None = None, batch: int = 5000) -> int:
    """Delete readings older than TELEMATICS_RETENTION_DAYS (default 400), in batches; returns how many."""
    from .partitions import drop_expired

    days = int(getattr(settings, "TELEMATICS_RETENTION_DAYS", 400))
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    drop_expired(cutoff=cutoff)  # PostgreSQL: whole months past retention go at once (not counted row by row)
    total = 0
    while True:
        ids = list(Reading.objects.filter(recorded_at__lt=cutoff).values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        total += Reading.objects.filter(pk__in=ids).delete()[0]
