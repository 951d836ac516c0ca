"""The telematics API (/api/telematics): devices (register, rotate the key, revoke), readings, alerts, the alert rules,
the fault-code knowledge base, and the signed HTTPS endpoint for vendors' gateways (``POST /api/telematics/gateway``).
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.errors import DomainError, Forbidden, ValidationFailed
from aftersales.common.scoping import default_store

from . import selectors, services
from .choices import Protocol, RejectReason, RuleKind
from .faultcodes import explain, normalize

router = Router(tags=["telematics"])


class TelematicsDeviceOut(Schema):
    id: int
    device_id: str
    store_id: int
    vehicle_id: int
    plate: str
    protocol: str
    key_version: int
    key_fingerprint: str
    revoked_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    last_seq: int | None
    accepted_count: int
    rejected_count: int

    @staticmethod
    def resolve_plate(obj: Any) -> str:
        return obj.vehicle.plate


class TelematicsDeviceIn(Schema):
    store_id: int | None = None
    vehicle_id: int
    device_id: str
    protocol: str = Protocol.JSON_V1


class TelematicsDeviceKeyOut(Schema):
    device: TelematicsDeviceOut
    key: str


class TelematicsReadingOut(Schema):
    seq: int
    recorded_at: dt.datetime
    odometer_km: int | None
    battery_v: Decimal | None
    fuel_pct: int | None
    charge_pct: int | None
    ignition: bool | None
    speed_kmh: int | None
    dtcs: list[str]
    lat: Decimal | None
    lon: Decimal | None
    nev_alarm: int | None


class TelematicsAlertOut(Schema):
    id: int
    store_id: int
    vehicle_id: int
    plate: str
    customer_id: int | None
    kind: str
    code: str
    severity: str
    status: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    value: str
    recommended_service_id: int | None

    @staticmethod
    def resolve_plate(obj: Any) -> str:
        return obj.vehicle.plate


class TelematicsCloseIn(Schema):
    reason: str = ""


class TelematicsRuleOut(Schema):
    kind: str
    enabled: bool
    threshold: Decimal | None
    repeats: int
    critical: bool
    service_kind: str


class TelematicsRuleIn(Schema):
    enabled: bool | None = None
    threshold: Decimal | None = None
    repeats: int | None = None
    critical: bool | None = None
    service_kind: str | None = None


class FaultCodeOut(Schema):
    code: str
    system: str
    generic: bool
    category: str
    severity: str
    description_zh: str
    description_en: str


class TelematicsGatewayOut(Schema):
    accepted: bool
    seq: int | None = None
    opened_alerts: int = 0


def _store(request: HttpRequest, store_id: int | None) -> Any:
    return default_store(request_user(request), store_id)


@router.get("/devices", response={200: list[TelematicsDeviceOut], **ERRORS})
def device_list(request: HttpRequest, store_id: int | None = None, q: str = "") -> Any:
    return list(selectors.devices(request_user(request), store_id=store_id, query=q)[:500])


@router.post("/devices", response={201: TelematicsDeviceKeyOut, **ERRORS})
def device_create(request: HttpRequest, payload: TelematicsDeviceIn) -> Any:
    from aftersales.vehicles.models import Vehicle

    user = request_user(request)
    store = _store(request, payload.store_id)
    vehicle = Vehicle.objects.filter(pk=payload.vehicle_id, group_id=store.group_id).first()
    device, key = services.device_create(actor=user, store=store, vehicle=vehicle, device_id=payload.device_id,
                                         protocol=payload.protocol)
    return Status(201, {"device": selectors.device_get(user, device.pk), "key": key})


@router.get("/devices/{device_pk}", response={200: TelematicsDeviceOut, **ERRORS})
def device_detail(request: HttpRequest, device_pk: int) -> Any:
    return selectors.device_get(request_user(request), device_pk)


@router.post("/devices/{device_pk}/rotate", response={200: TelematicsDeviceKeyOut, **ERRORS})
def device_rotate(request: HttpRequest, device_pk: int) -> Any:
    user = request_user(request)
    device = selectors.device_get(user, device_pk)
    key = services.device_rotate(actor=user, device=device)
    return {"device": selectors.device_get(user, device.pk), "key": key}


@router.post("/devices/{device_pk}/revoke", response={200: TelematicsDeviceOut, **ERRORS})
def device_revoke(request: HttpRequest, device_pk: int, payload: TelematicsCloseIn) -> Any:
    user = request_user(request)
    device = selectors.device_get(user, device_pk)
    services.device_revoke(actor=user, device=device, reason=payload.reason)
    return selectors.device_get(user, device.pk)


@router.get("/devices/{device_pk}/readings", response={200: list[TelematicsReadingOut], **ERRORS})
def device_readings(request: HttpRequest, device_pk: int, days: int = 7) -> Any:
    user = request_user(request)
    return selectors.readings(user, selectors.device_get(user, device_pk), days=days)


@router.get("/alerts", response={200: list[TelematicsAlertOut], **ERRORS})
def alert_list(request: HttpRequest, store_id: int | None = None, status: str = "open", vehicle_id: int | None = None) -> Any:
    return list(selectors.alerts(request_user(request), store_id=store_id, status=status or None, vehicle_id=vehicle_id)[:500])


@router.post("/alerts/{alert_id}/close", response={200: TelematicsAlertOut, **ERRORS})
def alert_close(request: HttpRequest, alert_id: int, payload: TelematicsCloseIn) -> Any:
    user = request_user(request)
    alert = services.alert_close(actor=user, alert=selectors.alert_get(user, alert_id), reason=payload.reason)
    return selectors.alert_get(user, alert.pk)


@router.get("/rules", response={200: list[TelematicsRuleOut], **ERRORS})
def rule_list(request: HttpRequest, store_id: int | None = None) -> Any:
    user = request_user(request)
    if not user.has_perm("telematics.view_alertrule"):
        raise Forbidden("permission_denied", _("You do not have permission to do this."), None)
    rules = services.rules_for(_store(request, store_id))
    return [rules[kind] for kind in RuleKind.values]


@router.patch("/rules/{kind}", response={200: TelematicsRuleOut, **ERRORS})
def rule_update(request: HttpRequest, kind: str, payload: TelematicsRuleIn, store_id: int | None = None) -> Any:
    data = {k: v for k, v in payload.dict().items() if v is not None}
    return services.alert_rule_update(actor=request_user(request), store=_store(request, store_id), kind=kind, **data)


@router.get("/codes/{code}", response={200: FaultCodeOut, **ERRORS})
def code_explain(request: HttpRequest, code: str) -> Any:
    clean = normalize(code)
    if clean is None:
        raise ValidationFailed("code_format", _("Enter a fault code such as P0301."), "code")
    info = explain(clean)
    return {"code": info.code, "system": info.system, "generic": info.generic, "category": info.category,
            "severity": info.severity, "description_zh": info.description("zh-hans"), "description_en": info.description("en")}


# ---- vendors' gateways -----------------------------------------------------------------------------------------------
GATEWAY_SKEW = 300  # seconds a signed request may be old (or ahead): a captured request cannot be replayed later
_GATEWAY_STATUS = {
    RejectReason.MALFORMED: 422, RejectReason.UNKNOWN_DEVICE: 401, RejectReason.REVOKED: 401,
    RejectReason.BAD_SIGNATURE: 401, RejectReason.FUTURE: 422, RejectReason.OUT_OF_ORDER: 409, RejectReason.DUPLICATE: 409,
}


@router.post("/gateway", auth=None, response={202: TelematicsGatewayOut, **ERRORS}, openapi_extra={
    "description": "A vendor gateway posts one device message (our JSON schema, or its protocol's shape). Headers: "
                   "X-Device-Id, X-Timestamp (Unix seconds) and X-Signature = hex HMAC-SHA256(device key, "
                   "timestamp + '.' + body). See docs/telematics.md."})
def gateway(request: HttpRequest) -> Any:
    device_id = request.headers.get("X-Device-Id", "")
    stamp = request.headers.get("X-Timestamp", "")
    signature = request.headers.get("X-Signature", "")
    if not device_id or not stamp.isdigit() or not signature:
        raise _unsigned()
    if abs(time.time() - int(stamp)) > GATEWAY_SKEW:
        raise DomainError("stale_request", _("The request's timestamp is too old or too far ahead."), "X-Timestamp")
    body = request.body
    result = services.ingest(payload=body, topic_device=device_id, signature=signature,
                             signed_bytes=stamp.encode() + b"." + body)
    if result.accepted:
        return Status(202, {"accepted": True, "seq": result.reading.seq if result.reading else None, "opened_alerts": len(result.opened)})
    status = _GATEWAY_STATUS.get(result.reason, 422)
    if status == 401:
        raise _unsigned()
    error = DomainError(result.reason, RejectReason(result.reason).label if result.reason in RejectReason.values else result.reason,
                        None, detail=result.detail)
    error.status = status
    raise error


def _unsigned() -> DomainError:
    error = DomainError("unauthenticated", _("Unknown device, revoked device or bad signature."), "X-Signature")
    error.status = 401
    return error

