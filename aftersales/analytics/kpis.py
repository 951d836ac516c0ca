"""Every KPI of the manager's cockpit (SPEC §18), defined in one place; docs/analytics.md states each formula.

A KPI is computed for a :class:`Scope` (a set of stores, a period of local dates, "now") as a numerator and a
denominator per store and for the whole scope (key ``None``), so every figure is a ratio of sums, never an average
of averages. Each KPI is one or two set-based queries whatever the data size or the number of stores; its drill-down
(:func:`drill`) lists the records behind the figure, each marked as counted in the numerator or not.

Reads are plain read-only queries over the apps below analytics in the layer order (workshop, billing, feedback,
appointments, parts, inspections, care, engagement), always restricted to the scope's stores.
"""

# The raw SQL below is composed from constants of this module and engagement.tiersql; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aftersales.engagement.rules import months_before
from aftersales.engagement.tiersql import date_param, date_value, paid_visits_sql

from .periods import Period, add_months

ZERO = Decimal("0")
HUNDRED = Decimal("100")
Figures = dict[int | None, tuple[Decimal, Decimal]]

DONE_ORDER = ("delivered", "closed")
COMEBACK_DAYS = 30
WINBACK_DAYS = 90
STALE_STOCK_DAYS = 180
FIRST_SERVICE_MONTHS = 3
FIRST_SERVICE_GRACE_DAYS = 30


@dataclass
class Scope:
    """What a KPI is computed over: stores (objects with ``pk`` and ``zone``), a period, and the clock."""

    stores: list[Any]
    period: Period
    now: dt.datetime
    settings: dict[int, Any] = field(default_factory=dict)  # store id -> KpiSettings (unsaved defaults allowed)

    @property
    def store_ids(self) -> list[int]:
        return [s.pk for s in self.stores]

    def with_period(self, period: Period) -> Scope:
        return Scope(self.stores, period, self.now, self.settings)

    def window(self, column: str, store_field: str = "store_id") -> Q:
        """``column`` within the period, each store in its own time zone. Stores whose local period has the same
        bounds (the same time zone, the usual case) share one ``store IN (...) AND column range`` term, which an
        index on ``(store, column)`` or ``(column)`` serves with one range scan (an OR of one term per store
        made PostgreSQL combine one index scan per store, or read the table)."""
        by_bounds: dict[tuple[dt.datetime, dt.datetime], list[int]] = {}
        for store in self.stores:
            by_bounds.setdefault(self.period.bounds(store.zone), []).append(store.pk)
        q = Q(pk__in=[])
        for (a, b), ids in by_bounds.items():
            stores = {store_field: ids[0]} if len(ids) == 1 else {f"{store_field}__in": ids}
            q |= Q(**stores, **{f"{column}__gte": a, f"{column}__lt": b})
        return q

    @property
    def as_of(self) -> dt.date:
        """The last local day of the period that has begun (the period's end, or today in a current period)."""
        zone = self.stores[0].zone if self.stores else dt.UTC
        today = self.now.astimezone(zone).date()
        return min(self.period.end - dt.timedelta(days=1), today)


# ---- helpers --------------------------------------------------------------------------------------------------
def _dec(value: Any) -> Decimal:
    if value is None:
        return ZERO
    if isinstance(value, dt.timedelta):
        return Decimal(value.total_seconds())
    if isinstance(value, float):
        return Decimal(str(value))
    return Decimal(value)


def _grouped(qs: QuerySet, num: Any, den: Any, store_field: str = "store_id") -> Figures:
    """Numerator and denominator per store (one GROUP BY query) and their sums for the scope."""
    out: Figures = {}
    for row in qs.order_by().values(store_field).annotate(n=num, d=den).values_list(store_field, "n", "d"):
        out[row[0]] = (_dec(row[1]), _dec(row[2]))
    out[None] = (sum((v[0] for v in out.values()), ZERO), sum((v[1] for v in out.values()), ZERO))
    return out


def _hours(value: Any) -> Decimal:
    return _dec(value) / Decimal(3600)


def _duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def _money(expr: Any) -> ExpressionWrapper:
    return ExpressionWrapper(expr, output_field=DecimalField(max_digits=18, decimal_places=4))


def _models() -> Any:
    """The models read here (imported late: analytics sits above them all)."""
    from types import SimpleNamespace

    from aftersales.appointments.models import Appointment, TechnicianShift
    from aftersales.billing.models import CreditNote, Invoice, InvoiceLine, Refund
    from aftersales.care.models import Enrolment
    from aftersales.feedback.models import FeedbackCase, FollowUp, SlaTimer
    from aftersales.inspections.models import Inspection, Rework
    from aftersales.parts.models import StockItem, StockMovement
    from aftersales.vehicles.models import Vehicle
    from aftersales.workshop.models import ProgressFlag, RepairJob, RepairLine, RepairOrder, TimeEntry

    from .models import GrossProfitMonth

    return SimpleNamespace(
        Appointment=Appointment, TechnicianShift=TechnicianShift, CreditNote=CreditNote, Invoice=Invoice, InvoiceLine=InvoiceLine,
        Refund=Refund, Enrolment=Enrolment, FeedbackCase=FeedbackCase, FollowUp=FollowUp, SlaTimer=SlaTimer, Inspection=Inspection,
        Rework=Rework, StockItem=StockItem, StockMovement=StockMovement, Vehicle=Vehicle, ProgressFlag=ProgressFlag,
        RepairJob=RepairJob, RepairLine=RepairLine, RepairOrder=RepairOrder, TimeEntry=TimeEntry, GrossProfitMonth=GrossProfitMonth,
    )


