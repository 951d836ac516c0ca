"""Courtesy cars: reads scoped to the acting user's stores (another store's car or booking is 404)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet
from django.utils import timezone

from aftersales.common.scoping import get_or_404, restrict_to_stores

from .choices import HOLDING_STATES, BookingStatus, CarCondition, Phase, WaitStatus
from .models import CourtesyBooking, CourtesyCar, DoNotLend, WaitlistEntry

STATS_DAYS = 30


def cars(user: Any, *, store_id: int | None = None) -> QuerySet[CourtesyCar]:
    qs = restrict_to_stores(CourtesyCar.objects.select_related("store"), user)
    return qs.filter(store_id=store_id) if store_id else qs


def car(user: Any, car_id: int) -> CourtesyCar:
    return get_or_404(cars(user), pk=car_id)


def bookings(user: Any, *, store_id: int | None = None, car_id: int | None = None, order_id: int | None = None,
             status: str | None = None) -> QuerySet[CourtesyBooking]:
    qs = restrict_to_stores(CourtesyBooking.objects.select_related("car", "order", "customer", "store", "voucher__template"), user)
    if store_id:
        qs = qs.filter(store_id=store_id)
    if car_id:
        qs = qs.filter(car_id=car_id)
    if order_id:
        qs = qs.filter(order_id=order_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def booking(user: Any, booking_id: int) -> CourtesyBooking:
    return get_or_404(bookings(user), pk=booking_id)


def courtesy_vouchers(customer_id: int, *, store: Any, today: dt.date) -> list[Any]:
    """The customer's courtesy-car vouchers usable at ``store`` today (free service items covering the courtesy-car
    code; the advisor picks one when booking). The customer is the order's, which the caller already scoped."""
    from aftersales.loyalty.choices import VoucherKind, VoucherStatus
    from aftersales.loyalty.models import Voucher

    from .choices import COURTESY_CAR_CODE

    qs = Voucher.objects.select_related("template").filter(
        customer_id=customer_id, status=VoucherStatus.ISSUED, valid_from__lte=today, valid_until__gte=today,
        template__kind=VoucherKind.FREE_ITEM,
    ).order_by("valid_until", "id")
    return [v for v in qs if COURTESY_CAR_CODE in (v.template.service_codes or [])
            and v.template.store_id in (None, store.pk)]


def waitlist(user: Any, *, store_id: int | None = None) -> QuerySet[WaitlistEntry]:
    qs = restrict_to_stores(WaitlistEntry.objects.select_related("order", "customer"), user).filter(status=WaitStatus.WAITING)
    return qs.filter(store_id=store_id) if store_id else qs


def waitlist_entry(user: Any, entry_id: int) -> WaitlistEntry:
    return get_or_404(restrict_to_stores(WaitlistEntry.objects.all(), user), pk=entry_id)


def do_not_lend(user: Any) -> QuerySet[DoNotLend]:
    return restrict_to_stores(DoNotLend.objects.select_related("customer", "store"), user)


def do_not_lend_entry(user: Any, entry_id: int) -> DoNotLend:
    return get_or_404(do_not_lend(user), pk=entry_id)


def free_cars(user: Any, *, store_id: int, starts_at: dt.datetime, ends_at: dt.datetime) -> list[CourtesyCar]:
    """Cars of the store in service and not held for any of [starts_at, ends_at)."""
    busy = CourtesyBooking.objects.filter(
        store_id=store_id, status__in=HOLDING_STATES, starts_at__lt=ends_at, ends_at__gt=starts_at,
    ).values("car_id")
    return list(cars(user, store_id=store_id).filter(is_active=True).exclude(condition=CarCondition.OUT_OF_SERVICE)
                .exclude(pk__in=busy))


@dataclass
class CarStats:
    car: CourtesyCar
    utilisation: int  # percent of the last 30 days the car was out
    days_out: float
    damage_incidents: int
    current: CourtesyBooking | None
    next: CourtesyBooking | None


