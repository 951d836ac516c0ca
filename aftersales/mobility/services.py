"""Courtesy cars (代步车): writes only (reads are in selectors.py). Every service checks every field first and
refuses with all the bad fields at once (``extra["errors"]``), then writes in one transaction with an audit row.

No double booking: ``courtesy_book`` takes the car's row for writing before it looks for overlaps (on SQLite the
first write serializes the transaction; on PostgreSQL it is a row lock), and on PostgreSQL an exclusion
constraint (btree_gist, ``tstzrange``; migration 0002) refuses an overlap whatever path wrote it."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common import audit
from aftersales.common.errors import Conflict, DomainError, ValidationFailed
from aftersales.common.money import parse_money, q
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.transitions import move
from aftersales.common.uploads import check_image
from aftersales.common.validators import normalize_plate, normalize_vin, parse_date
from aftersales.reception.choices import DamageKind

from .choices import (
    BOOKING_TRANSITIONS,
    COURTESY_CAR_CODE,
    HOLDING_STATES,
    BookingStatus,
    CarCondition,
    ChargeRoute,
    CourtesyBenefit,
    Energy,
    Phase,
    SupplementStatus,
    WaitStatus,
)
from .models import (
    CourtesyBooking,
    CourtesyBookingEvent,
    CourtesyCar,
    CourtesyDamageMark,
    CourtesyPhoto,
    DoNotLend,
    SupplementaryCharge,
    WaitlistEntry,
)

MAX_KM = 3_000_000
MAX_PHOTOS = 40
MAX_SIGNATURE_BYTES = 1024 * 1024
MAX_DAYS = 60  # the longest single lend
PAST_GRACE = dt.timedelta(minutes=15)  # a booking may start a little before now (the customer is at the desk)


class Problems:
    """Collects the bad fields of one request; ``raise_if_any`` refuses with all of them."""

    def __init__(self) -> None:
        self.items: list[DomainError] = []

    def check(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            self.items.append(exc)
            return None

    def add(self, code: str, message: Any, field: str) -> None:
        self.items.append(ValidationFailed(code, message, field))

    def has(self, field: str) -> bool:
        return any(p.field == field for p in self.items)

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            raise ValidationFailed(
                first.code, first.message, first.field,
                errors=[{"code": p.code, "field": p.field, "message": str(p.message)} for p in self.items],
            )


# ---- field checks -------------------------------------------------------------------------------------------------
def _int_in(value: Any, field: str, lo: int, hi: int, message: str, *, required: bool = True) -> int | None:
    if value in (None, ""):
        if required:
            raise ValidationFailed("required", message, field)
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("number_format", message, field) from exc
    if not number.is_finite() or number != number.to_integral_value() or not lo <= number <= hi:
        raise ValidationFailed("number_range", message, field)
    return int(number)


def _text(value: Any, field: str, limit: int, *, required_message: str = "") -> str:
    text = "" if value is None else str(value).strip()
    if not text and required_message:
        raise ValidationFailed("required", required_message, field)
    if len(text) > limit:
        raise ValidationFailed("too_long", _("Keep this under %(n)s characters.") % {"n": limit}, field)
    return text


def _choice(value: Any, choices: Any, field: str) -> str:
    value = "" if value is None else str(value)
    if value not in choices.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": value}, field)
    return value


def _when(value: Any, field: str) -> dt.datetime:
    if value in (None, ""):
        raise ValidationFailed("required", _("Enter a date and time such as 2026-12-01 17:30."), field)
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


def _date(value: Any, field: str, message: str) -> dt.date:
    if value in (None, ""):
        raise ValidationFailed("required", message, field)
    day = parse_date(value, field)
    if day is None:
        raise ValidationFailed("required", message, field)
    return day


def _money(value: Any, field: str) -> Decimal:
    return parse_money(0 if value in (None, "") else value, field)


def _signature(value: Any, field: str) -> bytes:
    """Reception's signature check (the same canvas, the same rules as the handover sheet)."""
    from aftersales.reception.services import signature_png

    return signature_png(value, field)


def _local(store: Any, when: dt.datetime) -> str:
    return timezone.localtime(when, store.zone).strftime("%Y-%m-%d %H:%M")


def _move(booking: CourtesyBooking, to: str, actor: Any, reason: str = "", at: dt.datetime | None = None,
          also_save: tuple[str, ...] = ()) -> None:
    move(booking, to=to, actor=actor, transitions=BOOKING_TRANSITIONS, event_model=CourtesyBookingEvent,
         event_fk="booking", labels=BookingStatus, reason=reason[:300], at=at, also_save=also_save)


