"""Reads for inspections and quality control, scoped to the acting user's stores (ARCHITECTURE habit 3).

Figures for the dashboard: :func:`report_coverage` (SPEC §4 target: 100% of inspections have a report) and
:func:`qc_figures` (rework per order and technician, first-time-fix rate of final QC).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from aftersales.common.scoping import get_locked_or_404, get_or_404, restrict_to_stores, visible_store_ids
from aftersales.workshop.choices import APPROVED_JOB_STATES, JobStatus, OrderStatus
from aftersales.workshop.models import RepairJob, RepairOrder

from .choices import QC_SEQUENCE, ChecklistPurpose, InspectionStatus, QcResult, Rating
from .models import Checklist, ChecklistItem, Inspection, InspectionItem, InspectionPhoto, QcCheck, Rework


# ---- checklists -------------------------------------------------------------------------------------------------
def checklists_for(user: Any, *, store_id: int | None = None, purpose: str | None = None) -> QuerySet[Checklist]:
    qs = restrict_to_stores(Checklist.objects.all(), user).select_related("store")
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    if purpose:
        qs = qs.filter(purpose=purpose)
    return qs.order_by("store_id", "purpose", "code")


def checklist_get(user: Any, checklist_id: int) -> Checklist:
    qs = restrict_to_stores(Checklist.objects.all(), user).select_related("store").prefetch_related(
        "service_types", "groups", Prefetch("items", queryset=ChecklistItem.objects.order_by("group__seq", "seq", "id"))
    )
    return get_or_404(qs, pk=checklist_id)


def checklist_tree(checklist: Checklist) -> list[dict[str, Any]]:
    """Groups with their items, in order (from the prefetched rows)."""
    by_group: dict[int, list[ChecklistItem]] = {}
    for item in checklist.items.all():
        by_group.setdefault(item.group_id, []).append(item)
    return [{"group": g, "items": sorted(by_group.get(g.pk, []), key=lambda i: (i.seq, i.pk))}
            for g in sorted(checklist.groups.all(), key=lambda g: (g.seq, g.pk))]


# ---- inspections ------------------------------------------------------------------------------------------------
def inspections_visible_to(user: Any) -> QuerySet[Inspection]:
    return restrict_to_stores(Inspection.objects.all(), user)


def inspection_list(
    user: Any, *, store_id: int | None = None, status: str | None = None, order_id: int | None = None
) -> QuerySet[Inspection]:
    qs = inspections_visible_to(user).select_related("order", "order__vehicle", "order__customer", "technician")
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    if status:
        qs = qs.filter(status=status)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    return qs.annotate(
        red=Count("items", filter=Q(items__rating=Rating.RED)),
        yellow=Count("items", filter=Q(items__rating=Rating.YELLOW)),
        unrated=Count("items", filter=Q(items__rating="")),
    ).order_by("-started_at", "-id")


def _with_items(qs: QuerySet[Inspection]) -> QuerySet[Inspection]:
    return qs.select_related(
        "store", "order", "order__customer", "order__vehicle", "order__advisor", "technician", "report_sent_by"
    ).prefetch_related(
        Prefetch("items", queryset=InspectionItem.objects.select_related("job").prefetch_related("photos").order_by("seq", "id")),
    )


def inspection_get(user: Any, inspection_id: int) -> Inspection:
    return get_or_404(_with_items(inspections_visible_to(user)), pk=inspection_id)


def inspection_for_report(inspection_id: int) -> Inspection | None:
    """For the customer's signed link (no user: the token is the permission)."""
    return _with_items(Inspection.objects.exclude(status=InspectionStatus.CANCELLED)).filter(pk=inspection_id).first()


def item_get(user: Any, inspection_id: int, item_id: int) -> InspectionItem:
    qs = InspectionItem.objects.filter(inspection__store_id__in=visible_store_ids(user), inspection_id=inspection_id)
    return get_or_404(qs.select_related("inspection", "job").prefetch_related("photos"), pk=item_id)


def photo_get(user: Any, photo_id: int) -> InspectionPhoto:
    qs = InspectionPhoto.objects.filter(inspection__store_id__in=visible_store_ids(user)).select_related("inspection")
    return get_or_404(qs, pk=photo_id)


def grouped_items(inspection: Inspection, language: str) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for item in inspection.items.all():
        name = item.group_in(language)
        if not groups or groups[-1]["name"] != name:
            groups.append({"name": name, "items": []})
        groups[-1]["items"].append(item)
    return groups


