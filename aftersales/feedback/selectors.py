"""Reads of the follow-up and feedback loop, scoped to the acting user's stores and role: the case queue sorted
by time left, follow-ups to call, a customer's feedback, CSAT and NPS per store and period (SPEC §18), and the
monthly report with improvement actions and their before/after figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet
from django.utils import timezone

from aftersales.common.permissions import require, require_store
from aftersales.common.scoping import get_or_404, restrict_to_stores

from .choices import (
    OPEN_CASE_STATES,
    SATISFACTION_QUESTIONS,
    CaseKind,
    CaseStatus,
    Category,
    FollowUpStatus,
    Reaction,
    TimerKind,
)
from .models import CaseEvent, FeedbackCase, FollowUp, ImprovementAction, SlaTimer

#: the follow-up question that measures a category (others are judged on overall CSAT)
CATEGORY_QUESTION = {Category.ATTITUDE: "attitude", Category.QUALITY: "quality", Category.WAITING: "waiting", Category.PRICE: "price"}


# ---- cases --------------------------------------------------------------------------------------------------
def cases_visible_to(user: Any) -> QuerySet[FeedbackCase]:
    if not user.has_perm("feedback.view_feedbackcase"):
        return FeedbackCase.objects.none()
    return restrict_to_stores(FeedbackCase.objects.all(), user)


def case_get(user: Any, case_id: int) -> FeedbackCase:
    return get_or_404(
        cases_visible_to(user).select_related("store", "customer", "vehicle", "order", "owner", "followup"), pk=case_id
    )


def case_queue(
    user: Any, *, store: Any = None, open_only: bool = True, kind: str = "", mine: bool = False, category: str = "",
) -> QuerySet[FeedbackCase]:
    """Cases sorted by the time left on their most urgent running timer (breached first; none last)."""
    require(user, "feedback.view_feedbackcase")
    qs = cases_visible_to(user)
    if store is not None:
        qs = qs.filter(store=store)
    if open_only:
        qs = qs.filter(status__in=OPEN_CASE_STATES)
    if kind:
        qs = qs.filter(kind=kind)
    if category:
        qs = qs.filter(category=category)
    if mine:
        qs = qs.filter(owner=user)
    return (
        qs.select_related("store", "customer", "vehicle", "owner")
        .annotate(next_due=Min("timers__due_at", filter=Q(timers__met_at__isnull=True)))
        .order_by(F("next_due").asc(nulls_last=True), "created_at", "id")
    )


def case_timeline(case: FeedbackCase) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id"))


def case_timers(case: FeedbackCase) -> list[SlaTimer]:
    return list(SlaTimer.objects.filter(case=case).order_by("due_at", "id"))


def open_cases_for_customer(*, user: Any, customer: Any) -> list[FeedbackCase]:
    """The customer's open complaints, suggestions and recovery cases at the user's stores (reception, 360 page)."""
    return list(
        cases_visible_to(user).filter(customer=customer, status__in=OPEN_CASE_STATES)
        .select_related("store", "owner").order_by("-created_at", "-id")[:20]
    )


def customer_feedback(*, user: Any, customer: Any, limit: int = 10) -> dict[str, Any]:
    """The 360 page's section: recent follow-up scores and every case (two queries)."""
    followups: list[FollowUp] = []
    if user.has_perm("feedback.view_followup") or user.has_perm("feedback.view_feedbackcase"):
        followups = list(
            restrict_to_stores(FollowUp.objects.filter(customer=customer, status=FollowUpStatus.ANSWERED), user)
            .select_related("order", "vehicle").order_by("-answered_at", "-id")[:limit]
        )
    cases = list(cases_visible_to(user).filter(customer=customer).select_related("owner").order_by("-created_at", "-id")[:limit])
    return {"followups": followups, "cases": cases}


# ---- follow-ups -----------------------------------------------------------------------------------------------
def followups_visible_to(user: Any) -> QuerySet[FollowUp]:
    if not user.has_perm("feedback.view_followup"):
        return FollowUp.objects.none()
    return restrict_to_stores(FollowUp.objects.all(), user)


def followup_get(user: Any, followup_id: int) -> FollowUp:
    return get_or_404(
        followups_visible_to(user).select_related("store", "customer", "vehicle", "order", "advisor"), pk=followup_id
    )