# ---- the fleet ----------------------------------------------------------------------------------------------------
def courtesy_car_add(
    *, actor: Any, store: Any, plate: Any, vin: Any, model_name: Any, energy: Any = Energy.FUEL, insurance_expires: Any,
    condition: Any = CarCondition.GOOD, mileage: Any = 0, fuel_rate: Any = "5", late_rate: Any = "50", day_rate: Any = "0",
) -> CourtesyCar:
    """Add a car to the store's courtesy fleet."""
    require(actor, "mobility.add_courtesycar")
    require_store(actor, store.pk)
    p = Problems()
    plate = p.check(normalize_plate, str(plate or ""), "plate")
    if plate == "" and not p.has("plate"):
        p.add("required", _("Enter the plate."), "plate")
    vin = p.check(normalize_vin, str(vin or ""), "vin")
    if not vin and not p.has("vin"):
        p.add("required", _("Enter the VIN."), "vin")
    model_name = p.check(_text, model_name, "model_name", 80, required_message=_("Name the model."))
    energy = p.check(_choice, energy or Energy.FUEL, Energy, "energy")
    expires = p.check(_date, insurance_expires, "insurance_expires", _("Enter the date the insurance runs until."))
    condition = p.check(_choice, condition or CarCondition.GOOD, CarCondition, "condition")
    km = p.check(_int_in, mileage or 0, "mileage", 0, MAX_KM, _("Enter the odometer reading in km (a whole number)."))
    fuel = p.check(_money, fuel_rate, "fuel_rate")
    late = p.check(_money, late_rate, "late_rate")
    rent = p.check(_money, day_rate, "day_rate")
    if plate and CourtesyCar.objects.filter(store=store, plate=plate).exists():
        p.add("duplicate", _("This store already has a courtesy car with this plate."), "plate")
    p.raise_if_any()
    with transaction.atomic():
        car = CourtesyCar.objects.create(
            store=store, plate=plate, vin=vin, model_name=model_name, energy=energy, insurance_expires=expires,
            condition=condition, mileage=km, fuel_rate=fuel, late_rate=late, day_rate=rent,
        )
        audit.record(actor=actor, obj=car, action="courtesy_car.added", store_id=store.pk,
                     changes={"plate": [None, plate], "vin": [None, vin]})
    return car


def courtesy_car_update(*, actor: Any, car: CourtesyCar, condition: Any = None, insurance_expires: Any = None,
                        is_active: Any = None) -> CourtesyCar:
    """Change what the fleet manager keeps up to date: condition, insurance, in or out of the fleet."""
    require(actor, "mobility.change_courtesycar")
    require_store(actor, car.store_id)
    p = Problems()
    values: dict[str, Any] = {}
    if condition not in (None, ""):
        values["condition"] = p.check(_choice, condition, CarCondition, "condition")
    if insurance_expires not in (None, ""):
        values["insurance_expires"] = p.check(_date, insurance_expires, "insurance_expires", _("Enter the date the insurance runs until."))
    if is_active is not None:
        values["is_active"] = bool(is_active)
    p.raise_if_any()
    with transaction.atomic():
        locked = CourtesyCar.objects.select_for_update().get(pk=car.pk)
        before = audit.snapshot(locked, list(values))
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(values) or None)
        changes = audit.diff(before, audit.snapshot(locked, list(values)))
        if changes:
            audit.record(actor=actor, obj=locked, action="courtesy_car.updated", store_id=locked.store_id, changes=changes)
    return locked


def do_not_lend_add(*, actor: Any, store: Any, customer: Any, reason: Any) -> DoNotLend:
    require(actor, "mobility.add_donotlend")
    require_store(actor, store.pk)
    reason = _text(reason, "reason", 300, required_message=_("Say why no car is lent to this customer."))
    with transaction.atomic():
        entry, created = DoNotLend.objects.get_or_create(
            customer=customer, defaults={"store": store, "reason": reason, "added_by": actor},
        )
        if not created:
            raise Conflict("already_listed", _("This customer is already on the do-not-lend list."), "customer")
        audit.record(actor=actor, obj=entry, action="courtesy.do_not_lend_added", store_id=store.pk,
                     customer_id=customer.pk, reason=reason)
    return entry


