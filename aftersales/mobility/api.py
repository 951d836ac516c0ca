"""The courtesy-car API (/api/mobility): the fleet, bookings against a repair order, the contract out and in,
the waiting list and the do-not-lend list. Fields arrive as given and are checked by the services, so a bad request
is refused naming every bad field at once (``errors``)."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.errors import ValidationFailed
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store

from . import selectors, services

router = Router(tags=["mobility"])

Loose = str | int | float | None


class CourtesyCarOut(Schema):
    id: int
    store_id: int
    plate: str
    vin: str
    model_name: str
    energy: str
    insurance_expires: dt.date
    condition: str
    mileage: int
    fuel_rate: Decimal
    late_rate: Decimal
    day_rate: Decimal
    is_active: bool


class CourtesyCarStatsOut(Schema):
    car: CourtesyCarOut
    utilisation: int
    days_out: float
    damage_incidents: int
    current_booking_id: int | None
    next_booking_id: int | None


class CourtesyFleetOut(Schema):
    store_id: int
    days: int
    utilisation: int
    days_out: float
    damage_incidents: int
    cars: list[CourtesyCarStatsOut]


class CourtesyCarIn(Schema):
    store_id: int | None = None
    plate: Loose = None
    vin: Loose = None
    model_name: Loose = None
    energy: Loose = None
    insurance_expires: Loose = None
    condition: Loose = None
    mileage: Loose = None
    fuel_rate: Loose = None
    late_rate: Loose = None
    day_rate: Loose = None


class CourtesyCarPatch(Schema):
    condition: Loose = None
    insurance_expires: Loose = None
    is_active: bool | None = None


class CourtesyMarkOut(Schema):
    id: int
    phase: str
    x: float
    y: float
    kind: str
    note: str


class CourtesyPhotoOut(Schema):
    id: int
    phase: str
    url: str
    caption: str

    @staticmethod
    def resolve_url(obj: Any) -> str:
        return obj.image.url


class CourtesyBookingOut(Schema):
    id: int
    store_id: int
    car_id: int
    plate: str
    order_id: int
    order_number: str
    customer_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    benefit: str
    voucher_code: str | None
    day_rate: Decimal
    licence_number: str
    licence_expires: dt.date | None
    deposit: Decimal
    out_mileage: int | None
    out_energy: int | None
    out_at: dt.datetime | None
    in_mileage: int | None
    in_energy: int | None
    in_at: dt.datetime | None
    rent_charge: Decimal
    fuel_charge: Decimal
    late_charge: Decimal
    damage_charge: Decimal
    charge_route: str
    notes: str
    marks: list[CourtesyMarkOut]
    photos: list[CourtesyPhotoOut]

    @staticmethod
    def resolve_plate(obj: Any) -> str:
        return obj.car.plate

    @staticmethod
    def resolve_order_number(obj: Any) -> str:
        return obj.order.number

    @staticmethod
    def resolve_voucher_code(obj: Any) -> str | None:
        return obj.voucher.code if obj.voucher_id else None

    @staticmethod
    def resolve_marks(obj: Any) -> list[Any]:
        return list(obj.marks.all())

    @staticmethod
    def resolve_photos(obj: Any) -> list[Any]:
        return list(obj.photos.all())


class CourtesyBookingIn(Schema):
    order_id: int
    car_id: int
    starts_at: Loose = None
    ends_at: Loose = None
    notes: Loose = None
    waitlist_id: int | None = None
    voucher: Loose = None


class CourtesyCancelIn(Schema):
    reason: Loose = None


class CourtesyMarkIn(Schema):
    phase: Loose = None
    x: Loose = None
    y: Loose = None
    kind: Loose = "scratch"
    note: Loose = ""


class CourtesyHandOutIn(Schema):
    licence_number: Loose = None
    licence_expires: Loose = None
    deposit: Loose = None
    mileage: Loose = None
    energy: Loose = None
    ends_at: Loose = None
    signature: Loose = None
    signer_name: Loose = ""


class CourtesyReturnIn(Schema):
    mileage: Loose = None
    energy: Loose = None
    damage_charge: Loose = None
    signature: Loose = None
    signer_name: Loose = ""


class CourtesyWaitIn(Schema):
    order_id: int
    wanted_from: Loose = None
    wanted_until: Loose = None


class CourtesyWaitOut(Schema):
    id: int
    order_id: int
    customer_id: int
    wanted_from: dt.datetime
    wanted_until: dt.datetime
    status: str
    booking_id: int | None


class NoLendIn(Schema):
    customer_id: int
    reason: Loose = None
    store_id: int | None = None


class NoLendOut(Schema):
    id: int
    customer_id: int
    store_id: int
    reason: str
    added_at: dt.datetime


def _user(request: Any, perm: str) -> Any:
    user = request_user(request)
    require(user, perm)
    return user


def _order(user: Any, order_id: int) -> Any:
    from aftersales.common.scoping import get_or_404, restrict_to_stores
    from aftersales.workshop.models import RepairOrder

    return get_or_404(restrict_to_stores(RepairOrder.objects.select_related("store"), user), pk=order_id)


def _stats_out(row: Any) -> dict[str, Any]:
    return {"car": row.car, "utilisation": row.utilisation, "days_out": row.days_out,
            "damage_incidents": row.damage_incidents, "current_booking_id": row.current.pk if row.current else None,
            "next_booking_id": row.next.pk if row.next else None}


@router.get("/cars", response={200: CourtesyFleetOut, **ERRORS})
def fleet(request: Any, store_id: int | None = None) -> Any:
    user = _user(request, "mobility.view_courtesycar")
    store = default_store(user, store_id)
    stats = selectors.fleet_stats(user, store_id=store.pk)
    return {**stats, "store_id": store.pk, "cars": [_stats_out(r) for r in stats["cars"]]}


@router.post("/cars", response={201: CourtesyCarOut, **ERRORS})
def car_add(request: Any, payload: CourtesyCarIn) -> Any:
    user = _user(request, "mobility.add_courtesycar")
    data = payload.dict()
    store = default_store(user, data.pop("store_id"))
    return Status(201, services.courtesy_car_add(actor=user, store=store, **{k: v for k, v in data.items() if v is not None or k in ("plate", "vin", "model_name", "insurance_expires")}))


@router.get("/cars/{car_id}", response={200: CourtesyCarOut, **ERRORS})
def car_detail(request: Any, car_id: int) -> Any:
    return selectors.car(_user(request, "mobility.view_courtesycar"), car_id)


@router.patch("/cars/{car_id}", response={200: CourtesyCarOut, **ERRORS})
def car_update(request: Any, car_id: int, payload: CourtesyCarPatch) -> Any:
    user = _user(request, "mobility.change_courtesycar")
    return services.courtesy_car_update(actor=user, car=selectors.car(user, car_id), **payload.dict(exclude_unset=True))


@router.get("/free-cars", response={200: list[CourtesyCarOut], **ERRORS})
def free_cars(request: Any, starts_at: dt.datetime, ends_at: dt.datetime, store_id: int | None = None) -> Any:
    user = _user(request, "mobility.view_courtesycar")
    if ends_at <= starts_at:
        raise ValidationFailed("range_order", _("The return must be after the start."), "ends_at")
    return selectors.free_cars(user, store_id=default_store(user, store_id).pk, starts_at=starts_at, ends_at=ends_at)


@router.get("/bookings", response={200: list[CourtesyBookingOut], **ERRORS})
def booking_list(request: Any, store_id: int | None = None, car_id: int | None = None, order_id: int | None = None,
                 status: str | None = None) -> Any:
    user = _user(request, "mobility.view_courtesybooking")
    return list(selectors.bookings(user, store_id=store_id, car_id=car_id, order_id=order_id, status=status)
                .prefetch_related("marks", "photos")[:500])


@router.post("/bookings", response={201: CourtesyBookingOut, **ERRORS})
def book(request: Any, payload: CourtesyBookingIn) -> Any:
    user = _user(request, "mobility.add_courtesybooking")
    order = _order(user, payload.order_id)
    car = selectors.car(user, payload.car_id)
    entry = selectors.waitlist_entry(user, payload.waitlist_id) if payload.waitlist_id else None
    booking = services.courtesy_book(actor=user, order=order, car=car, starts_at=payload.starts_at,
                                     ends_at=payload.ends_at, notes=payload.notes, waitlist=entry, voucher=payload.voucher)
    return Status(201, selectors.booking(user, booking.pk))


@router.get("/bookings/{booking_id}", response={200: CourtesyBookingOut, **ERRORS})
def booking_detail(request: Any, booking_id: int) -> Any:
    return selectors.booking(_user(request, "mobility.view_courtesybooking"), booking_id)


@router.post("/bookings/{booking_id}/cancel", response={200: CourtesyBookingOut, **ERRORS})
def booking_cancel(request: Any, booking_id: int, payload: CourtesyCancelIn) -> Any:
    user = _user(request, "mobility.change_courtesybooking")
    services.courtesy_cancel(actor=user, booking=selectors.booking(user, booking_id), reason=payload.reason)
    return selectors.booking(user, booking_id)


@router.post("/bookings/{booking_id}/marks", response={201: CourtesyMarkOut, **ERRORS})
def mark_add(request: Any, booking_id: int, payload: CourtesyMarkIn) -> Any:
    user = _user(request, "mobility.change_courtesybooking")
    return Status(201, services.courtesy_mark_add(actor=user, booking=selectors.booking(user, booking_id), **payload.dict()))


@router.post("/bookings/{booking_id}/photos", response={201: CourtesyPhotoOut, **ERRORS})
def photo_add(request: Any, booking_id: int, photo: File[UploadedFile], phase: Form[str] = "", caption: Form[str] = "") -> Any:
    user = _user(request, "mobility.change_courtesybooking")
    booking = selectors.booking(user, booking_id)
    if photo.size and photo.size > 64 * 1024 * 1024:
        raise ValidationFailed("file_too_large", _("The file is too large."), "photo")
    return Status(201, services.courtesy_photo_add(actor=user, booking=booking, phase=phase, content=photo.read(), caption=caption))


@router.post("/bookings/{booking_id}/hand-out", response={200: CourtesyBookingOut, **ERRORS})
def hand_out(request: Any, booking_id: int, payload: CourtesyHandOutIn) -> Any:
    user = _user(request, "mobility.change_courtesybooking")
    services.courtesy_hand_out(actor=user, booking=selectors.booking(user, booking_id), **payload.dict())
    return selectors.booking(user, booking_id)


@router.post("/bookings/{booking_id}/return", response={200: CourtesyBookingOut, **ERRORS})
def give_back(request: Any, booking_id: int, payload: CourtesyReturnIn) -> Any:
    user = _user(request, "mobility.change_courtesybooking")
    services.courtesy_return(actor=user, booking=selectors.booking(user, booking_id), **payload.dict())
    return selectors.booking(user, booking_id)


@router.get("/waitlist", response={200: list[CourtesyWaitOut], **ERRORS})
def waitlist(request: Any, store_id: int | None = None) -> Any:
    return list(selectors.waitlist(_user(request, "mobility.view_courtesybooking"), store_id=store_id)[:500])


@router.post("/waitlist", response={201: CourtesyWaitOut, **ERRORS})
def waitlist_add(request: Any, payload: CourtesyWaitIn) -> Any:
    user = _user(request, "mobility.add_courtesybooking")
    return Status(201, services.waitlist_add(actor=user, order=_order(user, payload.order_id),
                                             wanted_from=payload.wanted_from, wanted_until=payload.wanted_until))


@router.post("/waitlist/{entry_id}/cancel", response={200: CourtesyWaitOut, **ERRORS})
def waitlist_cancel(request: Any, entry_id: int) -> Any:
    user = _user(request, "mobility.add_courtesybooking")
    return services.waitlist_cancel(actor=user, entry=selectors.waitlist_entry(user, entry_id))


@router.get("/do-not-lend", response={200: list[NoLendOut], **ERRORS})
def no_lend_list(request: Any) -> Any:
    return list(selectors.do_not_lend(_user(request, "mobility.view_donotlend"))[:1000])


@router.post("/do-not-lend", response={201: NoLendOut, **ERRORS})
def no_lend_add(request: Any, payload: NoLendIn) -> Any:
    from aftersales.customers.selectors import customer_get

    user = _user(request, "mobility.add_donotlend")
    store = default_store(user, payload.store_id)
    return Status(201, services.do_not_lend_add(actor=user, store=store, customer=customer_get(user, payload.customer_id),
                                                reason=payload.reason))


@router.delete("/do-not-lend/{entry_id}", response={204: None, **ERRORS})
def no_lend_remove(request: Any, entry_id: int) -> Any:
    user = _user(request, "mobility.delete_donotlend")
    services.do_not_lend_remove(actor=user, entry=selectors.do_not_lend_entry(user, entry_id))
    return Status(204, None)


# ---- pickup and delivery ------------------------------------------------------------------------------------------
class TripOut(Schema):
    id: int
    store_id: int
    customer_id: int
    vehicle_id: int
    order_id: int | None
    address: str
    lng: float
    lat: float
    window_start: dt.datetime
    window_end: dt.datetime
    status: str
    driver_id: int | None
    eta: dt.datetime | None
    ordered_via: str
    notes: str
    planned_at: dt.datetime | None
    delivery_window_start: dt.datetime | None
    delivery_window_end: dt.datetime | None
    fee: Decimal
    fee_basis: str
    pickup_handover_id: int | None
    delivery_handover_id: int | None


class TripDeliveryWindowIn(Schema):
    delivery_window_start: Loose = None
    delivery_window_end: Loose = None


class TripIn(Schema):
    vehicle_id: int
    order_id: int | None = None
    store_id: int | None = None
    address: Loose = None
    lng: Loose = None
    lat: Loose = None
    window_start: Loose = None
    window_end: Loose = None
    notes: Loose = None


class TripScheduleIn(Schema):
    driver_id: int


class TripMoveIn(Schema):
    to: str
    eta: Loose = None
    reason: Loose = None


@router.post("/trips/{trip_id}/delivery-window", response={200: TripOut, **ERRORS})
def trip_delivery_window(request: Any, trip_id: int, payload: TripDeliveryWindowIn) -> Any:
    """The owner's window for the car to come back after service (the route plan keeps the return inside it)."""
    from . import trips

    user = _user(request, "mobility.add_trip")
    return trips.trip_delivery_window(actor=user, trip=selectors.trip(user, trip_id),
                                      window_start=payload.delivery_window_start, window_end=payload.delivery_window_end)


