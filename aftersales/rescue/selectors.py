"""Rescue reads, scoped: staff see their stores' cases and units (another store's → 404), the crew sees the jobs
of its units, an owner sees their own cases. The dispatch suggestion and the optimal assignment are reads too."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from aftersales.common.errors import NotFound
from aftersales.common.scoping import get_or_404, restrict_to_stores

from . import eta
from .choices import OPEN_STATES, WAITING_FOR_UNIT, CaseStatus, UnitStatus, needed_capability
from .models import RescueAlert, RescueArea, RescueCase, RescueUnit, UnitShift


def cases_visible_to(user: Any) -> QuerySet[RescueCase]:
    return restrict_to_stores(RescueCase.objects.all(), user)


def case_get(user: Any, case_id: int) -> RescueCase:
    return get_or_404(
        cases_visible_to(user).select_related("store", "customer", "vehicle", "unit", "handover").prefetch_related(
            "events__actor", "photos", "alerts"),
        pk=case_id,
    )


def units_visible_to(user: Any) -> QuerySet[RescueUnit]:
    return restrict_to_stores(RescueUnit.objects.all(), user)


def unit_get(user: Any, unit_id: int) -> RescueUnit:
    return get_or_404(units_visible_to(user).prefetch_related("crew"), pk=unit_id)


def shift_get(user: Any, shift_id: int) -> UnitShift:
    return get_or_404(restrict_to_stores(UnitShift.objects.select_related("unit"), user, "unit__store_id"), pk=shift_id)


def shifts_of(user: Any, store: Any, *, unit_id: int | None = None) -> list[UnitShift]:
    """The shifts of the store's units (one unit's with ``unit_id``), within the user's stores."""
    rows = restrict_to_stores(UnitShift.objects.filter(unit__store=store), user, "unit__store_id").prefetch_related("crew")
    if unit_id is not None:
        rows = rows.filter(unit_id=unit_id)
    return list(rows.order_by("unit__name", "starts", "id"))


def area_of(store: Any) -> RescueArea | None:
    return RescueArea.objects.filter(store=store).first()


def open_cases(user: Any, store: Any) -> list[RescueCase]:
    return list(
        cases_visible_to(user).filter(store=store, status__in=OPEN_STATES)
        .select_related("unit", "vehicle", "customer").annotate(open_alerts=Count("alerts", filter=Q(alerts__done_at__isnull=True)))
        .order_by("requested_at", "id")
    )


def units_of(user: Any, store: Any, *, now: dt.datetime | None = None) -> list[RescueUnit]:
    """The store's units, each with ``on_shift`` (the shift it is on now, "always" without shifts, None off shift)
    and ``shift_until`` (when that shift ends, local time)."""
    from .shifts import current_shifts, shift_end

    units = list(units_visible_to(user).filter(store=store).select_related("case")
                 .prefetch_related("crew", "shifts__crew").order_by("name"))
    now = now or timezone.now()
    on = current_shifts(store, units, now=now)
    local = timezone.localtime(now, store.zone)
    for unit in units:
        unit.on_shift = on[unit.pk]  # type: ignore[attr-defined]
        unit.shift_until = shift_end(on[unit.pk], local) if isinstance(on[unit.pk], UnitShift) else None  # type: ignore[attr-defined]
    return units


def open_alerts(user: Any, store: Any) -> list[RescueAlert]:
    return list(
        restrict_to_stores(RescueAlert.objects.all(), user, "case__store_id")
        .filter(case__store=store, done_at__isnull=True).select_related("case").order_by("raised_at")
    )


# ---- dispatch -----------------------------------------------------------------------------------------------------
def _unit_arrays(units: list[RescueUnit], area: RescueArea | None) -> tuple[Any, Any]:
    base_lat = float(area.base_lat) if area else 0.0
    base_lng = float(area.base_lng) if area else 0.0
    lat = np.array([float(u.lat) if u.lat is not None else base_lat for u in units])
    lng = np.array([float(u.lng) if u.lng is not None else base_lng for u in units])
    return lat, lng


def _available_units(store: Any, now: dt.datetime | None = None) -> list[RescueUnit]:
    """The store's free units that are on duty now: available (not switched off duty), and on one of their shifts
    (a unit without shifts is on round the clock)."""
    from .shifts import current_shifts

    if not hasattr(store, "zone"):
        from aftersales.stores.models import Store

        store = Store.objects.get(pk=store)
    units = list(RescueUnit.objects.filter(store=store, status=UnitStatus.AVAILABLE, case__isnull=True)
                 .only("id", "name", "kind", "capabilities", "lat", "lng", "status", "store_id")
                 .prefetch_related("shifts").order_by("id"))
    on = current_shifts(store, units, now=now)
    return [u for u in units if on[u.pk] is not None]


