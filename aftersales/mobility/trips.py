"""Pickup and delivery (取送车): the store's service area, trips with their transition table, the driver's moves,
the owner told "driver on the way" through the outbox, delivery only once paid or on a manager's credit.

Writes only, like services.py; every field checked first and all bad ones named at once."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from aftersales.common import audit
from aftersales.common.db import saved
from aftersales.common.errors import Conflict, Forbidden, ValidationFailed
from aftersales.common.permissions import granted, require, require_store
from aftersales.common.transitions import move

from .choices import DRIVER_MOVES, PICKUP_FEE_CODE, TRIP_TRANSITIONS, FeeBasis, OrderedVia, TripStatus
from .models import ServiceArea, Trip, TripEvent
from .services import Problems, _text, _when

MAX_WINDOW = dt.timedelta(hours=4)
DRIVER_ROLE = "driver"


# ---- the service area ---------------------------------------------------------------------------------------------
def point_in_polygon(lng: float, lat: float, polygon: list[list[float]]) -> bool:
    """Ray casting on WGS-84 degrees (fine at a city's scale): a point on the boundary counts as inside."""
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (x1, y1) == (lng, lat):
            return True
        if (y1 > lat) != (y2 > lat):
            x = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if x == lng:
                return True
            if x > lng:
                inside = not inside
    return inside


def _coordinate(value: Any, field: str, lo: float, hi: float) -> float:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, AttributeError) as exc:
        raise ValidationFailed("coordinate", _("Pick the place on the map (a longitude and a latitude)."), field) from exc
    if not number.is_finite() or not lo <= number <= hi:
        raise ValidationFailed("coordinate", _("Pick the place on the map (a longitude and a latitude)."), field)
    return float(round(number, 6))


def service_area_set(*, actor: Any, store: Any, polygon: Any, pickup_fee: Any = None, depot: Any = None) -> ServiceArea:
    """Draw the store's pickup area: at least three [longitude, latitude] points (WGS-84); optionally the fee
    for a pickup and the store's gate [longitude, latitude] where the drivers start."""
    from aftersales.common.money import parse_money

    require(actor, "stores.change_store")
    require_store(actor, store.pk)
    if not isinstance(polygon, list | tuple) or len(polygon) < 3:
        raise ValidationFailed("polygon", _("Give the area as at least three points on the map."), "polygon")
    points = []
    for n, point in enumerate(polygon):
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise ValidationFailed("polygon", _("Give the area as at least three points on the map."), f"polygon[{n}]")
        points.append([_coordinate(point[0], f"polygon[{n}]", -180, 180), _coordinate(point[1], f"polygon[{n}]", -90, 90)])
    defaults: dict[str, Any] = {"polygon": points}
    if pickup_fee not in (None, ""):
        defaults["pickup_fee"] = parse_money(pickup_fee, "pickup_fee")
    if depot not in (None, ""):
        if not isinstance(depot, list | tuple) or len(depot) != 2:
            raise ValidationFailed("coordinate", _("Pick the place on the map (a longitude and a latitude)."), "depot")
        defaults["depot_lng"] = Decimal(str(_coordinate(depot[0], "depot", -180, 180)))
        defaults["depot_lat"] = Decimal(str(_coordinate(depot[1], "depot", -90, 90)))
    with transaction.atomic():
        area, _created = ServiceArea.objects.update_or_create(store=store, defaults=defaults)
        audit.record(actor=actor, obj=area, action="mobility.service_area_set", store_id=store.pk,
                     changes={"points": [None, len(points)]})
    return area


# ---- trips --------------------------------------------------------------------------------------------------------
def _within_opening_hours(store: Any, start: dt.datetime, end: dt.datetime) -> bool:
    from aftersales.stores.calendar import opening_periods

    local_start, local_end = timezone.localtime(start, store.zone), timezone.localtime(end, store.zone)
    if local_start.date() != local_end.date():
        return False
    return any(p.opens <= local_start.time() and local_end.time() <= p.closes
               for p in opening_periods(store, local_start.date()))


