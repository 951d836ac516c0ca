"""The cockpit's reads: the dashboard (every KPI beside its target, previous period and trend) and the drill-down
to the records behind a figure. Both are scoped: a store manager sees the stores they work at, a group admin the
group and each store; other roles are refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext

from aftersales.common.errors import Forbidden, NotFound
from aftersales.common.names import job_title
from aftersales.common.permissions import require
from aftersales.common.scoping import spans_group, visible_store_ids

from . import kpis, rollups
from .kpis import BY_CODE, KPIS, SECTIONS, Figures, Kpi, Scope
from .models import KpiSettings
from .periods import KINDS, Period

TREND_POINTS = 6
DRILL_LIMIT = 300


def dashboard_stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    require(user, "analytics.view_dashboard")
    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("code"))


def targets_for(stores: list[Any]) -> dict[int, KpiSettings]:
    rows = {s.store_id: s for s in KpiSettings.objects.filter(store_id__in=[s.pk for s in stores])}
    return {s.pk: rows.get(s.pk) or KpiSettings(store=s) for s in stores}


def resolve_scope(*, user: Any, store_id: int | None, kind: str, day: dt.date | None, now: dt.datetime | None = None) -> Scope:
    """The stores and period the user asked for: one store they may see, or (``store_id`` None) the group for a
    group-wide role, else their only store."""
    stores = dashboard_stores(user)
    if store_id is not None:
        stores = [s for s in stores if s.pk == store_id]
        if not stores:
            raise NotFound("store_not_found", _("No such store."), "store")
    elif not spans_group(user) and len(stores) > 1:
        stores = stores[:1]
    if not stores:
        raise Forbidden("store_not_allowed", _("You do not work at this store."), "store")
    now = now or timezone.now()
    if kind not in KINDS:
        kind = "month"
    today = now.astimezone(stores[0].zone).date()
    period = Period.containing(kind, day or today)
    return Scope(stores, period, now, targets_for(stores))


def _target(kpi: Kpi, scope: Scope, key: int | None) -> Decimal | None:
    if not kpi.target:
        return None
    settings = scope.settings.get(key) if key is not None else KpiSettings()
    return Decimal(getattr(settings or KpiSettings(), kpi.target))


def _value(kpi: Kpi, figures: Figures, key: int | None) -> Decimal | None:
    n, d = figures.get(key, (Decimal(0), Decimal(0)))
    return kpi.value(n, d)


def dashboard(*, user: Any, store_id: int | None, kind: str = "month", day: dt.date | None = None,
              now: dt.datetime | None = None, use_rollups: bool = True) -> dict[str, Any]:
    """Every KPI for the scope: headline numbers with a trend of the last six periods, the rest with the previous
    period; per store beside the scope's figure. A constant number of queries (each KPI's handful per period)."""
    scope = resolve_scope(user=user, store_id=store_id, kind=kind, day=day, now=now)
    key = None if len(scope.stores) > 1 else scope.stores[0].pk
    periods = [scope.period.shift(-i) for i in range(TREND_POINTS - 1, -1, -1)]
    previous = scope.period.previous()
    today = scope.now.astimezone(scope.stores[0].zone).date()
    source = _Figures(scope, [*periods, previous] if previous not in periods else periods, today, use_rollups)
    baseline = source.baseline()
    rows: list[dict[str, Any]] = []
    for kpi in KPIS:
        wanted = periods if kpi.headline else [previous, scope.period]
        figures = {p: source.figures(kpi.code, p) for p in wanted}
        current, prev = figures[scope.period], figures[previous]
        value = _value(kpi, current, key)
        target = _target(kpi, scope, key)
        row: dict[str, Any] = {
            "kpi": kpi, "value": value, "previous": _value(kpi, prev, key), "target": target,
            "rag": kpis.rag(kpi, value, target),
            "numerator": current.get(key, (0, 0))[0], "denominator": current.get(key, (0, 0))[1],
            "trend": [(p.label, _value(kpi, figures[p], key)) for p in wanted],
            "stores": [
                {"store": s, "value": _value(kpi, current, s.pk), "previous": _value(kpi, prev, s.pk),
                 "rag": kpis.rag(kpi, _value(kpi, current, s.pk), _target(kpi, scope, s.pk))}
                for s in scope.stores
            ] if key is None else [],
        }
        if kpi.code == "waiting":
            change = kpis.waiting_change(current, baseline)
            settings = scope.settings.get(key) if key is not None else KpiSettings()
            cut = Decimal((settings or KpiSettings()).waiting_cut_target)
            bn, bd = baseline.get(key, (Decimal(0), Decimal(0)))
            row["baseline"] = (bn / bd).quantize(Decimal("0.1")) if bd else None
            delta = change.get(key)
            row["change"] = delta.quantize(Decimal("0.1")) if delta is not None else None
            row["cut_target"] = cut
            if row["change"] is not None and row["rag"]:
                met_cut = row["change"] <= cut
                row["rag"] = {("green", True): "green", ("green", False): "amber", ("amber", True): "amber",
                              ("amber", False): "red", ("red", True): "amber", ("red", False): "red"}[(row["rag"], met_cut)]
        rows.append(row)
    by_section: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if not row["kpi"].headline:
            by_section.setdefault(row["kpi"].section, []).append(row)
    return {
        "scope": scope,
        "is_group": key is None,
        "period": scope.period,
        "previous": previous,
        "headline": [r for r in rows if r["kpi"].headline],
        "sections": [(SECTIONS[code], by_section[code]) for code in SECTIONS if code in by_section],
        "profit": source.gross_profit(scope.period).get(key),
        "imported": source.imported(scope.period).get(key),
        "as_of": source.as_of(scope.period),
    }


class _Figures:
    """Where the dashboard's figures come from. With rollups: the period rows (``rollups.PeriodReader``, one query
    for every period and store shown), the imported gross profit (one query) and the stock now (one query); a period
    without fresh rows is read from the raw tables (past days of additive KPIs from the daily rollups)."""

    def __init__(self, scope: Scope, periods: list[Period], today: dt.date, use_rollups: bool) -> None:
        self.scope, self.today, self.use_rollups = scope, today, use_rollups
        self.periods = periods
        self.reader = rollups.PeriodReader(scope, periods, today) if use_rollups else None
        self._values = {p: (self.reader.values(p) if self.reader else None) for p in periods}
        self._daily: rollups.RollupReader | None = None
        self._imported: dict[Period, dict[int | None, Decimal]] | None = None
        self._stock: Figures | None = None
        self._raw_baseline: Figures | None = None

    def _rolled(self, period: Period) -> dict[int | None, dict[str, list[str]]] | None:
        if period not in self._values:
            self._values[period] = None
        return self._values[period]

    def _raw(self, code: str, period: Period) -> Figures:
        if not self.use_rollups:
            return BY_CODE[code].compute_raw(self.scope.with_period(period))
        if self._daily is None:
            first = min(p.start for p in self.periods)
            self._daily = rollups.RollupReader(self.scope.stores, first, self.today - dt.timedelta(days=1))
        return rollups.period_figures(code, self.scope, period, self._daily, self.today)

    def imported(self, period: Period) -> dict[int | None, Decimal]:
        if self._rolled(period) is None:
            return kpis.imported_gross_profit(self.scope.with_period(period))
        if self._imported is None:
            self._imported = kpis.imported_by_period(self.scope, [p for p in self.periods if self._rolled(p) is not None])
        return self._imported[period]

    def stock(self) -> Figures:
        if self._stock is None:
            self._stock = kpis.stock_now(self.scope)
        return self._stock

    def gross_profit(self, period: Period) -> dict[int | None, dict[str, Decimal]]:
        values = self._rolled(period)
        if values is None:
            return kpis.aftersales_gross_profit(self.scope.with_period(period))
        parts = {}
        for s in self.scope.stores:
            row = values[s.pk]
            parts[s.pk] = tuple(Decimal(row[code][0]) for code in rollups.GP_PARTS)
        return kpis.gross_profit_from(self.scope, parts)  # type: ignore[arg-type]

    def figures(self, code: str, period: Period) -> Figures:
        values = self._rolled(period)
        if values is None:
            return self._raw(code, period)
        if code == "profit_share":
            return kpis.share_of(self.gross_profit(period), self.imported(period))
        if code == "stale_stock":
            return self.stock()
        figures = rollups.figures_from(values, code)
        if code == "parts_turnover":  # the issued cost of the period ÷ the stock value now
            stock = self.stock()
            figures = {k: (n, stock.get(k, (Decimal(0), Decimal(0)))[1]) for k, (n, _d) in figures.items()}
        return figures

    def baseline(self) -> Figures:
        """The waiting-time baseline: the manager's value where set, else the store's first full quarter (stored
        in every period row of the store)."""
        values = self._rolled(self.scope.period)
        if values is None:
            return kpis.waiting_baseline(self.scope)
        out: Figures = {}
        for s in self.scope.stores:
            settings = self.scope.settings.get(s.pk)
            if settings is not None and settings.waiting_baseline is not None:
                continue
            pair = values[s.pk].get(rollups.BASELINE)
            if pair:
                out[s.pk] = (Decimal(pair[0]), Decimal(pair[1]))
        for s in self.scope.stores:
            settings = self.scope.settings.get(s.pk)
            if settings is not None and settings.waiting_baseline is not None:
                out[s.pk] = (Decimal(settings.waiting_baseline), Decimal(1))
        out[None] = (sum((v[0] for v in out.values()), Decimal(0)), sum((v[1] for v in out.values()), Decimal(0)))
        return out

    def as_of(self, period: Period) -> dt.datetime | None:
        """When the period's rows were computed (None: read from the raw tables now)."""
        if self.reader is None or self._rolled(period) is None:
            return None
        found = self.reader.rows.get((self.scope.stores[0].pk, period.start))
        return found[1] if found else None


