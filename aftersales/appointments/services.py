"""Writes for appointments: book, reschedule, cancel, no-show, arrive (ARCHITECTURE habits 1, 2, 5).

Each service validates its input, then works in ONE transaction: capacity is re-checked under locks (SQLite:
the IMMEDIATE transaction holds the database's write lock from BEGIN; PostgreSQL: the store's bay rows, then
the candidate technicians' and advisors' user rows, are locked FOR UPDATE in id order before overlaps are read),
so two people booking the last slot at once get one booking and one ``slot_taken`` conflict with the next free
times. Parts, messages and the audit row are written in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override, pgettext

from aftersales.common import audit
from aftersales.common.errors import Conflict, NotFound, Problems, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.transitions import move

from . import availability
from .choices import APPOINTMENT_TRANSITIONS, AppointmentStatus, BookingChannel
from .models import Appointment, AppointmentEvent, AppointmentPartShortage, Bay, CannedJob, ServiceType, TechnicianShift

MAX_FAULT = 2000
PAST_GRACE = dt.timedelta(minutes=5)
AUDITED = ("start", "end", "status", "bay", "technician", "advisor", "service_type", "canned_job")


# ---- input -----------------------------------------------------------------------------------------------------
def _id(value: Any) -> Any:
    return getattr(value, "pk", value)


def _service_type(store: Any, value: Any) -> ServiceType:
    found = None
    if value not in (None, ""):
        try:
            found = ServiceType.objects.filter(store=store, is_active=True, pk=int(_id(value))).first()
        except (TypeError, ValueError):
            found = None
    if found is None:
        raise ValidationFailed("service_type_unknown", _("Unknown service type for this store."), "service_type")
    return found


def _canned_job(store: Any, value: Any) -> CannedJob | None:
    if value in (None, ""):
        return None
    try:
        job = CannedJob.objects.select_related("service_type").filter(store=store, is_active=True, pk=int(_id(value))).first()
    except (TypeError, ValueError):
        job = None
    if job is None:
        raise ValidationFailed("canned_job_unknown", _("Unknown standard job for this store."), "canned_job")
    return job


def _start(store: Any, value: Any) -> dt.datetime:
    start = value
    if isinstance(value, str):
        start = parse_datetime(value.strip())
    if not isinstance(start, dt.datetime):
        raise ValidationFailed("start_invalid", _("Enter the start as a date and time."), "start")
    if timezone.is_naive(start):
        start = start.replace(tzinfo=store.zone)  # a naive time is the store's local time
    start = start.astimezone(dt.UTC).replace(second=0, microsecond=0)
    if start < timezone.now() - PAST_GRACE:  # a walk-in booked "now" is not in the past
        raise ValidationFailed("start_in_past", _("The start time is in the past."), "start")
    return start


def _check_open(store: Any, start: dt.datetime, end: dt.datetime) -> None:
    local = timezone.localtime(start, store.zone)
    capacity_day = availability.Capacity(store, local.date(), 1, skill="", advisor_ids=[])
    plan = capacity_day.plans[local.date()]
    if not plan.periods:
        raise ValidationFailed(
            "store_closed", _("The store is closed on %(date)s.") % {"date": local.date().isoformat()}, "start"
        )
    if plan.period_for(int(start.timestamp()), int(end.timestamp())) is None:
        raise ValidationFailed(
            "outside_opening_hours",
            _("%(time)s is outside the store's opening hours (the whole job must fit in one opening period).")
            % {"time": local.strftime("%Y-%m-%d %H:%M")},
            "start",
        )


def _advisor(store: Any, value: Any) -> Any:
    if value in (None, ""):
        return None
    try:
        advisor_id = int(_id(value))
    except (TypeError, ValueError):
        advisor_id = None
    if advisor_id not in availability.store_advisor_ids(store):
        raise ValidationFailed("advisor_unknown", _("Not a service advisor of this store."), "advisor")
    return advisor_id


def _channel(value: Any) -> str:
    value = str(value or BookingChannel.PHONE)
    if value not in BookingChannel.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": value}, "channel")
    return value


def _fault(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > MAX_FAULT:
        raise ValidationFailed("fault_too_long", _("The fault description is at most 2,000 characters."), "fault_description")
    return text


def _customer(*, actor: Any, store: Any, customer: Any, customer_data: dict[str, Any] | None) -> Any:
    """The booking's customer: the one given (visible to the actor), else found by mobile, else created."""
    from aftersales.common.validators import normalize_mobile
    from aftersales.customers.models import Customer
    from aftersales.customers.selectors import customers_visible_to
    from aftersales.customers.services import customer_create, customer_link_store

    if customer not in (None, ""):
        found = customers_visible_to(actor).filter(pk=_id(customer), group_id=store.group_id).first()
        if found is None:
            raise ValidationFailed("customer_unknown", _("Unknown customer."), "customer")
        customer_link_store(customer=found, store_id=store.pk)
        return found
    data = dict(customer_data or {})
    if not data:
        raise ValidationFailed("customer_required", _("Choose a customer or enter a name and mobile number."), "customer")
    mobile = normalize_mobile(str(data.get("mobile") or ""), "mobile")
    existing = Customer.objects.filter(group_id=store.group_id, mobile=mobile).first()
    if existing is not None:
        customer_link_store(customer=existing, store_id=store.pk)  # known in the group: now known at this store too
        return existing
    try:
        return customer_create(actor=actor, store=store, name=data.get("name", ""), mobile=mobile,
                               **{k: v for k, v in data.items() if k in ("title", "email", "preferred_channel")})
    except Conflict as exc:  # created concurrently by someone else: attach that one
        if exc.code != "duplicate_mobile":
            raise
        existing = Customer.objects.get(pk=exc.extra["existing_id"])
        customer_link_store(customer=existing, store_id=store.pk)
        return existing