def rating_counts(inspection: Inspection) -> dict[str, int]:
    counts = {"green": 0, "yellow": 0, "red": 0, "unrated": 0}
    for item in inspection.items.all():
        counts[item.rating or "unrated"] += 1
    return counts


def inspection_queue(user: Any, store_id: int) -> dict[str, Any]:
    """Cars waiting to be inspected (checked in, no inspection yet) and the inspections under way at a store."""
    if store_id not in visible_store_ids(user):
        return {"waiting": [], "open": [], "completed": []}
    has_open = Inspection.objects.filter(order=OuterRef("pk")).exclude(status=InspectionStatus.CANCELLED)
    waiting = list(
        RepairOrder.objects.filter(store_id=store_id, status__in=(OrderStatus.CHECKED_IN, OrderStatus.INSPECTING))
        .exclude(Exists(has_open)).select_related("customer", "vehicle", "advisor").order_by("opened_at")[:50]
    )
    rows = list(inspection_list(user, store_id=store_id).exclude(status=InspectionStatus.CANCELLED)[:100])
    return {
        "waiting": waiting,
        "open": [i for i in rows if i.status == InspectionStatus.IN_PROGRESS],
        "completed": [i for i in rows if i.status == InspectionStatus.COMPLETED][:30],
    }


def report_coverage(user: Any, *, start: dt.datetime, end: dt.datetime, store_id: int | None = None) -> list[dict[str, Any]]:
    """Per store: inspections completed in [start, end), how many of them the customer was sent a report for, and
    the share (SPEC §4 target: 100%)."""
    qs = restrict_to_stores(Inspection.objects.all(), user).filter(
        status=InspectionStatus.COMPLETED, completed_at__gte=start, completed_at__lt=end
    )
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    rows = qs.values("store_id", "store__name").annotate(
        completed=Count("id"), reported=Count("id", filter=Q(report_sent_at__isnull=False))
    ).order_by("store_id")
    return [
        {
            "store_id": r["store_id"], "store_name": r["store__name"], "completed": r["completed"], "reported": r["reported"],
            "share": _share(r["reported"], r["completed"]),
        }
        for r in rows
    ]