def _paid_order() -> Q:
    """A paid visit from the repair order's side (delivered or closed, invoice paid, not fully refunded)."""
    return Q(status__in=DONE_ORDER, invoice__status="paid", invoice__paid_amount__gt=F("invoice__refunded_amount"))


# ---- satisfaction --------------------------------------------------------------------------------------------
def answered_followups(scope: Scope, question: str = "overall") -> QuerySet:
    m = _models()
    return m.FollowUp.objects.filter(scope.window("answered_at"), **{f"score_{question}__isnull": False})


def csat(scope: Scope, question: str = "overall") -> Figures:
    return _grouped(answered_followups(scope, question), Count("id", filter=Q(**{f"score_{question}__gte": 8})), Count("id"))


def nps(scope: Scope) -> Figures:
    qs = answered_followups(scope, "recommend")
    return _grouped(qs, Count("id", filter=Q(score_recommend__gte=9)) - Count("id", filter=Q(score_recommend__lte=6)), Count("id"))


# ---- customers: repurchase, churn, win-back, first service -----------------------------------------------------
def _in(ids: list[int]) -> str:
    return "(" + ", ".join(["%s"] * len(ids)) + ")" if ids else "(NULL)"


def repurchase_rows(scope: Scope) -> list[tuple[int, int, bool]]:
    """``(store_id, customer_id, came back)`` for every customer with a paid visit at the store in the 12 months
    before the period (on or after start − 12 months, before start)."""
    ids = scope.store_ids
    d = date_param()
    start, end = scope.period.start, scope.period.end
    sql = f"""
        WITH pv AS ({paid_visits_sql()})
        SELECT b.store_id, b.customer_id,
               CASE WHEN EXISTS (SELECT 1 FROM pv p2 WHERE p2.customer_id = b.customer_id AND p2.store_id = b.store_id
                                 AND p2.visit_date >= {d} AND p2.visit_date < {d}) THEN 1 ELSE 0 END
        FROM (SELECT DISTINCT store_id, customer_id FROM pv
              WHERE store_id IN {_in(ids)} AND visit_date >= {d} AND visit_date < {d}) b
    """
    params = [date_value(start), date_value(end), *ids, date_value(months_before(start, 12)), date_value(start)]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [(r[0], r[1], bool(r[2])) for r in cur.fetchall()]


def _customer_figures(rows: list[tuple[int, int, bool]]) -> Figures:
    """Per store: (customer, store) pairs; for the scope: distinct customers (counted once, hit if hit anywhere)."""
    out: Figures = {}
    group: dict[int, bool] = {}
    for store_id, customer_id, hit in rows:
        n, dd = out.get(store_id, (ZERO, ZERO))
        out[store_id] = (n + (1 if hit else 0), dd + 1)
        group[customer_id] = group.get(customer_id, False) or hit
    out[None] = (Decimal(sum(group.values())), Decimal(len(group)))
    return out


def repurchase_raw(scope: Scope) -> Figures:
    """Repurchase straight from the raw tables (distinct customers: not a sum of days)."""
    return _customer_figures(repurchase_rows(scope))


def repurchase(scope: Scope) -> Figures:
    """Repurchase from the period rows (``PeriodRollup``, written from :func:`repurchase_raw`) where the scope's
    period is rolled up (a row for each store, and the group's own row when the scope is a whole dealer group; a
    current period's refreshed within ``rollups.FRESH``), else from the raw tables: the same numbers either way."""
    from . import rollups

    stored = rollups.stored_figures("repurchase", scope)
    return stored if stored is not None else repurchase_raw(scope)


def churn_rows(scope: Scope) -> list[tuple[int, int, bool]]:
    """``(store_id, customer_id, churned)``: customers with a paid visit at the store in the 12 months up to the as-of
    day D (after D − 12 months, up to and including D); churned when the last one is on or before D − 6 months."""
    ids = scope.store_ids
    d = date_param()
    as_of = scope.as_of
    sql = f"""
        WITH pv AS ({paid_visits_sql()})
        SELECT store_id, customer_id, MAX(visit_date) FROM pv
        WHERE store_id IN {_in(ids)} AND visit_date > {d} AND visit_date <= {d}
        GROUP BY store_id, customer_id
    """
    params = [*ids, date_value(months_before(as_of, 12)), date_value(as_of)]
    cut = months_before(as_of, 6)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    out = []
    for store_id, customer_id, last in rows:
        last_day = last if isinstance(last, dt.date) else dt.date.fromisoformat(str(last)[:10])
        out.append((store_id, customer_id, last_day <= cut))
    return out


def churn(scope: Scope) -> Figures:
    rows = churn_rows(scope)
    out: Figures = {}
    group: dict[int, bool] = {}
    for store_id, customer_id, hit in rows:
        n, dd = out.get(store_id, (ZERO, ZERO))
        out[store_id] = (n + (1 if hit else 0), dd + 1)
        group[customer_id] = group.get(customer_id, True) and hit  # churned from the group: churned everywhere
    out[None] = (Decimal(sum(group.values())), Decimal(len(group)))
    return out


def winback_enrolments(scope: Scope) -> QuerySet:
    m = _models()
    returned = m.RepairOrder.objects.filter(
        _paid_order(), customer_id=OuterRef("customer_id"), store_id=OuterRef("store_id"),
        opened_at__gte=OuterRef("contacted_at"),
    ).filter(opened_at__lt=ExpressionWrapper(OuterRef("contacted_at") + dt.timedelta(days=WINBACK_DAYS), output_field=DurationField()))
    return (
        m.Enrolment.objects.filter(scope.window("contacted_at"), playbook__trigger="tier_entered", playbook__tier="D", is_holdout=False)
        .annotate(hit=Exists(returned))
    )