def trip_problems(*, store: Any, address: Any, lng: Any, lat: Any, window_start: Any, window_end: Any,
                  now: dt.datetime) -> tuple[Problems, dict[str, Any]]:
    """Every check of a pickup request (shared by the staff desk and the owner app)."""
    p = Problems()
    values: dict[str, Any] = {}
    values["address"] = p.check(_text, address, "address", 200, required_message=_("Enter the pickup address."))
    values["lng"] = p.check(_coordinate, lng, "lng", -180, 180)
    values["lat"] = p.check(_coordinate, lat, "lat", -90, 90)
    start = values["window_start"] = p.check(_when, window_start, "window_start")
    end = values["window_end"] = p.check(_when, window_end, "window_end")
    if start is not None and start < now:
        p.add("in_past", _("The pickup window has already begun; pick a later time."), "window_start")
    if start is not None and end is not None:
        if end <= start:
            p.add("range_order", _("The window must end after it starts."), "window_end")
        elif end - start > MAX_WINDOW:
            p.add("window_too_long", _("Keep the pickup window within four hours."), "window_end")
        elif not _within_opening_hours(store, start, end):
            p.add("closed", _("The store is closed at that time; pick a window within opening hours."), "window_start")
    if values["lng"] is not None and values["lat"] is not None:
        area = ServiceArea.objects.filter(store=store).first()
        if area is None or len(area.polygon) < 3:
            p.add("no_service_area", _("This store does not offer pickup yet."), "address")
        elif not point_in_polygon(values["lng"], values["lat"], area.polygon):
            p.add("outside_area", _("This address is outside the store's pickup area."), "address")
    return p, values


# ---- the pickup fee -----------------------------------------------------------------------------------------------
def pickup_voucher(customer: Any, code: Any, *, store: Any, today: dt.date) -> Any:
    """The owner's voucher that makes a pickup free: theirs, unused, valid today, a free service item covering the
    pickup fee's code. None when no code is given; refused (on ``voucher``) otherwise."""
    from .vouchers import check_voucher

    code = str(code or "").strip().upper()
    if not code:
        return None
    voucher, problem = check_voucher(customer_id=customer.pk, code=code, service_code=PICKUP_FEE_CODE, store_id=store.pk, on=today)
    if problem == "unknown":
        raise ValidationFailed("voucher_unknown", _("No voucher of this customer has this code."), "voucher")
    if problem == "not_covered":
        raise ValidationFailed("voucher_not_covered", _("This voucher does not cover pickup and delivery."), "voucher")
    if problem == "used":
        raise ValidationFailed("voucher_used", _("This voucher is used, cancelled or not valid today."), "voucher")
    return voucher


def pickup_fee(*, store: Any, customer: Any, voucher: Any = None) -> tuple[Decimal, str]:
    """What the pickup costs the owner: free for tier A; free with a pickup voucher (the fee line is added and the
    voucher takes it off at the till); otherwise the store's fee (none when the store sets none)."""
    from aftersales.customers.tiers import is_tier_a

    area = ServiceArea.objects.filter(store=store).first()
    fee = area.pickup_fee if area is not None else Decimal("0")
    if is_tier_a(customer, stored_only=True):  # engagement's stored tier (customers/tiers.py)
        return Decimal("0"), FeeBasis.TIER_A
    if fee <= 0:
        return Decimal("0"), FeeBasis.NO_FEE
    if voucher is not None:
        return fee, FeeBasis.VOUCHER
    return fee, FeeBasis.STORE_FEE


