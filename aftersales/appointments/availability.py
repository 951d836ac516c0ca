"""Capacity: which start times are free for a service, and which bay, technician and advisor a booking takes.

A slot ``[start, start + duration)`` is free when, for the whole duration, it lies inside one opening period of
the store's day (holidays closed, make-up workdays follow Monday's hours, evening and weekend periods count), a
bay is free, a technician with the required skill is on shift and free, and an advisor is free. "Free" means no
overlapping appointment that still holds capacity (booked or arrived).

Everything for a window of days is loaded in a handful of queries and computed in Python on integer epoch
seconds, so a 30-day window costs the same number of queries as one day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from aftersales.stores.models import Holiday, HolidayKind, OpeningPeriod, Store

from .choices import HOLDING
from .models import Appointment, Bay, ServiceType, TechnicianShift

Interval = tuple[int, int]  # epoch seconds, [start, end)
Busy = tuple[int | None, int | None, dt.datetime, dt.datetime]  # (bay id, technician id, start, end)

#: Who else keeps a bay or a technician busy beyond the bookings: the workshop floor registers itself at start
#: (cars in bays, jobs dispatched or clocked on: ``workshop.floor_selectors.live_floor_busy``). A provider takes
#: (store, window start, window end) and returns the busy intervals overlapping the window. A lower app never
#: imports the workshop; the workshop plugs in here.
LIVE_FLOOR: list[Callable[[Store, dt.datetime, dt.datetime], list[Busy]]] = []


def register_live_floor(provider: Callable[[Store, dt.datetime, dt.datetime], list[Busy]]) -> None:
    if provider not in LIVE_FLOOR:
        LIVE_FLOOR.append(provider)


@dataclass(frozen=True)
class Allocation:
    bay_id: int
    technician_id: int
    advisor_id: int


def effective_weekday(day: dt.date, holiday_kind: str | None) -> int | None:
    """The weekday whose hours (and shifts) apply on ``day``; None when the store is closed (holiday)."""
    if holiday_kind == HolidayKind.CLOSED:
        return None
    weekday = day.weekday()
    if holiday_kind == HolidayKind.WORKDAY and weekday >= 5:
        return 0  # a make-up workday follows Monday's hours (as stores.calendar.opening_periods)
    return weekday


def _ts(value: dt.datetime) -> int:
    return int(value.timestamp())


def _local(day: dt.date, t: dt.time, zone: Any) -> int:
    return _ts(dt.datetime.combine(day, t, tzinfo=zone))


def _free(busy: list[Interval] | None, s: int, e: int) -> bool:
    if not busy:
        return True
    return all(b_end <= s or b_start >= e for b_start, b_end in busy)


def store_advisor_ids(store: Store) -> list[int]:
    """Active service advisors who work at ``store``."""
    from aftersales.staff.models import User
    from aftersales.staff.roles import Role

    return list(
        User.objects.filter(is_active=True, memberships__store=store, groups__name=Role.SERVICE_ADVISOR)
        .order_by("id").values_list("id", flat=True).distinct()
    )


@dataclass
class DayPlan:
    """One local day of one store: its opening periods and every resource's busy intervals."""

    day: dt.date
    periods: list[Interval]
    bays: list[tuple[int, bool]]  # (id, is_priority) in preference order
    shifts: dict[int, list[Interval]]  # technician id → shifts that day
    advisors: list[int]
    busy_bay: dict[int, list[Interval]] = field(default_factory=dict)
    busy_tech: dict[int, list[Interval]] = field(default_factory=dict)
    busy_adv: dict[int, list[Interval]] = field(default_factory=dict)

    def period_for(self, s: int, e: int) -> Interval | None:
        for p_start, p_end in self.periods:
            if p_start <= s and e <= p_end:
                return (p_start, p_end)
        return None

    def _load(self, busy: dict[int, list[Interval]], ident: int) -> int:
        return sum(b - a for a, b in busy.get(ident, ()))

    def allocate(self, s: int, e: int, *, priority: bool = False, preferred_advisor_id: int | None = None) -> Allocation | None:
        if self.period_for(s, e) is None:
            return None
        bay_id = None
        for candidate, is_priority in self.bays:
            if is_priority and not priority:
                continue  # the priority lane is kept for priority customers
            if _free(self.busy_bay.get(candidate), s, e):
                bay_id = candidate
                break
        if bay_id is None:
            return None
        techs = [
            t for t, shifts in self.shifts.items()
            if any(a <= s and e <= b for a, b in shifts) and _free(self.busy_tech.get(t), s, e)
        ]
        if not techs:
            return None
        advisors = [a for a in self.advisors if _free(self.busy_adv.get(a), s, e)]
        if not advisors:
            return None
        technician_id = min(techs, key=lambda t: (self._load(self.busy_tech, t), t))
        if preferred_advisor_id in advisors:
            advisor_id = preferred_advisor_id
        else:
            advisor_id = min(advisors, key=lambda a: (self._load(self.busy_adv, a), a))
        return Allocation(bay_id=bay_id, technician_id=technician_id, advisor_id=int(advisor_id or 0))

    def can_start(self, s: int, e: int, *, priority: bool = False) -> bool:
        """Whether ``allocate(s, e, priority=priority)`` would find a bay, technician and advisor (without choosing)."""
        if self.period_for(s, e) is None:
            return False
        if not any(
            (priority or not is_priority) and _free(self.busy_bay.get(bay), s, e) for bay, is_priority in self.bays
        ):
            return False
        if not any(_free(self.busy_adv.get(a), s, e) for a in self.advisors):
            return False
        return any(
            any(a <= s and e <= b for a, b in shifts) and _free(self.busy_tech.get(t), s, e)
            for t, shifts in self.shifts.items()
        )

    def free_starts(self, duration_minutes: int, *, step_minutes: int = 15, priority: bool = False, not_before: int = 0) -> list[int]:
        length = duration_minutes * 60
        step = max(1, step_minutes) * 60
        out: list[int] = []
        for p_start, p_end in self.periods:
            s = p_start
            while s + length <= p_end:
                if s >= not_before and self.can_start(s, s + length, priority=priority):
                    out.append(s)
                s += step
        return out