def _vehicle(*, actor: Any, customer: Any, vehicle: Any, vehicle_data: dict[str, Any] | None) -> Any:
    from aftersales.common.validators import normalize_plate, normalize_vin
    from aftersales.vehicles.models import Vehicle
    from aftersales.vehicles.services import vehicle_create

    if vehicle not in (None, ""):
        found = Vehicle.objects.filter(pk=_id(vehicle), group_id=customer.group_id).first()
        if found is None or found.owner_id != customer.pk:
            raise ValidationFailed("vehicle_not_customers", _("This vehicle does not belong to the customer."), "vehicle")
        return found
    data = dict(vehicle_data or {})
    if not data:
        raise ValidationFailed("vehicle_required", _("Choose a vehicle or enter its plate, VIN and model."), "vehicle")
    if data.get("vin"):
        vin = normalize_vin(str(data["vin"]), "vin")
        found = Vehicle.objects.filter(group_id=customer.group_id, vin=vin).first()
        if found is not None:
            if found.owner_id != customer.pk:
                raise ValidationFailed("vehicle_not_customers", _("This vehicle does not belong to the customer."), "vin")
            return found
    elif data.get("plate"):
        plate = normalize_plate(str(data["plate"]), "plate")
        found = Vehicle.objects.filter(owner=customer, plate=plate).first()
        if found is not None:
            return found
    allowed = ("vin", "plate", "make", "model", "year", "colour", "fuel_type")
    # a customer booking their own car states its plate; a pair with another car goes to the data-quality page
    return vehicle_create(actor=actor, owner=customer, confirm_plate=True, **{k: v for k, v in data.items() if k in allowed})


# ---- capacity under locks -------------------------------------------------------------------------------------------
def _lock_capacity(store: Any, skill: str) -> None:
    """PostgreSQL: lock the store's bays, then its candidate technicians and advisors, always in id order."""
    from aftersales.staff.models import User

    list(Bay.objects.select_for_update().filter(store=store).order_by("id").values_list("id", flat=True))
    tech_ids = {
        user_id for user_id, skills in TechnicianShift.objects.filter(store=store).values_list("user_id", "user__skills")
        if not skill or skill in (skills or [])
    }
    user_ids = sorted(tech_ids | set(availability.store_advisor_ids(store)))
    list(User.objects.select_for_update().filter(pk__in=user_ids).order_by("id").values_list("id", flat=True))


def _allocate_or_conflict(
    *, store: Any, service_type: ServiceType, start: dt.datetime, duration: int, advisor_id: int | None,
    priority: bool, preferred_advisor_id: int | None, exclude_id: int | None = None,
) -> availability.Allocation:
    local_day = timezone.localtime(start, store.zone).date()
    capacity = availability.Capacity(
        store, local_day, 1, skill=service_type.required_skill,
        advisor_ids=[advisor_id] if advisor_id else None, exclude_appointment_id=exclude_id,
    )
    s = int(start.timestamp())
    allocation = capacity.plans[local_day].allocate(
        s, s + duration * 60, priority=priority, preferred_advisor_id=preferred_advisor_id
    )
    if allocation is None:
        nxt = availability.next_free(
            store, service_type, start, duration_minutes=duration, advisor=advisor_id, priority=priority
        )
        raise Conflict(
            "slot_taken",
            _("This time was just taken (no bay, qualified technician or advisor is free). Choose another time."),
            "start",
            next_free=[t.isoformat() for t in nxt],
        )
    return allocation


