"""Reads for appointments, always scoped to the acting user's stores (ARCHITECTURE habit 3)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from aftersales.common.scoping import get_or_404, restrict_to_stores, visible_store_ids

from .choices import AppointmentStatus, ArrivalStatus, BookingChannel
from .models import Appointment, AppointmentPartShortage, Bay, ServiceType, TechnicianShift

LATE_AFTER = dt.timedelta(minutes=15)
_RELATED = ("store", "customer", "vehicle", "service_type", "canned_job", "advisor", "technician", "bay")


def appointments_visible_to(user: Any) -> QuerySet[Appointment]:
    return restrict_to_stores(Appointment.objects.all(), user)


def appointment_get(user: Any, appointment_id: int) -> Appointment:
    return get_or_404(appointments_visible_to(user).select_related(*_RELATED), pk=appointment_id)


def local_day_range(store: Any, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=store.zone)
    return start, start + dt.timedelta(days=1)


def appointment_list(
    user: Any,
    *,
    store: Any = None,
    day: dt.date | None = None,
    status: str = "",
    advisor_id: int | None = None,
    technician_id: int | None = None,
    customer_id: int | None = None,
) -> QuerySet[Appointment]:
    """Appointments of the user's stores, optionally of one store and its local ``day`` (calendar, lists)."""
    qs = appointments_visible_to(user).select_related(*_RELATED)
    if store is not None:
        qs = qs.filter(store=store)
    if day is not None:
        zone_store = store
        if zone_store is None:
            from aftersales.common.scoping import default_store

            zone_store = default_store(user)
        lo, hi = local_day_range(zone_store, day)
        qs = qs.filter(start__lt=hi, end__gt=lo)
    if status:
        qs = qs.filter(status=status)
    if advisor_id:
        qs = qs.filter(advisor_id=advisor_id)
    if technician_id:
        qs = qs.filter(technician_id=technician_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs.order_by("start", "id")


def service_types_for(user: Any, store: Any, *, include_inactive: bool = False) -> QuerySet[ServiceType]:
    qs = ServiceType.objects.filter(store_id__in=visible_store_ids(user), store=store)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("kind", "code")


def bays_for(user: Any, store: Any) -> QuerySet[Bay]:
    return Bay.objects.filter(store_id__in=visible_store_ids(user), store=store, is_active=True).order_by("name")


def shifts_for(user: Any, store: Any) -> QuerySet[TechnicianShift]:
    return TechnicianShift.objects.filter(store_id__in=visible_store_ids(user), store=store).select_related("user")


def no_show_count(customer: Any) -> int:
    """How often the customer did not come to a booked appointment (any store of the group)."""
    return Appointment.objects.filter(customer=customer, status=AppointmentStatus.NO_SHOW).count()


def arrival_status(appointment: Appointment, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    if appointment.status == AppointmentStatus.ARRIVED:
        return ArrivalStatus.ARRIVED
    if appointment.status == AppointmentStatus.NO_SHOW:
        return ArrivalStatus.NO_SHOW
    if now > appointment.start + LATE_AFTER:
        return ArrivalStatus.LATE
    return ArrivalStatus.EXPECTED


@dataclass
class Arrival:
    appointment: Appointment
    status: str


def arrivals_today(user: Any, store: Any, now: dt.datetime | None = None) -> list[Arrival]:
    """Today's (store-local) bookings with expected / arrived / late / no-show, in start order."""
    now = now or timezone.now()
    day = timezone.localtime(now, store.zone).date()
    lo, hi = local_day_range(store, day)
    qs = (
        appointments_visible_to(user).select_related(*_RELATED)
        .filter(store=store, start__gte=lo, start__lt=hi)
        .exclude(status=AppointmentStatus.CANCELLED).order_by("start", "id")
    )
    return [Arrival(appointment=a, status=arrival_status(a, now)) for a in qs]


@dataclass
class Preparation:
    appointment: Appointment
    reserved: list[Any] = field(default_factory=list)  # parts Reservation rows (active)
    missing: list[AppointmentPartShortage] = field(default_factory=list)

    @property
    def parts_ready(self) -> bool:
        return not self.missing


def preparation_for(user: Any, store: Any, day: dt.date | None = None) -> list[Preparation]:
    """The foreman's view of a day (default tomorrow): bookings with bay, technician, parts reserved and missing."""
    from aftersales.parts.choices import ReservationStatus
    from aftersales.parts.models import Reservation

    if day is None:
        day = timezone.localtime(timezone.now(), store.zone).date() + dt.timedelta(days=1)
    lo, hi = local_day_range(store, day)
    rows = list(
        appointments_visible_to(user).select_related(*_RELATED)
        .filter(store=store, start__gte=lo, start__lt=hi, status=AppointmentStatus.BOOKED).order_by("start", "id")
    )
    by_ref = {a.reference: a.pk for a in rows}
    reserved: dict[int, list[Any]] = defaultdict(list)
    for reservation in Reservation.objects.filter(
        store=store, reference__in=list(by_ref), status=ReservationStatus.ACTIVE
    ).select_related("part"):
        reserved[by_ref[reservation.reference]].append(reservation)
    missing: dict[int, list[AppointmentPartShortage]] = defaultdict(list)
    for shortage in AppointmentPartShortage.objects.filter(appointment_id__in=[a.pk for a in rows]).select_related("part"):
        missing[shortage.appointment_id].append(shortage)
    return [Preparation(appointment=a, reserved=reserved[a.pk], missing=missing[a.pk]) for a in rows]


@dataclass
class ReceptionCard:
    """What the advisor sees at once when a car arrives: who it is, how to greet them, today's booking."""

    customer: Any
    vehicles: list[Any]
    today: list[Arrival]
    no_shows: int
    # filled at the top (aftersales/web/reception.py) from the selectors of the apps above appointments, so nothing
    # here imports upward:
    tier: Any = None  # engagement.CustomerTier (tier, R/F/M, why) when computed
    open_cases: list[Any] = field(default_factory=list)  # feedback: open complaints / suggestions / recovery cases
    due: list[Any] = field(default_factory=list)  # care: reminders due or overdue (maintenance, insurance, ...)
    declined: list[Any] = field(default_factory=list)  # estimates: jobs declined earlier, still recommended
    # sections the page above adds (template name, context), e.g. the connected car's open alerts
    sections: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def reception_lookup(user: Any, store: Any, q: str, now: dt.datetime | None = None) -> list[ReceptionCard]:
    """Plate, phone or name → the customers (scoped) with today's bookings at ``store``: a fixed number of queries."""
    from django.db.models import Count

    from aftersales.customers.selectors import customer_search

    now = now or timezone.now()
    customers = customer_search(user, q, limit=10)
    if not customers:
        return []
    ids = [c.pk for c in customers]
    lo, hi = local_day_range(store, timezone.localtime(now, store.zone).date())
    todays = (
        appointments_visible_to(user).select_related(*_RELATED)
        .filter(store=store, customer_id__in=ids, start__gte=lo, start__lt=hi)
        .exclude(status=AppointmentStatus.CANCELLED).order_by("start", "id")
    )
    by_customer: dict[int, list[Arrival]] = defaultdict(list)
    for a in todays:
        by_customer[a.customer_id].append(Arrival(appointment=a, status=arrival_status(a, now)))
    no_shows = dict(
        Appointment.objects.filter(customer_id__in=ids, status=AppointmentStatus.NO_SHOW)
        .values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n")
    )
    return [
        ReceptionCard(customer=c, vehicles=list(c.vehicles.all()), today=by_customer.get(c.pk, []), no_shows=no_shows.get(c.pk, 0))
        for c in customers
    ]


def walk_in_figures(user: Any, store: Any, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Walk-ins between two local dates: how many, and the time from starting the registration to a bay assigned
    (SPEC §2: within 10 minutes) — average, worst and the share within the target."""
    from django.db.models import Avg, Count, Max, Q

    lo = dt.datetime.combine(start, dt.time.min, tzinfo=store.zone)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=store.zone)
    rows = appointments_visible_to(user).filter(
        store=store, channel=BookingChannel.WALK_IN, created_at__gte=lo, created_at__lt=hi, walk_in_seconds__isnull=False
    )
    figures = rows.aggregate(
        n=Count("id"), avg=Avg("walk_in_seconds"), worst=Max("walk_in_seconds"),
        within=Count("id", filter=Q(walk_in_seconds__lte=600)),
    )
    n = figures["n"] or 0
    return {
        "count": n,
        "average_minutes": round((figures["avg"] or 0) / 60, 1) if n else None,
        "worst_minutes": round((figures["worst"] or 0) / 60, 1) if n else None,
        "within_target_share": round(100 * figures["within"] / n, 1) if n else None,
        "target_minutes": 10,
    }
