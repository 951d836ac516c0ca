"""Rescue writes (SPEC §15): cases from the owner app or the call centre, dispatch (one unit never twice), the crew's
moves with time and place, photos and signature, the tow into the store's reception, the escalation sweep and the
calibration of the ETA factors. Reads are in selectors.py; the ETA arithmetic in eta.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common import audit
from aftersales.common.db import saved
from aftersales.common.errors import Conflict, DomainError, Forbidden, Problems, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.transitions import move
from aftersales.common.uploads import check_image, decode_data_url, ink_ratio
from aftersales.common.validators import choice_value, text_value

from . import eta
from .choices import (
    CASE_TRANSITIONS,
    ON_JOB,
    UNIT_FOR_CASE,
    AlertKind,
    Capability,
    CaseStatus,
    Incident,
    ShiftDays,
    Source,
    UnitKind,
    UnitStatus,
    needed_capability,
)
from .models import RescueAlert, RescueArea, RescueCase, RescueEvent, RescuePhoto, RescueUnit, UnitPosition, UnitShift

log = logging.getLogger(__name__)
MAX_PHOTOS = 30
MAX_SIGNATURE_BYTES = 1024 * 1024
UNASSIGNED_AFTER_MINUTES = 5
Q6 = Decimal("0.000001")


# ---- validation ---------------------------------------------------------------------------------------------------
def _coordinate(value: Any, field: str, limit: int, problems: Problems) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if not number.is_finite():
        problems.add("coordinate_format", _("Enter the position as a number of degrees."), field)
        return None
    if not -limit <= number <= limit:
        problems.add(
            "coordinate_range",
            _("A WGS-84 %(what)s lies between −%(n)s and %(n)s degrees.") % {
                "what": _("latitude") if field.endswith("lat") else _("longitude"), "n": limit},
            field,
        )
        return None
    return number.quantize(Q6)


def clean_point(lat: Any, lng: Any, problems: Problems, *, prefix: str = "", required: bool = True) -> tuple[Any, Any]:
    la = _coordinate(lat, f"{prefix}lat", 90, problems)
    ln = _coordinate(lng, f"{prefix}lng", 180, problems)
    if required:
        if (lat is None or lat == "") and not any(p.field == f"{prefix}lat" for p in problems.items):
            problems.add("required", _("The position is needed."), f"{prefix}lat")
        if (lng is None or lng == "") and not any(p.field == f"{prefix}lng" for p in problems.items):
            problems.add("required", _("The position is needed."), f"{prefix}lng")
    return la, ln


def _drivable(value: Any, problems: Problems) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    problems.add("invalid_choice", _("Answer yes or no."), "drivable")
    return None


# ---- moves --------------------------------------------------------------------------------------------------------
def _locked(case: RescueCase) -> RescueCase:
    return RescueCase.objects.select_for_update().get(pk=case.pk)


def _move(case: RescueCase, to: str, actor: Any, *, at: dt.datetime, reason: str = "", lat: Any = None, lng: Any = None,
          also_save: tuple[str, ...] = ()) -> None:
    move(case, to=to, actor=actor, transitions=CASE_TRANSITIONS, event_model=RescueEvent, event_fk="case",
         labels=CaseStatus, reason=reason[:300], at=at, also_save=also_save)
    if lat is not None and lng is not None:
        RescueEvent.objects.filter(pk=saved(case.last_event).pk).update(lat=lat, lng=lng)  # type: ignore[attr-defined]
    _unit_follows(case)


def _unit_follows(case: RescueCase) -> None:
    """The unit's state follows the case it works; a case that leaves the road frees it."""
    if case.unit_id is None:
        return
    state = UNIT_FOR_CASE.get(case.status)
    if state is not None:
        RescueUnit.objects.filter(pk=case.unit_id, case_id=case.pk).update(status=state)
    else:
        RescueUnit.objects.filter(pk=case.unit_id, case_id=case.pk).update(status=UnitStatus.AVAILABLE, case=None)


def _audit(actor: Any, case: RescueCase, action: str, changes: dict[str, list[Any]] | None = None, at: Any = None) -> None:
    audit.record(actor=actor, obj=case, action=action, store_id=case.store_id, customer_id=case.customer_id,
                 changes=changes or {}, at=at)


def _require_crew(actor: Any, case: RescueCase) -> None:
    require(actor, "rescue.crew_rescuecase")
    require_store(actor, case.store_id)
    if case.unit is None or not (case.unit.crew.filter(pk=actor.pk).exists()
                                 or (case.shift_id is not None and UnitShift.crew.through.objects.filter(
                                     unitshift_id=case.shift_id, user_id=actor.pk).exists())):
        raise Forbidden("not_your_job", _("This job is not assigned to your unit."), "case")


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or timezone.now()


def _area(store: Any) -> RescueArea | None:
    return RescueArea.objects.filter(store=store).first()


# ---- the owner's messages -----------------------------------------------------------------------------------------
SLIP_NOTICE_MINUTES = 5  # the owner hears of a later arrival from 5 minutes past the promise, then every 10 more


def owner_link(case: RescueCase) -> str:
    from django.conf import settings
    from django.urls import reverse

    return f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}{reverse('portal:rescue_case', args=[case.pk])}"


def _tell_owner(case: RescueCase, kind: str, dedup_key: str, **variables: str) -> None:
    """An SMS (the customer's channel) through the outbox, in the customer's language, in this transaction."""
    if case.customer is None:
        return  # a caller not on record: the dispatcher phones them (the hotline is on the board)
    from aftersales.messaging.services import customer_variables, message_enqueue

    from .selectors import crew_first_name

    eta_at = case.eta_at or case.promised_at
    values = {**customer_variables(customer=case.customer, store=case.store),
              "plate": case.vehicle.plate if case.vehicle else "", "crew_name": crew_first_name(case),
              "eta": timezone.localtime(eta_at, case.store.zone).strftime("%H:%M") if eta_at else "", "link": owner_link(case),
              **variables}
    from aftersales.messaging.kinds import KINDS

    wanted = KINDS[kind].variables
    message_enqueue(kind=kind, store=case.store, customer=case.customer, dedup_key=dedup_key,
                    variables={k: v for k, v in values.items() if k in wanted})