# ---- parts -------------------------------------------------------------------------------------------------------------
def _reserve_parts(*, actor: Any, appointment: Appointment) -> None:
    """Reserve the standard job's default parts; a shortage is recorded (the foreman sees it), never a refusal."""
    from aftersales.parts.choices import ReservationSource
    from aftersales.parts.services import reserve

    if appointment.canned_job_id is None:
        return
    for line in appointment.canned_job.parts.select_related("part"):  # type: ignore[union-attr]
        try:
            reserve(
                actor=actor, store=appointment.store, part=line.part, quantity=line.quantity,
                source=ReservationSource.APPOINTMENT, reference=appointment.reference,
                expires_at=appointment.end + dt.timedelta(days=1),
            )
        except ValidationFailed as exc:
            available = Decimal(str(exc.extra.get("available", "0"))) if exc.code == "insufficient_available" else Decimal(0)
            AppointmentPartShortage.objects.update_or_create(
                appointment=appointment, part=line.part, defaults={"quantity": line.quantity, "available": available}
            )


def _release_parts(appointment: Appointment) -> None:
    from aftersales.parts.services import release_for_reference

    release_for_reference(reference=appointment.reference)
    AppointmentPartShortage.objects.filter(appointment=appointment).delete()


# ---- messages ---------------------------------------------------------------------------------------------------------
def _reminder_key(appointment: Appointment) -> str:
    return f"appointment-reminder:{appointment.pk}:{appointment.start.isoformat()}"


def _variables(appointment: Appointment) -> dict[str, Any]:
    from aftersales.messaging.services import customer_variables

    customer = appointment.customer
    language = getattr(customer, "language", "") or "zh-hans"
    local = timezone.localtime(appointment.start, appointment.store.zone)
    hours = Decimal(appointment.duration_minutes) / 60
    with override(language):
        advisor_name = str(appointment.advisor)
    return {
        **customer_variables(customer=customer, store=appointment.store),
        "plate": appointment.vehicle.plate,
        "model": f"{appointment.vehicle.make} {appointment.vehicle.model}".strip(),
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "advisor_name": advisor_name,
        "duration": f"{hours.normalize():f}",
        "directions": appointment.store.directions or appointment.store.address,
        "materials": appointment.service_type.materials_in(language),
        "service": appointment.service_type.name_in(language),
        "link": customer_link(appointment),
    }


LINK_SALT = "aftersales.appointments.customer-link"
LINK_MAX_AGE = 180 * 24 * 3600  # the link in a confirmation keeps working well past the visit


def link_token(appointment: Appointment) -> str:
    """The customer's link to their booking: signed, so nobody can walk other people's bookings by number."""
    return signing.dumps(appointment.pk, salt=LINK_SALT)


def customer_link(appointment: Appointment) -> str:
    return f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}/a/{link_token(appointment)}/"