def followup_queue(user: Any, *, store: Any = None, status: str = FollowUpStatus.OPEN) -> QuerySet[FollowUp]:
    """Follow-ups to work on, the most urgent first."""
    require(user, "feedback.view_followup")
    qs = followups_visible_to(user)
    if store is not None:
        qs = qs.filter(store=store)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("store", "customer", "vehicle", "order", "advisor").order_by("due_at", "id")


# ---- figures ----------------------------------------------------------------------------------------------------
def satisfaction_of(followups: QuerySet[FollowUp]) -> dict[str, Any]:
    """CSAT (share of satisfaction scores 8–10) and NPS (% 9–10 minus % 0–6 on "would recommend")."""
    agg: dict[str, Any] = {}
    for q in SATISFACTION_QUESTIONS:
        agg[f"{q}_n"] = Count("id", filter=Q(**{f"score_{q}__isnull": False}))
        agg[f"{q}_ok"] = Count("id", filter=Q(**{f"score_{q}__gte": 8}))
    agg["rec_n"] = Count("id", filter=Q(score_recommend__isnull=False))
    agg["promoters"] = Count("id", filter=Q(score_recommend__gte=9))
    agg["detractors"] = Count("id", filter=Q(score_recommend__lte=6))
    agg["answered"] = Count("id", filter=Q(status=FollowUpStatus.ANSWERED))
    row = followups.aggregate(**agg)
    scores = sum(row[f"{q}_n"] for q in SATISFACTION_QUESTIONS)
    satisfied = sum(row[f"{q}_ok"] for q in SATISFACTION_QUESTIONS)
    per_question = {q: (round(100 * row[f"{q}_ok"] / row[f"{q}_n"], 1) if row[f"{q}_n"] else None) for q in SATISFACTION_QUESTIONS}
    return {
        "answered": row["answered"],
        "scores": scores,
        "csat": round(100 * satisfied / scores, 1) if scores else None,
        "nps": round(100 * (row["promoters"] - row["detractors"]) / row["rec_n"], 1) if row["rec_n"] else None,
        "promoters": row["promoters"],
        "detractors": row["detractors"],
        "per_question": per_question,
    }