def winback(scope: Scope) -> Figures:
    return _grouped(winback_enrolments(scope), Count("id", filter=Q(hit=True)), Count("id"))


def first_service_rows(scope: Scope) -> list[dict[str, Any]]:
    """New cars sold by the scope's stores whose first service fell due in the period (purchase + 3 months), with
    whether a visit happened in the window (from purchase to due + 30 days)."""
    m = _models()
    lo = add_months(scope.period.start, -FIRST_SERVICE_MONTHS) - dt.timedelta(days=3)
    hi = add_months(scope.period.end, -FIRST_SERVICE_MONTHS) + dt.timedelta(days=3)
    rows = (
        m.Vehicle.objects.filter(selling_store_id__in=scope.store_ids, purchase_date__gte=lo, purchase_date__lt=hi)
        .annotate(first_visit=Min("repair_orders__opened_at", filter=Q(repair_orders__status__in=DONE_ORDER)))
        .values("id", "plate", "selling_store_id", "purchase_date", "first_visit")
    )
    zones = {s.pk: s.zone for s in scope.stores}
    out = []
    for row in rows:
        due = add_months(row["purchase_date"], FIRST_SERVICE_MONTHS)
        if not scope.period.start <= due < scope.period.end:
            continue
        visit = row["first_visit"].astimezone(zones[row["selling_store_id"]]).date() if row["first_visit"] else None
        hit = visit is not None and row["purchase_date"] <= visit <= due + dt.timedelta(days=FIRST_SERVICE_GRACE_DAYS)
        out.append({**row, "due": due, "visit": visit, "hit": hit})
    return out


def first_service(scope: Scope) -> Figures:
    out: Figures = {}
    for row in first_service_rows(scope):
        n, d = out.get(row["selling_store_id"], (ZERO, ZERO))
        out[row["selling_store_id"]] = (n + (1 if row["hit"] else 0), d + 1)
    out[None] = (sum((v[0] for v in out.values()), ZERO), sum((v[1] for v in out.values()), ZERO))
    return out


# ---- workshop: waiting, progress, accuracy, first-time fix -----------------------------------------------------
def waiting_orders(scope: Scope) -> QuerySet:
    """Orders checked in during the period with a first clock-on, annotated with it."""
    m = _models()
    first_on = m.TimeEntry.objects.filter(job__order_id=OuterRef("pk")).order_by("started_at").values("started_at")[:1]
    return (
        m.RepairOrder.objects.filter(scope.window("opened_at")).exclude(status="cancelled")
        .annotate(first_on=Subquery(first_on)).filter(first_on__isnull=False)
        .annotate(wait=ExpressionWrapper(F("first_on") - F("opened_at"), output_field=DurationField()))
    )


def waiting(scope: Scope) -> Figures:
    """Average minutes from check-in to the first clock-on: Σ minutes / orders."""
    out = _grouped(waiting_orders(scope), Sum("wait"), Count("id"))
    return {k: (n / 60, d) for k, (n, d) in out.items()}


def waiting_baseline(scope: Scope) -> Figures:
    """The baseline: the manager's value where set (weighted as one order), else the average waiting time of the
    store's first full quarter (the first quarter that starts on or after its first check-in)."""
    m = _models()
    firsts = dict(
        m.RepairOrder.objects.filter(store_id__in=scope.store_ids).order_by().values("store_id")
        .annotate(first=Min("opened_at")).values_list("store_id", "first")
    )
    stores: list[Any] = []
    q = Q(pk__in=[])
    for store in scope.stores:
        settings = scope.settings.get(store.pk)
        if settings is not None and settings.waiting_baseline is not None:
            continue
        first = firsts.get(store.pk)
        if first is None:
            continue
        day = first.astimezone(store.zone).date()
        quarter = Period.containing("quarter", day)
        if quarter.start != day:
            quarter = quarter.shift(1)
        a, b = quarter.bounds(store.zone)
        q |= Q(store_id=store.pk, opened_at__gte=a, opened_at__lt=b)
        stores.append(store)
    out: Figures = {}
    if stores:
        first_on = m.TimeEntry.objects.filter(job__order_id=OuterRef("pk")).order_by("started_at").values("started_at")[:1]
        qs = (m.RepairOrder.objects.filter(q).exclude(status="cancelled").annotate(first_on=Subquery(first_on))
              .filter(first_on__isnull=False).annotate(wait=ExpressionWrapper(F("first_on") - F("opened_at"), output_field=DurationField())))
        out = {k: (n / 60, d) for k, (n, d) in _grouped(qs, Sum("wait"), Count("id")).items() if k is not None}
    for store in scope.stores:
        settings = scope.settings.get(store.pk)
        if settings is not None and settings.waiting_baseline is not None:
            out[store.pk] = (Decimal(settings.waiting_baseline), Decimal(1))
    out[None] = (sum((v[0] for v in out.values()), ZERO), sum((v[1] for v in out.values()), ZERO))
    return out


def waiting_change(current: Figures, baseline: Figures) -> dict[int | None, Decimal | None]:
    """Percent change of the average waiting time against the baseline (negative: shorter)."""
    out: dict[int | None, Decimal | None] = {}
    for key, (n, d) in current.items():
        bn, bd = baseline.get(key, (ZERO, ZERO))
        if not d or not bd or not bn:
            out[key] = None
            continue
        avg, base = n / d, bn / bd
        out[key] = (avg - base) / base * HUNDRED
    return out


def progress_orders(scope: Scope) -> QuerySet:
    m = _models()
    worked = m.TimeEntry.objects.filter(job__order_id=OuterRef("pk"))
    return (m.RepairOrder.objects.filter(scope.window("opened_at")).exclude(status="cancelled").filter(Exists(worked))
            .annotate(flagged=Exists(m.ProgressFlag.objects.filter(order_id=OuterRef("pk")))))


