"""The appointments API (/api/appointments): catalogue, availability, booking and the booking's life cycle.

A lost race for the last slot answers 409 ``slot_taken`` with ``next_free`` (ISO times) beside ``{code, message, field}``.
"""

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, ErrorOut, request_user
from aftersales.common.errors import ValidationFailed
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store, get_or_404

from . import availability, selectors, services
from .models import ServiceType

router = Router(tags=["appointments"])


class SlotTakenOut(ErrorOut):
    next_free: list[str] = []


BOOK_ERRORS: dict[int, type[Schema]] = {**ERRORS, 409: SlotTakenOut}


class ServiceTypeOut(Schema):
    id: int
    store_id: int
    code: str
    name_zh: str
    name_en: str
    kind: str
    duration_minutes: int
    required_skill: str
    materials_zh: str
    materials_en: str


class SlotOut(Schema):
    start: dt.datetime
    local_time: str


class AvailabilityOut(Schema):
    store_id: int
    date: dt.date
    service_type_id: int
    duration_minutes: int
    slots: list[SlotOut]


class DayOut(Schema):
    date: dt.date
    slots: list[SlotOut]


class AvailabilityWindowOut(Schema):
    store_id: int
    service_type_id: int
    duration_minutes: int
    days: list[DayOut]


class BookingCustomerIn(Schema):
    name: str = ""
    mobile: str
    title: str = ""


class BookingVehicleIn(Schema):
    plate: str = ""
    vin: str = ""
    make: str = ""
    model: str = ""
    year: int | None = None


class BookIn(Schema):
    store_id: int | None = None
    service_type_id: int | None = None
    start: dt.datetime
    customer_id: int | None = None
    customer: BookingCustomerIn | None = None
    vehicle_id: int | None = None
    vehicle: BookingVehicleIn | None = None
    advisor_id: int | None = None
    canned_job_id: int | None = None
    fault_description: str = ""
    channel: str = "phone"
    priority: bool = False


class RescheduleIn(Schema):
    start: dt.datetime
    advisor_id: int | None = None
    reason: str = ""


class AppointmentReasonIn(Schema):
    reason: str = ""


class AppointmentEventOut(Schema):
    from_state: str
    to_state: str
    actor_id: int | None
    reason: str
    at: dt.datetime


class ShortageOut(Schema):
    part_id: int
    part_number: str
    quantity: str
    available: str

    @staticmethod
    def resolve_part_number(obj: Any) -> str:
        return obj.part.number

    @staticmethod
    def resolve_quantity(obj: Any) -> str:
        return str(obj.quantity)

    @staticmethod
    def resolve_available(obj: Any) -> str:
        return str(obj.available)


class AppointmentOut(Schema):
    id: int
    store_id: int
    customer_id: int
    customer_name: str
    vehicle_id: int
    plate: str
    service_type_id: int
    service_type_name: str
    canned_job_id: int | None
    advisor_id: int
    advisor_name: str
    technician_id: int
    technician_name: str
    bay_id: int
    bay_name: str
    start: dt.datetime
    end: dt.datetime
    status: str
    channel: str
    priority: bool
    fault_description: str
    created_at: dt.datetime

    @staticmethod
    def resolve_customer_name(obj: Any) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_plate(obj: Any) -> str:
        return obj.vehicle.plate

    @staticmethod
    def resolve_service_type_name(obj: Any) -> str:
        return obj.service_type.name_zh

    @staticmethod
    def resolve_advisor_name(obj: Any) -> str:
        return str(obj.advisor)

    @staticmethod
    def resolve_technician_name(obj: Any) -> str:
        return str(obj.technician)

    @staticmethod
    def resolve_bay_name(obj: Any) -> str:
        return obj.bay.name


class AppointmentDetailOut(AppointmentOut):
    events: list[AppointmentEventOut]
    missing_parts: list[ShortageOut]
    no_show_count: int

    @staticmethod
    def resolve_events(obj: Any) -> list[Any]:
        return list(obj.events.all())

    @staticmethod
    def resolve_missing_parts(obj: Any) -> list[Any]:
        return list(obj.shortages.select_related("part"))

    @staticmethod
    def resolve_no_show_count(obj: Any) -> int:
        return selectors.no_show_count(obj.customer)


class ArrivalOut(Schema):
    appointment: AppointmentOut
    status: str


class PreparationOut(Schema):
    appointment: AppointmentOut
    reserved: list[dict[str, Any]]
    missing: list[ShortageOut]
    parts_ready: bool

    @staticmethod
    def resolve_reserved(obj: Any) -> list[dict[str, Any]]:
        return [{"part_id": r.part_id, "part_number": r.part.number, "quantity": str(r.quantity)} for r in obj.reserved]


@router.get("/service-types", response={200: list[ServiceTypeOut], **ERRORS})
def list_service_types(request: Any, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "appointments.view_servicetype")
    return list(selectors.service_types_for(user, default_store(user, store_id)))


@router.get("/availability", response={200: AvailabilityOut, **ERRORS})
def get_availability(
    request: Any, date: dt.date, service_type_id: int, store_id: int | None = None, advisor_id: int | None = None,
    priority: bool = False, step_minutes: int = 15,
) -> Any:
    user = request_user(request)
    require(user, "appointments.view_appointment")
    store = default_store(user, store_id)
    kind = get_or_404(ServiceType.objects.filter(store=store, is_active=True), pk=service_type_id)
    advisor = services._advisor(store, advisor_id)
    slots = availability.free_slots(store, date, kind, advisor, max(5, min(step_minutes, 120)), priority=priority)
    return {
        "store_id": store.pk, "date": date, "service_type_id": kind.pk, "duration_minutes": kind.duration_minutes,
        "slots": [{"start": s, "local_time": timezone.localtime(s, store.zone).strftime("%H:%M")} for s in slots],
    }