def _slip_notice(case: RescueCase) -> None:
    """The arrival slips past the promise: tell the owner once at 5 minutes late, again at every further 10."""
    if case.promised_at is None or case.eta_at is None:
        return
    late = int((case.eta_at - case.promised_at).total_seconds() // 60)
    if late < SLIP_NOTICE_MINUTES:
        return
    step = (late - SLIP_NOTICE_MINUTES) // 10
    _tell_owner(case, "rescue.eta_slipped", f"rescue-eta-slipped:{case.pk}:{case.dispatched_at:%Y%m%d%H%M%S}:{step}",
                minutes=str(late))


# ---- cases --------------------------------------------------------------------------------------------------------
def _new_case(*, store: Any, values: dict[str, Any], actor: Any, at: dt.datetime, photos: list[bytes] | None = None,
              status: str = CaseStatus.REQUESTED, reason: str = "") -> RescueCase:
    case = RescueCase.objects.create(store=store, number=f"tmp-{hashlib.sha256(str((at, values)).encode()).hexdigest()[:16]}",
                                     requested_at=at, created_by=actor if getattr(actor, "pk", None) else None,
                                     status=status, **values)
    local = timezone.localtime(at, store.zone)
    case.number = f"RS{local:%y%m%d}{case.pk:05d}"
    case.save(update_fields=["number"])
    RescueEvent.objects.create(case=case, from_state="", to_state=status, actor=case.created_by, at=at,
                               lat=values["lat"], lng=values["lng"], reason=reason)
    for content in photos or []:
        _store_photo(case, check_image(content, field="photos"), caption="", actor=None, by_customer=True)
    _audit(actor, case, "rescue.requested", {"status": [None, status]}, at)
    return case


def case_create(
    *, actor: Any, store: Any, incident: Any, lat: Any = None, lng: Any = None, address: Any = "", drivable: Any = None,
    description: Any = "", caller_name: Any = "", caller_phone: Any = "", customer: Any = None, vehicle: Any = None,
    at: dt.datetime | None = None,
) -> RescueCase:
    """The call centre enters a call: an address or a point (lat/lng). Every bad field is named at once."""
    require(actor, "rescue.add_rescuecase")
    require_store(actor, store.pk)
    problems = Problems()
    incident = choice_value(incident, Incident, "incident", problems)
    address = text_value(address, "address", 300, problems)
    has_point = lat not in (None, "") or lng not in (None, "")
    la, ln = clean_point(lat, lng, problems, required=has_point or not address)
    if not has_point and not address:
        problems.items = [p for p in problems.items if p.field not in ("lat", "lng")]
        problems.add("required", _("Enter the address or the position."), "address")
    drivable = _drivable(drivable, problems)
    description = text_value(description, "description", 500, problems)
    caller_name = text_value(caller_name, "caller_name", 60, problems)
    caller_phone = text_value(caller_phone, "caller_phone", 20, problems)
    if caller_phone:
        from aftersales.common.validators import normalize_mobile

        try:
            caller_phone = normalize_mobile(caller_phone, field="caller_phone")
        except DomainError as exc:
            problems.add(exc.code, exc.message, "caller_phone")
    if vehicle is not None and customer is None:
        customer = vehicle.owner
    problems.raise_if_any()
    area = _area(store)
    approximate = not has_point
    if approximate:
        if area is None:
            raise ValidationFailed("no_area", _("This store has no rescue base yet; enter the position."), "lat")
        la, ln = area.base_lat, area.base_lng
    at = _now(at)
    with transaction.atomic():
        return _new_case(store=store, actor=actor, at=at, values={
            "incident": incident, "lat": la, "lng": ln, "address": address, "approximate": approximate,
            "drivable": drivable, "description": description, "caller_name": caller_name or (customer.name if customer else ""),
            "caller_phone": caller_phone or (customer.mobile if customer else ""), "customer": customer, "vehicle": vehicle,
            "source": Source.PHONE,
        })


def nearest_rescue_store(group_id: int, lat: Decimal, lng: Decimal) -> Any:
    areas = list(RescueArea.objects.filter(store__group_id=group_id, store__is_active=True).select_related("store"))
    if not areas:
        return None
    km = [float(eta.great_circle_km(float(lat), float(lng), float(a.base_lat), float(a.base_lng))) for a in areas]
    return areas[km.index(min(km))].store


def owner_request(
    *, customer: Any, vehicle_id: Any, incident: Any, lat: Any, lng: Any, drivable: Any = None, description: Any = "",
    address: Any = "", photos: list[bytes] | None = None, at: dt.datetime | None = None,
) -> RescueCase:
    """One tap in the owner app: the phone's position (or a typed address), the car, what happened, photos.
    Goes to the nearest store of the group with a rescue base."""
    problems = Problems()
    incident = choice_value(incident, Incident, "incident", problems)
    address = text_value(address, "address", 300, problems)
    la, ln = clean_point(lat, lng, problems, required=not address)
    drivable = _drivable(drivable, problems)
    description = text_value(description, "description", 500, problems)
    vehicle = None
    try:
        from aftersales.vehicles.models import Vehicle

        vehicle = (Vehicle.objects.filter(pk=int(vehicle_id), owner=customer, group_id=customer.group_id).first()
                   if vehicle_id not in (None, "") else None)
    except (TypeError, ValueError):
        vehicle = None
    if vehicle is None:
        problems.add("required", _("Pick your car."), "vehicle")
    checked = []
    for content in photos or []:
        try:
            checked.append(check_image(content, field="photos").content)
        except DomainError as exc:
            problems.add(exc.code, exc.message, "photos")
            break
    if len(checked) > 10:
        problems.add("too_many", _("At most %(n)s photos.") % {"n": 10}, "photos")
    problems.raise_if_any()
    store = customer.home_store
    if la is not None and ln is not None:
        store = nearest_rescue_store(customer.group_id, la, ln) or store
    if store is None:
        raise ValidationFailed("no_store", _("No store offers rescue near you; please call your store."), "lat")
    area = _area(store)
    approximate = la is None
    if approximate:
        if area is None:
            raise ValidationFailed("no_area", _("Allow the position, or call your store."), "lat")
        la, ln = area.base_lat, area.base_lng
    at = _now(at)
    with transaction.atomic():
        return _new_case(store=store, actor=None, at=at, photos=checked, values={
            "incident": incident, "lat": la, "lng": ln, "address": address, "approximate": approximate,
            "drivable": drivable, "description": description, "caller_name": customer.name, "caller_phone": customer.mobile,
            "customer": customer, "vehicle": vehicle, "source": Source.APP,
        })


# ---- telematics alerts as a source ---------------------------------------------------------------------------------
#: the alert kinds (telematics rule kinds) that mean the car may need a rescue, when critical: a crash / airbag
#: deployment (kinds a device vendor reports; the telematics app names them when it watches them) and the GB/T 32960
#: alarm level 3 (``nev_alarm``, the highest level: the car should stop)
RESCUE_ALERT_KINDS: dict[str, tuple[str, str]] = {
    "crash": (Incident.ACCIDENT, gettext_noop("Opened by a telematics alert: crash detected")),
    "airbag": (Incident.ACCIDENT, gettext_noop("Opened by a telematics alert: airbag deployed")),
    "nev_alarm": (Incident.BREAKDOWN, gettext_noop("Opened by a telematics alert: new-energy alarm level 3")),
}
#: a car with a case in one of these states gets no new draft (the alert goes on that case's timeline)
UNFINISHED = (CaseStatus.DRAFT, CaseStatus.REQUESTED, CaseStatus.ACCEPTED, *ON_JOB)
TELEMATICS_INTAKE_HOURS = 2  # the sweep looks back this far for critical alerts whose handler never ran


def on_telematics_alert(event: Any) -> None:
    """Domain-event handler (``TelematicsAlertOpened``, subscribed in apps.py): a critical crash or severe alarm
    opens a draft case for the call centre."""
    telematics_draft_open(alert_id=event.alert_id, vehicle_id=event.vehicle_id, store_id=event.store_id,
                          kind=event.kind, severity=event.severity)


def _last_known_position(vehicle_id: int) -> tuple[Any, Any, Any]:
    """The car's last position its device reported (WGS-84), with its time; (None, None, None) when none."""
    from django.apps import apps

    reading = apps.get_model("telematics", "Reading")
    row = (reading.objects.filter(vehicle_id=vehicle_id, lat__isnull=False, lon__isnull=False)
           .order_by("-recorded_at", "-id").values_list("lat", "lon", "recorded_at").first())
    return row if row else (None, None, None)


def telematics_draft_open(*, alert_id: int, vehicle_id: int, store_id: int, kind: str, severity: str,
                          at: dt.datetime | None = None) -> RescueCase | None:
    """A draft rescue case from a critical telematics alert, at the car's last known position, for the call centre
    to confirm with the owner (or dismiss). Deduplicated per vehicle: while the car has an open case (from any
    source) a new alert only adds a line to that case's timeline; the same alert never opens two (unique key), and
    two alerts at once leave one draft (a partial unique constraint on open telematics cases per vehicle)."""
    from aftersales.stores.models import Store
    from aftersales.vehicles.models import Vehicle

    if severity != "critical" or kind not in RESCUE_ALERT_KINDS:
        return None
    existing = RescueCase.objects.filter(telematics_alert_id=alert_id).first()
    if existing is not None:
        return existing
    vehicle = Vehicle.objects.select_related("owner").filter(pk=vehicle_id).first()
    store = Store.objects.filter(pk=store_id).first()
    if vehicle is None or store is None:
        return None
    incident, reason = RESCUE_ALERT_KINDS[kind]
    at = _now(at)
    note = coded(reason)
    open_case = RescueCase.objects.filter(vehicle=vehicle, status__in=UNFINISHED).order_by("-requested_at").first()
    if open_case is not None:
        _timeline_note(open_case, note, at)
        return open_case
    lat, lng, _seen_at = _last_known_position(vehicle.pk)
    if lat is not None:
        store = nearest_rescue_store(store.group_id, lat, lng) or store
    area = _area(store)
    approximate = lat is None
    if approximate:
        if area is None:
            log.warning("telematics alert %s: no position and no rescue base at store %s; no draft", alert_id, store.pk)
            return None
        lat, lng = area.base_lat, area.base_lng
    owner = vehicle.owner
    try:
        with transaction.atomic():
            case = _new_case(store=store, actor=None, at=at, status=CaseStatus.DRAFT, reason=note, values={
                "incident": incident, "lat": lat, "lng": lng, "approximate": approximate, "drivable": False,
                "caller_name": owner.name if owner else "", "caller_phone": owner.mobile if owner else "",
                "customer": owner, "vehicle": vehicle, "source": Source.TELEMATICS, "telematics_alert_id": alert_id,
                "address": "",
            })
    except IntegrityError:  # the same alert, or another alert of this car, opened its draft meanwhile
        again = RescueCase.objects.filter(telematics_alert_id=alert_id).first() or RescueCase.objects.filter(
            vehicle=vehicle, source=Source.TELEMATICS, status__in=UNFINISHED).first()
        if again is not None and again.telematics_alert_id != alert_id:
            _timeline_note(again, note, at)
        return again
    return case


def _timeline_note(case: RescueCase, note: str, at: dt.datetime) -> None:
    with transaction.atomic():
        RescueEvent.objects.create(case=case, from_state=case.status, to_state=case.status, at=at, reason=note)
        _audit(None, case, "rescue.telematics_alert", {"note": [None, note]}, at)


def telematics_intake_sweep(*, now: dt.datetime | None = None) -> int:
    """Every minute (with the escalation sweep): critical open alerts of the rescue kinds from the last
    TELEMATICS_INTAKE_HOURS that have no case yet (the event handler missed them) get their draft. Idempotent."""
    from django.apps import apps

    alert_model = apps.get_model("telematics", "Alert")
    now = _now(now)
    taken = RescueCase.objects.filter(telematics_alert_id__isnull=False).values("telematics_alert_id")
    rows = (alert_model.objects.filter(status="open", severity="critical", kind__in=list(RESCUE_ALERT_KINDS),
                                       opened_at__gte=now - dt.timedelta(hours=TELEMATICS_INTAKE_HOURS))
            .exclude(pk__in=taken).values_list("pk", "vehicle_id", "store_id", "kind", "severity"))
    opened = 0
    for alert_id, vehicle_id, store_id, kind, severity in rows:
        case = telematics_draft_open(alert_id=alert_id, vehicle_id=vehicle_id, store_id=store_id, kind=kind,
                                     severity=severity, at=now)
        opened += int(case is not None and case.telematics_alert_id == alert_id)
    return opened


def case_confirm(*, actor: Any, case: RescueCase, at: dt.datetime | None = None) -> RescueCase:
    """The call centre has reached the owner: the telematics draft becomes a request to dispatch."""
    require(actor, "rescue.dispatch_rescuecase")
    require_store(actor, case.store_id)
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        _move(locked, CaseStatus.REQUESTED, actor, at=at, reason=coded(gettext_noop("Confirmed with the owner")))
        _audit(actor, locked, "rescue.confirmed", {"status": [CaseStatus.DRAFT, CaseStatus.REQUESTED]}, at)
    return locked


def case_discard(*, actor: Any, case: RescueCase, reason: Any = "", at: dt.datetime | None = None) -> RescueCase:
    """The call centre dismisses a telematics draft as a false alarm (only a draft: a confirmed case is cancelled
    with a reason). What they typed is kept as typed; without it, "False alarm" in the reader's language."""
    require(actor, "rescue.dispatch_rescuecase")
    require_store(actor, case.store_id)
    problems = Problems()
    typed = text_value(reason, "reason", 300, problems)
    problems.raise_if_any()
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        if locked.status != CaseStatus.DRAFT:
            raise Conflict("not_a_draft", _("Only a case still to confirm can be dismissed as a false alarm."), "status")
        locked.closed_at = at
        _move(locked, CaseStatus.CANCELLED, actor, at=at, reason=typed or coded(gettext_noop("False alarm")),
              also_save=("closed_at",))
        _audit(actor, locked, "rescue.discarded", {"status": [CaseStatus.DRAFT, CaseStatus.CANCELLED]}, at)
    return locked


def case_locate(*, actor: Any, case: RescueCase, lat: Any, lng: Any) -> RescueCase:
    """The dispatcher sets the exact point of a case entered from an address."""
    require(actor, "rescue.dispatch_rescuecase")
    require_store(actor, case.store_id)
    problems = Problems()
    la, ln = clean_point(lat, lng, problems)
    problems.raise_if_any()
    with transaction.atomic():
        locked = _locked(case)
        before = [str(locked.lat), str(locked.lng)]
        locked.lat, locked.lng, locked.approximate = la, ln, False
        locked.save(update_fields=["lat", "lng", "approximate"])
        _audit(actor, locked, "rescue.located", {"position": [before, [str(la), str(ln)]]})
    return locked


def case_accept(*, actor: Any, case: RescueCase, at: dt.datetime | None = None) -> RescueCase:
    """The dispatcher takes the request on."""
    require(actor, "rescue.dispatch_rescuecase")
    require_store(actor, case.store_id)
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        _move(locked, CaseStatus.ACCEPTED, actor, at=at)
        _audit(actor, locked, "rescue.accepted", {"status": [CaseStatus.REQUESTED, CaseStatus.ACCEPTED]}, at)
    return locked


def unit_eta_minutes(unit: RescueUnit, case: RescueCase, area: RescueArea | None) -> tuple[float, float]:
    """(minutes, great-circle km) for this unit to reach the case: from its last position, else the store's base;
    preparation time counts while the unit has not left yet."""
    f = eta.factors(area)
    if unit.lat is not None and unit.lng is not None:
        lat, lng = float(unit.lat), float(unit.lng)
    elif area is not None:
        lat, lng = float(area.base_lat), float(area.base_lng)
    else:
        lat, lng = float(case.lat), float(case.lng)
    km = float(eta.great_circle_km(lat, lng, float(case.lat), float(case.lng)))
    prep = f["prep"] if unit.status in (UnitStatus.AVAILABLE, UnitStatus.DISPATCHED) else 0.0
    return float(eta.eta_minutes(km, detour=f["detour"], speed_kmh=f["speed_kmh"], prep=prep)), km


def case_dispatch(*, actor: Any, case: RescueCase, unit: RescueUnit, at: dt.datetime | None = None) -> RescueCase:
    """Send a unit. The unit is claimed with a conditional UPDATE (available and free → dispatched): two dispatchers
    sending the same unit at once, or one unit to two cases, leave exactly one dispatch; the other is refused."""
    require(actor, "rescue.dispatch_rescuecase")
    require_store(actor, case.store_id)
    if unit.store_id != case.store_id:
        raise ValidationFailed("unit_other_store", _("This unit belongs to another store."), "unit")
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        if locked.status not in (CaseStatus.REQUESTED, CaseStatus.ACCEPTED):
            raise Conflict("already_dispatched" if locked.unit_id else "illegal_transition",
                           _("This case is “%(s)s”; it cannot be dispatched now.") % {"s": CaseStatus(locked.status).label}, "status")
        need = needed_capability(locked.incident, locked.drivable)
        if need not in (unit.capabilities or []):
            raise ValidationFailed("unit_incapable", _("This unit cannot do “%(c)s”.") % {"c": Capability(need).label}, "unit")
        from .shifts import current_shifts

        on = current_shifts(locked.store, [RescueUnit.objects.prefetch_related("shifts").get(pk=unit.pk)], now=at)[unit.pk]
        if on is None:
            raise Conflict("unit_off_shift", _("This unit is off shift now; pick another."), "unit")
        claimed = RescueUnit.objects.filter(pk=unit.pk, status=UnitStatus.AVAILABLE, case__isnull=True).update(
            status=UnitStatus.DISPATCHED, case=locked)
        if claimed != 1:
            raise Conflict("unit_busy", _("This unit is no longer available; pick another."), "unit")
        unit.refresh_from_db()
        if locked.status == CaseStatus.REQUESTED:
            _move(locked, CaseStatus.ACCEPTED, actor, at=at)
        minutes, km = unit_eta_minutes(unit, locked, _area(locked.store))
        locked.unit = unit
        locked.shift = on if isinstance(on, UnitShift) else None
        locked.dispatched_at = at
        locked.promised_at = locked.eta_at = at + dt.timedelta(minutes=eta.whole_minutes(minutes))
        locked.promised_km = Decimal(str(round(km, 2)))
        _move(locked, CaseStatus.DISPATCHED, actor, at=at, reason=unit.name,
              also_save=("unit", "shift", "dispatched_at", "promised_at", "eta_at", "promised_km"))
        _audit(actor, locked, "rescue.dispatched", {"unit": [None, unit.name], "eta": [None, locked.eta_at.isoformat()]}, at)
        _tell_owner(locked, "rescue.dispatched", f"rescue-dispatched:{locked.pk}:{at:%Y%m%d%H%M%S}")
    return locked


def cases_assign_optimal(*, actor: Any, store: Any, at: dt.datetime | None = None) -> list[RescueCase]:
    """Dispatch every open case waiting for a unit by the optimal plan (least total ETA; see selectors)."""
    from .selectors import assignment_plan

    require(actor, "rescue.dispatch_rescuecase")
    require_store(actor, store.pk)
    done = []
    for case, unit, _minutes in assignment_plan(actor, store):
        try:
            done.append(case_dispatch(actor=actor, case=case, unit=unit, at=at))
        except (Conflict, ValidationFailed):
            continue  # another dispatcher took the case or the unit meanwhile
    return done


def case_crew_accept(*, actor: Any, case: RescueCase, at: dt.datetime | None = None) -> RescueCase:
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        _require_crew(actor, locked)
        locked.crew_accepted_at = at
        _move(locked, CaseStatus.EN_ROUTE, actor, at=at, also_save=("crew_accepted_at",))
        _audit(actor, locked, "rescue.crew_accepted", {"status": [CaseStatus.DISPATCHED, CaseStatus.EN_ROUTE]}, at)
    return locked


def case_crew_decline(*, actor: Any, case: RescueCase, reason: str = "", at: dt.datetime | None = None) -> RescueCase:
    at = _now(at)
    problems = Problems()
    reason = text_value(reason, "reason", 300, problems)
    problems.raise_if_any()
    with transaction.atomic():
        locked = _locked(case)
        _require_crew(actor, locked)
        unit_id = locked.unit_id
        if locked.status != CaseStatus.DISPATCHED or unit_id is None:
            raise Conflict("illegal_transition", _("Only a job not yet accepted can be declined."), "status")
        RescueUnit.objects.filter(pk=unit_id, case_id=locked.pk).update(status=UnitStatus.AVAILABLE, case=None)
        locked.unit = None
        locked.shift = None
        locked.promised_at = locked.eta_at = locked.dispatched_at = None
        _move(locked, CaseStatus.ACCEPTED, actor, at=at, reason=reason or coded(gettext_noop("Declined by the crew")),
              also_save=("unit", "shift", "promised_at", "eta_at", "dispatched_at"))
        _audit(actor, locked, "rescue.crew_declined", {"unit": [unit_id, None]}, at)
    return locked


def position_post(*, actor: Any, case: RescueCase, lat: Any, lng: Any, at: dt.datetime | None = None) -> RescueCase:
    """The crew's phone reports where the unit is — only while it works this job; the ETA follows."""
    problems = Problems()
    la, ln = clean_point(lat, lng, problems)
    problems.raise_if_any()
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        _require_crew(actor, locked)
        if locked.status not in ON_JOB:
            raise Conflict("not_on_job", _("Positions are only shared while on a job."), "status")
        unit = locked.unit
        assert unit is not None  # on a job: a unit works it
        UnitPosition.objects.create(unit=unit, case=locked, lat=la, lng=ln, at=at)
        RescueUnit.objects.filter(pk=unit.pk).update(lat=la, lng=ln, position_at=at)
        unit.lat, unit.lng = la, ln
        if locked.status in (CaseStatus.DISPATCHED, CaseStatus.EN_ROUTE):
            minutes, _km = unit_eta_minutes(unit, locked, _area(locked.store))
            locked.eta_at = at + dt.timedelta(minutes=eta.whole_minutes(minutes))
            locked.save(update_fields=["eta_at"])
            _slip_notice(locked)
    return locked


def case_on_scene(*, actor: Any, case: RescueCase, lat: Any = None, lng: Any = None, at: dt.datetime | None = None) -> RescueCase:
    problems = Problems()
    la, ln = clean_point(lat, lng, problems, required=False)
    problems.raise_if_any()
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        _require_crew(actor, locked)
        locked.on_scene_at = locked.eta_at = at
        _move(locked, CaseStatus.ON_SCENE, actor, at=at, lat=la, lng=ln, also_save=("on_scene_at", "eta_at"))
        _audit(actor, locked, "rescue.on_scene", {"status": [CaseStatus.EN_ROUTE, CaseStatus.ON_SCENE]}, at)
    return locked


def case_finish_on_site(*, actor: Any, case: RescueCase, work_done: Any, tow: bool = False, at: dt.datetime | None = None) -> RescueCase:
    """What the crew did on scene, then fixed on site, or the car goes on the truck (towing)."""
    problems = Problems()
    work_done = text_value(work_done, "work_done", 500, problems)
    if not work_done and not tow:
        problems.add("required", _("Say what was done."), "work_done")
    problems.raise_if_any()
    at = _now(at)
    to = CaseStatus.TOWING if tow else CaseStatus.FIXED
    with transaction.atomic():
        locked = _locked(case)
        _require_crew(actor, locked)
        locked.work_done = work_done
        _move(locked, to, actor, at=at, also_save=("work_done",))
        _audit(actor, locked, f"rescue.{to}", {"status": [CaseStatus.ON_SCENE, to], "work_done": ["", work_done]}, at)
    return locked


def case_at_store(*, actor: Any, case: RescueCase, at: dt.datetime | None = None) -> RescueCase:
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        _require_crew(actor, locked)
        _move(locked, CaseStatus.AT_STORE, actor, at=at)
        _audit(actor, locked, "rescue.at_store", {"status": [CaseStatus.TOWING, CaseStatus.AT_STORE]}, at)
    return locked


def case_close(*, actor: Any, case: RescueCase, at: dt.datetime | None = None) -> RescueCase:
    """Close a case fixed on site (crew or dispatcher)."""
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        if not actor.has_perm("rescue.dispatch_rescuecase"):
            _require_crew(actor, locked)
        require_store(actor, locked.store_id)
        locked.closed_at = at
        _move(locked, CaseStatus.CLOSED, actor, at=at, also_save=("closed_at",))
        _audit(actor, locked, "rescue.closed", {"status": [None, CaseStatus.CLOSED]}, at)
    return locked


def case_cancel(*, actor: Any, case: RescueCase, reason: Any = "", at: dt.datetime | None = None) -> RescueCase:
    require(actor, "rescue.dispatch_rescuecase")
    require_store(actor, case.store_id)
    problems = Problems()
    reason = text_value(reason, "reason", 300, problems)
    if not reason:
        problems.add("required", _("Say why the case is cancelled."), "reason")
    problems.raise_if_any()
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        locked.closed_at = at
        _move(locked, CaseStatus.CANCELLED, actor, at=at, reason=reason, also_save=("closed_at",))
        _audit(actor, locked, "rescue.cancelled", {"status": [None, CaseStatus.CANCELLED]}, at)
    return locked


def owner_cancel(*, customer: Any, case: RescueCase, at: dt.datetime | None = None) -> RescueCase:
    """The owner no longer needs help (before the unit is on scene)."""
    if case.customer_id != customer.pk:
        raise Forbidden("not_yours", _("Not found, or not visible to you."), "case")
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        locked.closed_at = at
        _move(locked, CaseStatus.CANCELLED, None, at=at, reason=coded(gettext_noop("Cancelled by the customer")), also_save=("closed_at",))
        _audit(None, locked, "rescue.cancelled", {"status": [None, CaseStatus.CANCELLED]}, at)
    return locked


# ---- photos and signature -----------------------------------------------------------------------------------------
def _store_photo(case: RescueCase, image: Any, *, caption: str, actor: Any, by_customer: bool) -> RescuePhoto:
    if RescuePhoto.objects.filter(case=case).count() >= MAX_PHOTOS:
        raise ValidationFailed("too_many", _("At most %(n)s photos per case.") % {"n": MAX_PHOTOS}, "photo")
    content = image.content
    digest = hashlib.sha256(content).hexdigest()[:16]
    photo = RescuePhoto(case=case, caption=caption, width=image.width, height=image.height, size=len(content),
                        by_customer=by_customer, uploaded_by=actor if getattr(actor, "pk", None) else None)
    photo.image.save(f"{digest}.{image.extension}", ContentFile(content), save=False)
    photo.save()
    return photo


def photo_add(*, actor: Any, case: RescueCase, content: bytes, caption: Any = "") -> RescuePhoto:
    """A crew photo (or the dispatcher's): images only; stored upright without EXIF (common.uploads)."""
    problems = Problems()
    caption = text_value(caption, "caption", 120, problems)
    problems.raise_if_any()
    image = check_image(content, field="photo")
    with transaction.atomic():
        locked = _locked(case)
        if not actor.has_perm("rescue.dispatch_rescuecase"):
            _require_crew(actor, locked)
        require_store(actor, locked.store_id)
        if locked.status in (CaseStatus.CLOSED, CaseStatus.CANCELLED):
            raise Conflict("case_closed", _("This case is closed."), "status")
        photo = _store_photo(locked, image, caption=caption, actor=actor, by_customer=False)
        _audit(actor, locked, "rescue.photo", {"photo": [None, photo.image.name]})
    return photo


def owner_photo_add(*, customer: Any, case: RescueCase, content: bytes) -> RescuePhoto:
    if case.customer_id != customer.pk:
        raise Forbidden("not_yours", _("Not found, or not visible to you."), "case")
    image = check_image(content, field="photo")
    with transaction.atomic():
        locked = _locked(case)
        if locked.status in (CaseStatus.CLOSED, CaseStatus.CANCELLED):
            raise Conflict("case_closed", _("This case is closed."), "status")
        return _store_photo(locked, image, caption="", actor=None, by_customer=True)


def case_sign(*, actor: Any, case: RescueCase, signature: str, signer_name: Any = "", at: dt.datetime | None = None) -> RescueCase:
    """The customer signs on the crew's phone for the work done or the car taken (a PNG from the canvas)."""
    problems = Problems()
    signer_name = text_value(signer_name, "signer_name", 60, problems)
    problems.raise_if_any()
    content = decode_data_url(signature, field="signature")
    check_image(content, field="signature", max_bytes=MAX_SIGNATURE_BYTES, formats={"PNG": "png"}, clean=False)
    if ink_ratio(content) < 0.002:
        raise ValidationFailed("signature_empty", _("Please sign in the box before confirming."), "signature")
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        _require_crew(actor, locked)
        if locked.status not in (CaseStatus.ON_SCENE, CaseStatus.FIXED, CaseStatus.TOWING):
            raise Conflict("illegal_transition", _("The customer signs on scene."), "status")
        if locked.signed_at:
            raise Conflict("already_signed", _("The customer has already signed."), "signature")
        digest = hashlib.sha256(content).hexdigest()[:16]
        locked.signature.save(f"{digest}.png", ContentFile(content), save=False)
        locked.signer_name = signer_name or locked.caller_name
        locked.signed_at = at
        locked.save(update_fields=["signature", "signer_name", "signed_at"])
        _audit(actor, locked, "rescue.signed", {"signed_by": ["", locked.signer_name]}, at)
    return locked


# ---- towed to the store -------------------------------------------------------------------------------------------
def case_check_in(*, actor: Any, case: RescueCase, at: dt.datetime | None = None) -> Any:
    """The towed car at the store: a reception handover sheet for it, with the crew's photos, without re-entry
    (reception's services); the case is closed. Returns the handover."""
    from aftersales.reception.services import handover_start
    from aftersales.reception.services import photo_add as handover_photo_add

    require(actor, "reception.add_handover")
    require_store(actor, case.store_id)
    at = _now(at)
    with transaction.atomic():
        locked = _locked(case)
        if locked.handover_id:
            raise Conflict("already_checked_in", _("This car has already been checked in."), "handover")
        if locked.status != CaseStatus.AT_STORE:
            raise Conflict("illegal_transition", _("The car is not at the store yet."), "status")
        if locked.vehicle_id is None:
            raise ValidationFailed("vehicle_unknown", _("Link the car to the case first."), "vehicle")
        handover = handover_start(actor=actor, store=locked.store, vehicle=locked.vehicle, at=at)
        words = [str(Incident(locked.incident).label), locked.description, locked.work_done]
        handover.customer_words = " · ".join(w for w in words if w)[:2000]
        handover.save(update_fields=["customer_words"])
        for photo in locked.photos.all():
            with photo.image.open("rb") as fh:
                handover_photo_add(actor=actor, handover=handover, content=fh.read(),
                                   caption=(photo.caption or _("Rescue %(n)s") % {"n": locked.number})[:120])
        locked.handover = handover
        locked.closed_at = at
        _move(locked, CaseStatus.CLOSED, actor, at=at, reason=coded(gettext_noop("Checked in at the store")), also_save=("handover", "closed_at"))
        _audit(actor, locked, "rescue.checked_in", {"handover": [None, handover.pk]}, at)
    return handover


# ---- units and the area -------------------------------------------------------------------------------------------
def unit_save(
    *, actor: Any, store: Any, name: Any, kind: Any, capabilities: Any, crew: list[Any] | None = None, plate: Any = "",
    lat: Any = None, lng: Any = None, unit: RescueUnit | None = None,
) -> RescueUnit:
    require(actor, "rescue.change_rescueunit" if unit else "rescue.add_rescueunit")
    require_store(actor, store.pk)
    problems = Problems()
    name = text_value(name, "name", 60, problems)
    if not name:
        problems.add("required", _("Give the unit a name."), "name")
    kind = choice_value(kind, UnitKind, "kind", problems)
    caps = list(capabilities or [])
    if not isinstance(capabilities, list | tuple) or any(c not in Capability.values for c in caps):
        problems.add("invalid_choice", _("Pick one of the offered choices."), "capabilities")
    plate = text_value(plate, "plate", 20, problems)
    la, ln = clean_point(lat, lng, problems, required=False)
    crew = list(crew or [])
    for member in crew:
        if not member.memberships.filter(store=store).exists():
            problems.add("crew_other_store", _("Every crew member must work at this store."), "crew")
            break
    problems.raise_if_any()
    with transaction.atomic():
        if unit is None:
            if RescueUnit.objects.filter(store=store, name=name).exists():
                raise ValidationFailed("duplicate", _("A unit of this name exists."), "name")
            unit = RescueUnit.objects.create(store=store, name=name, kind=kind, capabilities=sorted(set(caps)), plate=plate, lat=la, lng=ln)
            action = "rescue.unit_created"
        else:
            unit.name, unit.kind, unit.capabilities, unit.plate = name, kind, sorted(set(caps)), plate
            if la is not None:
                unit.lat, unit.lng = la, ln
            try:
                with transaction.atomic():
                    unit.save()
            except IntegrityError as exc:
                raise ValidationFailed("duplicate", _("A unit of this name exists."), "name") from exc
            action = "rescue.unit_changed"
        unit.crew.set(crew)
        audit.record(actor=actor, obj=unit, action=action, store_id=store.pk,
                     changes={"name": [None, name], "capabilities": [None, caps]})
    return unit


def unit_set_duty(*, actor: Any, unit: RescueUnit, on_duty: bool) -> RescueUnit:
    """On duty (available) or off duty; a unit on a job stays on it."""
    require(actor, "rescue.dispatch_rescuecase")
    require_store(actor, unit.store_id)
    target, source = (UnitStatus.AVAILABLE, UnitStatus.OFF_DUTY) if on_duty else (UnitStatus.OFF_DUTY, UnitStatus.AVAILABLE)
    with transaction.atomic():
        changed = RescueUnit.objects.filter(pk=unit.pk, status=source, case__isnull=True).update(status=target)
        if not changed:
            unit.refresh_from_db()
            if unit.status == target:
                return unit
            raise Conflict("unit_busy", _("The unit is on a job."), "status")
        unit.status = target
        audit.record(actor=actor, obj=unit, action="rescue.unit_duty", store_id=unit.store_id, changes={"status": [source, target]})
    return unit


def _time(value: Any, field: str, problems: Problems) -> dt.time | None:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    text = "" if value is None else str(value).strip()
    try:
        hours, minutes = text.split(":")[:2]
        return dt.time(int(hours), int(minutes))
    except (TypeError, ValueError):
        problems.add("time_format" if text else "required", _("Enter a time as HH:MM.") if text else _("Enter the time."), field)
        return None


def shift_save(*, actor: Any, unit: RescueUnit, days: Any, weekdays: Any = (), starts: Any, ends: Any,
               crew: list[Any] | None = None, shift: UnitShift | None = None, crew_field: str = "crew",
               crew_unknown: bool = False) -> UnitShift:
    """A unit's shift: its days (chosen weekdays, or the store's business days, or its weekends and holidays), from
    ``starts`` to ``ends`` (an end at or before the start runs past midnight), and its crew. Every bad field at once;
    a shift that would overlap another shift of the unit, or a crew member's shift on another unit, is refused."""
    require(actor, "rescue.change_rescueunit")
    require_store(actor, unit.store_id)
    if shift is not None and shift.unit_id != unit.pk:
        raise ValidationFailed("shift_other_unit", _("This shift belongs to another unit."), "shift")
    problems = Problems()
    days = choice_value(days, ShiftDays, "days", problems)
    try:
        chosen = sorted({int(d) for d in (weekdays or [])})
    except (TypeError, ValueError):
        chosen = [-1]
    if any(not 0 <= d <= 6 for d in chosen):
        problems.add("invalid_choice", _("Pick one of the offered choices."), "weekdays")
    elif days == ShiftDays.WEEKDAYS and not chosen:
        problems.add("required", _("Pick at least one weekday."), "weekdays")
    start = _time(starts, "starts", problems)
    end = _time(ends, "ends", problems)
    if start is not None and end is not None and start == end:
        problems.add("shift_empty", _("A shift ends at another time than it starts (an earlier end runs past midnight)."), "ends")
    crew = list(crew or [])
    if crew_unknown or any(not m.memberships.filter(store_id=unit.store_id).exists() for m in crew):
        # ``crew_unknown``: the API was given a crew id it could not find (named with the other bad fields)
        problems.add("crew_other_store", _("Every crew member must work at this store."), crew_field)
    problems.raise_if_any()
    assert start is not None and end is not None
    candidate = UnitShift(unit=unit, days=days, weekdays=chosen if days == ShiftDays.WEEKDAYS else [], starts=start, ends=end)
    from .shifts import overlap

    with transaction.atomic():
        # lock the store's units: two managers editing shifts at once are checked one after the other
        list(RescueUnit.objects.select_for_update().filter(store_id=unit.store_id).values_list("pk", flat=True))
        others = UnitShift.objects.filter(unit__store_id=unit.store_id).prefetch_related("crew").select_related("unit")
        if shift is not None:
            others = others.exclude(pk=shift.pk)
        for other in others:
            if not overlap(candidate, other):
                continue
            if other.unit_id == unit.pk:
                raise ValidationFailed("shift_overlap", _("This overlaps the unit's shift %(s)s.") % {
                    "s": f"{other.starts:%H:%M}–{other.ends:%H:%M}"}, "starts")
            busy = [m for m in other.crew.all() if m in crew]
            if busy:
                raise ValidationFailed("crew_double_booked", _("%(name)s is on a shift of %(unit)s at that time.") % {
                    "name": busy[0].get_full_name() or busy[0].get_username(), "unit": other.unit.name}, crew_field)
        before = None
        if shift is None:
            shift = candidate
            shift.save()
        else:
            shift = UnitShift.objects.select_for_update().get(pk=shift.pk)
            before = [shift.days, shift.weekdays, f"{shift.starts:%H:%M}", f"{shift.ends:%H:%M}"]
            shift.days, shift.weekdays, shift.starts, shift.ends = candidate.days, candidate.weekdays, start, end
            shift.save()
        shift.crew.set(crew)
        audit.record(actor=actor, obj=unit, action="rescue.shift_saved", store_id=unit.store_id, changes={
            "shift": [before, [days, candidate.weekdays, f"{start:%H:%M}", f"{end:%H:%M}"]],
            "crew": [None, [m.pk for m in crew]]})
    return shift


def shift_delete(*, actor: Any, shift: UnitShift) -> None:
    require(actor, "rescue.change_rescueunit")
    require_store(actor, shift.unit.store_id)
    with transaction.atomic():
        deleted, _rows = UnitShift.objects.filter(pk=shift.pk).delete()
        if deleted:
            audit.record(actor=actor, obj=shift.unit, action="rescue.shift_deleted", store_id=shift.unit.store_id,
                         changes={"shift": [[shift.days, shift.weekdays, f"{shift.starts:%H:%M}", f"{shift.ends:%H:%M}"], None]})


def area_save(*, actor: Any, store: Any, base_lat: Any, base_lng: Any, speed_kmh: Any = None, detour_factor: Any = None,
              prep_minutes: Any = None, hotline: Any = "") -> RescueArea:
    require(actor, "rescue.change_rescuearea")
    require_store(actor, store.pk)
    problems = Problems()
    la, ln = clean_point(base_lat, base_lng, problems, prefix="base_")
    numbers: dict[str, Any] = {}
    for field, value, lo, hi in (("speed_kmh", speed_kmh, 5, 150), ("detour_factor", detour_factor, 1, 3), ("prep_minutes", prep_minutes, 0, 120)):
        if value in (None, ""):
            continue
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            number = Decimal("NaN")
        if not number.is_finite() or not lo <= number <= hi:
            problems.add("number_range", _("Between %(lo)s and %(hi)s.") % {"lo": lo, "hi": hi}, field)
        else:
            numbers[field] = int(number) if field == "prep_minutes" else number.quantize(Decimal("0.01"))
    hotline = text_value(hotline, "hotline", 30, problems)
    problems.raise_if_any()
    with transaction.atomic():
        area, _created = RescueArea.objects.select_for_update().get_or_create(store=store, defaults={"base_lat": la, "base_lng": ln})
        area.base_lat, area.base_lng, area.hotline = la, ln, hotline
        for k, v in numbers.items():
            setattr(area, k, v)
        area.save()
        audit.record(actor=actor, obj=area, action="rescue.area_saved", store_id=store.pk,
                     changes={"base": [None, [str(la), str(ln)]], **{k: [None, str(v)] for k, v in numbers.items()}})
    return area


def area_calibrate(*, store: Any, now: dt.datetime | None = None, days: int = 90) -> RescueArea | None:
    """The detour factor from the store's past arrivals (promised distance vs the real travel time). Idempotent."""
    area = _area(store)
    if area is None:
        return None
    now = _now(now)
    rows = RescueCase.objects.filter(
        store=store, on_scene_at__isnull=False, dispatched_at__isnull=False, promised_km__isnull=False,
        on_scene_at__gte=now - dt.timedelta(days=days),
    ).values_list("promised_km", "dispatched_at", "on_scene_at")[:2000]
    samples = [(float(km), (arrived - sent).total_seconds() / 60 - area.prep_minutes) for km, sent, arrived in rows
               if km is not None and sent is not None and arrived is not None]
    factor = eta.calibrated_detour(samples, speed_kmh=float(area.speed_kmh), current=area.detour_factor)
    with transaction.atomic():
        before = area.detour_factor
        area.detour_factor, area.calibrated_at, area.calibration_samples = factor, now, len(samples)
        area.save(update_fields=["detour_factor", "calibrated_at", "calibration_samples"])
        if before != factor:
            audit.record(actor=None, obj=area, action="rescue.calibrated", store_id=store.pk,
                         changes={"detour_factor": [str(before), str(factor)]}, at=now)
    return area


# ---- escalation ---------------------------------------------------------------------------------------------------
def escalation_sweep(*, now: dt.datetime | None = None) -> int:
    """Every minute: a task on the dispatcher's board when no unit is sent within 5 minutes, when the crew has not
    accepted within the store's limit, or when the unit is not on scene by the promised time. Once per case and kind
    (a unique row), so running twice or concurrently raises nothing twice. Returns the alerts raised."""
    now = _now(now)
    raised = 0
    areas = {a.store_id: a for a in RescueArea.objects.all()}
    checks: list[tuple[str, Any]] = []
    for case in RescueCase.objects.filter(status__in=(CaseStatus.DRAFT, CaseStatus.REQUESTED, CaseStatus.ACCEPTED)).only("id", "requested_at", "store_id"):
        late = (now - case.requested_at).total_seconds() / 60 - UNASSIGNED_AFTER_MINUTES
        if late > 0:
            checks.append((AlertKind.UNASSIGNED, (case, late)))
    for case in RescueCase.objects.filter(status=CaseStatus.DISPATCHED, dispatched_at__isnull=False).only("id", "dispatched_at", "store_id"):
        limit = areas[case.store_id].accept_within_minutes if case.store_id in areas else 5
        if case.dispatched_at is None:
            continue
        late = (now - case.dispatched_at).total_seconds() / 60 - limit
        if late > 0:
            checks.append((AlertKind.ACCEPTANCE_LATE, (case, late)))
    for case in RescueCase.objects.filter(status__in=(CaseStatus.DISPATCHED, CaseStatus.EN_ROUTE), promised_at__lt=now).only("id", "promised_at", "store_id"):
        if case.promised_at is not None:
            checks.append((AlertKind.ARRIVAL_LATE, (case, (now - case.promised_at).total_seconds() / 60)))
    for kind, (case, late) in checks:
        try:
            with transaction.atomic():
                _alert, created = RescueAlert.objects.get_or_create(
                    case=case, kind=kind, defaults={"raised_at": now, "minutes_late": int(late)})
                if created:
                    audit.record(actor=None, obj=case, action="rescue.escalated", store_id=case.store_id,
                                 changes={"alert": [None, kind]}, at=now)
        except IntegrityError:
            continue
        raised += int(created)
    return raised


def alert_done(*, actor: Any, alert: RescueAlert, at: dt.datetime | None = None) -> RescueAlert:
    require(actor, "rescue.dispatch_rescuecase")
    require_store(actor, alert.case.store_id)
    at = _now(at)
    with transaction.atomic():
        RescueAlert.objects.filter(pk=alert.pk, done_at__isnull=True).update(done_at=at, done_by=actor)
        alert.refresh_from_db()
        audit.record(actor=actor, obj=alert.case, action="rescue.alert_done", store_id=alert.case.store_id,
                     changes={"alert": [alert.kind, None]}, at=at)
    return alert