def progress(scope: Scope) -> Figures:
    """Orders in the workshop whose customer never went 30 minutes of opening time without an update."""
    return _grouped(progress_orders(scope), Count("id", filter=Q(flagged=False)), Count("id"))


def issued_invoices(scope: Scope) -> QuerySet:
    m = _models()
    return (m.Invoice.objects.filter(scope.window("issued_at")).exclude(status="void")
            .annotate(corrected=Exists(m.CreditNote.objects.filter(invoice_id=OuterRef("pk")))))


def accuracy(scope: Scope) -> Figures:
    """Invoices of the period never corrected by a credit note."""
    return _grouped(issued_invoices(scope), Count("id", filter=Q(corrected=False)), Count("id"))


def delivered_orders(scope: Scope) -> QuerySet:
    m = _models()
    comeback = m.RepairOrder.objects.filter(
        vehicle_id=OuterRef("vehicle_id"), opened_at__gt=OuterRef("delivered_at"),
        jobs__job_type__in=("repair", "warranty"),
    ).exclude(status="cancelled").filter(
        opened_at__lte=ExpressionWrapper(OuterRef("delivered_at") + dt.timedelta(days=COMEBACK_DAYS), output_field=DurationField()))
    return (m.RepairOrder.objects.filter(scope.window("delivered_at"), status__in=DONE_ORDER)
            .annotate(reworked=Exists(m.Rework.objects.filter(order_id=OuterRef("pk"))), came_back=Exists(comeback)))


def first_time_fix(scope: Scope) -> Figures:
    """Delivered orders with no QC rework and no comeback (the car back within 30 days for a repair)."""
    return _grouped(delivered_orders(scope), Count("id", filter=Q(reworked=False, came_back=False)), Count("id"))


def complaint_rate(scope: Scope) -> Figures:
    """Complaints received per delivered order (as a percentage)."""
    m = _models()
    orders = _grouped(m.RepairOrder.objects.filter(scope.window("delivered_at"), status__in=DONE_ORDER), Count("id"), Count("id"))
    cases = _grouped(m.FeedbackCase.objects.filter(scope.window("created_at"), kind="complaint"), Count("id"), Count("id"))
    keys = set(orders) | set(cases)
    return {k: (cases.get(k, (ZERO, ZERO))[0], orders.get(k, (ZERO, ZERO))[0]) for k in keys}


# ---- follow-up and SLA -----------------------------------------------------------------------------------------
def due_followups(scope: Scope) -> QuerySet:
    m = _models()
    return (m.FollowUp.objects.filter(scope.window("overdue_at"), overdue_at__lte=scope.now).exclude(status="cancelled")
            .annotate(on_time=ExpressionWrapper(Q(answered_at__isnull=False) & Q(answered_at__lte=F("overdue_at")), output_field=BooleanField())))


def followup_sla(scope: Scope) -> Figures:
    """Follow-ups whose SLA ended in the period (overdue time passed), answered before it ended."""
    m = _models()
    qs = m.FollowUp.objects.filter(scope.window("overdue_at"), overdue_at__lte=scope.now).exclude(status="cancelled")
    return _grouped(qs, Count("id", filter=Q(answered_at__isnull=False, answered_at__lte=F("overdue_at"))), Count("id"))


def due_timers(scope: Scope) -> QuerySet:
    m = _models()
    return m.SlaTimer.objects.filter(scope.window("due_at", "case__store_id"), due_at__lte=scope.now)


def case_sla(scope: Scope) -> Figures:
    """Case SLA timers (acknowledge, contact, resolve, assess, recover) due in the period, met by their due time."""
    return _grouped(due_timers(scope), Count("id", filter=Q(met_at__isnull=False, met_at__lte=F("due_at"))), Count("id"),
                    store_field="case__store_id")


# ---- technicians, labour ---------------------------------------------------------------------------------------
def _job_clocked() -> Subquery:
    from aftersales.workshop.models import TimeEntry

    return Subquery(
        TimeEntry.objects.filter(job_id=OuterRef("pk"), ended_at__isnull=False).order_by().values("job_id")
        .annotate(s=Sum(_duration("ended_at", "started_at"))).values("s")[:1],
        output_field=DurationField(),
    )


def efficiency_jobs(scope: Scope) -> QuerySet:
    m = _models()
    sold = Subquery(
        m.RepairLine.objects.filter(job_id=OuterRef("pk"), kind="labour").order_by().values("job_id").annotate(s=Sum("quantity")).values("s")[:1],
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )
    return (m.RepairJob.objects.filter(scope.window("order__delivered_at", "order__store_id"), order__status__in=DONE_ORDER)
            .annotate(clocked=_job_clocked(), sold=Coalesce(sold, Value(Decimal(0)))).filter(clocked__isnull=False))


def efficiency(scope: Scope) -> Figures:
    """Technician efficiency: labour hours sold on the jobs delivered in the period ÷ hours clocked on them (%)."""
    out = _grouped(efficiency_jobs(scope), Sum("sold"), Sum("clocked"), store_field="order__store_id")
    return {k: (n, d / 3600) for k, (n, d) in out.items()}


def _shift_hours(scope: Scope) -> dict[int, Decimal]:
    m = _models()
    hours: dict[int, Decimal] = {}
    per_weekday: dict[tuple[int, int], Decimal] = {}
    for store_id, weekday, start, end in m.TechnicianShift.objects.filter(store_id__in=scope.store_ids).values_list(
            "store_id", "weekday", "start", "end"):
        span = (dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)).total_seconds() / 3600
        per_weekday[(store_id, weekday)] = per_weekday.get((store_id, weekday), ZERO) + Decimal(str(span))
    last = min(scope.period.end, scope.as_of + dt.timedelta(days=1))
    day = scope.period.start
    while day < last:
        for store_id in scope.store_ids:
            hours[store_id] = hours.get(store_id, ZERO) + per_weekday.get((store_id, day.weekday()), ZERO)
        day += dt.timedelta(days=1)
    return hours


