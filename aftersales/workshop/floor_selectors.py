"""Reads for the workshop floor: the live board (bays, technicians, jobs, promised times, AT RISK / LATE, silent
orders), the dispatch suggestion, a technician's jobs today, actual vs standard hours, and the progress-update
interval. Every selector takes the acting user and sees only that user's stores.

Definitions (docs/workshop.md explains them with examples):

* **standard hours** of a job: ``job.standard_hours`` when set, else the sum of its labour lines' quantities.
* **worked hours**: the sum of its time entries (an open entry counts up to now).
* **remaining hours**: ``max(standard − worked, 0)`` for an unfinished job (authorized, dispatched, in progress,
  rework); 0 otherwise.
* **AT RISK**: the order has a promised time still ahead, and for some technician holding unfinished jobs of the
  order, their remaining hours exceed that technician's shift time between now and the promised time (jobs nobody
  holds yet are compared with the store's opening hours in the same window).
* **LATE**: the promised time has passed and the order is still in the workshop (not ready, delivered or closed).
* **silent**: the car is in the workshop (``WORKSHOP_STATES``) and 30 minutes of the store's opening time have passed
  since the last customer-visible update (``last_public_update_at``, else check-in).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common.scoping import get_locked_or_404, get_or_404, restrict_to_stores, visible_store_ids

from .choices import (
    ASSIGNED_JOB_STATES,
    IN_SHOP_STATES,
    UNFINISHED_JOB_STATES,
    WORKSHOP_STATES,
    JobStatus,
    LineKind,
    OrderStatus,
)
from .models import ProgressNote, RepairJob, RepairJobEvent, RepairLine, RepairOrder, RepairOrderEvent, TimeEntry

SILENT_AFTER = dt.timedelta(minutes=30)
MAX_CALENDAR_DAYS = 400  # a calendar never spans more than this (a promise further ahead is measured up to it)
BOARD_LOOKBACK = dt.timedelta(days=31)  # silence older than this is measured from a month ago (it is long past 30 min)
HOUR = Decimal("3600")
Span = tuple[dt.datetime, dt.datetime]


# ---- the store's calendar: opening hours and technicians' shifts between two instants ----------------------------
class StoreCalendar:
    """A store's opening periods, holidays and (optionally) technicians' shifts, loaded once (three queries)."""

    def __init__(self, store: Any, first: dt.datetime, last: dt.datetime, technician_ids: list[int] | None = None) -> None:
        from aftersales.appointments.models import TechnicianShift
        from aftersales.stores.models import Holiday, OpeningPeriod

        self.store = store
        self.zone = store.zone
        self.first_day = timezone.localtime(first, self.zone).date()
        last_day = timezone.localtime(max(first, last), self.zone).date()
        self.last_day = min(last_day, self.first_day + dt.timedelta(days=MAX_CALENDAR_DAYS))
        self.holidays = dict(
            Holiday.objects.filter(store=store, date__gte=self.first_day, date__lte=self.last_day).values_list("date", "kind")
        )
        self.hours: dict[int, list[tuple[dt.time, dt.time]]] = defaultdict(list)
        for weekday, opens, closes in OpeningPeriod.objects.filter(store=store).order_by("opens").values_list(
            "weekday", "opens", "closes"
        ):
            self.hours[weekday].append((opens, closes))
        self.shifts: dict[int, dict[int, list[tuple[dt.time, dt.time]]]] = defaultdict(lambda: defaultdict(list))
        if technician_ids:
            for user_id, weekday, start, end in TechnicianShift.objects.filter(
                store=store, user_id__in=technician_ids
            ).values_list("user_id", "weekday", "start", "end"):
                self.shifts[user_id][weekday].append((start, end))

    def _days(self, a: dt.datetime, b: dt.datetime) -> list[dt.date]:
        first = max(self.first_day, timezone.localtime(a, self.zone).date())
        last = min(self.last_day, timezone.localtime(b, self.zone).date())
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    def _applies(self, day: dt.date) -> int | None:
        from aftersales.appointments.availability import effective_weekday

        return effective_weekday(day, self.holidays.get(day))

    def _spans(self, pattern: dict[int, list[tuple[dt.time, dt.time]]], a: dt.datetime, b: dt.datetime) -> list[Span]:
        out: list[Span] = []
        for day in self._days(a, b):
            weekday = self._applies(day)
            if weekday is None:
                continue
            for start, end in pattern.get(weekday, ()):
                s = dt.datetime.combine(day, start, tzinfo=self.zone)
                e = dt.datetime.combine(day, end, tzinfo=self.zone)
                lo, hi = max(s, a), min(e, b)
                if lo < hi:
                    out.append((lo, hi))
        return out

    def open_spans(self, a: dt.datetime, b: dt.datetime) -> list[Span]:
        """The store's opening time within [a, b). A store with no opening hours at all counts as always open."""
        if a >= b:
            return []
        if not self.hours:
            return [(a, b)]
        return self._spans(self.hours, a, b)

    def shift_spans(self, technician_id: int, a: dt.datetime, b: dt.datetime) -> list[Span]:
        """The technician's shifts at this store within [a, b)."""
        if a >= b:
            return []
        return self._spans(self.shifts.get(technician_id, {}), a, b)

    def open_seconds(self, a: dt.datetime, b: dt.datetime) -> float:
        return seconds(self.open_spans(a, b))

    def shift_seconds(self, technician_id: int, a: dt.datetime, b: dt.datetime) -> float:
        return seconds(self.shift_spans(technician_id, a, b))