def _share(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1")) if whole else None


# ---- quality control --------------------------------------------------------------------------------------------
@dataclass
class QcState:
    """Where an order stands in its quality checks (the current round only; a failure starts a new round)."""

    cycle: int = 1
    passed: dict[str, bool] = field(default_factory=dict)
    signer: dict[str, int] = field(default_factory=dict)
    cleaning_passed: bool = False
    jobs_total: int = 0
    jobs_done: int = 0
    jobs_passed: int = 0
    jobs_open: int = 0
    reworks: int = 0
    checks: list[QcCheck] = field(default_factory=list)

    @property
    def next_check(self) -> str | None:
        for kind in QC_SEQUENCE:
            if not self.passed.get(kind):
                return kind
        return None

    @property
    def next_check_label(self) -> str:
        return str(ChecklistPurpose(self.next_check).label) if self.next_check else ""

    @property
    def everything_passed(self) -> bool:
        return (
            bool(self.passed.get(ChecklistPurpose.FINAL_QC)) and self.cleaning_passed
            and self.jobs_total > 0 and self.jobs_passed == self.jobs_total
        )


def qc_state(order: RepairOrder, jobs: list[RepairJob] | None = None, *, brief: bool = False) -> QcState:
    """The order's checks and jobs (two queries). Used by the services too: the caller holds the order's lock and
    may pass the order's approved jobs it has just read (``jobs``: then one query fewer). ``brief`` (signing a check:
    only the round, what passed, who signed and the jobs count): the checks without their items and ``reworks`` not
    counted (left 0), one query (issue 19)."""
    checks_qs = QcCheck.objects.filter(order_id=order.pk).select_related("signed_by").order_by("signed_at", "id")
    checks = list(checks_qs if brief else checks_qs.prefetch_related("items"))
    state = QcState(checks=checks)
    failures = [c for c in checks if c.kind in QC_SEQUENCE and c.result == QcResult.FAIL]
    state.cycle = len(failures) + 1
    if not brief:
        state.reworks = Rework.objects.filter(order_id=order.pk).count()
    for c in checks:
        if c.kind in QC_SEQUENCE and c.cycle == state.cycle and c.result == QcResult.PASS:
            state.passed[c.kind] = True
            state.signer[c.kind] = c.signed_by_id
    cleaning = [c for c in checks if c.kind == ChecklistPurpose.CLEANING]
    state.cleaning_passed = bool(cleaning) and cleaning[-1].result == QcResult.PASS
    if jobs is not None:
        statuses = [j.status for j in jobs if j.status in APPROVED_JOB_STATES]
    else:
        statuses = list(RepairJob.objects.filter(order_id=order.pk, status__in=APPROVED_JOB_STATES).values_list("status", flat=True))
    state.jobs_total = len(statuses)
    state.jobs_done = sum(1 for s in statuses if s == JobStatus.DONE)
    state.jobs_passed = sum(1 for s in statuses if s == JobStatus.PASSED_QC)
    state.jobs_open = state.jobs_total - state.jobs_done - state.jobs_passed
    return state


def qc_order_get(user: Any, order_id: int, *, lock: bool = False) -> RepairOrder:
    """The order (with store, customer, vehicle, advisor); ``lock``: locked and held for the caller's service
    transaction (common/scoping.py get_locked_or_404)."""
    qs = restrict_to_stores(RepairOrder.objects.all(), user).select_related("store", "customer", "vehicle", "advisor")
    return get_locked_or_404(qs, pk=order_id) if lock else get_or_404(qs, pk=order_id)


def qc_queue(user: Any, store_id: int) -> list[dict[str, Any]]:
    """Orders at a store whose work is finished or being checked: each with its QC state."""
    if store_id not in visible_store_ids(user):
        return []
    open_jobs = RepairJob.objects.filter(
        order=OuterRef("pk"), status__in=[s for s in APPROVED_JOB_STATES if s not in (JobStatus.DONE, JobStatus.PASSED_QC)]
    )
    done_jobs = RepairJob.objects.filter(order=OuterRef("pk"), status=JobStatus.DONE)
    orders = list(
        RepairOrder.objects.alias(has_done=Exists(done_jobs), has_open=Exists(open_jobs))
        .filter(store_id=store_id)
        .filter(
            Q(status=OrderStatus.QUALITY_CHECK)
            | Q(status__in=(OrderStatus.IN_PROGRESS, OrderStatus.WAITING_AUTH), has_done=True, has_open=False)
        )
        .select_related("customer", "vehicle", "advisor").order_by("opened_at")[:50]
    )
    return [{"order": o, "state": qc_state(o)} for o in orders]


def qc_figures(user: Any, *, start: dt.datetime, end: dt.datetime, store_id: int | None = None) -> dict[str, Any]:
    """Rework and first-time fix over [start, end) at the user's stores (or one of them).

    - ``orders_passed``: orders whose final QC passed in the period; ``first_time``: those of them that never had a
      rework; ``first_time_fix_rate``: the share in percent (None without orders).
    - ``reworks``: jobs sent back in the period; ``by_technician`` and ``by_order``: the same counted per technician
      (whose job it was) and per order, most first.
    """
    store_ids = visible_store_ids(user)
    if store_id is not None:
        store_ids = [s for s in store_ids if s == store_id]
    final_passes = QcCheck.objects.filter(
        store_id__in=store_ids, kind=ChecklistPurpose.FINAL_QC, result=QcResult.PASS, signed_at__gte=start, signed_at__lt=end
    )
    order_ids = set(final_passes.values_list("order_id", flat=True))
    reworked = set(Rework.objects.filter(order_id__in=order_ids).values_list("order_id", flat=True))
    passed = len(order_ids)
    first_time = len(order_ids - reworked)
    reworks = Rework.objects.filter(store_id__in=store_ids, at__gte=start, at__lt=end)
    by_tech = list(
        reworks.values("technician_id", "technician__display_name", "technician__username")
        .annotate(reworks=Count("id")).order_by("-reworks", "technician_id")
    )
    by_order = list(reworks.values("order_id", "order__number").annotate(reworks=Count("id")).order_by("-reworks", "order_id")[:20])
    return {
        "orders_passed": passed,
        "first_time": first_time,
        "first_time_fix_rate": _share(first_time, passed),
        "reworks": reworks.count(),
        "by_technician": [
            {"technician_id": r["technician_id"], "name": r["technician__display_name"] or r["technician__username"] or "—",
             "reworks": r["reworks"]}
            for r in by_tech
        ],
        "by_order": [{"order_id": r["order_id"], "number": r["order__number"], "reworks": r["reworks"]} for r in by_order],
    }


def rework_count(order: RepairOrder) -> int:
    return Rework.objects.filter(order_id=order.pk).count()