def _charge_fee(trip: Trip, at: dt.datetime) -> None:
    """Put the pickup fee on the trip's repair order once it has one (a fee line with the pickup code, so a pickup
    voucher redeems against it at the till). Written on behalf of the order's advisor, who answers for the order;
    an order already invoiced or past the work keeps the fee on the trip for the desk to see."""
    from aftersales.billing.models import Invoice
    from aftersales.workshop.choices import EDITABLE_STATES, JobStatus, JobType, LineKind
    from aftersales.workshop.models import RepairOrder
    from aftersales.workshop.services import repair_job_add, repair_job_move

    if trip.fee <= 0 or trip.fee_job_id or trip.order_id is None:
        return
    order = RepairOrder.objects.select_related("advisor").get(pk=trip.order_id)
    advisor = order.advisor
    if order.status not in EDITABLE_STATES or Invoice.objects.filter(order_id=order.pk).exists() or advisor is None \
            or not advisor.has_perm("workshop.change_repairorder"):
        return
    job = repair_job_add(actor=advisor, order=order, title=_("Pickup and delivery"), job_type=JobType.OTHER, at=at,
                         lines=[{"kind": LineKind.FEE, "code": PICKUP_FEE_CODE, "description": str(_("Pickup and delivery fee")),
                                 "unit_price": trip.fee, "quantity": 1}])
    repair_job_move(actor=advisor, job=job, to=JobStatus.AUTHORIZED, reason=str(FeeBasis(trip.fee_basis).label), at=at)
    trip.fee_job_id = job.pk
    trip.save(update_fields=["fee_job_id"])


def trip_request(
    *, actor: Any, store: Any, vehicle: Any, address: Any, lng: Any, lat: Any, window_start: Any, window_end: Any,
    via: str = OrderedVia.ADVISOR, order: Any = None, notes: Any = "", at: dt.datetime | None = None,
    appointment: Any = None, voucher: Any = "",
) -> Trip:
    """Order a pickup: by the call centre or offered by the advisor (``actor`` is staff), or by the owner in the
    app (``actor`` None, ``via`` owner_app: the portal has checked the owner owns the car)."""
    if actor is not None:
        require(actor, "mobility.add_trip")
        require_store(actor, store.pk)
    elif via != OrderedVia.OWNER_APP:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": via}, "via")
    at = at or timezone.now()
    p, values = trip_problems(store=store, address=address, lng=lng, lat=lat, window_start=window_start,
                              window_end=window_end, now=at)
    notes = p.check(_text, notes, "notes", 300)
    if order is not None and order.vehicle_id != vehicle.pk:
        p.add("other_vehicle", _("This repair order is for another car."), "order")
    owner_voucher = p.check(pickup_voucher, vehicle.owner, voucher, store=store, today=timezone.localtime(at, store.zone).date())
    p.raise_if_any()
    fee, basis = pickup_fee(store=store, customer=vehicle.owner, voucher=owner_voucher)
    with transaction.atomic():
        trip = Trip.objects.create(store=store, customer_id=vehicle.owner_id, vehicle=vehicle, order=order, appointment=appointment,
                                   ordered_via=via, notes=notes or "", created_by=actor, created_at=at, fee=fee,
                                   fee_basis=basis, voucher=owner_voucher if basis == FeeBasis.VOUCHER else None, **values)
        TripEvent.objects.create(trip=trip, from_state="", to_state=TripStatus.REQUESTED, actor=actor, at=at,
                                 reason=str(OrderedVia(via).label))
        audit.record(actor=actor, obj=trip, action="trip.requested", store_id=store.pk, customer_id=vehicle.owner_id,
                     changes={"window": [None, values["window_start"].isoformat()], "fee": [None, f"{fee} {basis}"]},
                     reason=via, at=at)
        _charge_fee(trip, at)
    return trip


def is_driver(user: Any, store_id: int) -> bool:
    return bool(user.groups.filter(name=DRIVER_ROLE).exists() and user.memberships.filter(store_id=store_id).exists())


def trip_schedule(*, actor: Any, trip: Trip, driver: Any, at: dt.datetime | None = None) -> Trip:
    """The dispatcher gives the trip to a driver of the store (the desk: drivers do not dispatch)."""
    require(actor, "mobility.add_trip")
    require(actor, "mobility.change_trip")
    require_store(actor, trip.store_id)
    if driver is None or not is_driver(driver, trip.store_id):
        raise ValidationFailed("not_a_driver", _("Pick a driver of this store."), "driver")
    with transaction.atomic():
        locked = Trip.objects.select_for_update().get(pk=trip.pk)
        locked.driver = driver
        if locked.status == TripStatus.REQUESTED:
            move(locked, to=TripStatus.SCHEDULED, actor=actor, transitions=TRIP_TRANSITIONS, event_model=TripEvent,
                 event_fk="trip", labels=TripStatus, at=at, also_save=("driver",), reason=driver.get_full_name() or driver.username)
        elif locked.status == TripStatus.SCHEDULED:
            locked.save(update_fields=["driver"])
        else:
            raise Conflict("trip_started", _("The driver is already on this trip."), "driver")
        audit.record(actor=actor, obj=locked, action="trip.scheduled", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"driver": [None, driver.pk]})
    return locked