class Capacity:
    """The store's capacity for a service type over ``days`` local days from ``first_day``."""

    def __init__(
        self,
        store: Store,
        first_day: dt.date,
        days: int,
        *,
        skill: str,
        advisor_ids: Iterable[int] | None = None,
        exclude_appointment_id: int | None = None,
    ) -> None:
        self.store = store
        self.zone = store.zone
        self.first_day = first_day
        self.days = [first_day + dt.timedelta(days=i) for i in range(days)]
        last_day = self.days[-1]
        holidays = dict(
            Holiday.objects.filter(store=store, date__gte=first_day, date__lte=last_day).values_list("date", "kind")
        )
        hours: dict[int, list[tuple[dt.time, dt.time]]] = defaultdict(list)
        for weekday, opens, closes in OpeningPeriod.objects.filter(store=store).order_by("opens").values_list("weekday", "opens", "closes"):
            hours[weekday].append((opens, closes))
        bays = list(
            Bay.objects.filter(store=store, is_active=True).order_by("-is_priority", "name", "id").values_list("id", "is_priority")
        )
        shift_rows = [
            row for row in TechnicianShift.objects.filter(store=store, user__is_active=True)
            .values_list("user_id", "weekday", "start", "end", "user__skills")
            if not skill or skill in (row[4] or [])
        ]
        technicians = sorted({row[0] for row in shift_rows})
        advisors = sorted(set(advisor_ids)) if advisor_ids is not None else store_advisor_ids(store)
        self.window = (
            dt.datetime.combine(first_day, dt.time.min, tzinfo=self.zone),
            dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, tzinfo=self.zone),
        )
        booked = (
            Appointment.objects.filter(status__in=HOLDING, start__lt=self.window[1], end__gt=self.window[0])
            .filter(Q(store=store) | Q(technician_id__in=technicians) | Q(advisor_id__in=advisors))
        )
        if exclude_appointment_id:
            booked = booked.exclude(pk=exclude_appointment_id)
        bookings: list[tuple[Any, Any, Any, int, int]] = [
            (bay, tech, adv, _ts(s), _ts(e))
            for bay, tech, adv, s, e in booked.values_list("bay_id", "technician_id", "advisor_id", "start", "end")
        ]
        for provider in LIVE_FLOOR:  # the floor as it is now: a car in a bay, a technician on a job
            bookings += [(bay, tech, None, _ts(s), _ts(e)) for bay, tech, s, e in provider(store, *self.window)]
        by_day: dict[dt.date, list[tuple[Any, Any, Any, int, int]]] = defaultdict(list)
        for booking in bookings:  # each booking goes to the local days it touches (not every day scans every booking)
            s, e = booking[3], booking[4]
            day = dt.datetime.fromtimestamp(s, tz=self.zone).date()
            last = dt.datetime.fromtimestamp(max(s, e - 1), tz=self.zone).date()
            while day <= last:
                by_day[day].append(booking)
                day += dt.timedelta(days=1)
        self.plans: dict[dt.date, DayPlan] = {}
        for day in self.days:
            applies = effective_weekday(day, holidays.get(day))
            if applies is None:
                periods: list[Interval] = []
            else:
                periods = [(_local(day, o, self.zone), _local(day, c, self.zone)) for o, c in hours.get(applies, [])]
            shifts: dict[int, list[Interval]] = defaultdict(list)
            if applies is not None:
                for user_id, shift_day, start, end, _skills in shift_rows:
                    if shift_day == applies:
                        shifts[user_id].append((_local(day, start, self.zone), _local(day, end, self.zone)))
            plan = DayPlan(day=day, periods=periods, bays=bays, shifts=dict(shifts), advisors=advisors)
            if periods:
                lo = min(p[0] for p in periods)
                hi = max(p[1] for p in periods)
                for bay, tech, adv, s, e in by_day.get(day, ()):
                    if s < hi and e > lo:
                        if bay is not None:
                            plan.busy_bay.setdefault(bay, []).append((s, e))
                        if tech is not None:
                            plan.busy_tech.setdefault(tech, []).append((s, e))
                        if adv is not None:
                            plan.busy_adv.setdefault(adv, []).append((s, e))
            self.plans[day] = plan

    def plan_for(self, start: dt.datetime) -> DayPlan | None:
        return self.plans.get(timezone.localtime(start, self.zone).date())

    def starts(
        self, duration_minutes: int, *, step_minutes: int = 15, priority: bool = False, after: dt.datetime | None = None
    ) -> dict[dt.date, list[dt.datetime]]:
        not_before = _ts(after or timezone.now())
        return {
            day: [dt.datetime.fromtimestamp(s, tz=dt.UTC) for s in plan.free_starts(
                duration_minutes, step_minutes=step_minutes, priority=priority, not_before=not_before)]
            for day, plan in self.plans.items()
        }