def productivity(scope: Scope) -> Figures:
    """Technician productivity: hours clocked on jobs ÷ hours rostered (shifts) in the period so far (%)."""
    m = _models()
    clocked = _grouped(m.TimeEntry.objects.filter(scope.window("started_at"), ended_at__isnull=False),
                       Sum(_duration("ended_at", "started_at")), Count("id"))
    rostered = _shift_hours(scope)
    out: Figures = {sid: (_hours(clocked.get(sid, (ZERO, ZERO))[0]), rostered.get(sid, ZERO)) for sid in scope.store_ids}
    out[None] = (sum((v[0] for v in out.values()), ZERO), sum((v[1] for v in out.values()), ZERO))
    return out


def invoice_lines(scope: Scope) -> QuerySet:
    m = _models()
    return m.InvoiceLine.objects.filter(scope.window("invoice__issued_at", "invoice__store_id"), no_charge=False).exclude(invoice__status="void")


def _ex_vat(column: str = "amount") -> ExpressionWrapper:
    return _money(F(column) / (Value(Decimal(1)) + F("invoice__vat_rate")))


def labour_rate(scope: Scope) -> Figures:
    """Effective labour rate: labour sales (ex VAT) ÷ labour hours sold, CNY per hour."""
    qs = invoice_lines(scope).filter(kind="labour")
    return _grouped(qs, Sum(_ex_vat()), Sum("quantity"), store_field="invoice__store_id")


def hours_per_order(scope: Scope) -> Figures:
    """Labour hours sold per invoiced repair order."""
    qs = invoice_lines(scope)
    return _grouped(qs, Coalesce(Sum("quantity", filter=Q(kind="labour")), Value(Decimal(0))), Count("invoice_id", distinct=True),
                    store_field="invoice__store_id")


# ---- gross profit --------------------------------------------------------------------------------------------
def aftersales_gross_profit(scope: Scope) -> dict[int | None, dict[str, Decimal]]:
    """Labour and parts sales of the period's invoices (ex VAT, net of line discounts) minus credit notes and refunds
    of the period, minus the parts' cost (moving average at issue) and the labour cost (clocked hours × rate)."""
    m = _models()
    sales = _grouped(invoice_lines(scope).filter(kind__in=("labour", "part")), Sum(_ex_vat()), Count("id"), store_field="invoice__store_id")
    credits = _grouped(m.CreditNote.objects.filter(scope.window("issued_at")), Sum(F("total") - F("tax")), Count("id"))
    refunds = _grouped(
        m.Refund.objects.filter(scope.window("refunded_at", "payment__invoice__store_id")),
        Sum(_money(F("amount") / (Value(Decimal(1)) + F("payment__invoice__vat_rate")))), Count("id"),
        store_field="payment__invoice__store_id",
    )
    invoiced = m.Invoice.objects.filter(scope.window("issued_at")).exclude(status="void")
    parts = _grouped(
        m.RepairLine.objects.filter(kind="part", order__invoice__in=invoiced),
        Sum(_money(F("quantity") * F("unit_cost"))), Count("id"), store_field="order__store_id",
    )
    clocked = _grouped(
        m.TimeEntry.objects.filter(job__order__invoice__in=invoiced, ended_at__isnull=False),
        Sum(_duration("ended_at", "started_at")), Count("id"),
    )
    out: dict[int | None, dict[str, Decimal]] = {}
    for store in scope.stores:
        sid = store.pk
        rate = Decimal(getattr(scope.settings.get(sid), "labour_cost_per_hour", Decimal("80.00")))
        revenue = sales.get(sid, (ZERO, ZERO))[0] + credits.get(sid, (ZERO, ZERO))[0] - refunds.get(sid, (ZERO, ZERO))[0]
        parts_cost = parts.get(sid, (ZERO, ZERO))[0]
        labour_cost = _hours(clocked.get(sid, (ZERO, ZERO))[0]) * rate
        out[sid] = {"revenue": revenue, "parts_cost": parts_cost, "labour_cost": labour_cost,
                    "gross_profit": revenue - parts_cost - labour_cost}
    out[None] = {k: sum((v[k] for v in out.values()), ZERO) for k in ("revenue", "parts_cost", "labour_cost", "gross_profit")}
    return out


def imported_gross_profit(scope: Scope) -> dict[int | None, Decimal]:
    """New-car and other gross profit imported per month; a period covering part of a month takes its share of days."""
    m = _models()
    first = scope.period.start.replace(day=1)
    out: dict[int | None, Decimal] = dict.fromkeys(scope.store_ids, ZERO)
    for store_id, month, new_car, other in m.GrossProfitMonth.objects.filter(
            store_id__in=scope.store_ids, month__gte=first, month__lt=scope.period.end).values_list("store_id", "month", "new_car", "other"):
        month_end = add_months(month, 1)
        overlap = (min(month_end, scope.period.end) - max(month, scope.period.start)).days
        share = Decimal(overlap) / Decimal((month_end - month).days)
        out[store_id] += (new_car + other) * share
    out[None] = sum((v for k, v in out.items() if k is not None), ZERO)
    return out