#: the trips a route plan may place: pickups not yet started, deliveries not yet out (by their delivery window)
PLAN_PICKUP = (TripStatus.REQUESTED, TripStatus.SCHEDULED)
PLAN_DELIVERY = (TripStatus.PICKED_UP, TripStatus.AT_STORE)


def plan_apply(*, actor: Any, store: Any, stops: list[tuple[Any, Any, dt.datetime]], at: dt.datetime | None = None) -> int:
    """Apply the dispatcher's route plan: each (trip, driver, arrival) gives the trip to the driver and records the
    planned arrival at the door: inside the pickup window for a pickup, inside the owner's delivery window for a
    car going back after service. All or nothing; returns how many trips were planned."""
    require(actor, "mobility.add_trip")
    require(actor, "mobility.change_trip")
    require_store(actor, store.pk)
    p = Problems()
    for n, (trip, driver, arrival) in enumerate(stops):
        delivery = trip.status in PLAN_DELIVERY
        lo, hi = (trip.delivery_window_start, trip.delivery_window_end) if delivery else (trip.window_start, trip.window_end)
        if trip.store_id != store.pk:
            p.add("other_store", _("This trip belongs to another store."), f"stops[{n}]")
        elif lo is None or hi is None or not lo <= arrival <= hi:
            p.add("outside_window", _("The planned arrival is outside the trip's window."), f"stops[{n}]")
        if driver is None or not is_driver(driver, store.pk):
            p.add("not_a_driver", _("Pick a driver of this store."), f"stops[{n}]")
    p.raise_if_any()
    with transaction.atomic():
        for trip, driver, arrival in stops:
            if trip.status in PLAN_DELIVERY:  # the car goes back: the driver of the delivery, no state move
                locked = Trip.objects.select_for_update().get(pk=trip.pk)
                if locked.status not in PLAN_DELIVERY:
                    raise Conflict("trip_started", _("The driver is already on this trip."), "driver")
                Trip.objects.filter(pk=locked.pk).update(driver=driver, planned_at=arrival)
                audit.record(actor=actor, obj=locked, action="trip.delivery_planned", store_id=store.pk,
                             customer_id=locked.customer_id, changes={"driver": [locked.driver_id, driver.pk]}, at=at)
                continue
            locked = trip_schedule(actor=actor, trip=trip, driver=driver, at=at)
            Trip.objects.filter(pk=locked.pk).update(planned_at=arrival)
        audit.record(actor=actor, obj=store, action="trip.plan_applied", store_id=store.pk,
                     changes={"trips": [None, len(stops)]}, at=at)
    return len(stops)