def free_slots(
    store: Store,
    day: dt.date,
    service_type: ServiceType,
    advisor: Any = None,
    step_minutes: int = 15,
    *,
    priority: bool = False,
    duration_minutes: int | None = None,
) -> list[dt.datetime]:
    """Free start times (aware, UTC) on the store's local ``day`` for ``service_type``'s standard duration."""
    return free_slots_window(
        store, day, 1, service_type, advisor, step_minutes, priority=priority, duration_minutes=duration_minutes
    ).get(day, [])


def free_slots_window(
    store: Store,
    first_day: dt.date,
    days: int,
    service_type: ServiceType,
    advisor: Any = None,
    step_minutes: int = 15,
    *,
    priority: bool = False,
    duration_minutes: int | None = None,
    after: dt.datetime | None = None,
) -> dict[dt.date, list[dt.datetime]]:
    """Free start times per local day for ``days`` days from ``first_day`` (a few queries in all)."""
    advisor_ids = [getattr(advisor, "pk", advisor)] if advisor is not None else None
    capacity = Capacity(store, first_day, days, skill=service_type.required_skill, advisor_ids=advisor_ids)
    return capacity.starts(
        duration_minutes or service_type.duration_minutes, step_minutes=step_minutes, priority=priority, after=after
    )


def next_free(
    store: Store,
    service_type: ServiceType,
    after: dt.datetime,
    *,
    duration_minutes: int | None = None,
    advisor: Any = None,
    priority: bool = False,
    count: int = 5,
    days: int = 14,
    per_period: int = 2,
) -> list[dt.datetime]:
    """The nearest ``count`` free start times at or after ``after`` (looking ``days`` days ahead), at most
    ``per_period`` from one opening period, so the list reaches the same evening, the weekend and the next days
    instead of five quarter-hours of one morning."""
    first_day = timezone.localtime(after, store.zone).date()
    advisor_ids = [getattr(advisor, "pk", advisor)] if advisor is not None else None
    capacity = Capacity(store, first_day, days, skill=service_type.required_skill, advisor_ids=advisor_ids)
    not_before = _ts(max(after, timezone.now()))
    duration = duration_minutes or service_type.duration_minutes
    out: list[dt.datetime] = []
    for day in capacity.days:
        plan = capacity.plans[day]
        starts = plan.free_starts(duration, priority=priority, not_before=not_before)
        for p_start, p_end in plan.periods:
            inside = [s for s in starts if p_start <= s < p_end][:per_period]
            out.extend(dt.datetime.fromtimestamp(s, tz=dt.UTC) for s in inside)
            if len(out) >= count:
                return out[:count]
    return out[:count]