def do_not_lend_remove(*, actor: Any, entry: DoNotLend) -> None:
    require(actor, "mobility.delete_donotlend")
    require_store(actor, entry.store_id)
    with transaction.atomic():
        audit.record(actor=actor, obj=entry, action="courtesy.do_not_lend_removed", store_id=entry.store_id,
                     customer_id=entry.customer_id, changes={"reason": [entry.reason, None]})
        entry.delete()


# ---- bookings -----------------------------------------------------------------------------------------------------
def overlapping(car_id: int, starts_at: dt.datetime, ends_at: dt.datetime, *, exclude: int | None = None) -> Any:
    """Bookings of the car that hold it for some of [starts_at, ends_at)."""
    qs = CourtesyBooking.objects.filter(
        car_id=car_id, status__in=HOLDING_STATES, starts_at__lt=ends_at, ends_at__gt=starts_at,
    )
    return qs.exclude(pk=exclude) if exclude else qs


def _range_problems(p: Problems, starts_at: Any, ends_at: Any, *, now: dt.datetime,
                    from_field: str = "starts_at", until_field: str = "ends_at") -> tuple[Any, Any]:
    start = p.check(_when, starts_at, from_field)
    end = p.check(_when, ends_at, until_field)
    if start is not None and start < now - PAST_GRACE:
        p.add("in_past", _("The time is in the past."), from_field)
    if start is not None and end is not None:
        if end <= start:
            p.add("range_order", _("The return must be after the start."), until_field)
        elif end - start > dt.timedelta(days=MAX_DAYS):
            p.add("range_too_long", _("A courtesy car is lent for at most %(n)s days.") % {"n": MAX_DAYS}, until_field)
    return start, end


def _order_problems(p: Problems, order: Any) -> None:
    from aftersales.workshop.choices import OrderStatus

    if order.status in (OrderStatus.CLOSED, OrderStatus.CANCELLED, OrderStatus.DELIVERED):
        p.add("order_closed", _("This repair order is finished; a courtesy car is booked for an open order."), "order")
    if DoNotLend.objects.filter(customer_id=order.customer_id).exists():
        p.add("do_not_lend", _("This customer is on the do-not-lend list."), "order")


def is_tier_a(customer_id: int) -> bool:
    """The stored tier only, as for the free pickup (engagement answers through ``customers.tiers``)."""
    from types import SimpleNamespace

    from aftersales.customers.tiers import is_tier_a as tier_a

    return tier_a(SimpleNamespace(pk=customer_id), stored_only=True)


def courtesy_voucher(customer_id: int, code: Any, *, store: Any, today: dt.date) -> Any:
    """The customer's courtesy-car voucher with this code: theirs, unused, valid today, a free service item covering
    ``COURTESY_CAR_CODE`` at this store. None when no code is given; refused (on ``voucher``) otherwise."""
    from aftersales.loyalty.choices import VoucherKind, VoucherStatus
    from aftersales.loyalty.models import Voucher

    code = str(code or "").strip().upper()
    if not code:
        return None
    voucher = Voucher.objects.select_related("template").filter(code__iexact=code, customer_id=customer_id).first()
    if voucher is None:
        raise ValidationFailed("voucher_unknown", _("No voucher of this customer has this code."), "voucher")
    template = voucher.template
    if (template.kind != VoucherKind.FREE_ITEM or COURTESY_CAR_CODE not in (template.service_codes or [])
            or (template.store_id and template.store_id != store.pk)):
        raise ValidationFailed("voucher_not_covered", _("This voucher does not cover a courtesy car."), "voucher")
    if voucher.status != VoucherStatus.ISSUED or not voucher.valid_from <= today <= voucher.valid_until:
        raise ValidationFailed("voucher_used", _("This voucher is used, cancelled or not valid today."), "voucher")
    return voucher