def trip_delivery_window(*, actor: Any, trip: Trip, window_start: Any, window_end: Any, at: dt.datetime | None = None) -> Trip:
    """The owner's window for the car to come back after service: chosen by the owner in the app (``actor`` None:
    the portal has checked the trip is the owner's) or by the desk. The same checks as a pickup window (not begun,
    in order, within four hours and the store's opening hours) and after the pickup window; until the car is out."""
    if actor is not None:
        require(actor, "mobility.add_trip")
        require_store(actor, trip.store_id)
    at = at or timezone.now()
    p = Problems()
    start = p.check(_when, window_start, "delivery_window_start")
    end = p.check(_when, window_end, "delivery_window_end")
    if start is not None and start < max(at, trip.window_end):
        p.add("in_past", _("Pick a delivery window after the pickup and not already begun."), "delivery_window_start")
    if start is not None and end is not None:
        if end <= start:
            p.add("range_order", _("The window must end after it starts."), "delivery_window_end")
        elif end - start > MAX_WINDOW:
            p.add("window_too_long", _("Keep the delivery window within four hours."), "delivery_window_end")
        elif not _within_opening_hours(trip.store, start, end):
            p.add("closed", _("The store is closed at that time; pick a window within opening hours."), "delivery_window_start")
    p.raise_if_any()
    with transaction.atomic():
        locked = Trip.objects.select_for_update().get(pk=trip.pk)
        if locked.status in (TripStatus.OUT_FOR_DELIVERY, TripStatus.DELIVERED, TripStatus.CANCELLED):
            raise Conflict("trip_closed", _("The car is already on its way back or the trip is closed."), "delivery_window_start")
        before = locked.delivery_window_start
        locked.delivery_window_start, locked.delivery_window_end = start, end
        locked.save(update_fields=["delivery_window_start", "delivery_window_end"])
        audit.record(actor=actor, obj=locked, action="trip.delivery_window", store_id=locked.store_id,
                     customer_id=locked.customer_id,
                     changes={"delivery_window": [before.isoformat() if before else None, start.isoformat()]}, at=at)
    return locked


def _first_name(user: Any) -> str:
    return (user.first_name or user.get_full_name() or user.username).strip()


def _delivery_allowed(trip: Trip) -> None:
    """As at the counter (billing.order_deliver): paid, or a manager allowed credit."""
    from aftersales.billing.models import DeliveryCredit, Invoice

    if _order_of(trip) is None:
        raise Conflict("no_order", _("Link the repair order before delivering the car."), "order")
    invoice = Invoice.objects.filter(order_id=_order_of(trip)).first()
    if invoice is None:
        raise Conflict("invoice_missing", _("Issue the invoice before delivering the car."), "order")
    if invoice.balance > 0 and not DeliveryCredit.objects.filter(order_id=_order_of(trip)).exists():
        raise Conflict("unpaid", _("The invoice is not paid: collect payment, or a manager allows credit, before delivery."), "order")


# ---- the door-step handover ---------------------------------------------------------------------------------------
PICKUP, DELIVERY = "pickup", "delivery"
#: when the driver fills each sheet: at the owner's door before driving off, and at the door before handing back
HANDOVER_WHEN = {PICKUP: TripStatus.ON_THE_WAY, DELIVERY: TripStatus.OUT_FOR_DELIVERY}


#: what the driver may do on reception's sheet of their own trip, lent for the call only (the role holds none of
#: reception's permissions, so reception's pages stay closed to drivers)
DOOR_STEP_PERMS = ("reception.add_handover", "reception.change_handover")


def _own_trip(actor: Any, trip: Trip) -> None:
    if trip.driver_id != getattr(actor, "pk", None) and not actor.has_perm("mobility.add_trip"):
        raise Conflict("not_your_trip", _("This trip is another driver's."), "driver")


@contextlib.contextmanager
def door_step(*, actor: Any, trip: Trip, phase: str) -> Iterator[Any]:
    """The handover sheet of ``phase`` of the actor's own trip (desk staff: any trip of their store), with reception's
    sheet permissions lent for the block: reception's services (``handover_update``, ``damage_mark_add``,
    ``photo_add``, ``handover_sign``) check the rest (the sheet's state, every field). Nothing else is lent."""
    require(actor, "mobility.change_trip")
    require_store(actor, trip.store_id)
    if phase not in HANDOVER_WHEN:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": phase}, "phase")
    _own_trip(actor, trip)
    sheet = getattr(trip, f"{phase}_handover")
    if sheet is None:
        raise Conflict("no_sheet", _("Start the handover sheet at the owner's door first."), "phase")
    with granted(actor, DOOR_STEP_PERMS):
        yield sheet