def fleet_stats(user: Any, *, store_id: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """Per car and for the store, over the last 30 days: utilisation (time out), days out, returns with new damage;
    each car's current and next booking. Three queries whatever the fleet's size."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=STATS_DAYS)
    fleet = list(cars(user, store_id=store_id).order_by("-is_active", "plate"))
    rows = list(
        CourtesyBooking.objects.filter(store_id=store_id, status__in=(*HOLDING_STATES,))
        .filter(ends_at__gt=since).exclude(status=BookingStatus.BOOKED, starts_at__gt=now + dt.timedelta(days=60))
        .select_related("customer", "order").order_by("starts_at")
    )
    damaged = set(
        CourtesyBooking.objects.filter(store_id=store_id, in_at__gte=since, marks__phase=Phase.IN).values_list("pk", flat=True)
    )
    out: list[CarStats] = []
    total_seconds = 0.0
    for c in fleet:
        mine = [b for b in rows if b.car_id == c.pk]
        seconds = 0.0
        for b in mine:
            if b.out_at is None:
                continue
            start = max(b.out_at, since)
            end = min(b.in_at or now, now)
            if end > start:
                seconds += (end - start).total_seconds()
        total_seconds += seconds
        current = next((b for b in mine if b.status == BookingStatus.OUT), None)
        upcoming = next((b for b in mine if b.status == BookingStatus.BOOKED and b.ends_at > now), None)
        out.append(CarStats(
            car=c, utilisation=round(100 * seconds / (STATS_DAYS * 86400)), days_out=round(seconds / 86400, 1),
            damage_incidents=sum(1 for b in mine if b.pk in damaged), current=current, next=upcoming,
        ))
    active = sum(1 for c in fleet if c.is_active) or 1
    return {
        "cars": out,
        "utilisation": round(100 * total_seconds / (active * STATS_DAYS * 86400)) if fleet else 0,
        "days_out": round(total_seconds / 86400, 1),
        "damage_incidents": len(damaged),
        "days": STATS_DAYS,
    }


# ---- pickup and delivery ------------------------------------------------------------------------------------------
def trips(user: Any, *, store_id: int | None = None) -> QuerySet[Any]:
    from .models import Trip

    qs = restrict_to_stores(Trip.objects.select_related("store", "customer", "vehicle", "driver", "order",
                                                         "pickup_handover", "delivery_handover"), user)
    if not user.has_perm("mobility.add_trip"):  # a driver sees the trips given to them, no other
        qs = qs.filter(driver_id=user.pk)
    return qs.filter(store_id=store_id) if store_id else qs


def trip(user: Any, trip_id: int) -> Any:
    return get_or_404(trips(user), pk=trip_id)


def trips_of_day(user: Any, *, store: Any, day: dt.date) -> list[Any]:
    """The store's trips whose window starts on the local ``day``, by window (the dispatcher's board)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=store.zone)
    return list(trips(user, store_id=store.pk).filter(window_start__gte=start, window_start__lt=start + dt.timedelta(days=1))
                .order_by("window_start", "id"))


def my_trips(user: Any, *, now: dt.datetime | None = None) -> list[Any]:
    """The driver's open trips of the coming week, in the order to drive them (by window)."""
    from .choices import TripStatus

    now = now or timezone.now()
    return list(trips(user).filter(driver=user).exclude(status__in=(TripStatus.DELIVERED, TripStatus.CANCELLED))
                .filter(window_start__lt=now + dt.timedelta(days=8))
                .order_by(F("planned_at").asc(nulls_last=True), "window_start", "id"))


def eta_from_store(trip: Any, now: dt.datetime) -> dt.datetime:
    """When the driver leaving the store now reaches the owner's door (the shared ETA helper: great-circle ×
    detour ÷ speed); never before the planned arrival or the window."""
    from aftersales.common.eta import arrival

    from .models import ServiceArea

    area = ServiceArea.objects.filter(store_id=trip.store_id).first()
    lat, lng = area.depot() if area else (float(trip.lat), float(trip.lng))
    when = arrival(now, lat, lng, float(trip.lat), float(trip.lng))
    return max(when, trip.planned_at or when)


def drivers(store: Any) -> list[Any]:
    from aftersales.staff.models import User

    return list(User.objects.filter(groups__name="driver", memberships__store=store, is_active=True).distinct().order_by("first_name", "username"))


def trip_of_appointment(appointment_id: int) -> Any:
    """The pickup ordered with an appointment (the owner app shows it on the appointment; the portal has scoped the
    appointment to its owner)."""
    from .models import Trip

    return Trip.objects.select_related("driver").filter(appointment_id=appointment_id).exclude(status="cancelled").first()


# ---- the route plan -----------------------------------------------------------------------------------------------
PLANNABLE = ("requested", "scheduled")
DELIVERABLE = ("picked_up", "at_store")