def courtesy_book(
    *, actor: Any, order: Any, car: CourtesyCar, starts_at: Any, ends_at: Any, notes: Any = "",
    waitlist: WaitlistEntry | None = None, voucher: Any = "",
) -> CourtesyBooking:
    """Book ``car`` for the customer of ``order`` from ``starts_at`` to the agreed return ``ends_at``.

    The benefit: a tier-A customer's car is free (no voucher used); otherwise a courtesy-car voucher (``voucher``:
    its code) makes it free and is redeemed here, once, under its row lock, in the booking's transaction. The rent
    is then not charged at the return; fuel, late return and new damage are."""
    require(actor, "mobility.add_courtesybooking")
    require_store(actor, order.store_id, "order")
    now = timezone.now()
    p = Problems()
    if car.store_id != order.store_id:
        p.add("other_store", _("This car belongs to another store."), "car")
    elif not car.is_active or car.condition == CarCondition.OUT_OF_SERVICE:
        p.add("car_unavailable", _("This car is out of service."), "car")
    _order_problems(p, order)
    start, end = _range_problems(p, starts_at, ends_at, now=now)
    notes = p.check(_text, notes, "notes", 300)
    tier_a = is_tier_a(order.customer_id)
    used = None if tier_a else p.check(courtesy_voucher, order.customer_id, voucher, store=order.store,
                                       today=timezone.localtime(now, order.store.zone).date())
    benefit = CourtesyBenefit.TIER_A if tier_a else CourtesyBenefit.VOUCHER if used is not None else CourtesyBenefit.NONE
    if end is not None and not p.has("car") and car.insurance_expires < timezone.localtime(end, car.store.zone).date():
        p.add("insurance_expired", _("This car's insurance runs out on %(d)s, before the return.")
              % {"d": car.insurance_expires.isoformat()}, "car")
    p.raise_if_any()
    try:
        with transaction.atomic():
            # the car's row first, for writing: concurrent bookings of one car queue here (SQLite: the write lock)
            CourtesyCar.objects.filter(pk=car.pk).update(mileage=F("mileage"))
            CourtesyCar.objects.select_for_update().get(pk=car.pk)
            clash = overlapping(car.pk, start, end).first()
            if clash is not None:
                raise Conflict("overlap", _("This car is already booked from %(a)s to %(b)s.")
                               % {"a": _local(car.store, clash.starts_at), "b": _local(car.store, clash.ends_at)}, "car")
            if used is not None:  # the voucher's row next: of two bookings racing for it, the second sees it used
                from aftersales.loyalty.choices import VoucherStatus
                from aftersales.loyalty.models import Voucher

                if not Voucher.objects.select_for_update().filter(pk=used.pk, status=VoucherStatus.ISSUED).exists():
                    raise Conflict("voucher_used", _("This voucher is used, cancelled or not valid today."), "voucher")
            booking = CourtesyBooking.objects.create(
                store_id=order.store_id, car=car, order=order, customer_id=order.customer_id, starts_at=start, ends_at=end,
                notes=notes or "", created_by=actor, created_at=now, benefit=benefit, voucher=used, day_rate=car.day_rate,
            )
            if used is not None:
                from aftersales.loyalty.services import voucher_redeem_on_courtesy

                voucher_redeem_on_courtesy(actor=actor, voucher=used, booking_id=booking.pk, store=order.store,
                                           service_code=COURTESY_CAR_CODE, at=now)
            CourtesyBookingEvent.objects.create(booking=booking, from_state="", to_state=BookingStatus.BOOKED, actor=actor, at=now)
            if waitlist is not None:
                WaitlistEntry.objects.filter(pk=waitlist.pk, status=WaitStatus.WAITING).update(status=WaitStatus.BOOKED, booking=booking)
            audit.record(actor=actor, obj=booking, action="courtesy.booked", store_id=order.store_id,
                         customer_id=order.customer_id,
                         changes={"car": [None, car.plate], "from": [None, start.isoformat()], "until": [None, end.isoformat()],
                                  "benefit": [None, f"{benefit} {used.code if used else ''}".strip()]})
    except IntegrityError as exc:  # PostgreSQL's exclusion constraint: a concurrent booking won
        if "courtesy_booking_voucher_once" in str(exc) or "courtesybooking.voucher_id" in str(exc):
            raise Conflict("voucher_used", _("This voucher is used, cancelled or not valid today."), "voucher") from exc
        if "courtesy_booking_no_overlap" not in str(exc):
            raise
        raise Conflict("overlap", _("This car was booked for this time a moment ago."), "car") from exc
    return booking


def courtesy_cancel(*, actor: Any, booking: CourtesyBooking, reason: Any = "") -> CourtesyBooking:
    require(actor, "mobility.change_courtesybooking")
    require_store(actor, booking.store_id)
    reason = _text(reason, "reason", 300)
    with transaction.atomic():
        locked = CourtesyBooking.objects.select_for_update().select_related("store").get(pk=booking.pk)
        _move(locked, BookingStatus.CANCELLED, actor, reason=reason)
        if locked.voucher_id is not None:  # the voucher goes back to the customer
            from aftersales.loyalty.services import voucher_return_from_courtesy

            voucher_return_from_courtesy(actor=actor, booking_id=locked.pk, store=locked.store)
        audit.record(actor=actor, obj=locked, action="courtesy.cancelled", store_id=locked.store_id,
                     customer_id=locked.customer_id, reason=reason)
    return locked