def imported_by_period(scope: Scope, periods: list[Period]) -> dict[Period, dict[int | None, Decimal]]:
    """:func:`imported_gross_profit` of several periods in one query (the same sums, in the same order)."""
    m = _models()
    first = min(p.start for p in periods).replace(day=1)
    last = max(p.end for p in periods)
    rows = list(m.GrossProfitMonth.objects.filter(store_id__in=scope.store_ids, month__gte=first, month__lt=last)
                .values_list("store_id", "month", "new_car", "other"))
    out: dict[Period, dict[int | None, Decimal]] = {}
    for period in periods:
        figures: dict[int | None, Decimal] = dict.fromkeys(scope.store_ids, ZERO)
        for store_id, month, new_car, other in rows:
            if not period.start.replace(day=1) <= month < period.end:
                continue
            month_end = add_months(month, 1)
            overlap = (min(month_end, period.end) - max(month, period.start)).days
            figures[store_id] += (new_car + other) * (Decimal(overlap) / Decimal((month_end - month).days))
        figures[None] = sum((v for k, v in figures.items() if k is not None), ZERO)
        out[period] = figures
    return out


def gross_profit_from(scope: Scope, parts: dict[int, tuple[Decimal, Decimal, Decimal]]) -> dict[int | None, dict[str, Decimal]]:
    """:func:`aftersales_gross_profit` from its stored parts per store (revenue, parts cost, labour hours) and each
    store's labour cost per hour now."""
    out: dict[int | None, dict[str, Decimal]] = {}
    for store in scope.stores:
        revenue, parts_cost, hours = parts.get(store.pk, (ZERO, ZERO, ZERO))
        rate = Decimal(getattr(scope.settings.get(store.pk), "labour_cost_per_hour", Decimal("80.00")))
        labour_cost = hours * rate
        out[store.pk] = {"revenue": revenue, "parts_cost": parts_cost, "labour_cost": labour_cost,
                         "gross_profit": revenue - parts_cost - labour_cost}
    out[None] = {k: sum((v[k] for v in out.values()), ZERO) for k in ("revenue", "parts_cost", "labour_cost", "gross_profit")}
    return out


def share_of(after: dict[int | None, dict[str, Decimal]], imported: dict[int | None, Decimal]) -> Figures:
    out: Figures = {}
    for key, figures in after.items():
        gp = figures["gross_profit"]
        out[key] = (gp, gp + imported.get(key, ZERO)) if imported.get(key, ZERO) else (gp, ZERO)  # no import: no share
    return out


def profit_share(scope: Scope) -> Figures:
    """After-sales gross profit ÷ dealership gross profit (after-sales + imported new-car and other)."""
    return share_of(aftersales_gross_profit(scope), imported_gross_profit(scope))


# ---- parts ---------------------------------------------------------------------------------------------------
def parts_turnover(scope: Scope) -> Figures:
    """Cost of parts issued to jobs in the period, annualised, ÷ the stock value now (times a year)."""
    m = _models()
    issued = _grouped(m.StockMovement.objects.filter(scope.window("at"), kind="issue"), Sum(_money(-F("quantity") * F("unit_cost"))), Count("id"))
    stock = _grouped(m.StockItem.objects.filter(store_id__in=scope.store_ids, on_hand__gt=0), Sum(_money(F("on_hand") * F("avg_cost"))), Count("id"))
    days = Decimal(max(1, (min(scope.period.end, scope.as_of + dt.timedelta(days=1)) - scope.period.start).days))
    keys = [*scope.store_ids, None]
    return {k: (issued.get(k, (ZERO, ZERO))[0] * Decimal(365) / days, stock.get(k, (ZERO, ZERO))[0]) for k in keys}


def stale_stock_items(scope: Scope) -> QuerySet:
    m = _models()
    cut = scope.now - dt.timedelta(days=STALE_STOCK_DAYS)
    return (m.StockItem.objects.filter(store_id__in=scope.store_ids, on_hand__gt=0)
            .annotate(stale=ExpressionWrapper(Q(last_movement_at__isnull=True) | Q(last_movement_at__lte=cut), output_field=BooleanField()),
                      value=_money(F("on_hand") * F("avg_cost"))))


def stock_now(scope: Scope) -> Figures:
    """Per store: (stock value not moved for 180 days, stock value), now: one query for both stock figures."""
    m = _models()
    cut = scope.now - dt.timedelta(days=STALE_STOCK_DAYS)
    qs = m.StockItem.objects.filter(store_id__in=scope.store_ids, on_hand__gt=0)
    value = _money(F("on_hand") * F("avg_cost"))
    return _grouped(qs, Sum(value, filter=Q(last_movement_at__isnull=True) | Q(last_movement_at__lte=cut)), Sum(value))


def stale_stock(scope: Scope) -> Figures:
    """Share of the stock value (on hand × average cost) not moved for more than 180 days (now)."""
    m = _models()
    cut = scope.now - dt.timedelta(days=STALE_STOCK_DAYS)
    qs = m.StockItem.objects.filter(store_id__in=scope.store_ids, on_hand__gt=0)
    value = _money(F("on_hand") * F("avg_cost"))
    return _grouped(qs, Sum(value, filter=Q(last_movement_at__isnull=True) | Q(last_movement_at__lte=cut)), Sum(value))


# ---- reception: show rate, inspections, recommendations --------------------------------------------------------
def period_appointments(scope: Scope) -> QuerySet:
    m = _models()
    return (m.Appointment.objects.filter(scope.window("start"), start__lte=scope.now).exclude(status="cancelled")
            .annotate(showed=Exists(m.RepairOrder.objects.filter(appointment_id=OuterRef("pk")))))


def show_rate(scope: Scope) -> Figures:
    """Repair orders ÷ appointments (not cancelled) that were due in the period."""
    return _grouped(period_appointments(scope), Count("id", filter=Q(showed=True)), Count("id"))


