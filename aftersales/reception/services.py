"""Reception: the handover sheet and the inquiry of an arriving car, the customer's signature, and the repair order
it opens (SPEC §3). Writes only; reads are in selectors.py."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from aftersales.common import audit
from aftersales.common.errors import Conflict, Problems, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded, coded_label
from aftersales.common.transitions import move
from aftersales.common.uploads import check_image, decode_data_url, ink_ratio

from .choices import (
    EXTRA_REQUEST_JOBS,
    HANDOVER_TRANSITIONS,
    Condition,
    DamageKind,
    DrivingCondition,
    ExtraRequest,
    Frequency,
    HandoverStatus,
    SignedVia,
    Since,
)
from .models import DamageMark, Handover, HandoverEvent, HandoverPhoto

SIGN_SALT = "aftersales.reception.handover-sign"
SIGN_MAX_AGE = 3 * 24 * 3600  # the signing link works for three days
MAX_PHOTOS = 40
MAX_SIGNATURE_BYTES = 1024 * 1024
MAX_KM = 3_000_000

EDITABLE_FIELDS = (
    "mileage", "energy_level", "exterior", "exterior_notes", "interior", "interior_notes", "belongings",
    "warning_lights", "since", "frequency", "conditions", "customer_words", "restatement", "extra_requests",
    "promised_at",
)


# ---- validation ---------------------------------------------------------------------------------------------------
def _int_in(value: Any, field: str, lo: int, hi: int, message: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("number_format", message, field) from exc
    if not number.is_finite() or number != number.to_integral_value() or not lo <= number <= hi:
        raise ValidationFailed("number_range", message, field)
    return int(number)


def _choice(value: Any, choices: Any, field: str, *, blank: bool = True) -> str:
    value = "" if value is None else str(value)
    if value == "" and blank:
        return ""
    if value not in choices.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": value}, field)
    return value


def _choices_list(value: Any, choices: Any, field: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in value.split(",") if v]
    if not isinstance(value, list | tuple):
        raise ValidationFailed("invalid_choice", _("Pick from the list."), field)
    out = []
    for item in value:
        out.append(_choice(item, choices, field, blank=False))
    return list(dict.fromkeys(out))


def _text(value: Any, field: str, limit: int) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        raise ValidationFailed("too_long", _("Keep this under %(n)s characters.") % {"n": limit}, field)
    return text


def _datetime(value: Any, field: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        when = value
    else:
        try:
            when = dt.datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ValidationFailed("datetime_format", _("Enter a date and time such as 2026-12-01 17:30."), field) from exc
    if timezone.is_naive(when):
        raise ValidationFailed("datetime_zone", _("Give the time with its time zone."), field)
    return when


def clean_sheet(data: dict[str, Any], *, store: Any, problems: Problems | None = None) -> dict[str, Any]:
    """Every editable field of the sheet checked; unknown keys are ignored. Every bad field is named at once (into
    ``problems`` when the caller checks more, otherwise raised here)."""
    own = problems is None
    problems = Problems() if problems is None else problems
    out: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        if name not in data:
            continue
        with problems.field():
            out[name] = _sheet_value(name, data[name])
    if own:
        problems.raise_if_any()
    return out


def _sheet_value(name: str, value: Any) -> Any:
    if name == "mileage":
        return _int_in(value, name, 0, MAX_KM, _("Enter the odometer reading in km (a whole number)."))
    if name == "energy_level":
        return _int_in(value, name, 0, 100, _("Enter the fuel or charge level from 0 to 100%."))
    if name in ("exterior", "interior"):
        return _choice(value or Condition.GOOD, Condition, name, blank=False)
    if name == "since":
        return _choice(value, Since, name)
    if name == "frequency":
        return _choice(value, Frequency, name)
    if name == "conditions":
        return _choices_list(value, DrivingCondition, name)
    if name == "extra_requests":
        return _choices_list(value, ExtraRequest, name)
    if name in ("customer_words", "restatement"):
        return _text(value, name, 2000)
    if name == "promised_at":
        return _datetime(value, name)
    return _text(value, name, 300 if name != "warning_lights" else 200)


def _editable(handover: Handover) -> None:
    if handover.status == HandoverStatus.SIGNED:
        raise Conflict("handover_signed", _("The customer has signed this sheet; it can no longer be changed."), "status")


def _locked(handover: Handover) -> Handover:
    return Handover.objects.select_for_update().get(pk=handover.pk)


def _move(handover: Handover, to: str, actor: Any, reason: str = "", at: dt.datetime | None = None) -> None:
    move(
        handover, to=to, actor=actor, transitions=HANDOVER_TRANSITIONS, event_model=HandoverEvent, event_fk="handover",
        labels=HandoverStatus, reason=reason, at=at,
    )


def _void_link(handover: Handover, actor: Any) -> None:
    """A change after the signing link went out: the customer must see the new sheet, so the old link stops."""
    if handover.status == HandoverStatus.AWAITING_SIGNATURE:
        _move(handover, HandoverStatus.DRAFT, actor, reason=coded(gettext_noop("Sheet changed after the link was sent")))


# ---- services -----------------------------------------------------------------------------------------------------
def handover_start(
    *, actor: Any, store: Any = None, vehicle: Any = None, appointment: Any = None, at: dt.datetime | None = None
) -> Handover:
    """Begin the sheet for an arriving car: from today's appointment (marked arrived) or for a vehicle (walk-in)."""
    require(actor, "reception.add_handover")
    at = at or timezone.now()
    if appointment is not None:
        store, vehicle = appointment.store, appointment.vehicle
    if store is None or vehicle is None:
        raise ValidationFailed("required", _("Pick the appointment or the vehicle."), "vehicle")
    require_store(actor, store.pk)
    with transaction.atomic():
        if appointment is not None:
            from aftersales.appointments.choices import AppointmentStatus
            from aftersales.appointments.models import Appointment
            from aftersales.appointments.services import appointment_arrive

            locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
            existing = Handover.objects.filter(appointment=locked).first()
            if existing is not None:
                return existing  # the same arrival twice (double click, two tabs): one sheet
            if locked.status == AppointmentStatus.BOOKED:
                appointment_arrive(actor=actor, appointment=locked)
            elif locked.status != AppointmentStatus.ARRIVED:
                raise Conflict(
                    "appointment_closed", _("This appointment was cancelled or missed; start from the vehicle."), "appointment"
                )
        handover = Handover.objects.create(
            store=store, customer=vehicle.owner, vehicle=vehicle, appointment=appointment,
            advisor=(appointment.advisor if appointment is not None and appointment.advisor_id else actor),
            mileage=None, customer_words=(appointment.fault_description if appointment is not None else ""),
            created_by=actor, created_at=at,
        )
        HandoverEvent.objects.create(handover=handover, from_state="", to_state=HandoverStatus.DRAFT, actor=actor, at=at)
        audit.record(
            actor=actor, obj=handover, action="handover.started", store_id=store.pk, customer_id=vehicle.owner_id,
            changes={"appointment": [None, appointment.pk if appointment is not None else None]}, at=at,
        )
    return handover