def seconds(spans: list[Span]) -> float:
    return sum((e - s).total_seconds() for s, e in spans)


def hours(value: float | Decimal) -> Decimal:
    return (Decimal(str(value)) / HOUR).quantize(Decimal("0.01")) if not isinstance(value, Decimal) else value


# ---- jobs with their hours ------------------------------------------------------------------------------------
def with_labour_hours(qs: QuerySet[RepairJob]) -> QuerySet[RepairJob]:
    return qs.annotate(labour_hours=Sum("lines__quantity", filter=Q(lines__kind=LineKind.LABOUR)))


def standard_hours(job: RepairJob) -> Decimal:
    """The job's standard hours: as set on the job, else its labour lines' hours."""
    value = job.standard_hours or getattr(job, "labour_hours", None) or 0
    return Decimal(str(value)).quantize(Decimal("0.01"))


def entry_seconds(entry: TimeEntry, now: dt.datetime) -> float:
    end = entry.ended_at or now
    return max((end - entry.started_at).total_seconds(), 0.0)


@dataclass
class JobRow:
    job: RepairJob
    standard: Decimal
    worked: Decimal
    open_entry: TimeEntry | None = None

    @property
    def remaining(self) -> Decimal:
        if self.job.status not in UNFINISHED_JOB_STATES:
            return Decimal("0.00")
        return max(self.standard - self.worked, Decimal("0.00"))

    @property
    def efficiency(self) -> int | None:
        """Standard ÷ actual hours, in percent (None before any time is clocked)."""
        if not self.worked or not self.standard:
            return None
        return round(self.standard / self.worked * 100)

    def as_dict(self) -> dict[str, Any]:
        job = self.job
        return {
            "id": job.pk, "order_id": job.order_id, "seq": job.seq, "title": job.title, "status": job.status,
            "status_label": str(job.get_status_display()), "required_skill": job.required_skill,
            "technician_id": job.technician_id, "technician": str(job.technician) if job.technician_id else "",
            "bay_id": job.bay_id, "bay": str(job.bay) if job.bay_id else "",
            "standard_hours": str(self.standard), "worked_hours": str(self.worked), "remaining_hours": str(self.remaining),
            "clocked_on": bool(self.open_entry),
        }


def job_rows(jobs: list[RepairJob], now: dt.datetime) -> list[JobRow]:
    """Rows with standard and worked hours for ``jobs`` (one query for all their time entries)."""
    worked: dict[int, float] = defaultdict(float)
    open_entry: dict[int, TimeEntry] = {}
    for entry in TimeEntry.objects.filter(job__in=[j.pk for j in jobs]).order_by("started_at", "id"):
        worked[entry.job_id] += entry_seconds(entry, now)
        if entry.ended_at is None:
            open_entry[entry.job_id] = entry
    return [
        JobRow(job=j, standard=standard_hours(j), worked=hours(worked.get(j.pk, 0.0)), open_entry=open_entry.get(j.pk))
        for j in jobs
    ]


# ---- at risk, late, silent --------------------------------------------------------------------------------------
class Risk:
    NONE = ""
    OK = "ok"
    AT_RISK = "at_risk"
    LATE = "late"


