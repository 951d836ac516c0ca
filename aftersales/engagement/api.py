"""/api/engagement/: tiers as of any date, tier history, dedicated advisor, segments, the report, import progress."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Router, Schema, Status
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.errors import ValidationFailed
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require
from aftersales.common.validators import mask_mobile

from . import selectors, services
from .choices import Tier

router = Router(tags=["engagement"])


class TierOut(Schema):
    customer_id: int
    as_of: dt.date
    tier: str
    tier_label: str
    reason: str
    why: str
    last_visit: dt.date | None
    r_days: int | None
    f: int
    m: Decimal
    visits_total: int
    priority: bool


class TierChangeOut(Schema):
    old_tier: str
    new_tier: str
    changed_on: dt.date
    created_at: dt.datetime
    reason: str
    last_visit: dt.date | None
    r_days: int | None
    f: int
    m: Decimal
    source: str


class AdvisorIn(Schema):
    advisor_id: int


class AdvisorOut(Schema):
    customer_id: int
    advisor_id: int
    source: str
    assigned_at: dt.datetime


class SegmentIn(Schema):
    name: str
    criteria: dict[str, Any] = {}
    store_id: int | None = None


class SegmentOut(Schema):
    id: int
    name: str
    store_id: int | None
    criteria: dict[str, Any]
    count: int


class SegmentCustomerOut(Schema):
    id: int
    name: str
    mobile: str
    home_store_id: int | None

    @staticmethod
    def resolve_mobile(obj: Any, context: Any) -> str:
        request = context.get("request") if context else None
        user = request_user(request) if request is not None else None
        return obj.mobile if user is not None and user.has_perm("customers.view_full_mobile") else mask_mobile(obj.mobile)


class ImportJobOut(Schema):
    id: int
    file_name: str
    status: str
    total_rows: int
    processed_rows: int
    percent: int
    created_count: int
    unchanged_count: int
    error_count: int
    customers_created: int
    vehicles_created: int
    errors: list[dict[str, Any]]


class ReportStoreOut(Schema):
    store_id: int
    store: str
    counts: dict[str, int]
    total: int


class ReportOut(Schema):
    month: dt.date
    tiers: list[ReportStoreOut]
    tags: list[dict[str, Any]]
    matrix: list[dict[str, Any]]
    churn: list[dict[str, Any]]


@router.get("/customers/{customer_id}/tier", response={200: TierOut, **ERRORS})
def customer_tier(request: Any, customer_id: int, as_of: str = "") -> Any:
    """The tier of a customer as of any date (default today), computed from the history by SPEC §10's rules."""
    user = request_user(request)
    require(user, "engagement.view_customertier")
    day = None
    if as_of:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError as exc:
            raise ValidationFailed("date_format", "YYYY-MM-DD", "as_of") from exc
    customer, result = selectors.tier_for(user, customer_id, day)
    return {
        "customer_id": customer.pk, "as_of": result.as_of, "tier": result.tier, "tier_label": str(Tier(result.tier).label),
        "reason": result.reason,
        "why": selectors.reason_text(result.reason, last_visit=result.last_visit, f=result.f, m=result.m,
                                     r_days=result.r_days),
        "last_visit": result.last_visit, "r_days": result.r_days, "f": result.f, "m": result.m,
        "visits_total": result.visits_total, "priority": result.tier == Tier.A,
    }


@router.get("/customers/{customer_id}/tier-history", response={200: list[TierChangeOut], **ERRORS})
def customer_tier_history(request: Any, customer_id: int) -> Any:
    user = request_user(request)
    require(user, "engagement.view_tierchange")
    return selectors.tier_history(user, customer_id)


@router.put("/customers/{customer_id}/dedicated-advisor", response={200: AdvisorOut, **ERRORS})
def set_dedicated_advisor(request: Any, customer_id: int, payload: AdvisorIn) -> Any:
    user = request_user(request)
    require(user, "engagement.change_dedicatedadvisor")
    customer = selectors.customer_for(user, customer_id)
    row = services.dedicated_advisor_assign(actor=user, customer=customer, advisor=payload.advisor_id)
    return {"customer_id": row.customer_id, "advisor_id": row.advisor_id, "source": row.source,
            "assigned_at": row.assigned_at}


def _segment_out(user: Any, segment: Any) -> dict[str, Any]:
    return {"id": segment.pk, "name": segment.name, "store_id": segment.store_id, "criteria": segment.criteria,
            "count": selectors.segment_customers_for(user, segment).count()}


@router.get("/segments", response={200: list[SegmentOut], **ERRORS})
def list_segments(request: Any) -> Any:
    user = request_user(request)
    require(user, "engagement.view_segment")
    return [_segment_out(user, s) for s in selectors.segments_visible_to(user)[:200]]


@router.post("/segments", response={201: SegmentOut, **ERRORS})
def create_segment(request: Any, payload: SegmentIn) -> Any:
    user = request_user(request)
    require(user, "engagement.add_segment")
    store = None
    if payload.store_id is not None:
        from aftersales.common.scoping import default_store

        store = default_store(user, payload.store_id)
    segment = services.segment_save(actor=user, name=payload.name, criteria=payload.criteria, store=store)
    return Status(201, _segment_out(user, segment))


@router.get("/segments/{segment_id}", response={200: SegmentOut, **ERRORS})
def get_segment(request: Any, segment_id: int) -> Any:
    user = request_user(request)
    require(user, "engagement.view_segment")
    return _segment_out(user, selectors.segment_get(user, segment_id))


@router.get("/segments/{segment_id}/customers", response={200: list[SegmentCustomerOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def segment_members(request: Any, segment_id: int) -> Any:
    user = request_user(request)
    require(user, "engagement.view_segment")
    return selectors.segment_customers_for(user, selectors.segment_get(user, segment_id))


@router.get("/report", response={200: ReportOut, **ERRORS})
def report(request: Any, store_id: int | None = None, month: str = "") -> Any:
    user = request_user(request)
    require(user, "engagement.view_customertier")
    day = None
    if month:
        try:
            day = dt.date.fromisoformat(f"{month}-01" if len(month) == 7 else month)
        except ValueError as exc:
            raise ValidationFailed("date_format", "YYYY-MM", "month") from exc
    data = selectors.segmentation_report(user, store_id=store_id, month=day)
    return {
        "month": data["month"],
        "tiers": [{"store_id": r["store"].pk, "store": str(r["store"]), "counts": r["counts"], "total": r["total"]}
                  for r in data["tiers"]],
        "tags": [{"name": t["name"], "label": t["label"], "total": t["total"]} for t in data["tags"]],
        "matrix": data["matrix"],
        "churn": [{"customer_id": row.customer_id, "tier": row.tier, "last_visit": row.last_visit, "m": str(row.m)}
                  for row in data["churn"]],
    }


@router.get("/imports/{job_id}", response={200: ImportJobOut, **ERRORS})
def import_progress(request: Any, job_id: int) -> Any:
    user = request_user(request)
    require(user, "engagement.view_importjob")
    return selectors.import_job_get(user, job_id)