def waitlist_add(*, actor: Any, order: Any, wanted_from: Any, wanted_until: Any) -> WaitlistEntry:
    """Put the customer on the waiting list when no car is free for the time they need."""
    require(actor, "mobility.add_courtesybooking")
    require_store(actor, order.store_id, "order")
    p = Problems()
    _order_problems(p, order)
    start, end = _range_problems(p, wanted_from, wanted_until, now=timezone.now(), from_field="wanted_from",
                                 until_field="wanted_until")
    p.raise_if_any()
    with transaction.atomic():
        entry = WaitlistEntry.objects.create(store_id=order.store_id, order=order, customer_id=order.customer_id,
                                             wanted_from=start, wanted_until=end, created_by=actor)
        audit.record(actor=actor, obj=entry, action="courtesy.waitlisted", store_id=order.store_id,
                     customer_id=order.customer_id)
    return entry


def waitlist_cancel(*, actor: Any, entry: WaitlistEntry) -> WaitlistEntry:
    require(actor, "mobility.add_courtesybooking")
    require_store(actor, entry.store_id)
    with transaction.atomic():
        locked = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.status != WaitStatus.WAITING:
            raise Conflict("not_waiting", _("This entry is no longer waiting."), "status")
        locked.status = WaitStatus.CANCELLED
        locked.save(update_fields=["status"])
        audit.record(actor=actor, obj=locked, action="courtesy.waitlist_withdrawn", store_id=locked.store_id,
                     customer_id=locked.customer_id)
    return locked


# ---- the contract: damage, photos, out and in ---------------------------------------------------------------------
def _phase_open(booking: CourtesyBooking, phase: str) -> None:
    wanted = BookingStatus.BOOKED if phase == Phase.OUT else BookingStatus.OUT
    if booking.status != wanted:
        message = (_("The car has already been handed out; damage at hand-out can no longer be changed.")
                   if phase == Phase.OUT else _("Damage at return is recorded while the car is out."))
        raise Conflict("phase_closed", message, "phase")


def courtesy_mark_add(*, actor: Any, booking: CourtesyBooking, phase: Any, x: Any, y: Any,
                      kind: Any = DamageKind.SCRATCH, note: Any = "") -> CourtesyDamageMark:
    require(actor, "mobility.change_courtesybooking")
    require_store(actor, booking.store_id)
    p = Problems()
    phase = p.check(_choice, phase, Phase, "phase")
    from aftersales.reception.services import outline_point

    coords = [p.check(outline_point, x, "x"), p.check(outline_point, y, "y")]
    kind = p.check(_choice, kind or DamageKind.SCRATCH, DamageKind, "kind")
    note = p.check(_text, note, "note", 200)
    p.raise_if_any()
    with transaction.atomic():
        locked = CourtesyBooking.objects.select_for_update().get(pk=booking.pk)
        _phase_open(locked, phase)
        if CourtesyDamageMark.objects.filter(booking=locked).count() >= 60:
            raise ValidationFailed("too_many", _("At most 60 damage marks per sheet."), "x")
        mark = CourtesyDamageMark.objects.create(booking=locked, phase=phase, x=coords[0], y=coords[1], kind=kind, note=note)
        audit.record(actor=actor, obj=locked, action="courtesy.damage_marked", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"damage": [None, f"{phase} {kind} ({coords[0]}, {coords[1]}) {note}".strip()]})
    return mark


def courtesy_photo_add(*, actor: Any, booking: CourtesyBooking, phase: Any, content: bytes, caption: Any = "") -> CourtesyPhoto:
    require(actor, "mobility.change_courtesybooking")
    require_store(actor, booking.store_id)
    p = Problems()
    phase = p.check(_choice, phase, Phase, "phase")
    image = p.check(check_image, content, field="photo")
    caption = p.check(_text, caption, "caption", 120)
    p.raise_if_any()
    with transaction.atomic():
        locked = CourtesyBooking.objects.select_for_update().get(pk=booking.pk)
        _phase_open(locked, phase)
        if CourtesyPhoto.objects.filter(booking=locked).count() >= MAX_PHOTOS:
            raise ValidationFailed("too_many", _("At most %(n)s photos per sheet.") % {"n": MAX_PHOTOS}, "photo")
        digest = hashlib.sha256(image.content).hexdigest()[:16]
        photo = CourtesyPhoto(booking=locked, phase=phase, caption=caption, width=image.width, height=image.height,
                              uploaded_by=actor)
        photo.image.save(f"{digest}.{image.extension}", ContentFile(image.content), save=False)
        photo.save()
        audit.record(actor=actor, obj=locked, action="courtesy.photo", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"photo": [None, photo.image.name]})
    return photo