class ServiceAreaIn(Schema):
    store_id: int | None = None
    polygon: list[list[Loose]] | None = None


class ServiceAreaOut(Schema):
    store_id: int
    polygon: list[list[float]]


@router.get("/trips", response={200: list[TripOut], **ERRORS})
def trip_list(request: Any, day: dt.date | None = None, store_id: int | None = None) -> Any:
    from django.utils import timezone

    user = _user(request, "mobility.view_trip")
    store = default_store(user, store_id)
    return selectors.trips_of_day(user, store=store, day=day or timezone.localtime(timezone.now(), store.zone).date())


@router.post("/trips", response={201: TripOut, **ERRORS})
def trip_request(request: Any, payload: TripIn) -> Any:
    from aftersales.vehicles.selectors import vehicle_get

    from . import trips

    user = _user(request, "mobility.add_trip")
    store = default_store(user, payload.store_id)
    order = _order(user, payload.order_id) if payload.order_id else None
    via = "call_centre" if user.groups.filter(name="call_centre_agent").exists() else "advisor"
    trip = trips.trip_request(actor=user, store=store, vehicle=vehicle_get(user, payload.vehicle_id), order=order,
                              address=payload.address, lng=payload.lng, lat=payload.lat, window_start=payload.window_start,
                              window_end=payload.window_end, notes=payload.notes, via=via)
    return Status(201, trip)