def csat_nps(*, user: Any, store: Any, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """CSAT and NPS of a store's follow-ups answered in [start, end)."""
    require(user, "feedback.view_followup")
    require_store(user, store.pk)
    return satisfaction_of(FollowUp.objects.filter(store=store, answered_at__gte=start, answered_at__lt=end))


def month_range(store: Any, year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, month, 1, tzinfo=store.zone)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=store.zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    n = year * 12 + (month - 1) + delta
    return n // 12, n % 12 + 1


def sla_compliance(timers: QuerySet[SlaTimer], now: dt.datetime) -> dict[str, Any]:
    """Timers due in the period: met on time, met late, breached and still open (not yet due are left out)."""
    rows = timers.filter(due_at__lte=now).aggregate(
        total=Count("id"),
        on_time=Count("id", filter=Q(met_at__isnull=False, met_at__lte=F("due_at"))),
    )
    total = rows["total"]
    return {"total": total, "on_time": rows["on_time"], "rate": round(100 * rows["on_time"] / total, 1) if total else None}


def _category_figures(store: Any, category: str, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    cases = FeedbackCase.objects.filter(store=store, category=category, created_at__gte=start, created_at__lt=end).count()
    followups = FollowUp.objects.filter(store=store, answered_at__gte=start, answered_at__lt=end)
    question = CATEGORY_QUESTION.get(Category(category))
    if question:
        row = followups.aggregate(n=Count("id", filter=Q(**{f"score_{question}__isnull": False})),
                                  ok=Count("id", filter=Q(**{f"score_{question}__gte": 8})))
        satisfied = round(100 * row["ok"] / row["n"], 1) if row["n"] else None
    else:
        satisfied = satisfaction_of(followups)["csat"]
    days = max((end - start).total_seconds() / 86400, 1)
    return {"cases": cases, "per_30_days": round(cases * 30 / days, 1), "satisfied": satisfied}


def action_effects(*, store: Any, action: ImprovementAction, now: dt.datetime | None = None, window_days: int = 30) -> dict[str, Any]:
    """The action's category before (the window before its date) and after (from its date, up to the window)."""
    now = now or timezone.now()
    pivot = dt.datetime.combine(action.start_date, dt.time(0, 0), tzinfo=store.zone).astimezone(dt.UTC)
    before = _category_figures(store, action.category, pivot - dt.timedelta(days=window_days), pivot)
    after_end = min(pivot + dt.timedelta(days=window_days), max(now, pivot + dt.timedelta(days=1)))
    after = _category_figures(store, action.category, pivot, after_end)
    return {"before": before, "after": after}


def monthly_report(*, user: Any, store: Any, year: int, month: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """A store's month: cases per category with the two months before (trend), most frequent issues with examples,
    SLA compliance, follow-up figures, CSAT and NPS, recovery outcomes, improvement actions with before/after."""
    require(user, "feedback.view_feedback_report")
    require_store(user, store.pk)
    now = now or timezone.now()
    start, end = month_range(store, year, month)
    months = [_shift_month(year, month, d) for d in (-2, -1, 0)]
    ranges = [month_range(store, y, m) for y, m in months]
    counts: dict[str, list[int]] = {c: [0, 0, 0] for c in Category.values}
    for i, (lo, hi) in enumerate(ranges):
        for row in FeedbackCase.objects.filter(store=store, created_at__gte=lo, created_at__lt=hi).values("category").annotate(n=Count("id")):
            counts[row["category"]][i] = row["n"]
    categories: list[dict[str, Any]] = [
        {"code": c, "label": Category(c).label, "counts": counts[c], "trend": counts[c][2] - counts[c][1]} for c in Category.values
    ]
    month_cases = FeedbackCase.objects.filter(store=store, created_at__gte=start, created_at__lt=end)
    top = sorted((c for c in categories if c["counts"][2]), key=lambda c: -c["counts"][2])[:3]
    for entry in top:
        entry["examples"] = list(
            month_cases.filter(category=entry["code"]).exclude(kind=CaseKind.SUGGESTION).order_by("-created_at")
            .values_list("text", flat=True)[:3]
        ) or list(month_cases.filter(category=entry["code"]).order_by("-created_at").values_list("text", flat=True)[:3])
    timers = SlaTimer.objects.filter(case__store=store, due_at__gte=start, due_at__lt=end)
    sla_by_kind = {k: sla_compliance(timers.filter(kind=k), now) for k in TimerKind.values}
    followups = FollowUp.objects.filter(store=store, delivered_at__gte=start, delivered_at__lt=end)
    followup_row = followups.aggregate(
        total=Count("id"), answered=Count("id", filter=Q(status=FollowUpStatus.ANSWERED)),
        unreached=Count("id", filter=Q(status=FollowUpStatus.UNREACHED)),
        on_time=Count("id", filter=Q(status=FollowUpStatus.ANSWERED, answered_at__lte=F("overdue_at"))),
    )
    recovery = month_cases.filter(kind=CaseKind.RECOVERY)
    recovery_row = recovery.aggregate(
        total=Count("id"), resolved=Count("id", filter=Q(status__in=(CaseStatus.RESOLVED, CaseStatus.CLOSED))),
    )
    reactions = dict.fromkeys(Reaction.values, 0)
    for reaction_row in recovery.exclude(reaction="").values("reaction").annotate(n=Count("id")):
        reactions[reaction_row["reaction"]] = reaction_row["n"]
    recovery_timers = sla_compliance(SlaTimer.objects.filter(case__in=recovery, kind=TimerKind.RECOVERY), now)
    actions = [
        {"action": a, **action_effects(store=store, action=a, now=now)}
        for a in ImprovementAction.objects.filter(store=store).select_related("owner").order_by("-start_date", "-id")[:20]
    ]
    return {
        "store": store, "year": year, "month": month, "start": start, "end": end, "months": months,
        "categories": categories, "top": top, "total_cases": sum(c["counts"][2] for c in categories),
        "sla": sla_compliance(timers, now), "sla_by_kind": sla_by_kind,
        "followups": followup_row,
        "satisfaction": satisfaction_of(FollowUp.objects.filter(store=store, answered_at__gte=start, answered_at__lt=end)),
        "recovery": {**recovery_row, "reactions": [(Reaction(r).label, n) for r, n in reactions.items()], "sla": recovery_timers},
        "actions": actions,
    }