def courtesy_hand_out(
    *, actor: Any, booking: CourtesyBooking, licence_number: Any, licence_expires: Any, deposit: Any, mileage: Any,
    energy: Any, signature: Any, signer_name: Any = "", ends_at: Any = None, at: dt.datetime | None = None,
) -> CourtesyBooking:
    """The contract out: the licence checked and recorded, the deposit, mileage and fuel/charge, the agreed return
    (kept, or changed here within the booking's freedom), the customer's signature. Then the car is out."""
    require(actor, "mobility.change_courtesybooking")
    require_store(actor, booking.store_id)
    at = at or timezone.now()
    car = booking.car
    zone = booking.store.zone
    p = Problems()
    licence = p.check(_text, licence_number, "licence_number", 30, required_message=_("Enter the driving licence number."))
    if licence and not (6 <= len(licence) <= 30 and licence.replace(" ", "").isalnum()):
        p.add("licence_format", _("Enter the licence number as printed on the licence (letters and digits)."), "licence_number")
    expires = p.check(_date, licence_expires, "licence_expires", _("Enter the date the driving licence is valid until."))
    deposit = p.check(_money, deposit, "deposit")
    km = p.check(_int_in, mileage, "mileage", 0, MAX_KM, _("Enter the odometer reading in km (a whole number)."))
    level = p.check(_int_in, energy, "energy", 0, 100, _("Enter the fuel or charge level from 0 to 100%."))
    if km is not None and km < car.mileage:
        p.add("km_backwards", _("The odometer shows less than the car's last reading (%(km)s km).") % {"km": f"{car.mileage:,}"}, "mileage")
    end = booking.ends_at
    if ends_at not in (None, ""):
        end = p.check(_when, ends_at, "ends_at")
        if end is not None and end <= at:
            p.add("range_order", _("The agreed return must be after the hand-out."), "ends_at")
    if expires is not None and end is not None and expires < timezone.localtime(end, zone).date():
        p.add("licence_expired", _("The driving licence is not valid until the agreed return."), "licence_expires")
    sign = p.check(_signature, signature, "signature")
    signer = p.check(_text, signer_name, "signer_name", 60)
    p.raise_if_any()
    with transaction.atomic():
        CourtesyCar.objects.filter(pk=car.pk).update(mileage=F("mileage"))
        locked = CourtesyBooking.objects.select_for_update().select_related("customer").get(pk=booking.pk)
        if end != locked.ends_at:
            clash = overlapping(locked.car_id, locked.starts_at, end, exclude=locked.pk).first()
            if clash is not None:
                raise Conflict("overlap", _("This car is already booked from %(a)s to %(b)s.")
                               % {"a": _local(booking.store, clash.starts_at), "b": _local(booking.store, clash.ends_at)}, "ends_at")
        digest = hashlib.sha256(sign).hexdigest()[:16]
        locked.out_signature.save(f"out-{digest}.png", ContentFile(sign), save=False)
        locked.licence_number, locked.licence_expires, locked.deposit = licence.upper(), expires, deposit
        locked.out_mileage, locked.out_energy, locked.out_at, locked.ends_at = km, level, at, end
        locked.out_signer = signer or locked.customer.name
        _move(locked, BookingStatus.OUT, actor, at=at, also_save=(
            "out_signature", "licence_number", "licence_expires", "deposit", "out_mileage", "out_energy", "out_at",
            "ends_at", "out_signer"))
        CourtesyCar.objects.filter(pk=car.pk).update(mileage=km)
        audit.record(actor=actor, obj=locked, action="courtesy.handed_out", store_id=locked.store_id,
                     customer_id=locked.customer_id,
                     changes={"mileage": [None, km], "energy": [None, level], "deposit": [None, str(deposit)]}, at=at)
    return locked


def late_hours(booking: CourtesyBooking, returned_at: dt.datetime) -> int:
    """Hours started after the agreed return (a quarter of an hour's grace)."""
    late = returned_at - booking.ends_at - PAST_GRACE
    if late <= dt.timedelta(0):
        return 0
    return math.ceil((late + PAST_GRACE).total_seconds() / 3600)