def handover_check(*, handover: Handover, data: dict[str, Any]) -> None:
    """The checks of ``handover_update`` on the fields given, writing nothing (a form whose own checks failed shows
    these problems at the same time: ``DomainForm.check_rest``)."""
    _sheet_problems(handover, data).raise_if_any()


def _sheet_problems(handover: Handover, data: dict[str, Any], values: dict[str, Any] | None = None) -> Problems:
    problems = Problems()
    out = clean_sheet(data, store=handover.store, problems=problems)
    if values is not None:
        values.update(out)
    if out.get("mileage") is not None:
        # the vehicle's reading as stored now (the handover's vehicle object may be older than the last reading)
        last = type(handover.vehicle).objects.filter(pk=handover.vehicle_id).values_list(
            "current_mileage", flat=True).first() or 0
        if out["mileage"] < last:
            problems.add(
                "km_backwards",
                _("The odometer shows less than the last reading (%(km)s km). Check it, or record a correction on the vehicle first.")
                % {"km": f"{last:,}"},
                "mileage",
            )
    return problems


def handover_update(*, actor: Any, handover: Handover, data: dict[str, Any]) -> Handover:
    """Save the sheet's fields (all checked first: every bad field is named and nothing changes)."""
    require(actor, "reception.change_handover")
    require_store(actor, handover.store_id)
    values: dict[str, Any] = {}
    problems = _sheet_problems(handover, data, values)
    problems.raise_if_any()  # every bad field named together, nothing saved
    with transaction.atomic():
        locked = _locked(handover)
        _editable(locked)
        before = audit.snapshot(locked, list(values))
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*values, "updated_at"])
        changes = audit.diff(before, audit.snapshot(locked, list(values)))
        if changes:
            _void_link(locked, actor)
            audit.record(
                actor=actor, obj=locked, action="handover.updated", store_id=locked.store_id,
                customer_id=locked.customer_id, changes=changes,
            )
    return locked