@router.get("/availability/window", response={200: AvailabilityWindowOut, **ERRORS})
def get_availability_window(
    request: Any, date: dt.date, service_type_id: int, days: int = 30, store_id: int | None = None,
    advisor_id: int | None = None, priority: bool = False, step_minutes: int = 15,
) -> Any:
    """Free start times for up to 31 days in one call (a calendar's month view: a few queries, not one per day)."""
    user = request_user(request)
    require(user, "appointments.view_appointment")
    if not 1 <= days <= 31:
        raise ValidationFailed("days_range", _("Ask for 1 to 31 days."), "days")
    store = default_store(user, store_id)
    kind = get_or_404(ServiceType.objects.filter(store=store, is_active=True), pk=service_type_id)
    advisor = services._advisor(store, advisor_id)
    window = availability.free_slots_window(
        store, date, days, kind, advisor, max(5, min(step_minutes, 120)), priority=priority, after=timezone.now()
    )
    return {
        "store_id": store.pk, "service_type_id": kind.pk, "duration_minutes": kind.duration_minutes,
        "days": [
            {"date": day, "slots": [
                {"start": s, "local_time": timezone.localtime(s, store.zone).strftime("%H:%M")} for s in window.get(day, [])
            ]}
            for day in (date + dt.timedelta(days=i) for i in range(days))
        ],
    }


@router.get("/", response={200: list[AppointmentOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def list_appointments(
    request: Any, store_id: int | None = None, date: dt.date | None = None, status: str = "",
    advisor_id: int | None = None, technician_id: int | None = None, customer_id: int | None = None,
) -> Any:
    user = request_user(request)
    require(user, "appointments.view_appointment")
    store = default_store(user, store_id) if store_id is not None else None
    return selectors.appointment_list(
        user, store=store, day=date, status=status, advisor_id=advisor_id, technician_id=technician_id,
        customer_id=customer_id,
    )


@router.post("/", response={201: AppointmentDetailOut, **BOOK_ERRORS})
def book(request: Any, payload: BookIn) -> Any:
    user = request_user(request)
    require(user, "appointments.add_appointment")
    store = default_store(user, payload.store_id)
    appointment = services.appointment_book(
        actor=user, store=store, service_type=payload.service_type_id, start=payload.start,
        customer=payload.customer_id, customer_data=payload.customer.dict() if payload.customer else None,
        vehicle=payload.vehicle_id,
        vehicle_data={k: v for k, v in payload.vehicle.dict().items() if v not in (None, "")} if payload.vehicle else None,
        advisor=payload.advisor_id, canned_job=payload.canned_job_id, fault_description=payload.fault_description,
        channel=payload.channel, priority=payload.priority,
    )
    return Status(201, selectors.appointment_get(user, appointment.pk))


@router.get("/arrivals", response={200: list[ArrivalOut], **ERRORS})
def arrivals(request: Any, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "appointments.view_appointment")
    return selectors.arrivals_today(user, default_store(user, store_id))


@router.get("/preparation", response={200: list[PreparationOut], **ERRORS})
def preparation(request: Any, store_id: int | None = None, date: dt.date | None = None) -> Any:
    user = request_user(request)
    require(user, "appointments.view_appointment")
    return selectors.preparation_for(user, default_store(user, store_id), date)


@router.get("/{appointment_id}", response={200: AppointmentDetailOut, **ERRORS})
def detail(request: Any, appointment_id: int) -> Any:
    user = request_user(request)
    require(user, "appointments.view_appointment")
    return selectors.appointment_get(user, appointment_id)


@router.post("/{appointment_id}/reschedule", response={200: AppointmentDetailOut, **BOOK_ERRORS})
def reschedule(request: Any, appointment_id: int, payload: RescheduleIn) -> Any:
    user = request_user(request)
    require(user, "appointments.change_appointment")
    appointment = selectors.appointment_get(user, appointment_id)
    services.appointment_reschedule(
        actor=user, appointment=appointment, start=payload.start, advisor=payload.advisor_id, reason=payload.reason
    )
    return selectors.appointment_get(user, appointment_id)


@router.post("/{appointment_id}/cancel", response={200: AppointmentDetailOut, **ERRORS})
def cancel(request: Any, appointment_id: int, payload: AppointmentReasonIn) -> Any:
    user = request_user(request)
    require(user, "appointments.change_appointment")
    services.appointment_cancel(actor=user, appointment=selectors.appointment_get(user, appointment_id), reason=payload.reason)
    return selectors.appointment_get(user, appointment_id)


@router.post("/{appointment_id}/no-show", response={200: AppointmentDetailOut, **ERRORS})
def no_show(request: Any, appointment_id: int, payload: AppointmentReasonIn) -> Any:
    user = request_user(request)
    require(user, "appointments.change_appointment")
    services.appointment_mark_no_show(
        actor=user, appointment=selectors.appointment_get(user, appointment_id), reason=payload.reason
    )
    return selectors.appointment_get(user, appointment_id)


@router.post("/{appointment_id}/arrive", response={200: AppointmentDetailOut, **ERRORS})
def arrive(request: Any, appointment_id: int, payload: AppointmentReasonIn) -> Any:
    user = request_user(request)
    require(user, "appointments.change_appointment")
    services.appointment_arrive(actor=user, appointment=selectors.appointment_get(user, appointment_id), reason=payload.reason)
    return selectors.appointment_get(user, appointment_id)