def opened_orders(scope: Scope) -> QuerySet:
    m = _models()
    return (m.RepairOrder.objects.filter(scope.window("opened_at")).exclude(status="cancelled")
            .annotate(inspected=Exists(m.Inspection.objects.filter(order_id=OuterRef("pk")))))


def inspection_coverage(scope: Scope) -> Figures:
    """Orders checked in during the period that have a digital inspection."""
    return _grouped(opened_orders(scope), Count("id", filter=Q(inspected=True)), Count("id"))


APPROVED = ("authorized", "dispatched", "in_progress", "done", "passed_qc", "rework")


def recommended_jobs(scope: Scope) -> QuerySet:
    m = _models()
    return m.RepairJob.objects.filter(scope.window("order__opened_at", "order__store_id"), is_additional=True,
                                      status__in=(*APPROVED, "declined"))


def acceptance(scope: Scope) -> Figures:
    """Recommended work (jobs found during inspection or repair) the customer decided on, share approved."""
    return _grouped(recommended_jobs(scope), Count("id", filter=Q(status__in=APPROVED)), Count("id"), store_field="order__store_id")


# ---- roadside rescue and damage assessment (issue 20) ------------------------------------------------------------
RESCUE_TARGET_MINUTES = 15


def rescue_arrivals(scope: Scope) -> QuerySet:
    """Rescue cases whose unit came on scene in the period, with the response time and whether within the promise."""
    from aftersales.rescue.models import RescueCase

    return (RescueCase.objects.filter(scope.window("on_scene_at"))
            .annotate(response=_duration("on_scene_at", "requested_at"),
                      within=ExpressionWrapper(Q(promised_at__isnull=False, on_scene_at__lte=F("promised_at")),
                                               output_field=BooleanField())))


def rescue_response(scope: Scope) -> Figures:
    """Average minutes from the request to the unit on scene: Σ minutes / arrivals."""
    out = _grouped(rescue_arrivals(scope), Sum("response"), Count("id"))
    return {k: (n / 60, d) for k, (n, d) in out.items()}


def rescue_within_eta(scope: Scope) -> Figures:
    """Arrivals on scene by the ETA promised at dispatch ÷ arrivals."""
    return _grouped(rescue_arrivals(scope), Count("id", filter=Q(promised_at__isnull=False, on_scene_at__lte=F("promised_at"))),
                    Count("id"))


def rescue_dispatch_events(scope: Scope) -> QuerySet:
    from aftersales.rescue.models import RescueEvent

    return RescueEvent.objects.filter(scope.window("at", "case__store_id")).filter(
        Q(to_state="dispatched") | Q(from_state="dispatched", to_state="en_route"))


def rescue_acceptance(scope: Scope) -> Figures:
    """Dispatches the crew accepted (dispatched → on the way) ÷ dispatches, both by their time in the period."""
    return _grouped(rescue_dispatch_events(scope), Count("id", filter=Q(from_state="dispatched", to_state="en_route")),
                    Count("id", filter=Q(to_state="dispatched")), store_field="case__store_id")


def approved_assessments(scope: Scope) -> QuerySet:
    from aftersales.assessments.models import Assessment

    return Assessment.objects.filter(scope.window("approved_at"), status="approved", minutes__isnull=False)


def assessment_time(scope: Scope) -> Figures:
    """Average minutes from the first photo to the approved assessment: Σ minutes / approved assessments."""
    return _grouped(approved_assessments(scope), Sum("minutes"), Count("id"))


def assessment_reduction(scope: Scope) -> Figures:
    """How much shorter than the store's baseline: (Σ baseline − Σ minutes) ÷ Σ baseline (the target is 60 %)."""
    out = _grouped(approved_assessments(scope), Sum("baseline_minutes"), Sum("minutes"))
    return {k: (base - spent, base) for k, (base, spent) in out.items()}


# ---- the catalogue -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kpi:
    code: str
    label: Promise | str
    section: str
    compute: Callable[[Scope], Figures]
    unit: str = "%"  # "%", "pts", "min", "CNY/h", "h", "x"
    scale: Decimal = HUNDRED  # value = num / den × scale
    better: str = "higher"  # "higher", "lower" or "" (tracked)
    target: str = ""  # KpiSettings field
    headline: bool = False
    snapshot: bool = False  # measured now, not for a past period
    help: Promise | str = ""
    raw: Callable[[Scope], Figures] | None = None  # the raw-table computation where ``compute`` may read rollups

    def compute_raw(self, scope: Scope) -> Figures:
        """The figures from the raw tables (what the rollups are written from and reconciled against)."""
        return (self.raw or self.compute)(scope)

    def value(self, n: Decimal, d: Decimal) -> Decimal | None:
        if not d:
            return None
        return (n / d * self.scale).quantize(Decimal("0.1"))


SECTIONS = {
    "satisfaction": _("Satisfaction"),
    "retention": _("Customers and retention"),
    "workshop": _("Workshop and quality"),
    "sla": _("Follow-up and SLA"),
    "productivity": _("Technicians and labour"),
    "profit": _("Profit and parts"),
    "reception": _("Appointments and reception"),
    "rescue": _("Roadside rescue and damage assessment"),
}


def _q(question: str) -> Callable[[Scope], Figures]:
    return lambda scope: csat(scope, question)