@router.get("/trips/{trip_id}", response={200: TripOut, **ERRORS})
def trip_detail(request: Any, trip_id: int) -> Any:
    return selectors.trip(_user(request, "mobility.view_trip"), trip_id)


@router.post("/trips/{trip_id}/schedule", response={200: TripOut, **ERRORS})
def trip_schedule(request: Any, trip_id: int, payload: TripScheduleIn) -> Any:
    from aftersales.staff.models import User

    from . import trips

    user = _user(request, "mobility.change_trip")
    trip = selectors.trip(user, trip_id)
    return trips.trip_schedule(actor=user, trip=trip, driver=User.objects.filter(pk=payload.driver_id).first())


@router.post("/trips/{trip_id}/move", response={200: TripOut, **ERRORS})
def trip_move(request: Any, trip_id: int, payload: TripMoveIn) -> Any:
    from . import trips

    user = _user(request, "mobility.change_trip")
    return trips.trip_move(actor=user, trip=selectors.trip(user, trip_id), to=payload.to, eta=payload.eta, reason=payload.reason)


@router.put("/service-area", response={200: ServiceAreaOut, **ERRORS})
def service_area(request: Any, payload: ServiceAreaIn) -> Any:
    from . import trips

    user = _user(request, "stores.change_store")
    return trips.service_area_set(actor=user, store=default_store(user, payload.store_id), polygon=payload.polygon)