def rent_days(booking: CourtesyBooking, returned_at: dt.datetime) -> int:
    """Days started from the hand-out to the return (at most to the agreed return: later hours are late hours)."""
    start = booking.out_at or booking.starts_at
    end = min(returned_at, booking.ends_at)
    return max(1, math.ceil((end - start).total_seconds() / 86400))


def return_charges(booking: CourtesyBooking, *, energy: int, returned_at: dt.datetime, damage: Decimal) -> dict[str, Decimal]:
    """The charges of a return, computed in one place: the rent at the booking's day rate (none with a benefit:
    tier A or a courtesy-car voucher), missing fuel/charge at the car's rate per percent, late hours at its hourly
    rate, the new damage as assessed."""
    missing = max(0, (booking.out_energy or 0) - energy)
    rent = Decimal("0") if booking.benefit else Decimal(rent_days(booking, returned_at)) * booking.day_rate
    return {
        "rent_charge": q(rent),
        "fuel_charge": q(Decimal(missing) * booking.car.fuel_rate),
        "late_charge": q(Decimal(late_hours(booking, returned_at)) * booking.car.late_rate),
        "damage_charge": q(damage),
    }


def _charge_order(actor: Any, booking: CourtesyBooking, charges: dict[str, Decimal], at: dt.datetime) -> tuple[str, int | None]:
    """Put the charges on the repair order's invoice: a fee job the customer agreed to by signing the return
    contract. An invoice already issued (or an order past the work) cannot take new lines: then they are kept on
    the booking to collect separately, and the booking page says so."""
    from aftersales.billing.models import Invoice
    from aftersales.workshop.choices import EDITABLE_STATES, JobStatus, JobType, LineKind
    from aftersales.workshop.models import RepairOrder
    from aftersales.workshop.services import repair_job_add, repair_job_move

    order = RepairOrder.objects.get(pk=booking.order_id)
    if order.status not in EDITABLE_STATES or Invoice.objects.filter(order_id=order.pk).exists():
        return ChargeRoute.SEPARATE, None
    labels = {"rent_charge": _("Courtesy car: rent"), "fuel_charge": _("Courtesy car: fuel / charge"), "late_charge": _("Courtesy car: late return"),
              "damage_charge": _("Courtesy car: new damage")}
    lines = [{"kind": LineKind.FEE, "description": _in_both(lambda k=k: labels[k]), "unit_price": v, "quantity": 1,
              **({"code": COURTESY_CAR_CODE} if k == "rent_charge" else {})}
             for k, v in charges.items() if v > 0]
    title = _in_both(lambda: _("Courtesy car %(plate)s return charges") % {"plate": booking.car.plate})
    job = repair_job_add(actor=actor, order=order, title=title,
                         job_type=JobType.OTHER, lines=lines, at=at)
    repair_job_move(actor=actor, job=job, to=JobStatus.AUTHORIZED, reason=coded(gettext_noop("Signed on the courtesy car return contract")), at=at)
    return ChargeRoute.ORDER, job.pk


def _in_both(text: Any) -> str:
    """The line or job title in both languages ("代步车：燃油 / Courtesy car: fuel"), as the labour guide's names are
    written: every screen, document and message shows its reader's half (``common.names``)."""
    from django.utils.translation import override

    with override("zh-hans"):
        zh = str(text())
    with override("en"):
        en = str(text())
    return f"{zh} / {en}"


def _supplement(booking: CourtesyBooking, amount: Decimal, at: dt.datetime) -> SupplementaryCharge:
    """The charges as their own numbered supplementary charge of the order (the invoice already went out)."""
    local = timezone.localtime(at, booking.store.zone)
    count = SupplementaryCharge.objects.filter(store_id=booking.store_id, created_at__year=local.year).count() + 1
    return SupplementaryCharge.objects.create(
        store_id=booking.store_id, booking=booking, order_id=booking.order_id, customer_id=booking.customer_id,
        number=f"BC{booking.store_id:03d}{local:%Y}{count:05d}", amount=q(amount), created_at=at)