KPIS: list[Kpi] = [
    Kpi("csat", _("CSAT"), "satisfaction", csat, target="csat_target", headline=True,
        help=_("Answered follow-ups scoring 8–10 on overall satisfaction")),
    Kpi("nps", _("NPS"), "satisfaction", nps, unit="pts", target="nps_target", headline=True,
        help=_("Share scoring 9–10 minus share scoring 0–6 on “would you recommend”, in points")),
    Kpi("repurchase", _("Repurchase rate"), "retention", repurchase, target="repurchase_target", headline=True, raw=repurchase_raw,
        help=_("Customers with a paid visit in the 12 months before the period who came back in the period")),
    Kpi("churn", _("Churn rate"), "retention", churn, better="lower", target="churn_target", headline=True,
        help=_("Customers active in the last 12 months with no visit for 6 months")),
    Kpi("waiting", _("Waiting time"), "workshop", waiting, unit="min", scale=Decimal(1), better="lower", target="waiting_target",
        headline=True, help=_("Check-in to the first technician clock-on, average minutes")),
    Kpi("profit_share", _("After-sales profit share"), "profit", profit_share, target="profit_share_target", headline=True,
        help=_("After-sales gross profit ÷ dealership gross profit (new-car and other profit imported)")),
    Kpi("csat_attitude", _("Service attitude 8–10"), "satisfaction", _q("attitude"), better=""),
    Kpi("csat_quality", _("Repair quality 8–10"), "satisfaction", _q("quality"), better=""),
    Kpi("csat_waiting", _("Waiting time 8–10"), "satisfaction", _q("waiting"), better=""),
    Kpi("csat_price", _("Price 8–10"), "satisfaction", _q("price"), better=""),
    Kpi("complaint_rate", _("Complaint rate"), "satisfaction", complaint_rate, better="lower",
        help=_("Complaints received ÷ orders delivered")),
    Kpi("winback", _("Win-back rate"), "retention", winback, target="winback_target",
        help=_("Churn-risk customers contacted by a win-back flow who returned within 90 days")),
    Kpi("first_service", _("First-service conversion"), "retention", first_service, target="first_service_target",
        help=_("New cars whose first service (3 months after purchase) was done by 30 days after it fell due")),
    Kpi("accuracy", _("Work-order accuracy"), "workshop", accuracy, target="accuracy_target",
        help=_("Invoices never corrected by a credit note")),
    Kpi("first_time_fix", _("First-time fix"), "workshop", first_time_fix,
        help=_("Delivered orders without QC rework and without the car back for a repair within 30 days")),
    Kpi("progress", _("Progress updates on time"), "workshop", progress, target="progress_target",
        help=_("Orders in the workshop never left 30 minutes without a customer-visible update")),
    Kpi("followup_sla", _("Follow-ups within SLA"), "sla", followup_sla, help=_("Follow-ups answered before they became overdue (72 h)")),
    Kpi("case_sla", _("Complaint and feedback SLA"), "sla", case_sla, help=_("Case timers met by their due time")),
    Kpi("efficiency", _("Technician efficiency"), "productivity", efficiency, help=_("Labour hours sold ÷ hours clocked on the delivered jobs")),
    Kpi("productivity", _("Technician productivity"), "productivity", productivity, help=_("Clocked hours ÷ rostered hours")),
    Kpi("labour_rate", _("Effective labour rate"), "productivity", labour_rate, unit="CNY/h", scale=Decimal(1),
        help=_("Labour sales (ex VAT) ÷ labour hours sold")),
    Kpi("hours_per_order", _("Hours per repair order"), "productivity", hours_per_order, unit="h", scale=Decimal(1),
        help=_("Labour hours sold ÷ invoiced repair orders")),
    Kpi("parts_turnover", _("Parts turnover"), "profit", parts_turnover, unit="x", scale=Decimal(1), snapshot=False,
        help=_("Parts cost issued in the period, per year, ÷ stock value now")),
    Kpi("stale_stock", _("Stock over 180 days"), "profit", stale_stock, better="lower", snapshot=True,
        help=_("Share of stock value not moved for 180 days (now)")),
    Kpi("show_rate", _("Show rate"), "reception", show_rate, help=_("Repair orders ÷ appointments due")),
    Kpi("inspection_coverage", _("Inspection coverage"), "reception", inspection_coverage,
        help=_("Orders with a digital inspection")),
    Kpi("acceptance", _("Recommended-work acceptance"), "reception", acceptance,
        help=_("Recommended jobs the customer approved ÷ those decided")),
    Kpi("rescue_response", _("Rescue response time"), "rescue", rescue_response, unit="min", scale=Decimal(1), better="lower",
        help=_("Request to the unit on scene, average minutes (SPEC: 15 min or less)")),
    Kpi("rescue_within_eta", _("Rescue on scene within the promised ETA"), "rescue", rescue_within_eta,
        help=_("Arrivals on scene by the ETA promised at dispatch")),
    Kpi("rescue_acceptance", _("Rescue crews' acceptance"), "rescue", rescue_acceptance,
        help=_("Dispatches the crew accepted ÷ dispatches")),
    Kpi("assessment_time", _("Damage assessment time"), "rescue", assessment_time, unit="min", scale=Decimal(1), better="lower",
        help=_("First photo to the approved assessment, average minutes")),
    Kpi("assessment_reduction", _("Assessment time saved vs baseline"), "rescue", assessment_reduction,
        help=_("Minutes saved against each store's baseline ÷ the baseline (SPEC: 60 per cent)")),
]
BY_CODE = {k.code: k for k in KPIS}
HEADLINE = [k for k in KPIS if k.headline]


def rag(kpi: Kpi, value: Decimal | None, target: Decimal | None) -> str:
    """green (target met), amber (within a tenth of the target's size), red; "" when there is no figure or target."""
    if value is None or target is None or not kpi.better:
        return ""
    band = max(abs(target) / 10, Decimal(1))
    if kpi.better == "higher":
        return "green" if value >= target else ("amber" if value >= target - band else "red")
    return "green" if value <= target else ("amber" if value <= target + band else "red")