def deliveries_of_day(user: Any, *, store: Any, day: dt.date) -> list[Any]:
    """The cars to take back whose owner chose a delivery window starting on the local ``day`` (not yet out)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=store.zone)
    return list(trips(user, store_id=store.pk).filter(status__in=DELIVERABLE, delivery_window_start__gte=start,
                                                      delivery_window_start__lt=start + dt.timedelta(days=1))
                .order_by("delivery_window_start", "id"))


def driver_shifts(store: Any, day: dt.date) -> list[tuple[Any, int, int]]:
    """(driver, shift start, shift end) in minutes of the local day: the driver's shift that weekday (the
    dispatcher's shift editor), nobody on a day off; the store's opening hours for a driver with no shifts kept;
    nobody on a closed day."""
    from aftersales.stores.calendar import opening_periods

    from .models import DriverShift

    periods = opening_periods(store, day)
    if not periods:
        return []
    opens = min(p.opens for p in periods)
    closes = max(p.closes for p in periods)
    kept: dict[int, dict[int, Any]] = {}
    for row in DriverShift.objects.filter(store=store):
        kept.setdefault(row.driver_id, {})[row.weekday] = row
    out: list[tuple[Any, int, int]] = []
    for user in drivers(store):
        week = kept.get(user.pk)
        if week is None:
            out.append((user, opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute))
        elif day.weekday() in week:
            r = week[day.weekday()]
            out.append((user, r.start.hour * 60 + r.start.minute, r.end.hour * 60 + r.end.minute))
    return out


def driver_weeks(user: Any, store: Any) -> list[tuple[Any, dict[int, Any]]]:
    """The shift editor: every driver of the store with their week (weekday → shift); ``store`` comes scoped to the
    user (``store_from_request``)."""
    from .models import DriverShift

    kept: dict[int, dict[int, Any]] = {}
    for row in DriverShift.objects.filter(store=store):
        kept.setdefault(row.driver_id, {})[row.weekday] = row
    return [(d, kept.get(d.pk, {})) for d in drivers(store)]


@dataclass
class ProposedStop:
    trip: Any
    driver: Any
    arrival: dt.datetime


@dataclass
class RoutePlan:
    stops: list[ProposedStop]
    unplanned: list[Any]
    drive_minutes: int
    seconds: float


def route_plan(user: Any, *, store: Any, day: dt.date, seconds: float = 2.0) -> RoutePlan:
    """The day's plan for the trips not yet started: each gets a driver and an arrival at the door inside its window
    and the driver's shift (OR-Tools; see routing.py). Nothing is written: the dispatcher applies it."""
    import time

    from .models import ServiceArea
    from .routing import Shift, Visit, plan_routes

    started = time.monotonic()
    rows = [t for t in trips_of_day(user, store=store, day=day) if t.status in PLANNABLE]
    rows += deliveries_of_day(user, store=store, day=day)
    area = ServiceArea.objects.filter(store=store).first()
    if not rows or area is None:
        return RoutePlan([], rows, 0, 0.0)
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=store.zone)

    def minute(when: dt.datetime) -> int:
        return int((when - midnight).total_seconds() // 60)

    def window(t: Any) -> tuple[dt.datetime, dt.datetime]:
        return (t.delivery_window_start, t.delivery_window_end) if t.status in DELIVERABLE else (t.window_start, t.window_end)

    visits = [Visit(t.pk, float(t.lat), float(t.lng), minute(window(t)[0]), minute(window(t)[1])) for t in rows]
    people = driver_shifts(store, day)
    plan = plan_routes(area.depot(), visits, [Shift(n, a, b) for n, (_u, a, b) in enumerate(people)], seconds=seconds)
    by_id = {t.pk: t for t in rows}
    stops = [ProposedStop(by_id[key], people[n][0], midnight + dt.timedelta(minutes=at))
             for n, route in plan.routes.items() for key, at in route]
    stops.sort(key=lambda s: (s.driver.pk, s.arrival))
    return RoutePlan(stops, [by_id[k] for k in plan.unplanned], plan.total_minutes, time.monotonic() - started)


# ---- the owner app (the portal has identified the owner; nothing of another owner's is reachable) -----------------
#: the steps the owner follows, in order (cancelled shown apart)
OWNER_STEPS = ("requested", "scheduled", "on_the_way", "picked_up", "at_store", "out_for_delivery", "delivered")


def owner_trips(customer: Any, *, open_only: bool = True) -> list[Any]:
    """The owner's trips, newest window first; open ones only by default (the owner home's links)."""
    from .models import Trip

    qs = Trip.objects.select_related("store", "vehicle", "driver").filter(customer_id=customer.pk)
    if open_only:
        qs = qs.exclude(status__in=("delivered", "cancelled"))
    return list(qs.order_by("-window_start", "-id")[:10])


def owner_trip(customer: Any, trip_id: int) -> Any:
    """One trip of this owner, else 404."""
    from .models import Trip

    return get_or_404(Trip.objects.select_related("store", "vehicle", "driver", "appointment")
                      .filter(customer_id=customer.pk), pk=trip_id)


def owner_trip_view(trip: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the owner sees of a trip: the steps with the current one, the driver's first name only, the expected
    arrival (the ETA the driver gave on the way, else the planned arrival, else the window)."""
    from .choices import TripStatus

    now = now or timezone.now()
    current = OWNER_STEPS.index(trip.status) if trip.status in OWNER_STEPS else -1
    steps = [{"code": s, "label": TripStatus(s).label, "done": n < current, "current": n == current}
             for n, s in enumerate(OWNER_STEPS)]
    driver = trip.driver
    first = (driver.first_name or driver.get_full_name() or "").strip() if driver is not None else ""
    going_back = trip.status in ("picked_up", "at_store", "out_for_delivery", "delivered")
    if trip.status in ("on_the_way", "out_for_delivery") and trip.eta and trip.eta >= now - dt.timedelta(hours=2):
        eta = trip.eta
    else:
        eta = trip.planned_at
    callable_ = trip.status in ("scheduled", "on_the_way", "out_for_delivery") and driver is not None
    return {"steps": steps, "cancelled": trip.status == "cancelled", "driver_first_name": first, "eta": eta,
            "going_back": going_back, "can_call": callable_,
            "can_set_delivery": trip.status not in ("out_for_delivery", "delivered", "cancelled")}