def appointment_from_token(token: str, *, max_age: int = LINK_MAX_AGE) -> Appointment:
    try:
        pk = signing.loads(token, salt=LINK_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise Conflict("link_expired", _("This link has expired. Please call the store."), "token") from exc
    except signing.BadSignature as exc:
        raise NotFound("link_invalid", _("This link is not valid."), "token") from exc
    appointment = Appointment.objects.select_related(
        "store", "customer", "vehicle", "service_type", "advisor"
    ).filter(pk=pk).first()
    if appointment is None:
        raise NotFound("link_invalid", _("This link is not valid."), "token")
    return appointment


def reminder_time(appointment: Appointment) -> dt.datetime:
    """The day before the appointment at APPOINTMENT_REMINDER_HOUR (default 18:00), store-local, as UTC."""
    hour = int(getattr(settings, "APPOINTMENT_REMINDER_HOUR", 18))
    local_day = timezone.localtime(appointment.start, appointment.store.zone).date() - dt.timedelta(days=1)
    return dt.datetime.combine(local_day, dt.time(hour), tzinfo=appointment.store.zone).astimezone(dt.UTC)


def same_morning_time(appointment: Appointment) -> dt.datetime | None:
    """The optional same-morning reminder (store setting, e.g. 08:00), only for a booking later that day."""
    hour = appointment.store.same_morning_reminder_hour
    if hour is None:
        return None
    local_start = timezone.localtime(appointment.start, appointment.store.zone)
    when = dt.datetime.combine(local_start.date(), dt.time(hour), tzinfo=appointment.store.zone)
    if when >= local_start - dt.timedelta(minutes=30):
        return None
    return when.astimezone(dt.UTC)


def _queue_reminder(appointment: Appointment) -> None:
    """The day-before reminder and, where the store wants it, the same-morning one; none whose time has passed
    (the confirmation has just gone out)."""
    from aftersales.messaging.services import message_enqueue

    now = timezone.now()
    when = reminder_time(appointment)
    if when > now:
        message_enqueue(
            kind="appointment.reminder", store=appointment.store, customer=appointment.customer,
            variables=_variables(appointment), dedup_key=_reminder_key(appointment), not_before=when,
        )
    morning = same_morning_time(appointment)
    if morning is not None and morning > now:
        message_enqueue(
            kind="appointment.reminder", store=appointment.store, customer=appointment.customer,
            variables=_variables(appointment), dedup_key=f"{_reminder_key(appointment)}:morning", not_before=morning,
        )


def _cancel_reminders(appointment: Appointment, actor: Any, reason: str) -> None:
    from aftersales.messaging.choices import MessageStatus
    from aftersales.messaging.models import Message
    from aftersales.messaging.services import message_move

    pending = Message.objects.select_for_update().filter(
        dedup_key__startswith=f"appointment-reminder:{appointment.pk}:", status=MessageStatus.PENDING
    )
    for message in pending:
        message_move(message=message, to=MessageStatus.CANCELLED, actor=actor, reason=reason)


def _send_changed(appointment: Appointment, *, change: str, key: str) -> None:
    from aftersales.messaging.services import message_enqueue

    language = getattr(appointment.customer, "language", "") or "zh-hans"
    with override(language):
        label = pgettext("appointment change", "cancelled") if change == "cancelled" else pgettext("appointment change", "rescheduled")
    message_enqueue(
        kind="appointment.changed", store=appointment.store, customer=appointment.customer,
        variables={**_variables(appointment), "change": str(label)}, dedup_key=key,
    )


# ---- services -------------------------------------------------------------------------------------------------------
def appointment_book(
    *,
    actor: Any,
    store: Any,
    service_type: Any,
    start: Any,
    customer: Any = None,
    customer_data: dict[str, Any] | None = None,
    vehicle: Any = None,
    vehicle_data: dict[str, Any] | None = None,
    advisor: Any = None,
    canned_job: Any = None,
    fault_description: str = "",
    channel: str = BookingChannel.PHONE,
    priority: bool = False,
) -> Appointment:
    """Book a visit: customer and vehicle found or created, capacity taken, parts reserved, messages queued."""
    require(actor, "appointments.add_appointment")
    require_store(actor, getattr(store, "pk", None))
    return _book(
        actor=actor, store=store, service_type=service_type, start=start, advisor=advisor, canned_job=canned_job,
        fault_description=fault_description, channel=channel, priority=priority,
        person_of=lambda: _customer(actor=actor, store=store, customer=customer, customer_data=customer_data),
        car_of=lambda person: _vehicle(actor=actor, customer=person, vehicle=vehicle, vehicle_data=vehicle_data),
        precheck=lambda problems: _check_new(problems, customer=customer, customer_data=customer_data, vehicle=vehicle,
                                             vehicle_data=vehicle_data),
    )


def _check_new(problems: Problems, *, customer: Any, customer_data: dict[str, Any] | None, vehicle: Any,
               vehicle_data: dict[str, Any] | None) -> None:
    """The shape of a new caller's mobile and name and of a new car's VIN and plate, checked with the booking's own
    fields so one refusal names them all (nothing is created before every field is right)."""
    from aftersales.common.validators import normalize_mobile, normalize_plate, normalize_vin

    if customer in (None, "") and customer_data:
        problems.check(normalize_mobile, str(customer_data.get("mobile") or ""), "mobile")
        if len(" ".join(str(customer_data.get("name") or "").split())) > 60:
            problems.add("name_too_long", _("Name is at most 60 characters."), "name")
    if vehicle in (None, "") and vehicle_data:
        if vehicle_data.get("vin"):
            problems.check(normalize_vin, str(vehicle_data["vin"]), "vin")
        if vehicle_data.get("plate"):
            problems.check(normalize_plate, str(vehicle_data["plate"]), "plate")


def appointment_book_by_customer(
    *, customer: Any, store: Any, service_type: Any, start: Any, vehicle: Any, advisor: Any = None,
    fault_description: str = "",
) -> Appointment:
    """The car owner books in the owner app (signed in with an SMS code): their own car, a store of their dealer
    group, the same capacity check under the same locks as a booking at the desk (a race gets ``slot_taken``)."""
    if store is None or store.group_id != customer.group_id or not store.is_active:
        raise ValidationFailed("store_unknown", _("Choose one of our stores."), "store")
    try:
        vehicle = int(_id(vehicle))
    except (TypeError, ValueError):
        raise ValidationFailed("vehicle_required", _("Choose your car."), "vehicle") from None

    def person_of() -> Any:
        from aftersales.customers.services import customer_link_store

        customer_link_store(customer=customer, store_id=store.pk)
        return customer

    return _book(
        actor=None, store=store, service_type=service_type, start=start, advisor=advisor, canned_job=None,
        fault_description=fault_description, channel=BookingChannel.PORTAL, priority=False, person_of=person_of,
        car_of=lambda person: _vehicle(actor=None, customer=person, vehicle=vehicle, vehicle_data=None),
    )


def appointment_cancel_by_owner(*, customer: Any, appointment: Appointment, reason: str = "") -> Appointment:
    """The signed-in owner cancels their own booking, under the same rules as the link in the confirmation."""
    if appointment.customer_id != customer.pk:
        raise NotFound("not_found", _("Not found."), "appointment")
    return appointment_cancel_by_customer(appointment=appointment, token=link_token(appointment), reason=reason)


def appointment_reschedule_by_owner(*, customer: Any, appointment: Appointment, start: Any) -> Appointment:
    """The signed-in owner moves their own booking to another free time (same rules as the confirmation's link)."""
    if appointment.customer_id != customer.pk:
        raise NotFound("not_found", _("Not found."), "appointment")
    return appointment_reschedule_by_customer(appointment=appointment, token=link_token(appointment), start=start)


def _book(
    *, actor: Any, store: Any, service_type: Any, start: Any, advisor: Any, canned_job: Any, fault_description: str,
    channel: str, priority: bool, person_of: Any, car_of: Any, precheck: Any = None,
) -> Appointment:
    problems = Problems()  # every bad field of the booking (and of a new caller and car) named at once
    job = problems.check(_canned_job, store, canned_job)
    kind = problems.check(
        _service_type, store, service_type if service_type not in (None, "") else getattr(job, "service_type_id", None))
    if job is not None and kind is not None and job.service_type_id != kind.pk:
        problems.add("canned_job_mismatch", _("The standard job belongs to another service type."), "canned_job")
    begin = problems.check(_start, store, start)
    if begin is not None and kind is not None:
        duration = job.duration if job is not None else kind.duration_minutes
        end = begin + dt.timedelta(minutes=duration)
        problems.check(_check_open, store, begin, end)
    advisor_id = problems.check(_advisor, store, advisor)
    channel = problems.check(_channel, channel)
    fault = problems.check(_fault, fault_description)
    if precheck is not None:
        precheck(problems)
    problems.raise_if_any()
    assert kind is not None and begin is not None
    duration = job.duration if job is not None else kind.duration_minutes
    end = begin + dt.timedelta(minutes=duration)

    with transaction.atomic():
        person = person_of()
        car = car_of(person)
        if not priority:  # tier A customers take the priority lane when a priority bay is free (SPEC §3, §10)
            from aftersales.customers.tiers import is_tier_a

            priority = is_tier_a(person)  # engagement's answer (customers/tiers.py)
        _lock_capacity(store, kind.required_skill)
        allocation = _allocate_or_conflict(
            store=store, service_type=kind, start=begin, duration=duration, advisor_id=advisor_id,
            priority=bool(priority), preferred_advisor_id=person.preferred_advisor_id,
        )
        appointment = Appointment.objects.create(
            store=store, customer=person, vehicle=car, service_type=kind, canned_job=job,
            advisor_id=allocation.advisor_id, technician_id=allocation.technician_id, bay_id=allocation.bay_id,
            start=begin, end=end, status=AppointmentStatus.BOOKED, channel=channel, priority=bool(priority),
            fault_description=fault, created_by=actor if getattr(actor, "pk", None) else None,
        )
        AppointmentEvent.objects.create(
            appointment=appointment, from_state="", to_state=AppointmentStatus.BOOKED,
            actor=actor if getattr(actor, "pk", None) else None, reason=channel,
        )
        _reserve_parts(actor=actor, appointment=appointment)
        from aftersales.messaging.services import message_enqueue

        message_enqueue(
            kind="appointment.confirmation", store=store, customer=person, variables=_variables(appointment),
            dedup_key=f"appointment-confirmation:{appointment.pk}",
        )
        if channel == BookingChannel.WALK_IN:
            # the customer is standing at the desk: arrived at once (never "late", never a no-show, no reminder)
            _move(actor, appointment, AppointmentStatus.ARRIVED, coded(gettext_noop("Walk-in")))
            from aftersales.customers.services import customer_link_store

            customer_link_store(customer=person, store_id=store.pk)
        else:
            _queue_reminder(appointment)
        audit.record(
            actor=actor, obj=appointment, action="appointment.booked", store_id=store.pk, customer_id=person.pk,
            changes=audit.diff({}, audit.snapshot(appointment, AUDITED)),
        )
    return appointment


def _locked(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update(of=("self",)).select_related(
        "store", "customer", "vehicle", "service_type", "canned_job", "advisor"
    ).get(pk=appointment.pk)


def _check_actor(actor: Any, appointment: Appointment) -> None:
    require(actor, "appointments.change_appointment")
    require_store(actor, appointment.store_id)


def appointment_reschedule(*, actor: Any, appointment: Appointment, start: Any, advisor: Any = None, reason: str = "") -> Appointment:
    """Move a booking to a new time (capacity checked as for a booking); the reminder moves with it."""
    _check_actor(actor, appointment)
    return _reschedule(actor=actor, appointment=appointment, start=start, advisor=advisor, reason=reason)


def _reschedule(*, actor: Any, appointment: Appointment, start: Any, advisor: Any = None, reason: str = "") -> Appointment:
    store = appointment.store
    if appointment.status != AppointmentStatus.BOOKED:
        raise ValidationFailed("not_booked", _("Only a booked appointment can be rescheduled."), "status")
    begin = _start(store, start)
    duration = appointment.duration_minutes
    end = begin + dt.timedelta(minutes=duration)
    _check_open(store, begin, end)
    advisor_id = _advisor(store, advisor)
    with transaction.atomic():
        _lock_capacity(store, appointment.service_type.required_skill)
        locked = _locked(appointment)
        if locked.status != AppointmentStatus.BOOKED:
            raise ValidationFailed("not_booked", _("Only a booked appointment can be rescheduled."), "status")
        before = audit.snapshot(locked, AUDITED)
        old_start = locked.start
        allocation = _allocate_or_conflict(
            store=store, service_type=locked.service_type, start=begin, duration=duration, advisor_id=advisor_id,
            priority=locked.priority, preferred_advisor_id=locked.advisor_id, exclude_id=locked.pk,
        )
        _cancel_reminders(locked, actor, coded(gettext_noop("Appointment rescheduled")))
        locked.start, locked.end = begin, end
        locked.bay_id, locked.technician_id, locked.advisor_id = allocation.bay_id, allocation.technician_id, allocation.advisor_id
        locked.save()
        locked.refresh_from_db()
        AppointmentEvent.objects.create(
            appointment=locked, from_state=AppointmentStatus.BOOKED, to_state=AppointmentStatus.BOOKED,
            actor=actor if getattr(actor, "pk", None) else None,
            reason=(reason or coded(gettext_noop("Rescheduled from %(old)s"), old=timezone.localtime(old_start, store.zone).strftime("%Y-%m-%d %H:%M")))[:300],
        )
        _release_parts(locked)
        _reserve_parts(actor=actor, appointment=locked)
        _queue_reminder(locked)
        _send_changed(locked, change="rescheduled", key=f"appointment-changed:{locked.pk}:{begin.isoformat()}")
        audit.record(
            actor=actor, obj=locked, action="appointment.rescheduled", store_id=store.pk, customer_id=locked.customer_id,
            changes=audit.diff(before, audit.snapshot(locked, AUDITED)), reason=reason,
        )
    return locked


def _move(actor: Any, appointment: Appointment, to: str, reason: str) -> Appointment:
    move(
        appointment, to=to, actor=actor, transitions=APPOINTMENT_TRANSITIONS, event_model=AppointmentEvent,
        event_fk="appointment", reason=reason[:300], labels=AppointmentStatus,
    )
    return appointment


def appointment_cancel(*, actor: Any, appointment: Appointment, reason: str = "") -> Appointment:
    """Cancel: capacity freed, parts released, the pending reminder cancelled, the customer told."""
    _check_actor(actor, appointment)
    return _cancel(actor=actor, appointment=appointment, reason=reason)


def _customer_may_change(appointment: Appointment, token: str) -> None:
    if appointment_from_token(token).pk != appointment.pk:
        raise ValidationFailed("link_invalid", _("This link is not valid."), "token")
    if appointment.status != AppointmentStatus.BOOKED:
        raise Conflict("not_booked", _("This appointment can no longer be changed online."), "status")
    if appointment.start <= timezone.now() + dt.timedelta(hours=1):
        raise Conflict("too_late", _("It is less than an hour to your appointment: please call the store."), "start")


def appointment_cancel_by_customer(*, appointment: Appointment, token: str, reason: str = "") -> Appointment:
    """The customer cancels from the link in their confirmation (no login; the signed link is the proof)."""
    _customer_may_change(appointment, token)
    return _cancel(actor=None, appointment=appointment, reason=reason or coded(gettext_noop("Cancelled by the customer online")))


def appointment_reschedule_by_customer(*, appointment: Appointment, token: str, start: Any) -> Appointment:
    """The customer picks another free time from the link in their confirmation."""
    _customer_may_change(appointment, token)
    return _reschedule(actor=None, appointment=appointment, start=start, reason=coded(gettext_noop("Rescheduled by the customer online")))


def _cancel(*, actor: Any, appointment: Appointment, reason: str) -> Appointment:
    with transaction.atomic():
        locked = _locked(appointment)
        _move(actor, locked, AppointmentStatus.CANCELLED, reason)
        _release_parts(locked)
        _cancel_reminders(locked, actor, coded(gettext_noop("Appointment cancelled")))
        _send_changed(locked, change="cancelled", key=f"appointment-changed:{locked.pk}:cancelled")
        audit.record(
            actor=actor, obj=locked, action="appointment.cancelled", store_id=locked.store_id, customer_id=locked.customer_id,
            changes={"status": [AppointmentStatus.BOOKED, AppointmentStatus.CANCELLED]}, reason=reason,
        )
    return locked


def appointment_mark_no_show(*, actor: Any, appointment: Appointment, reason: str = "") -> Appointment:
    """The customer did not come: capacity and parts freed, counted against the customer (no_show_count)."""
    _check_actor(actor, appointment)
    with transaction.atomic():
        locked = _locked(appointment)
        if locked.start > timezone.now():
            raise ValidationFailed("not_started", _("An appointment that has not started yet cannot be a no-show."), "status")
        _move(actor, locked, AppointmentStatus.NO_SHOW, reason)
        _release_parts(locked)
        _cancel_reminders(locked, actor, coded(gettext_noop("No-show")))
        audit.record(
            actor=actor, obj=locked, action="appointment.no_show", store_id=locked.store_id, customer_id=locked.customer_id,
            changes={"status": [AppointmentStatus.BOOKED, AppointmentStatus.NO_SHOW]}, reason=reason,
        )
    return locked


def appointment_arrive(*, actor: Any, appointment: Appointment, reason: str = "") -> Appointment:
    """The customer is here (reception): the booking keeps its bay, technician and parts for the repair order."""
    _check_actor(actor, appointment)
    with transaction.atomic():
        locked = _locked(appointment)
        before = locked.status
        _move(actor, locked, AppointmentStatus.ARRIVED, reason)
        _cancel_reminders(locked, actor, coded(gettext_noop("Customer arrived")))
        audit.record(
            actor=actor, obj=locked, action="appointment.arrived", store_id=locked.store_id, customer_id=locked.customer_id,
            changes={"status": [before, AppointmentStatus.ARRIVED]}, reason=reason,
        )
        from aftersales.customers.services import customer_link_store

        customer_link_store(customer=locked.customer, store_id=locked.store_id)
    return locked