def trip_handover(*, actor: Any, trip: Trip, phase: str, at: dt.datetime | None = None) -> Any:
    """The handover sheet the driver fills at the door: reception's own sheet (mileage, fuel/charge, damage on the
    outline with photos, belongings, the owner's signature), started through reception's services. The pickup sheet
    names the trip's appointment, so at check-in the advisor opens the repair order from it; the delivery sheet is a
    second sheet of the same car, shown beside the first so new damage stands out. Started once per phase."""
    from aftersales.reception import services as reception

    require(actor, "mobility.change_trip")
    require_store(actor, trip.store_id)
    if phase not in HANDOVER_WHEN:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": phase}, "phase")
    field = f"{phase}_handover"
    with transaction.atomic():
        locked = Trip.objects.select_for_update(of=("self",)).select_related("store", "vehicle", "appointment").get(pk=trip.pk)
        _own_trip(actor, locked)
        existing = getattr(locked, field)
        if existing is not None:
            return existing
        if locked.status != HANDOVER_WHEN[phase]:
            message = (_("The pickup sheet is filled at the owner's door, once the driver is on the way.") if phase == PICKUP
                       else _("The delivery sheet is filled at the owner's door, once the car is out for delivery."))
            raise Conflict("wrong_time", message, "phase")
        with granted(actor, DOOR_STEP_PERMS):
            handover = reception.handover_start(actor=actor, store=locked.store, vehicle=locked.vehicle, at=at)
            if phase == PICKUP and locked.appointment is not None:
                handover = reception.handover_attach_appointment(actor=actor, handover=handover, appointment=locked.appointment)
            if phase == PICKUP and locked.notes:  # what the owner asked for when ordering: the sheet's request
                handover = reception.handover_update(actor=actor, handover=handover, data={"customer_words": locked.notes})
        setattr(locked, field, handover)
        locked.save(update_fields=[field])
        audit.record(actor=actor, obj=locked, action=f"trip.{phase}_handover", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={field: [None, handover.pk]}, at=at)
    return handover


def _handover_signed(trip: Trip, phase: str) -> None:
    from aftersales.reception.choices import HandoverStatus

    sheet = getattr(trip, f"{phase}_handover")
    if sheet is None or sheet.status != HandoverStatus.SIGNED:
        message = (_("Fill in the handover sheet at the door and have the owner sign it before driving off.")
                   if phase == PICKUP else _("Fill in the handover sheet at the door and have the owner sign it before handing the car back."))
        raise Conflict("handover_unsigned", message, "handover")


def _order_of(trip: Trip) -> int | None:
    """The trip's repair order: named when ordered, or opened at check-in from the pickup sheet."""
    if trip.order_id is None and trip.pickup_handover_id is not None:
        return trip.pickup_handover.order_id if trip.pickup_handover else None
    return trip.order_id