def suggest_units(user: Any, case: RescueCase, *, limit: int = 5, units: list[RescueUnit] | None = None,
                  area: RescueArea | None = None) -> list[tuple[RescueUnit, int, float]]:
    """Capable available units ranked by ETA: [(unit, minutes, km)] best first."""
    case = get_or_404(cases_visible_to(user), pk=case.pk) if units is None else case
    if units is None:
        units = _available_units(case.store)
        area = area_of(case.store_id)
    need = needed_capability(case.incident, case.drivable)
    capable = [u for u in units if need in (u.capabilities or [])]
    if not capable:
        return []
    f = eta.factors(area)
    lat, lng = _unit_arrays(capable, area)
    km = eta.great_circle_km(lat, lng, float(case.lat), float(case.lng))
    minutes = eta.eta_minutes(km, detour=f["detour"], speed_kmh=f["speed_kmh"], prep=f["prep"])
    order = np.argsort(minutes, kind="stable")[:limit]
    return [(capable[i], eta.whole_minutes(float(minutes[i])), round(float(km[i]), 1)) for i in order]


def assignment_plan(user: Any, store: Any, *, cases: list[RescueCase] | None = None, units: list[RescueUnit] | None = None,
                    area: RescueArea | None = None) -> list[tuple[RescueCase, RescueUnit, int]]:
    """The optimal pairing of the open cases waiting for a unit with the available units: the least total ETA
    (scipy's linear_sum_assignment on the case × unit matrix; a unit without the capability costs ``IMPOSSIBLE``)."""
    from scipy.optimize import linear_sum_assignment

    if cases is None:
        cases = list(cases_visible_to(user).filter(store=store, status__in=WAITING_FOR_UNIT).order_by("requested_at", "id"))
    if units is None:
        units = _available_units(store)
    if not cases or not units:
        return []
    area = area if area is not None else area_of(store)
    f = eta.factors(area)
    ulat, ulng = _unit_arrays(units, area)
    clat = np.array([float(c.lat) for c in cases])[:, None]
    clng = np.array([float(c.lng) for c in cases])[:, None]
    km = eta.great_circle_km(ulat[None, :], ulng[None, :], clat, clng)
    cost = eta.eta_minutes(km, detour=f["detour"], speed_kmh=f["speed_kmh"], prep=f["prep"])
    caps = [set(u.capabilities or []) for u in units]
    for i, c in enumerate(cases):
        need = needed_capability(c.incident, c.drivable)
        mask = np.array([need not in cap for cap in caps])
        cost[i, mask] = eta.IMPOSSIBLE
    rows, cols = linear_sum_assignment(cost)
    return [(cases[r], units[c], eta.whole_minutes(float(cost[r, c]))) for r, c in zip(rows, cols, strict=True)
            if cost[r, c] < eta.IMPOSSIBLE]


# ---- the crew -----------------------------------------------------------------------------------------------------
def crew_jobs(user: Any) -> list[RescueCase]:
    """The jobs of the units this user crews (the current one first)."""
    return list(
        cases_visible_to(user).filter(Q(unit__crew=user) | Q(shift__crew=user), status__in=OPEN_STATES)
        .select_related("unit", "vehicle", "customer", "store").distinct().order_by("-dispatched_at", "-id")
    )


def crew_units(user: Any) -> list[RescueUnit]:
    return list(units_visible_to(user).filter(Q(crew=user) | Q(shifts__crew=user)).distinct().order_by("name"))


def crew_job_get(user: Any, case_id: int) -> RescueCase:
    return get_or_404(
        cases_visible_to(user).filter(Q(unit__crew=user) | Q(shift__crew=user)).distinct()
        .select_related("unit", "vehicle", "customer", "store").prefetch_related("photos", "events"),
        pk=case_id,
    )


# ---- the owner ----------------------------------------------------------------------------------------------------
def owner_cases(customer: Any) -> QuerySet[RescueCase]:
    """The owner's cases; a telematics draft is not theirs to see until the call centre has confirmed it."""
    return RescueCase.objects.filter(customer=customer).exclude(status=CaseStatus.DRAFT).select_related("store", "vehicle", "unit").order_by("-requested_at", "-id")


def owner_open_case(customer: Any) -> RescueCase | None:
    return owner_cases(customer).filter(status__in=OPEN_STATES).first()


def owner_case_get(customer: Any, case_id: int) -> RescueCase:
    case = owner_cases(customer).filter(pk=case_id).prefetch_related("events", "photos").first()
    if case is None:
        from django.utils.translation import gettext as _

        raise NotFound("not_found", _("Not found, or not visible to you."), None)
    return case


def crew_first_name(case: RescueCase) -> str:
    """Only the first name of the crew leader: what the customer sees."""
    if case.unit is None:
        return ""
    member = case.shift.crew.order_by("id").first() if case.shift_id and case.shift else None
    member = member or case.unit.crew.order_by("id").first()
    if member is None:
        return ""
    return member.first_name or member.get_username()