def order_risk(order: RepairOrder, rows: list[JobRow], calendar: StoreCalendar, now: dt.datetime) -> tuple[str, str]:
    """(risk, reason) of an order against its promised time; see the module's docstring for the definition."""
    promised = order.promised_at
    if promised is None or order.status not in IN_SHOP_STATES:
        return Risk.NONE, ""
    if order.status == OrderStatus.READY:
        return Risk.OK, ""
    if now >= promised:
        return Risk.LATE, _("Promised for %(t)s.") % {"t": timezone.localtime(promised, calendar.zone).strftime("%H:%M")}
    need: dict[int | None, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row.job.status in UNFINISHED_JOB_STATES:
            holder = row.job.technician_id if row.job.status in ASSIGNED_JOB_STATES else None
            need[holder] += row.remaining
    for holder, remaining in sorted(need.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        if remaining <= 0:
            continue
        if holder is None:
            available = hours(calendar.open_seconds(now, promised))
            if remaining > available:
                return Risk.AT_RISK, _("%(need)s h of unassigned work, %(left)s h of opening time before the promised time.") % {
                    "need": remaining, "left": available}
        else:
            available = hours(calendar.shift_seconds(holder, now, promised))
            if remaining > available:
                return Risk.AT_RISK, _("%(need)s h of work left, %(left)s h of the technician's shift before the promised time.") % {
                    "need": remaining, "left": available}
    return Risk.OK, ""


def silent_minutes(order: RepairOrder, calendar: StoreCalendar, now: dt.datetime) -> int | None:
    """Minutes of opening time since the last customer-visible update; None when the car is not in the workshop."""
    if order.status not in WORKSHOP_STATES:
        return None
    since = order.last_public_update_at or order.opened_at
    return int(calendar.open_seconds(since, now) // 60)


# ---- the board ----------------------------------------------------------------------------------------------------
@dataclass
class BoardOrder:
    order: RepairOrder
    jobs: list[JobRow]
    risk: str
    risk_reason: str
    silent_minutes: int | None

    @property
    def silent(self) -> bool:
        return self.silent_minutes is not None and self.silent_minutes >= SILENT_AFTER.total_seconds() // 60

    @property
    def remaining(self) -> Decimal:
        return sum((r.remaining for r in self.jobs), Decimal("0.00"))


@dataclass
class BoardTechnician:
    user: Any
    on_shift: bool
    shift_left: Decimal
    clocked: JobRow | None
    jobs: list[JobRow] = field(default_factory=list)

    @property
    def load(self) -> Decimal:
        return sum((r.remaining for r in self.jobs), Decimal("0.00"))


@dataclass
class BoardBay:
    bay: Any
    jobs: list[JobRow] = field(default_factory=list)


@dataclass
class Board:
    store: Any
    now: dt.datetime
    orders: list[BoardOrder]
    bays: list[BoardBay]
    technicians: list[BoardTechnician]
    unassigned: list[JobRow]

    @property
    def counts(self) -> dict[str, int]:
        return {
            "orders": len(self.orders),
            "at_risk": sum(o.risk == Risk.AT_RISK for o in self.orders),
            "late": sum(o.risk == Risk.LATE for o in self.orders),
            "silent": sum(o.silent for o in self.orders),
            "unassigned": len(self.unassigned),
        }


def store_technicians(store: Any) -> list[Any]:
    from aftersales.staff.models import User
    from aftersales.staff.roles import Role

    return list(
        User.objects.filter(is_active=True, memberships__store=store, groups__name=Role.TECHNICIAN).distinct().order_by("id")
    )


def board_for(user: Any, store: Any, now: dt.datetime | None = None) -> Board:
    """The live board of ``store`` (which the user must see): a fixed number of queries whatever its size."""
    from aftersales.appointments.models import Bay

    now = now or timezone.now()
    if store.pk not in visible_store_ids(user):
        get_or_404(RepairOrder.objects.none())
    orders = list(
        RepairOrder.objects.filter(store=store, status__in=IN_SHOP_STATES)
        .select_related("customer", "vehicle", "advisor")
        .order_by(F("promised_at").asc(nulls_last=True), "opened_at", "id")
    )
    jobs = list(
        with_labour_hours(RepairJob.objects.filter(order__in=[o.pk for o in orders]).exclude(
            status__in=[JobStatus.DECLINED]
        )).select_related("technician", "bay").order_by("order_id", "seq", "id")
    )
    rows = job_rows(jobs, now)
    technicians = store_technicians(store)
    last = max([now, *[o.promised_at for o in orders if o.promised_at]])
    start_of_day = dt.datetime.combine(timezone.localtime(now, store.zone).date(), dt.time.min, tzinfo=store.zone)
    earliest = max(min([start_of_day, *[o.last_public_update_at or o.opened_at for o in orders]]), now - BOARD_LOOKBACK)
    calendar = StoreCalendar(store, earliest, last, technician_ids=[t.pk for t in technicians])
    by_order: dict[int, list[JobRow]] = defaultdict(list)
    for row in rows:
        by_order[row.job.order_id].append(row)
    board_orders = []
    for order in orders:
        order_rows = by_order.get(order.pk, [])
        for row in order_rows:
            row.job.order = order  # the jobs' order without another query
        risk, reason = order_risk(order, order_rows, calendar, now)
        board_orders.append(BoardOrder(order=order, jobs=order_rows, risk=risk, risk_reason=reason,
                                       silent_minutes=silent_minutes(order, calendar, now)))
    bays = [BoardBay(bay=b) for b in Bay.objects.filter(store=store, is_active=True).order_by("name", "id")]
    bay_index = {b.bay.pk: b for b in bays}
    end_of_day = start_of_day + dt.timedelta(days=1)
    techs = []
    tech_index: dict[int, BoardTechnician] = {}
    for t in technicians:
        spans = calendar.shift_spans(t.pk, now, end_of_day)
        on_shift = bool(spans) and spans[0][0] <= now
        bt = BoardTechnician(user=t, on_shift=on_shift, shift_left=hours(seconds(spans)), clocked=None)
        techs.append(bt)
        tech_index[t.pk] = bt
    unassigned = []
    for row in rows:
        job = row.job
        if job.status in ASSIGNED_JOB_STATES or row.open_entry is not None:
            if job.bay_id in bay_index:
                bay_index[job.bay_id].jobs.append(row)
            if job.technician_id in tech_index:
                tech_index[job.technician_id].jobs.append(row)
        elif job.status == JobStatus.AUTHORIZED:
            unassigned.append(row)
        if row.open_entry is not None and row.open_entry.technician_id in tech_index:
            tech_index[row.open_entry.technician_id].clocked = row
    return Board(store=store, now=now, orders=board_orders, bays=bays, technicians=techs, unassigned=unassigned)


# ---- the dispatch suggestion --------------------------------------------------------------------------------------
@dataclass
class Suggestion:
    technician: Any
    has_skill: bool
    shift_left: Decimal
    booked: Decimal
    assigned: Decimal
    assigned_jobs: int
    needed: Decimal
    on_shift: bool
    reasons: list[str] = field(default_factory=list)
    certified: bool = True  # holds a valid certificate when the job requires one (always True otherwise)

    @property
    def free(self) -> Decimal:
        return max(self.shift_left - self.booked - self.assigned, Decimal("0.00"))

    @property
    def fits(self) -> bool:
        return self.free >= self.needed

    def key(self) -> tuple[Any, ...]:
        return (not self.certified, not self.has_skill, not self.fits, -self.free, self.assigned, self.technician.pk)

    @property
    def eligible(self) -> bool:
        """Can be given the job without a manager's override."""
        return self.has_skill and self.certified

    def as_dict(self) -> dict[str, Any]:
        return {
            "technician_id": self.technician.pk, "technician": str(self.technician), "has_skill": self.has_skill,
            "certified": self.certified,
            "on_shift": self.on_shift, "shift_left_hours": str(self.shift_left), "booked_hours": str(self.booked),
            "assigned_hours": str(self.assigned), "assigned_jobs": self.assigned_jobs, "free_hours": str(self.free),
            "fits": self.fits, "reasons": self.reasons,
        }


def job_get(user: Any, job_id: int, *, lock: bool = False) -> RepairJob:
    """The job with its order; ``lock`` (inside the caller's service transaction): the order row, then the job row,
    locked and held (common/db.py hold), in two queries, the order's with everything the progress message reads: the
    scoped read is the lock, and the floor services neither lock nor read them again (issue 19)."""
    if lock:
        order = get_locked_or_404(
            restrict_to_stores(RepairOrder.objects.select_related("store", "customer", "vehicle", "advisor"), user)
            .filter(jobs__id=job_id),
        )
        job = get_locked_or_404(RepairJob.objects.select_related("technician", "bay"), pk=job_id, order_id=order.pk)
        job.order = order
        return job
    return get_or_404(
        restrict_to_stores(RepairJob.objects.select_related("order", "order__store", "order__vehicle", "technician", "bay"),
                           user, "order__store_id"),
        pk=job_id,
    )


def dispatch_suggestions(user: Any, job: RepairJob, now: dt.datetime | None = None) -> list[Suggestion]:
    """The store's technicians ranked for ``job``: those holding the required certificate (valid today) first, then
    those with the skill, then those whose free time today
    (shift left − appointments still to come − work already assigned) fits the job, then by free time and load."""
    from aftersales.appointments.choices import AppointmentStatus
    from aftersales.appointments.models import Appointment
    from aftersales.staff.models import Certificate, Skill
    from aftersales.staff.selectors import certified_user_ids

    now = now or timezone.now()
    store = job.order.store
    if store.pk not in visible_store_ids(user):
        get_or_404(RepairOrder.objects.none())
    technicians = store_technicians(store)
    ids = [t.pk for t in technicians]
    certificate = job.required_certificate
    certified = certified_user_ids(certificate, ids, timezone.localtime(now, store.zone).date()) if certificate else set()
    certificate_label = str(Certificate(certificate).label) if certificate in Certificate.values else certificate
    end_of_day = dt.datetime.combine(timezone.localtime(now, store.zone).date() + dt.timedelta(days=1), dt.time.min, tzinfo=store.zone)
    calendar = StoreCalendar(store, now, now, technician_ids=ids)
    booked: dict[int, float] = defaultdict(float)
    for tech_id, start, end in Appointment.objects.filter(
        technician_id__in=ids, status=AppointmentStatus.BOOKED, start__lt=end_of_day, end__gt=now
    ).values_list("technician_id", "start", "end"):
        booked[tech_id] += (min(end, end_of_day) - max(start, now)).total_seconds()
    assigned_jobs = list(with_labour_hours(
        RepairJob.objects.filter(technician_id__in=ids, status__in=ASSIGNED_JOB_STATES).exclude(pk=job.pk)
    ))
    assigned: dict[int, Decimal] = defaultdict(Decimal)
    count: dict[int, int] = defaultdict(int)
    for row in job_rows(assigned_jobs, now):
        assigned[row.job.technician_id or 0] += row.remaining
        count[row.job.technician_id or 0] += 1
    needed = standard_hours(with_labour_hours(RepairJob.objects.filter(pk=job.pk)).get())
    skill_label = str(Skill(job.required_skill).label) if job.required_skill in Skill.values else job.required_skill
    out = []
    for t in technicians:
        spans = calendar.shift_spans(t.pk, now, end_of_day)
        s = Suggestion(
            technician=t, has_skill=not job.required_skill or job.required_skill in (t.skills or []),
            shift_left=hours(seconds(spans)), booked=hours(booked.get(t.pk, 0.0)), assigned=assigned.get(t.pk, Decimal("0.00")),
            assigned_jobs=count.get(t.pk, 0), needed=needed, on_shift=bool(spans) and spans[0][0] <= now,
            certified=not certificate or t.pk in certified,
        )
        if certificate and s.certified:
            s.reasons.append(_("Holds a valid certificate: %(c)s.") % {"c": certificate_label})
        elif certificate:
            s.reasons.append(_("No valid certificate: %(c)s (only a manager can override).") % {"c": certificate_label})
        if not job.required_skill:
            s.reasons.append(_("No special skill needed."))
        elif s.has_skill:
            s.reasons.append(_("Has the skill: %(skill)s.") % {"skill": skill_label})
        else:
            s.reasons.append(_("Lacks the skill: %(skill)s (cannot be given this job).") % {"skill": skill_label})
        s.reasons.append(
            _("%(free)s h free today (shift left %(shift)s h − appointments %(booked)s h − assigned work %(assigned)s h).")
            % {"free": s.free, "shift": s.shift_left, "booked": s.booked, "assigned": s.assigned}
        )
        if s.fits:
            s.reasons.append(_("The job (%(h)s h) fits in the free time.") % {"h": needed})
        else:
            s.reasons.append(_("The job (%(h)s h) does not fit in today's free time.") % {"h": needed})
        s.reasons.append(_("Current load: %(n)s job(s).") % {"n": s.assigned_jobs})
        if not s.on_shift:
            s.reasons.append(_("Not on shift right now."))
        out.append(s)
    out.sort(key=Suggestion.key)
    return out


def suggested_bay_id(job: RepairJob) -> int | None:
    """The bay the order's other jobs are in, else the store's first active bay with no car being worked on."""
    from aftersales.appointments.models import Bay

    same = (
        RepairJob.objects.filter(order_id=job.order_id, bay__isnull=False).exclude(pk=job.pk)
        .values_list("bay_id", flat=True).first()
    )
    if same:
        return int(same)
    busy = set(
        RepairJob.objects.filter(order__store_id=job.order.store_id, status__in=ASSIGNED_JOB_STATES, bay__isnull=False)
        .values_list("bay_id", flat=True)
    )
    for bay_id in Bay.objects.filter(store_id=job.order.store_id, is_active=True, is_priority=False).order_by("name", "id").values_list("id", flat=True):
        if bay_id not in busy:
            return int(bay_id)
    return None


# ---- a technician's jobs today (the phone page) ---------------------------------------------------------------
def my_jobs(user: Any, now: dt.datetime | None = None) -> list[JobRow]:
    """The user's assigned jobs not yet done, and the ones they finished today (their stores only)."""
    now = now or timezone.now()
    since = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)  # today, in the site's zone
    done_today = RepairJobEvent.objects.filter(to_state=JobStatus.DONE, at__gte=since).values("job_id")
    jobs = list(
        with_labour_hours(
            restrict_to_stores(RepairJob.objects.all(), user, "order__store_id").filter(technician=user).filter(
                Q(status__in=ASSIGNED_JOB_STATES) | Q(status=JobStatus.DONE, pk__in=done_today)
            )
        ).select_related("order", "order__vehicle", "order__store", "bay").order_by("order__promised_at", "order_id", "seq")
    )
    rows = job_rows(jobs, now)
    rows.sort(key=lambda r: (r.job.status == JobStatus.DONE, r.open_entry is None))
    return rows


def open_entry_for(user: Any) -> TimeEntry | None:
    return TimeEntry.objects.filter(technician_id=user.pk, ended_at__isnull=True).select_related("job").first()


# ---- actual vs standard hours -------------------------------------------------------------------------------------
def order_job_rows(user: Any, order: RepairOrder, now: dt.datetime | None = None) -> list[JobRow]:
    """The order's jobs (declined ones left out) with standard, worked and remaining hours."""
    if order.store_id not in visible_store_ids(user):
        get_or_404(RepairOrder.objects.none())
    jobs = list(
        with_labour_hours(RepairJob.objects.filter(order=order).exclude(status=JobStatus.DECLINED))
        .select_related("technician", "bay").order_by("seq", "id")
    )
    return job_rows(jobs, now or timezone.now())


@dataclass
class Efficiency:
    technician: Any
    jobs: int
    standard: Decimal
    actual: Decimal

    @property
    def percent(self) -> int | None:
        return round(self.standard / self.actual * 100) if self.actual else None

    def as_dict(self) -> dict[str, Any]:
        return {"technician_id": self.technician.pk, "technician": str(self.technician), "jobs": self.jobs,
                "standard_hours": str(self.standard), "actual_hours": str(self.actual), "efficiency_percent": self.percent}


def technician_efficiency(user: Any, store: Any, since: dt.datetime, until: dt.datetime) -> list[Efficiency]:
    """Per technician: the jobs they finished in [since, until) at ``store``, their standard hours and the hours the
    technician clocked on them; efficiency = standard ÷ actual (above 100 % is faster than the labour guide)."""
    if store.pk not in visible_store_ids(user):
        get_or_404(RepairOrder.objects.none())
    finished = RepairJobEvent.objects.filter(
        to_state=JobStatus.DONE, at__gte=since, at__lt=until, job__order__store=store
    ).values("job_id")
    jobs = list(with_labour_hours(RepairJob.objects.filter(pk__in=finished, technician__isnull=False)).select_related("technician"))
    actual: dict[tuple[int, int], float] = defaultdict(float)
    for entry in TimeEntry.objects.filter(job__in=[j.pk for j in jobs], ended_at__isnull=False):
        actual[(entry.technician_id, entry.job_id)] += entry_seconds(entry, entry.ended_at or since)
    out: dict[int, Efficiency] = {}
    for job in jobs:
        tech: Any = job.technician
        row = out.setdefault(tech.pk, Efficiency(technician=tech, jobs=0, standard=Decimal("0.00"), actual=Decimal("0.00")))
        row.jobs += 1
        row.standard += standard_hours(job)
        row.actual += hours(actual.get((tech.pk, job.pk), 0.0))
    return sorted(out.values(), key=lambda e: (-(e.percent or 0), e.technician.pk))


# ---- the progress-update interval ---------------------------------------------------------------------------------
@dataclass
class IntervalReport:
    orders: int
    max_gap_minutes: int
    average_max_gap_minutes: int
    within_30: int
    worst: list[tuple[RepairOrder, int]]

    @property
    def within_30_percent(self) -> int | None:
        return round(self.within_30 * 100 / self.orders) if self.orders else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders": self.orders, "max_gap_minutes": self.max_gap_minutes,
            "average_max_gap_minutes": self.average_max_gap_minutes, "within_30": self.within_30,
            "within_30_percent": self.within_30_percent,
            "worst": [{"order_id": o.pk, "number": o.number, "max_gap_minutes": m} for o, m in self.worst],
        }


LEFT_WORKSHOP = (OrderStatus.READY, OrderStatus.DELIVERED, OrderStatus.CLOSED, OrderStatus.CANCELLED)


def progress_update_intervals(
    user: Any, store: Any, since: dt.datetime, until: dt.datetime, now: dt.datetime | None = None
) -> IntervalReport:
    """For the orders checked in at ``store`` in [since, until): the longest gap (in opening minutes) between
    customer-visible updates while each car was in the workshop (check-in, every order move, job moves to in
    progress / done / passed QC, public notes), from check-in until it was ready (or now). Visits recorded as
    history (``repair_order_record_visit``: imports, the demo's past) carry no progress and are left out."""
    from .services import PUBLIC_JOB_STATES

    now = now or timezone.now()
    if store.pk not in visible_store_ids(user):
        get_or_404(RepairOrder.objects.none())
    recorded = RepairOrderEvent.objects.filter(from_state="", reason="recorded visit").values("order_id")
    orders = list(
        RepairOrder.objects.filter(store=store, opened_at__gte=since, opened_at__lt=until).exclude(pk__in=recorded)
        .order_by("opened_at")
    )
    ids = [o.pk for o in orders]
    stamps: dict[int, list[dt.datetime]] = defaultdict(list)
    left: dict[int, dt.datetime] = {}
    for order_id, to_state, at in RepairOrderEvent.objects.filter(order_id__in=ids).order_by("at", "id").values_list(
        "order_id", "to_state", "at"
    ):
        stamps[order_id].append(at)
        if to_state in LEFT_WORKSHOP and order_id not in left:
            left[order_id] = at
    for order_id, at in RepairJobEvent.objects.filter(job__order_id__in=ids, to_state__in=PUBLIC_JOB_STATES).values_list(
        "job__order_id", "at"
    ):
        stamps[order_id].append(at)
    for order_id, at in ProgressNote.objects.filter(order_id__in=ids, is_public=True).values_list("order_id", "at"):
        stamps[order_id].append(at)
    if not orders:
        return IntervalReport(orders=0, max_gap_minutes=0, average_max_gap_minutes=0, within_30=0, worst=[])
    calendar = StoreCalendar(store, orders[0].opened_at, max(now, until))
    gaps: list[tuple[RepairOrder, int]] = []
    for order in orders:
        end = left.get(order.pk) or (now if order.status in WORKSHOP_STATES else order.delivered_at or now)
        points = sorted({order.opened_at, *[t for t in stamps.get(order.pk, []) if order.opened_at <= t <= end], end})
        worst = max((calendar.open_seconds(a, b) for a, b in itertools.pairwise(points)), default=0.0)
        gaps.append((order, int(worst // 60)))
    limit = int(SILENT_AFTER.total_seconds() // 60)
    return IntervalReport(
        orders=len(gaps),
        max_gap_minutes=max(m for _o, m in gaps),
        average_max_gap_minutes=round(sum(m for _o, m in gaps) / len(gaps)),
        within_30=sum(m <= limit for _o, m in gaps),
        worst=sorted(gaps, key=lambda g: -g[1])[:5],
    )


# ---- silent orders (the sweep; not user-scoped: it runs as the system) -------------------------------------------
def silent_orders(now: dt.datetime | None = None) -> list[tuple[RepairOrder, int]]:
    """Orders whose car is in the workshop with 30 minutes of opening time and no customer-visible update."""
    from django.db.models.functions import Coalesce

    now = now or timezone.now()
    candidates = list(
        RepairOrder.objects.filter(status__in=WORKSHOP_STATES)
        .annotate(silent_since=Coalesce("last_public_update_at", "opened_at"))
        .filter(silent_since__lte=now - SILENT_AFTER)
        .select_related("store", "advisor", "vehicle", "customer")
        .order_by("store_id", "id")
    )
    out: list[tuple[RepairOrder, int]] = []
    calendars: dict[int, StoreCalendar] = {}
    for order in candidates:
        since = order.last_public_update_at or order.opened_at
        calendar = calendars.get(order.store_id)
        if calendar is None or calendar.first_day > timezone.localtime(since, order.store.zone).date():
            calendar = StoreCalendar(order.store, since, now)
            calendars[order.store_id] = calendar
        minutes = int(calendar.open_seconds(since, now) // 60)
        if minutes >= SILENT_AFTER.total_seconds() // 60:
            out.append((order, minutes))
    return out


# ---- parts fitted and old parts kept -----------------------------------------------------------------------------
@dataclass
class FittedPart:
    job_id: int
    part: Any
    batch: Any
    quantity: Decimal


def parts_fitted(user: Any, order: RepairOrder) -> list[FittedPart]:
    """Parts issued to the order's jobs less those returned, per job, part and batch (with origin and warranty)."""

    if order.store_id not in visible_store_ids(user):
        get_or_404(RepairOrder.objects.none())
    return order_parts_fitted(order)


def order_parts_fitted(order: RepairOrder) -> list[FittedPart]:
    """:func:`parts_fitted` without the staff scope: for the customer's own status page behind its signed link."""
    from aftersales.parts.choices import MovementKind
    from aftersales.parts.models import Batch, Part, StockMovement

    net: dict[tuple[int, int, int | None], Decimal] = defaultdict(Decimal)
    for job_id, part_id, batch_id, qty in StockMovement.objects.filter(
        repair_job__order=order, kind__in=[MovementKind.ISSUE, MovementKind.RETURN]
    ).values_list("repair_job_id", "part_id", "batch_id", "quantity"):
        net[(job_id, part_id, batch_id)] -= qty
    parts = Part.objects.in_bulk([k[1] for k in net])
    batches = Batch.objects.select_related("supplier").in_bulk([k[2] for k in net if k[2]])
    return [
        FittedPart(job_id=job_id, part=parts[part_id], batch=batches.get(batch_id) if batch_id else None, quantity=qty)
        for (job_id, part_id, batch_id), qty in sorted(net.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0))
        if qty > 0
    ]


def part_lines(user: Any, order: RepairOrder) -> list[RepairLine]:
    """The order's part lines (for the "old part kept for the customer" ticks), declined jobs left out."""
    if order.store_id not in visible_store_ids(user):
        get_or_404(RepairOrder.objects.none())
    return list(
        RepairLine.objects.filter(order=order, kind=LineKind.PART).exclude(job__status=JobStatus.DECLINED)
        .select_related("job").order_by("job__seq", "id")
    )


def old_parts_kept(user: Any, order: RepairOrder) -> list[RepairLine]:
    """The part lines whose old part goes back to the customer at delivery."""
    return [line for line in part_lines(user, order) if line.keep_old_part]


def line_get(user: Any, line_id: int) -> RepairLine:
    return get_or_404(restrict_to_stores(RepairLine.objects.select_related("order", "job"), user, "order__store_id"), pk=line_id)


def suggested_update_text(order: RepairOrder, rows: list[JobRow]) -> str:
    """A public note the advisor can send in one click, in the customer's language."""
    from django.utils.translation import override

    working = [r for r in rows if r.job.status == JobStatus.IN_PROGRESS]
    with override(getattr(order.customer, "language", "") or "zh-hans"):
        if order.status == OrderStatus.WAITING_PARTS:
            return _("We are waiting for a part for your car; we will tell you as soon as it arrives.")
        if working:
            job = working[0].job
            if job.bay_id:
                return _("%(job)s is under way in %(bay)s.") % {"job": job.title, "bay": job.bay}
            return _("%(job)s is under way.") % {"job": job.title}
        if order.status in (OrderStatus.CHECKED_IN, OrderStatus.INSPECTING, OrderStatus.ESTIMATE_SENT):
            return _("We are inspecting your car and will send you the estimate shortly.")
        approved = [r for r in rows if r.job.status not in (JobStatus.PROPOSED, JobStatus.DECLINED)]
        if approved and all(r.job.status not in UNFINISHED_JOB_STATES for r in approved):
            return _("The work is done; your car is in the final checks.")
        return _("Your car is in our workshop and the work is progressing as planned.")


def board_as_dict(board: Board) -> dict[str, Any]:
    """The board as plain data (the JSON API and the live page share it)."""

    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "store_id": board.store.pk,
        "now": iso(board.now),
        "counts": board.counts,
        "orders": [
            {
                "id": o.order.pk, "number": o.order.number, "status": o.order.status,
                "status_label": str(o.order.get_status_display()), "plate": o.order.vehicle.plate,
                "customer": o.order.customer.name, "advisor": str(o.order.advisor or ""),
                "promised_at": iso(o.order.promised_at), "risk": o.risk, "risk_reason": o.risk_reason,
                "silent": o.silent, "silent_minutes": o.silent_minutes,
                "last_public_update_at": iso(o.order.last_public_update_at), "remaining_hours": str(o.remaining),
                "jobs": [r.as_dict() for r in o.jobs],
            }
            for o in board.orders
        ],
        "bays": [{"id": b.bay.pk, "name": b.bay.name, "job_ids": [r.job.pk for r in b.jobs]} for b in board.bays],
        "technicians": [
            {
                "id": t.user.pk, "name": str(t.user), "skills": list(t.user.skills or []), "on_shift": t.on_shift,
                "shift_left_hours": str(t.shift_left), "load_hours": str(t.load),
                "clocked_job_id": t.clocked.job.pk if t.clocked else None, "job_ids": [r.job.pk for r in t.jobs],
            }
            for t in board.technicians
        ],
        "unassigned_job_ids": [r.job.pk for r in board.unassigned],
    }


def order_floor(user: Any, order: RepairOrder, now: dt.datetime | None = None) -> tuple[list[JobRow], str, str]:
    """One order's jobs with hours, and its risk against the promised time (the order page's workshop section)."""
    now = now or timezone.now()
    rows = order_job_rows(user, order, now)
    technician_ids = sorted({r.job.technician_id for r in rows if r.job.technician_id})
    calendar = StoreCalendar(order.store, now, max(now, order.promised_at or now), technician_ids=technician_ids)
    risk, reason = order_risk(order, rows, calendar, now)
    return rows, risk, reason


FLOOR_MIN_REMAINING = dt.timedelta(minutes=30)


def live_floor_busy(store: Any, lo: dt.datetime, hi: dt.datetime) -> list[tuple[int | None, int | None, dt.datetime, dt.datetime]]:
    """The bays and technicians the floor holds now, for booking capacity (registered in
    ``appointments.availability``): every job dispatched, under way or in rework at the store keeps its bay and its
    technician from now until its standard hours less the hours already worked (at least 30 minutes: the car is
    still there); a technician clocked on elsewhere is busy too. Nothing when the window does not contain now."""
    now = timezone.now()
    if not (lo <= now < hi):
        return []
    jobs = list(
        with_labour_hours(
            RepairJob.objects.filter(order__store=store, status__in=ASSIGNED_JOB_STATES).exclude(bay=None, technician=None)
        ).only("id", "bay_id", "technician_id", "standard_hours", "status")
    )
    worked: dict[int, float] = defaultdict(float)
    open_entries = []
    for entry in TimeEntry.objects.filter(Q(job__in=jobs) | Q(store=store, ended_at__isnull=True)).only(
        "job_id", "technician_id", "started_at", "ended_at"
    ):
        worked[entry.job_id] += entry_seconds(entry, now)
        if entry.ended_at is None:
            open_entries.append(entry)
    out: list[tuple[int | None, int | None, dt.datetime, dt.datetime]] = []
    for job in jobs:
        left = dt.timedelta(seconds=max(float(standard_hours(job)) * 3600 - worked[job.pk], 0))
        out.append((job.bay_id, job.technician_id, now, now + max(left, FLOOR_MIN_REMAINING)))
    out += [(None, e.technician_id, now, now + FLOOR_MIN_REMAINING) for e in open_entries]
    return out