# ---- the handover pieces other sheets reuse (courtesy-car contracts, the driver's door-step sheet) ----------------
def outline_point(value: Any, field: str) -> Decimal:
    """One coordinate of a tap on the car outline: a percentage 0-100, two decimals."""
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("number_format", _("Tap on the car outline to mark the damage."), field) from exc
    if not number.is_finite() or not 0 <= number <= 100:
        raise ValidationFailed("number_range", _("Tap on the car outline to mark the damage."), field)
    return number


def signature_png(value: Any, field: str = "signature") -> bytes:
    """The customer's signature from the signing canvas: a PNG data URL, within the size cap, with ink on it."""
    if not value:
        raise ValidationFailed("signature_empty", _("Please sign in the box before confirming."), field)
    content = decode_data_url(str(value), field=field)
    check_image(content, field=field, max_bytes=MAX_SIGNATURE_BYTES, formats={"PNG": "png"}, clean=False)
    if ink_ratio(content) < 0.002:
        raise ValidationFailed("signature_empty", _("Please sign in the box before confirming."), field)
    return content


def damage_mark_add(*, actor: Any, handover: Handover, x: Any, y: Any, kind: str = DamageKind.SCRATCH, note: str = "") -> DamageMark:
    require(actor, "reception.change_handover")
    require_store(actor, handover.store_id)
    coords = [outline_point(x, "x"), outline_point(y, "y")]
    kind = _choice(kind or DamageKind.SCRATCH, DamageKind, "kind", blank=False)
    note = _text(note, "note", 200)
    with transaction.atomic():
        locked = _locked(handover)
        _editable(locked)
        if DamageMark.objects.filter(handover=locked).count() >= 60:
            raise ValidationFailed("too_many", _("At most 60 damage marks per sheet."), "x")
        mark = DamageMark.objects.create(handover=locked, x=coords[0], y=coords[1], kind=kind, note=note)
        _void_link(locked, actor)
        audit.record(
            actor=actor, obj=locked, action="handover.damage_marked", store_id=locked.store_id,
            customer_id=locked.customer_id, changes={"damage": [None, f"{kind} ({coords[0]}, {coords[1]}) {note}".strip()]},
        )
    return mark


def damage_mark_remove(*, actor: Any, mark: DamageMark) -> None:
    require(actor, "reception.change_handover")
    require_store(actor, mark.handover.store_id)
    with transaction.atomic():
        locked = _locked(mark.handover)
        _editable(locked)
        audit.record(
            actor=actor, obj=locked, action="handover.damage_removed", store_id=locked.store_id,
            customer_id=locked.customer_id, changes={"damage": [f"{mark.kind} ({mark.x}, {mark.y})", None]},
        )
        mark.delete()
        _void_link(locked, actor)