# ---- drill-down ----------------------------------------------------------------------------------------------
def _local(value: dt.datetime | None, zone: Any) -> str:
    return timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M") if value else "—"


def drill(*, user: Any, store_id: int | None, code: str, kind: str = "month", day: dt.date | None = None,
          now: dt.datetime | None = None) -> dict[str, Any]:
    """The records behind one KPI figure (at most ``DRILL_LIMIT``), each marked counted or not."""
    kpi = BY_CODE.get(code)
    if kpi is None:
        raise NotFound("kpi_not_found", _("No such figure."), "kpi")
    scope = resolve_scope(user=user, store_id=store_id, kind=kind, day=day, now=now)
    zone = scope.stores[0].zone
    columns, rows = _DRILLS.get(code, _drill_none)(scope, zone)
    return {"kpi": kpi, "scope": scope, "columns": columns, "rows": rows[:DRILL_LIMIT], "total": len(rows),
            "counted": sum(1 for r in rows if r["hit"])}


def _row(cells: list[Any], hit: bool, url: str = "") -> dict[str, Any]:
    return {"cells": cells, "hit": hit, "url": url}


def _drill_none(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    return [], []


def _drill_followups(question: str) -> Any:
    def run(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
        qs = kpis.answered_followups(scope, question).select_related("customer", "order", "store").order_by("answered_at", "id")
        field = f"score_{question}"
        ok = (lambda s: s >= 9) if question == "recommend" else (lambda s: s >= 8)
        return ([pgettext("column", "Answered"), _("Store"), _("Customer"), _("Repair order"), _("Score")],
                [_row([_local(f.answered_at, zone), f.store.name, str(f.customer), f.order.number, getattr(f, field)],
                      ok(getattr(f, field)), reverse("feedback:followup_detail", args=[f.pk])) for f in qs])
    return run


def _drill_customers(rows_of: Any) -> Any:
    def run(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
        from aftersales.customers.models import Customer

        rows = rows_of(scope)
        names = dict(Customer.objects.filter(pk__in={r[1] for r in rows}).values_list("pk", "name"))
        stores = {s.pk: s.name for s in scope.stores}
        return ([_("Customer"), _("Store")],
                [_row([names.get(cid, ""), stores.get(sid, "")], hit, reverse("web:customer_detail", args=[cid]))
                 for sid, cid, hit in sorted(rows, key=lambda r: (not r[2], r[0], r[1]))])
    return run


def _drill_orders(qs_of: Any, hit_field: str, extra: Any = None, negate: bool = False) -> Any:
    def run(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
        qs = qs_of(scope).select_related("store", "customer").order_by("opened_at", "id")
        out = []
        for o in qs:
            hit = bool(getattr(o, hit_field)) != negate
            cells = [o.number, o.store.name, str(o.customer), _local(o.opened_at, zone)]
            if extra:
                cells.append(extra(o))
            out.append(_row(cells, hit, reverse("estimates:order_detail", args=[o.pk])))
        cols = [_("Repair order"), _("Store"), _("Customer"), _("Checked in")] + ([_("Minutes")] if extra else [])
        return cols, out
    return run


def _wait_minutes(o: Any) -> str:
    return f"{o.wait.total_seconds() / 60:.0f}" if o.wait is not None else "—"


def _drill_waiting(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    settings = scope.settings
    qs = kpis.waiting_orders(scope).select_related("store", "customer").order_by("opened_at", "id")
    out = []
    for o in qs:
        target = Decimal(getattr(settings.get(o.store_id), "waiting_target", 30))
        minutes = Decimal(o.wait.total_seconds()) / 60
        out.append(_row([o.number, o.store.name, str(o.customer), _local(o.opened_at, zone), f"{minutes:.0f}"],
                        minutes <= target, reverse("estimates:order_detail", args=[o.pk])))
    return [_("Repair order"), _("Store"), _("Customer"), _("Checked in"), _("Minutes")], out


def _drill_invoices(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    qs = kpis.issued_invoices(scope).select_related("store", "customer").order_by("issued_at", "id")
    return ([_("Invoice"), _("Store"), _("Customer"), _("Issued"), _("Total")],
            [_row([i.number, i.store.name, str(i.customer), _local(i.issued_at, zone), i.total], not i.corrected,
                  reverse("estimates:order_detail", args=[i.order_id])) for i in qs])


def _drill_timers(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    qs = kpis.due_timers(scope).select_related("case", "case__store").order_by("due_at", "id")
    return ([_("Case"), _("Store"), _("Timer"), _("Due"), _("Met")],
            [_row([f"#{t.case_id}", t.case.store.name, t.get_kind_display(), _local(t.due_at, zone), _local(t.met_at, zone)],
                  t.met_at is not None and t.met_at <= t.due_at, reverse("feedback:case_detail", args=[t.case_id])) for t in qs])


def _drill_due_followups(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    qs = kpis.due_followups(scope).select_related("store", "customer", "order").order_by("overdue_at", "id")
    return ([_("Repair order"), _("Store"), _("Customer"), _("Overdue at"), pgettext("column", "Answered")],
            [_row([f.order.number, f.store.name, str(f.customer), _local(f.overdue_at, zone), _local(f.answered_at, zone)],
                  bool(f.on_time), reverse("feedback:followup_detail", args=[f.pk])) for f in qs])


def _drill_appointments(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    qs = kpis.period_appointments(scope).select_related("store", "customer").order_by("start", "id")
    return ([_("Appointment"), _("Store"), _("Customer"), _("Status")],
            [_row([_local(a.start, zone), a.store.name, str(a.customer), a.get_status_display()], a.showed,
                  reverse("web:customer_detail", args=[a.customer_id])) for a in qs])


def _drill_jobs(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    qs = kpis.recommended_jobs(scope).select_related("order", "order__store").order_by("order__opened_at", "id")
    return ([_("Repair order"), _("Store"), _("Job"), _("Status")],
            [_row([j.order.number, j.order.store.name, job_title(j), j.get_status_display()], j.status in kpis.APPROVED,
                  reverse("estimates:order_detail", args=[j.order_id])) for j in qs])


def _drill_efficiency(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    qs = kpis.efficiency_jobs(scope).select_related("order", "order__store", "technician").order_by("order__delivered_at", "id")
    out = []
    for j in qs:
        hours = Decimal(j.clocked.total_seconds()) / 3600
        sold = j.sold or Decimal(0)
        out.append(_row([j.order.number, j.order.store.name, job_title(j), str(j.technician or "—"), sold, f"{hours:.2f}"],
                        hours <= sold, reverse("estimates:order_detail", args=[j.order_id])))
    return [_("Repair order"), _("Store"), _("Job"), _("Technician"), _("Hours sold"), _("Clocked hours")], out


def _drill_vehicles(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    stores = {s.pk: s.name for s in scope.stores}
    return ([_("Plate"), _("Store"), _("Purchased"), _("First service due"), _("First visit")],
            [_row([r["plate"], stores.get(r["selling_store_id"], ""), r["purchase_date"], r["due"], r["visit"] or "—"], r["hit"])
             for r in kpis.first_service_rows(scope)])


def _drill_enrolments(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    qs = kpis.winback_enrolments(scope).select_related("customer", "store").order_by("contacted_at", "id")
    return ([_("Customer"), _("Store"), pgettext("column", "Contacted")],
            [_row([str(e.customer), e.store.name, _local(e.contacted_at, zone)], e.hit,
                  reverse("web:customer_detail", args=[e.customer_id])) for e in qs])


def _drill_stock(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    qs = kpis.stale_stock_items(scope).select_related("part", "store").order_by("last_movement_at", "id")
    return ([_("Part"), _("Store"), _("On hand"), _("Value"), _("Last movement")],
            [_row([str(i.part), i.store.name, i.on_hand,
                   Decimal(i.value).quantize(Decimal("0.01")), _local(i.last_movement_at, zone)], i.stale) for i in qs])


def _drill_cases(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    from aftersales.feedback.models import FeedbackCase

    qs = FeedbackCase.objects.filter(scope.window("created_at"), kind="complaint").select_related("store").order_by("created_at", "id")
    return ([_("Case"), _("Store"), _("Received"), _("Category"), _("Status")],
            [_row([f"#{c.pk}", c.store.name, _local(c.created_at, zone), c.get_category_display(), c.get_status_display()], True,
                  reverse("feedback:case_detail", args=[c.pk])) for c in qs])


_DRILLS: dict[str, Any] = {
    "csat": _drill_followups("overall"),
    "csat_attitude": _drill_followups("attitude"),
    "csat_quality": _drill_followups("quality"),
    "csat_waiting": _drill_followups("waiting"),
    "csat_price": _drill_followups("price"),
    "nps": _drill_followups("recommend"),
    "repurchase": _drill_customers(kpis.repurchase_rows),
    "churn": _drill_customers(kpis.churn_rows),
    "winback": _drill_enrolments,
    "first_service": _drill_vehicles,
    "waiting": _drill_waiting,
    "progress": _drill_orders(kpis.progress_orders, "flagged", negate=True),
    "inspection_coverage": _drill_orders(kpis.opened_orders, "inspected"),
    "accuracy": _drill_invoices,
    "followup_sla": _drill_due_followups,
    "case_sla": _drill_timers,
    "show_rate": _drill_appointments,
    "acceptance": _drill_jobs,
    "efficiency": _drill_efficiency,
    "stale_stock": _drill_stock,
    "complaint_rate": _drill_cases,
}


def _ftf_orders(scope: Scope) -> Any:
    from django.db.models import BooleanField, ExpressionWrapper, Q

    return kpis.delivered_orders(scope).annotate(ftf=ExpressionWrapper(Q(reworked=False) & Q(came_back=False), output_field=BooleanField()))


_DRILLS["first_time_fix"] = _drill_orders(_ftf_orders, "ftf")


def _drill_rescue(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    qs = kpis.rescue_arrivals(scope).select_related("store").order_by("on_scene_at", "id")
    return ([_("Rescue case"), _("Store"), _("Requested"), _("On scene"), _("Minutes")],
            [_row([c.number, c.store.name, _local(c.requested_at, zone), _local(c.on_scene_at, zone),
                   round(c.response.total_seconds() / 60)], bool(c.within), reverse("rescue:case", args=[c.pk])) for c in qs])


def _drill_assessments(scope: Scope, zone: Any) -> tuple[list[str], list[dict[str, Any]]]:
    qs = kpis.approved_assessments(scope).select_related("store").order_by("approved_at", "id")
    return ([_("Assessment"), _("Store"), _("Approved"), _("Minutes"), _("Baseline")],
            [_row([a.number, a.store.name, _local(a.approved_at, zone), a.minutes, a.baseline_minutes],
                  a.baseline_minutes is not None and a.minutes <= a.baseline_minutes * 0.4,
                  reverse("assessments:desk", args=[a.pk])) for a in qs])


_DRILLS.update({"rescue_response": _drill_rescue, "rescue_within_eta": _drill_rescue,
                "assessment_time": _drill_assessments, "assessment_reduction": _drill_assessments})


# ---- staff scorecards ----------------------------------------------------------------------------------------
def scorecard_list(*, user: Any, store_id: int | None, kind: str = "quarter", day: dt.date | None = None,
                   now: dt.datetime | None = None) -> dict[str, Any]:
    """Every advisor's and technician's scorecard in the scope, and the quarter's service star."""
    from . import scorecards

    scope = resolve_scope(user=user, store_id=store_id, kind=kind, day=day, now=now)
    cards = scorecards.scorecards(scope)
    quarter = Period.containing("quarter", scope.period.start)
    star_cards = cards if scope.period == quarter else scorecards.scorecards(scope.with_period(quarter))
    return {"scope": scope, "cards": cards, "star": scorecards.service_star(star_cards), "quarter": quarter}


def my_scorecard(*, user: Any, kind: str = "quarter", day: dt.date | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """The signed-in person's own scorecard over the stores they work at (any staff role; nobody else's)."""
    from aftersales.stores.models import Store

    from . import scorecards

    stores = list(Store.objects.filter(pk__in=user.memberships.values("store_id")).order_by("code"))
    if not stores:
        raise Forbidden("store_not_allowed", _("You do not work at any store."), None)
    now = now or timezone.now()
    period = Period.containing(kind if kind in KINDS else "quarter", day or now.astimezone(stores[0].zone).date())
    scope = Scope(stores, period, now, targets_for(stores))
    roles = {g.name for g in user.groups.all()}
    role = "advisor" if "service_advisor" in roles else "technician"
    card = scorecards.scorecards(scope, people=[(user, role)])[0]
    return {"scope": scope, "card": card}


def review(*, user: Any, store_id: int | None, name: str, day: dt.date | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """A monthly, quarterly or yearly review for the scope (same rules as the dashboard)."""
    from .reviews import REVIEWS, review_data

    if name not in REVIEWS:
        raise NotFound("review_not_found", _("No such review."), "review")
    scope = resolve_scope(user=user, store_id=store_id, kind=REVIEWS[name][0], day=day, now=now)
    return review_data(scope, name)


# ---- demand forecast ----------------------------------------------------------------------------------------------
FORECAST_HISTORY_DAYS = 2 * 364
FORECAST_WEEKS = (4, 8, 12)
SERIES_LABELS = {"orders": _lazy("Repair orders"), "hours": _lazy("Labour hours")}


def demand_forecast(*, user: Any, store_id: int | None, weeks: int = 4, now: dt.datetime | None = None) -> dict[str, Any]:
    """One store's demand for the coming ``weeks`` (from tomorrow) beside its capacity; a group-wide viewer without a
    store gets their first store. Cached per store and local day (the history ends yesterday)."""
    from django.core.cache import cache

    from aftersales.workshop.choices import JobType

    from . import forecast

    scope = resolve_scope(user=user, store_id=store_id, kind="day", day=None, now=now)
    store = scope.stores[0]
    weeks = weeks if weeks in FORECAST_WEEKS else FORECAST_WEEKS[0]
    today = scope.now.astimezone(store.zone).date()
    first = today - dt.timedelta(days=FORECAST_HISTORY_DAYS)
    last = today - dt.timedelta(days=1)
    horizon = max(FORECAST_WEEKS) * 7
    future = [today + dt.timedelta(days=i + 1) for i in range(horizon)]
    key = f"analytics:forecast:{store.pk}:{today.isoformat()}"
    computed = cache.get(key)
    if computed is None:
        raw = forecast.store_history(store, first, last)
        # the history starts at the store's first order (a new store is not a year of zeros)
        seen = [d for series in raw.values() for d in series]
        start = max(first, min(seen)) if seen else last
        days = [start + dt.timedelta(days=i) for i in range((last - start).days + 1)]
        computed = {name: forecast.forecast_series(days, [series.get(d, 0.0) for d in days], future)
                    for name, series in raw.items()}
        cache.set(key, computed, 6 * 3600)
    capacity = forecast.store_capacity(store, future[0], weeks * 7)
    shown = future[: weeks * 7]
    types = sorted((name for name in computed if name.startswith("type:")),
                   key=lambda n: -sum(computed[n].values[: weeks * 7]))
    type_labels = {f"type:{value}": label for value, label in JobType.choices}
    rows: list[dict[str, Any]] = []
    for i, day in enumerate(shown):
        cap = capacity[day]
        kind = forecast.day_kind(day)
        orders = computed["orders"].values[i] if cap["open"] else 0.0
        hours = computed["hours"].values[i] if cap["open"] else 0.0
        rows.append({
            "day": day, "kind": kind, "holiday": forecast.holiday_name(day), "open": cap["open"],
            "orders": orders, "hours": hours,
            "types": [computed[t].values[i] if cap["open"] else 0.0 for t in types],
            "tech_hours": cap["tech_hours"], "bay_hours": cap["bay_hours"],
            "over": cap["open"] and hours > cap["tech_hours"] + 1e-9,
            "bay_over": cap["open"] and hours > cap["bay_hours"] + 1e-9,
        })
    weeks_rows: list[dict[str, Any]] = []
    for w in range(weeks):
        chunk = rows[w * 7:(w + 1) * 7]
        weeks_rows.append({"start": chunk[0]["day"], "orders": sum(r["orders"] for r in chunk),
                           "hours": sum(r["hours"] for r in chunk), "tech_hours": sum(r["tech_hours"] for r in chunk),
                           "over_days": sum(1 for r in chunk if r["over"]),
                           "types": [sum(r["types"][j] for r in chunk) for j in range(len(types))]})
    series_info = [{"name": name, "label": SERIES_LABELS.get(name) or type_labels.get(name, name), "f": computed[name]}
                   for name in ["orders", "hours", *types]]
    return {
        "store": store, "today": today, "weeks": weeks, "rows": rows, "weeks_rows": weeks_rows,
        "types": [type_labels.get(t, t) for t in types], "series": series_info,
        "over_days": sum(1 for r in rows if r["over"]),
        "unknown_calendar": computed["orders"].unknown_calendar_days > 0 and any(r["kind"] == forecast.UNKNOWN for r in rows),
        "chart": {
            "labels": [r["day"].strftime("%m-%d") for r in rows], "values": [round(r["hours"], 1) for r in rows],
            "capacity": [round(r["tech_hours"], 1) for r in rows], "target": None, "unit": "h",
            "name": str(_("Labour hours forecast")), "capacity_name": str(_("Technician hours on shift")),
        },
    }