def trip_move(*, actor: Any, trip: Trip, to: str, eta: Any = None, reason: Any = "", at: dt.datetime | None = None) -> Trip:
    """One step of the trip. "Driver on the way" tells the owner (ETA, the driver's first name) through the outbox;
    "delivered" only when the invoice is paid or a manager allowed credit."""
    require(actor, "mobility.change_trip")
    require_store(actor, trip.store_id)
    at = at or timezone.now()
    p = Problems()
    if to not in TripStatus.values:
        p.add("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": to}, "to")
    eta_at = None
    if to == TripStatus.ON_THE_WAY:
        eta_at = p.check(_when, eta, "eta")
        if eta_at is not None and eta_at < at:
            p.add("in_past", _("The expected arrival is in the past."), "eta")
    reason = p.check(_text, reason, "reason", 300)
    p.raise_if_any()
    from aftersales.messaging.services import customer_variables, message_enqueue

    with transaction.atomic():
        locked = Trip.objects.select_for_update(of=("self",)).select_related(
            "store", "customer", "vehicle", "driver", "pickup_handover", "delivery_handover").get(pk=trip.pk)
        if to in (TripStatus.ON_THE_WAY, TripStatus.PICKED_UP, TripStatus.OUT_FOR_DELIVERY, TripStatus.DELIVERED):
            _own_trip(actor, locked)
        elif not actor.has_perm("mobility.add_trip"):  # a driver: cancelling or unassigning is the desk's
            _own_trip(actor, locked)
            if to not in DRIVER_MOVES:
                raise Forbidden("permission_denied", _("You do not have permission to do this."), "to")
        if to == TripStatus.PICKED_UP and locked.status == TripStatus.ON_THE_WAY:
            _handover_signed(locked, PICKUP)
        if to == TripStatus.DELIVERED and locked.status == TripStatus.OUT_FOR_DELIVERY:
            _handover_signed(locked, DELIVERY)
            _delivery_allowed(locked)
        also: list[str] = []
        if eta_at is not None:
            locked.eta = eta_at
            also.append("eta")
        if locked.order_id is None and _order_of(locked) is not None:
            locked.order_id = _order_of(locked)  # checked in from the pickup sheet: the trip follows its order
            also.append("order")
        move(locked, to=to, actor=actor, transitions=TRIP_TRANSITIONS, event_model=TripEvent, event_fk="trip",
             labels=TripStatus, reason=reason or "", at=at, also_save=tuple(also))
        _charge_fee(locked, at)
        if to == TripStatus.ON_THE_WAY and locked.driver is not None:
            with override(getattr(locked.customer, "language", "") or "zh-hans"):
                variables = {**customer_variables(customer=locked.customer, store=locked.store),
                             "plate": locked.vehicle.plate, "driver_name": _first_name(locked.driver),
                             "eta": timezone.localtime(eta_at, locked.store.zone).strftime("%H:%M")}
            message_enqueue(kind="mobility.driver_on_the_way", store=locked.store, customer=locked.customer,
                            variables=variables, dedup_key=f"trip-on-the-way:{locked.pk}:{saved(locked.last_event).pk}")
        audit.record(actor=actor, obj=locked, action=f"trip.{to}", store_id=locked.store_id,
                     customer_id=locked.customer_id, reason=reason or "", at=at)
    return locked


# ---- drivers' shifts ----------------------------------------------------------------------------------------------
def _clock(value: Any, field: str) -> dt.time:
    try:
        hh, mm = (int(x) for x in str(value).strip().split(":")[:2])
        return dt.time(hh, mm)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("invalid_time", _("Enter a time as HH:MM."), field) from exc


def driver_week_set(*, actor: Any, store: Any, driver: Any, days: dict[int, tuple[Any, Any]]) -> list[Any]:
    """The dispatcher sets a driver's week at the store: for each weekday (0 = Monday) the shift's start and end
    ("HH:MM"), both blank for a day off. Replaces the driver's week; every bad field named at once, nothing written.
    A driver with no shift at all works the store's opening hours in the route plan."""
    from .models import DriverShift

    require(actor, "mobility.change_drivershift")
    require_store(actor, store.pk)
    if driver is None or not is_driver(driver, store.pk):
        raise ValidationFailed("not_a_driver", _("Pick a driver of this store."), "driver")
    p = Problems()
    rows: list[DriverShift] = []
    for weekday in range(7):
        start_raw, end_raw = (str(v or "").strip() for v in days.get(weekday, ("", "")))
        if not start_raw and not end_raw:
            continue
        start = p.check(_clock, start_raw, f"start_{weekday}")
        end = p.check(_clock, end_raw, f"end_{weekday}")
        if start is not None and end is not None:
            if end <= start:
                p.add("range_order", _("The shift must end after it starts."), f"end_{weekday}")
            else:
                rows.append(DriverShift(store=store, driver=driver, weekday=weekday, start=start, end=end))
    p.raise_if_any()
    with transaction.atomic():
        before = list(DriverShift.objects.select_for_update().filter(store=store, driver=driver))
        DriverShift.objects.filter(pk__in=[r.pk for r in before]).delete()
        DriverShift.objects.bulk_create(rows)
        audit.record(actor=actor, obj=driver, action="trip.driver_week_set", store_id=store.pk,
                     changes={"shifts": [[f"{r.weekday} {r.start:%H:%M}-{r.end:%H:%M}" for r in before],
                                         [f"{r.weekday} {r.start:%H:%M}-{r.end:%H:%M}" for r in rows]]})
    return rows