def photo_add(
    *, actor: Any, handover: Handover, content: bytes, caption: str = "", mark: DamageMark | None = None
) -> HandoverPhoto:
    """A photo of the car or of a marked damage: images only, within the size cap (checked before storing)."""
    require(actor, "reception.change_handover")
    require_store(actor, handover.store_id)
    image = check_image(content, field="photo")
    caption = _text(caption, "caption", 120)
    if mark is not None and mark.handover_id != handover.pk:
        raise ValidationFailed("mark_not_on_sheet", _("This damage mark is on another sheet."), "mark")
    with transaction.atomic():
        locked = _locked(handover)
        _editable(locked)
        if HandoverPhoto.objects.filter(handover=locked).count() >= MAX_PHOTOS:
            raise ValidationFailed("too_many", _("At most %(n)s photos per sheet.") % {"n": MAX_PHOTOS}, "photo")
        content = image.content  # upright, without EXIF
        digest = hashlib.sha256(content).hexdigest()[:16]
        photo = HandoverPhoto(
            handover=locked, mark=mark, caption=caption, width=image.width, height=image.height, size=len(content),
            uploaded_by=actor,
        )
        photo.image.save(f"{digest}.{image.extension}", ContentFile(content), save=False)
        photo.save()
        _void_link(locked, actor)
        audit.record(
            actor=actor, obj=locked, action="handover.photo", store_id=locked.store_id, customer_id=locked.customer_id,
            changes={"photo": [None, photo.image.name]},
        )
    return photo


def _ready_to_sign(handover: Handover) -> None:
    problems = Problems()
    if handover.mileage is None:
        problems.add("required", _("Enter the mileage before the customer signs."), "mileage")
    if handover.energy_level is None:
        problems.add("required", _("Enter the fuel or charge level before the customer signs."), "energy_level")
    problems.raise_if_any()


def signing_token(handover: Handover) -> str:
    """The link's token: names the sheet and the moment it was sent, so a changed sheet needs a new link."""
    last = handover.events.filter(to_state=HandoverStatus.AWAITING_SIGNATURE).order_by("-at", "-id").first()
    return signing.dumps({"h": handover.pk, "e": last.pk if last else 0}, salt=SIGN_SALT, compress=True)


def signing_url(handover: Handover) -> str:
    return f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}/h/{signing_token(handover)}/"