def minutes_to_arrival(case: RescueCase, now: dt.datetime | None = None) -> int | None:
    if case.eta_at is None or case.status not in (CaseStatus.DISPATCHED, CaseStatus.EN_ROUTE):
        return None
    now = now or timezone.now()
    return max(0, int(-(-(case.eta_at - now).total_seconds() // 60)))


def unit_distance_km(case: RescueCase) -> float | None:
    """How far (great-circle) the unit's last posted position is from the car, while it is on its way."""
    unit = case.unit
    if unit is None or unit.lat is None or unit.lng is None or case.status not in (CaseStatus.DISPATCHED, CaseStatus.EN_ROUTE):
        return None
    return round(float(eta.great_circle_km(float(unit.lat), float(unit.lng), float(case.lat), float(case.lng))), 1)


def hotline(case: RescueCase) -> str:
    """The number the customer's call button dials: the store's rescue hotline (never a crew member's own phone)."""
    area = area_of(case.store)
    return (area.hotline if area and area.hotline else "") or case.store.phone


# ---- figures ------------------------------------------------------------------------------------------------------
def rescue_figures(user: Any, store: Any, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Between two local dates: response time (request → on scene), the share on scene within the promised ETA,
    and the crews' acceptance rate (dispatches accepted / dispatches offered)."""
    from .models import RescueEvent

    lo = dt.datetime.combine(start, dt.time.min, tzinfo=store.zone)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=store.zone)
    cases = cases_visible_to(user).filter(store=store, requested_at__gte=lo, requested_at__lt=hi)
    arrived: list[tuple[Any, Any, Any]] = list(
        cases.filter(on_scene_at__isnull=False).values_list("requested_at", "on_scene_at", "promised_at"))
    minutes = [(on - req).total_seconds() / 60 for req, on, _p in arrived]
    within = sum(1 for _r, on, promised in arrived if promised is not None and on <= promised)
    events = RescueEvent.objects.filter(case__in=cases)
    offered = events.filter(to_state=CaseStatus.DISPATCHED).count()
    accepted = events.filter(from_state=CaseStatus.DISPATCHED, to_state=CaseStatus.EN_ROUTE).count()
    n = len(minutes)
    return {
        "cases": cases.count(),
        "arrived": n,
        "average_response_minutes": round(sum(minutes) / n, 1) if n else None,
        "within_promise_share": round(100 * within / n, 1) if n else None,
        "acceptance_share": round(100 * accepted / offered, 1) if offered else None,
        "offered": offered,
        "target_minutes": 15,
    }


# ---- the owner sees the unit approach -----------------------------------------------------------------------------
APPROACH_STATES = (CaseStatus.DISPATCHED, CaseStatus.EN_ROUTE)
TRAIL_POINTS = 12


def owner_approach(case: RescueCase) -> dict[str, Any] | None:
    """What the owner may see of the unit: only while it is on its way to them (dispatched / on the way), and only
    the positions posted for THIS case (never where the unit was before, never after arrival, cancel or close).
    A drawing of relative positions (the car at the centre, the unit and its recent trail around it, in a 200×200
    SVG: no online map service) and the unit's last point for AMap (GCJ-02) and Baidu (BD-09)."""
    from .maps import map_point
    from .models import UnitPosition

    if case.status not in APPROACH_STATES or case.unit_id is None:
        return None
    positions = list(UnitPosition.objects.filter(case=case, unit_id=case.unit_id).order_by("-at", "-id")
                     .values_list("lat", "lng", "at")[:TRAIL_POINTS])
    if not positions:
        return None
    lat0, lng0 = float(case.lat), float(case.lng)
    k = np.cos(np.radians(lat0))

    def offset(lat: Any, lng: Any) -> tuple[float, float]:  # km east, km north of the car (fine at these distances)
        return (float(lng) - lng0) * 111.32 * k, (float(lat) - lat0) * 110.574

    points = [offset(la, ln) for la, ln, _at in positions]
    km = float(eta.great_circle_km(float(positions[0][0]), float(positions[0][1]), lat0, lng0))
    reach = max(0.2, *(max(abs(x), abs(y)) for x, y in points))
    scale = 80.0 / reach  # the farthest point 80 units from the centre of a 200 × 200 drawing

    def svg(x: float, y: float) -> tuple[float, float]:
        return round(float(100 + x * scale), 1), round(float(100 - y * scale), 1)

    drawn = [svg(x, y) for x, y in points]
    unit_point = map_point(positions[0][0], positions[0][1], case.unit.name if case.unit else "")
    return {
        "unit_xy": drawn[0], "trail": " ".join(f"{x},{y}" for x, y in reversed(drawn)), "km": round(km, 1),
        "ring_km": round(reach, 1), "at": positions[0][2], "unit_point": unit_point,
        "car_point": map_point(case.lat, case.lng, case.number),
    }
