"""Damage assessment reads, scoped to the acting user's stores: the list, one assessment with its photos and findings,
the rule table, and the figures (assessment time against the store's baseline; how the suggestions fared)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from aftersales.common.scoping import get_or_404, restrict_to_stores

from .choices import STANDARD_ANGLES, AssessmentStatus, Decision, FindingSource
from .models import Assessment, DamageRule, Finding
from .services import settings_for


def assessments(user: Any, store: Any, *, status: str = "") -> QuerySet[Assessment]:
    qs = restrict_to_stores(Assessment.objects.all(), user).filter(store=store)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("vehicle", "customer", "order").order_by("-created_at", "-id")


def assessment_get(user: Any, pk: int) -> Assessment:
    qs = restrict_to_stores(Assessment.objects.select_related("store", "vehicle", "customer", "order", "rescue_case", "handover"), user)
    return get_or_404(qs, pk=pk)


def finding_get(user: Any, pk: int) -> Finding:
    qs = Finding.objects.select_related("assessment", "assessment__store").filter(
        assessment__store_id__in=restrict_to_stores(Assessment.objects.all(), user).values("store_id"))
    return get_or_404(qs, pk=pk)


def findings_of(a: Assessment) -> dict[str, list[Finding]]:
    rows = list(a.findings.select_related("photo").order_by("id"))
    return {
        "suggestions": [f for f in rows if f.source == FindingSource.PROPOSER],
        "pending": [f for f in rows if f.source == FindingSource.PROPOSER and f.decision == Decision.PENDING],
        "final": [f for f in rows if f.source == FindingSource.ASSESSOR],
    }


def angles_missing(a: Assessment) -> list[str]:
    taken = set(a.photos.values_list("angle", flat=True))
    return [angle for angle in STANDARD_ANGLES if angle not in taken]


def rules_of(user: Any, store: Any) -> QuerySet[DamageRule]:
    return restrict_to_stores(DamageRule.objects.filter(store=store), user).select_related("operation", "part")


def assessment_figures(user: Any, store: Any, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Approved assessments in [start, end] (the store's days): their average time (first photo → approved) against
    the store's baseline, the reduction (target 60 %), and how the suggestions were reviewed."""
    zone = store.zone
    lo = timezone.make_aware(dt.datetime.combine(start, dt.time.min), zone)
    hi = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min), zone)
    done = restrict_to_stores(Assessment.objects.all(), user).filter(
        store=store, status=AssessmentStatus.APPROVED, approved_at__gte=lo, approved_at__lt=hi)
    row = done.aggregate(n=Count("id"), avg=Avg("minutes"), base=Avg("baseline_minutes"))
    baseline = row["base"] or settings_for(store).baseline_minutes
    avg = row["avg"]
    reduction = round((1 - float(avg) / float(baseline)) * 100) if avg is not None and baseline else None
    reviewed = Finding.objects.filter(assessment__in=done, source=FindingSource.PROPOSER).aggregate(
        total=Count("id"), accepted=Count("id", filter=Q(decision=Decision.ACCEPTED)),
        changed=Count("id", filter=Q(decision=Decision.CHANGED)), rejected=Count("id", filter=Q(decision=Decision.REJECTED)))
    added = Finding.objects.filter(assessment__in=done, source=FindingSource.ASSESSOR, proposal__isnull=True).count()
    return {
        "count": row["n"], "avg_minutes": round(avg, 1) if avg is not None else None, "baseline_minutes": baseline,
        "reduction_pct": reduction, "target_pct": 60, "on_target": reduction is not None and reduction >= 60,
        "suggested": reviewed["total"], "accepted": reviewed["accepted"], "changed": reviewed["changed"],
        "rejected": reviewed["rejected"], "added_by_assessor": added,
    }


def with_boxes(photos: list[Any]) -> list[Any]:
    """Each photo with ``boxes``: its outlined areas in per cent of the photo, for the SVG drawn over it (a rectangle
    as ``x, y, w, h``; a polygon as ``points``, the SVG attribute "x,y x,y …")."""
    for p in photos:
        boxes: list[dict[str, Any]] = []
        for s in p.outlines or []:
            if isinstance(s, dict) and "points" in s:
                boxes.append({"points": " ".join(f"{round(float(x) * 100, 2)},{round(float(y) * 100, 2)}" for x, y in s["points"])})
            elif isinstance(s, dict):
                boxes.append({k: round(float(s[k]) * 100, 2) for k in ("x", "y", "w", "h")})
        p.boxes = boxes
        p.outlines_json = json.dumps(p.outlines or [])
    return photos


def parts_for_picker(user: Any) -> QuerySet[Any]:
    """The group's active catalogue parts for the rule table's part picker (a datalist by number)."""
    from aftersales.parts.models import Part

    return Part.objects.filter(group_id=user.dealer_group_id, is_active=True).order_by("number").only(
        "pk", "number", "name_zh", "name_en")[:2000]


def assessment_of_order(user: Any, order: Any) -> Assessment | None:
    """The approved assessment an order came from (if any), for the order page."""
    if not user.has_perm("assessments.view_assessment"):
        return None
    return (restrict_to_stores(Assessment.objects.all(), user).filter(order=order, status=AssessmentStatus.APPROVED)
            .order_by("-approved_at").first())


def owner_assessments(customer: Any, *, vehicle: Any = None, rescue_case: Any = None) -> list[dict[str, Any]]:
    """The owner's own assessments (of one car or one rescue case), each with its signed link, for the owner app."""
    from .services import owner_token

    qs = Assessment.objects.filter(customer=customer).exclude(status=AssessmentStatus.CANCELLED)
    if vehicle is not None:
        qs = qs.filter(vehicle=vehicle)
    if rescue_case is not None:
        qs = qs.filter(rescue_case=rescue_case)
    return [{"a": a, "token": owner_token(a)} for a in qs.order_by("-created_at")[:10]]