def handover_from_token(token: str, *, max_age: int = SIGN_MAX_AGE) -> Handover:
    """The sheet a customer's link names; refused when tampered with, expired, or voided by a later change."""
    from aftersales.common.errors import NotFound

    try:
        data = signing.loads(token, salt=SIGN_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise Conflict("link_expired", _("This link has expired. Ask your service advisor for a new one."), "token") from exc
    except signing.BadSignature as exc:
        raise NotFound("link_invalid", _("This link is not valid."), "token") from exc
    handover = Handover.objects.select_related("store", "customer", "vehicle").filter(pk=data.get("h")).first()
    if handover is None:
        raise NotFound("link_invalid", _("This link is not valid."), "token")
    last = handover.events.filter(to_state=HandoverStatus.AWAITING_SIGNATURE).order_by("-at", "-id").first()
    if handover.status == HandoverStatus.DRAFT or (last is not None and last.pk != data.get("e")):
        raise Conflict("link_replaced", _("The sheet was changed after this link was sent. Ask your service advisor for a new one."), "token")
    return handover


def handover_request_signature(*, actor: Any, handover: Handover) -> Handover:
    """Send the customer a link to read and sign the sheet on their phone (through the outbox)."""
    require(actor, "reception.change_handover")
    require_store(actor, handover.store_id)
    from aftersales.messaging.services import customer_variables, message_enqueue

    with transaction.atomic():
        locked = _locked(handover)
        _ready_to_sign(locked)
        if locked.status == HandoverStatus.SIGNED:
            raise Conflict("handover_signed", _("The customer has already signed this sheet."), "status")
        if locked.status == HandoverStatus.AWAITING_SIGNATURE:
            _move(locked, HandoverStatus.DRAFT, actor, reason=coded(gettext_noop("New link requested")))
        _move(locked, HandoverStatus.AWAITING_SIGNATURE, actor)
        language = getattr(locked.customer, "language", "") or "zh-hans"
        with override(language):
            variables = {
                **customer_variables(customer=locked.customer, store=locked.store),
                "plate": locked.vehicle.plate, "link": signing_url(locked),
            }
        event = locked.events.order_by("-at", "-id").first()
        message_enqueue(
            kind="reception.handover_sign", store=locked.store, customer=locked.customer, variables=variables,
            dedup_key=f"handover-sign:{locked.pk}:{event.pk if event else 0}",
        )
        audit.record(
            actor=actor, obj=locked, action="handover.link_sent", store_id=locked.store_id, customer_id=locked.customer_id,
            changes={"status": [HandoverStatus.DRAFT, HandoverStatus.AWAITING_SIGNATURE]},
        )
    return locked


def handover_sign(
    *, handover: Handover, signature: str, signer_name: str = "", via: str = SignedVia.SCREEN, actor: Any = None,
    at: dt.datetime | None = None, token: str | None = None,
) -> Handover:
    """The customer's signature (a PNG from the signing canvas): on the advisor's screen (``actor`` given) or on the
    customer's phone through the link (``token`` given, checked again under the lock)."""
    if via == SignedVia.SCREEN:
        require(actor, "reception.change_handover")
        require_store(actor, handover.store_id)
    elif via == SignedVia.LINK:
        if not token or handover_from_token(token).pk != handover.pk:
            raise ValidationFailed("link_invalid", _("This link is not valid."), "token")
    else:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": via}, "via")
    content = signature_png(signature)
    signer_name = _text(signer_name, "signer_name", 60) or handover.customer.name
    at = at or timezone.now()
    with transaction.atomic():
        locked = _locked(handover)
        if locked.status == HandoverStatus.SIGNED:
            raise Conflict("handover_signed", _("The customer has already signed this sheet."), "status")
        if via == SignedVia.LINK and locked.status != HandoverStatus.AWAITING_SIGNATURE:
            raise Conflict("link_replaced", _("The sheet was changed after this link was sent. Ask your service advisor for a new one."), "token")
        _ready_to_sign(locked)
        digest = hashlib.sha256(content).hexdigest()[:16]
        locked.signature.save(f"{digest}.png", ContentFile(content), save=False)
        locked.signer_name, locked.signed_at, locked.signed_via = signer_name, at, via
        locked.save(update_fields=["signature", "signer_name", "signed_at", "signed_via", "updated_at"])
        _move(locked, HandoverStatus.SIGNED, actor, reason=coded_label(SignedVia(via).label), at=at)
        audit.record(
            actor=actor, obj=locked, action="handover.signed", store_id=locked.store_id, customer_id=locked.customer_id,
            changes={"status": [HandoverStatus.DRAFT, HandoverStatus.SIGNED]}, reason=via, at=at,
        )
    return locked


def compose_complaint(handover: Handover) -> str:
    """The repair order's request, in the store's language, from the inquiry."""
    parts = []
    if handover.customer_words:
        parts.append(handover.customer_words)
    details = []
    if handover.since:
        details.append(str(Since(handover.since).label))
    if handover.frequency:
        details.append(str(Frequency(handover.frequency).label))
    if handover.conditions:
        details.append("、".join(str(DrivingCondition(c).label) for c in handover.conditions))
    if details:
        parts.append(" / ".join(details))
    if handover.restatement:
        parts.append(handover.restatement)
    return "\n".join(parts)


def handover_open_order(*, actor: Any, handover: Handover, at: dt.datetime | None = None) -> Any:
    """Open the repair order in "checked in" from the sheet: mileage recorded, the inquiry as the request, extra
    requests as proposed jobs at no charge, the booking's standard job proposed. One order per sheet."""
    require(actor, "reception.change_handover")
    require_store(actor, handover.store_id)
    from aftersales.workshop.choices import JobType
    from aftersales.workshop.services import repair_job_add, repair_order_check_in

    at = at or timezone.now()
    with transaction.atomic():
        locked = _locked(handover)
        if locked.order is not None:
            raise Conflict("order_exists", _("This sheet has already opened repair order %(n)s.") % {"n": locked.order.number}, "order")
        problems = Problems()  # everything still missing on the sheet, said at once
        if locked.mileage is None:
            problems.add("required", _("Enter the mileage before opening the repair order."), "mileage")
        if locked.energy_level is None:
            problems.add("required", _("Enter the fuel or charge level before opening the repair order."), "energy_level")
        if not (locked.customer_words or locked.restatement or locked.appointment_id):
            problems.add("required", _("Write down what the customer asks for."), "customer_words")
        if locked.promised_at is not None and locked.promised_at < at:
            problems.add("promised_in_past", _("The promised time must be after check-in."), "promised_at")
        problems.raise_if_any()
        appointment = locked.appointment
        with override(settings.LANGUAGE_CODE):
            complaint = compose_complaint(locked)
        order = repair_order_check_in(
            actor=actor, store=locked.store, customer=locked.customer, vehicle=locked.vehicle,
            advisor=locked.advisor, appointment=appointment, mileage=locked.mileage, complaint=complaint,
            promised_at=locked.promised_at, at=at,
            keep_old_parts=ExtraRequest.KEEP_OLD_PARTS in (locked.extra_requests or []),
        )
        if appointment is not None:
            canned = appointment.canned_job
            title = canned.name if canned is not None else appointment.service_type.name_in(settings.LANGUAGE_CODE)
            repair_job_add(
                actor=actor, order=order, title=title,
                job_type=JobType.MAINTENANCE if appointment.service_type.kind == "maintenance" else JobType.REPAIR,
                required_skill=appointment.service_type.required_skill or "", at=at,
            )
        with override(settings.LANGUAGE_CODE):
            for request in locked.extra_requests:
                if request in EXTRA_REQUEST_JOBS:
                    repair_job_add(
                        actor=actor, order=order, title=str(ExtraRequest(request).label), job_type=JobType.OTHER, at=at,
                    )
        locked.order = order
        locked.save(update_fields=["order", "updated_at"])
        audit.record(
            actor=actor, obj=locked, action="handover.order_opened", store_id=locked.store_id,
            customer_id=locked.customer_id, changes={"order": [None, order.number]}, at=at,
        )
    return order


def handover_attach_appointment(*, actor: Any, handover: Handover, appointment: Any) -> Handover:
    """Name the booking a sheet belongs to without marking the customer arrived: a sheet started away from the
    counter (the pickup driver's, at the owner's door) opens that booking's repair order later at check-in."""
    require(actor, "reception.change_handover")
    require_store(actor, handover.store_id)
    if appointment.store_id != handover.store_id or appointment.vehicle_id != handover.vehicle_id:
        raise ValidationFailed("appointment_mismatch", _("The appointment is for another store, customer or vehicle."), "appointment")
    with transaction.atomic():
        locked = _locked(handover)
        if locked.appointment_id == appointment.pk:
            return locked
        if locked.appointment_id is not None or Handover.objects.filter(appointment_id=appointment.pk).exists():
            raise Conflict("appointment_has_sheet", _("This appointment already has a handover sheet."), "appointment")
        locked.appointment = appointment
        locked.save(update_fields=["appointment", "updated_at"])
        audit.record(actor=actor, obj=locked, action="handover.appointment_attached", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"appointment": [None, appointment.pk]})
    return locked