def supplement_settle(*, actor: Any, charge: SupplementaryCharge, method: Any, reference: Any = "",
                      at: dt.datetime | None = None) -> SupplementaryCharge:
    """Collect a supplementary charge at the counter (cash, card, WeChat Pay, Alipay; the receipt noted), or waive
    it (a manager, with the reason)."""
    from aftersales.billing.choices import PaymentMethod

    require(actor, "mobility.change_courtesybooking")
    require_store(actor, charge.store_id)
    p = Problems()
    waive = method == "waive"
    if not waive and method not in (PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.WECHAT, PaymentMethod.ALIPAY):
        p.add("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": method}, "method")
    reference = p.check(_text, reference, "reference", 120,
                        required_message=_("Say why the charge is waived.") if waive else "")
    if waive and not actor.has_perm("mobility.add_courtesycar"):
        p.add("manager_only", _("Only the store manager can waive a charge."), "method")
    p.raise_if_any()
    at = at or timezone.now()
    with transaction.atomic():
        locked = SupplementaryCharge.objects.select_for_update().get(pk=charge.pk)
        if locked.status != SupplementStatus.OPEN:
            raise Conflict("settled", _("This charge has already been settled."), "status")
        locked.status = SupplementStatus.WAIVED if waive else SupplementStatus.PAID
        locked.method, locked.reference = ("" if waive else method), reference or ""
        locked.settled_by, locked.settled_at = actor, at
        locked.save(update_fields=["status", "method", "reference", "settled_by", "settled_at"])
        audit.record(actor=actor, obj=locked, action=f"courtesy.supplement_{locked.status}", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"status": [SupplementStatus.OPEN, locked.status],
                                                              "amount": [None, str(locked.amount)]}, at=at)
    return locked


def courtesy_return(
    *, actor: Any, booking: CourtesyBooking, mileage: Any, energy: Any, damage_charge: Any = 0, signature: Any,
    signer_name: Any = "", at: dt.datetime | None = None,
) -> CourtesyBooking:
    """The contract in: mileage (never less than out), fuel/charge, new damage (marked before, with photos) and
    its assessed cost, the signature; the charges go on the customer's invoice (see ``_charge_order``)."""
    require(actor, "mobility.change_courtesybooking")
    require_store(actor, booking.store_id)
    at = at or timezone.now()
    p = Problems()
    km = p.check(_int_in, mileage, "mileage", 0, MAX_KM, _("Enter the odometer reading in km (a whole number)."))
    level = p.check(_int_in, energy, "energy", 0, 100, _("Enter the fuel or charge level from 0 to 100%."))
    damage = p.check(_money, damage_charge, "damage_charge")
    if km is not None and booking.out_mileage is not None and km < booking.out_mileage:
        p.add("km_backwards", _("The car went out with %(km)s km; the return cannot show less.") % {"km": f"{booking.out_mileage:,}"}, "mileage")
    if damage and damage > 0 and not booking.marks.filter(phase=Phase.IN).exists():
        p.add("damage_unmarked", _("Mark the new damage on the outline before charging for it."), "damage_charge")
    sign = p.check(_signature, signature, "signature")
    signer = p.check(_text, signer_name, "signer_name", 60)
    p.raise_if_any()
    with transaction.atomic():
        locked = CourtesyBooking.objects.select_for_update().select_related("car", "customer", "store").get(pk=booking.pk)
        if locked.status != BookingStatus.OUT:
            raise Conflict("not_out", _("This car is not out; only a car that was handed out can come back."), "status")
        charges = return_charges(locked, energy=level, returned_at=at, damage=damage)
        route, job_id = ("", None)
        if sum(charges.values()) > 0:
            route, job_id = _charge_order(actor, locked, charges, at)
            if route == ChargeRoute.SEPARATE:
                _supplement(locked, sum(charges.values(), Decimal("0")), at)
        digest = hashlib.sha256(sign).hexdigest()[:16]
        locked.in_signature.save(f"in-{digest}.png", ContentFile(sign), save=False)
        locked.in_mileage, locked.in_energy, locked.in_at = km, level, at
        locked.in_signer = signer or locked.customer.name
        for name, value in charges.items():
            setattr(locked, name, value)
        locked.charge_route, locked.charge_job_id = route, job_id
        if locked.starts_at < at < locked.ends_at:
            locked.ends_at = at  # back early: the car is free for others from now
        _move(locked, BookingStatus.RETURNED, actor, at=at, also_save=(
            "in_signature", "in_mileage", "in_energy", "in_at", "in_signer", "rent_charge", "fuel_charge", "late_charge",
            "damage_charge", "charge_route", "charge_job_id", "ends_at"))
        CourtesyCar.objects.filter(pk=locked.car_id).update(mileage=km)
        audit.record(actor=actor, obj=locked, action="courtesy.returned", store_id=locked.store_id,
                     customer_id=locked.customer_id,
                     changes={"mileage": [locked.out_mileage, km], "energy": [locked.out_energy, level],
                              **{k: [None, str(v)] for k, v in charges.items()}, "charges": [None, route]}, at=at)
    return locked
