"""The feedback API (/api/feedback): the case queue and a case's life cycle, follow-ups and their answers,
CSAT and NPS per store and period. Errors are ``{code, message, field}`` with a 4xx status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store, get_or_404

from . import selectors, services

router = Router(tags=["feedback"])


class TimerOut(Schema):
    kind: str
    due_at: dt.datetime
    warn_at: dt.datetime
    met_at: dt.datetime | None
    breached_at: dt.datetime | None


class CaseEventOut(Schema):
    kind: str
    from_state: str
    to_state: str
    actor_id: int | None
    reason: str
    at: dt.datetime


class CaseOut(Schema):
    id: int
    store_id: int
    kind: str
    channel: str
    status: str
    category: str
    category_confidence: float
    customer_id: int | None
    vehicle_id: int | None
    order_id: int | None
    owner_id: int | None
    text: str
    created_at: dt.datetime
    paused: bool
    next_due: dt.datetime | None = None


class CaseDetailOut(CaseOut):
    resolution: str
    reaction: str
    adopted: bool | None
    timers: list[TimerOut]
    events: list[CaseEventOut]


class CaseIn(Schema):
    store_id: int | None = None
    kind: str
    channel: str = "phone"
    text: str
    customer_id: int | None = None
    vehicle_id: int | None = None
    order_id: int | None = None


class TransitionIn(Schema):
    to: str
    reason: str = ""
    resolution: str = ""
    adopted: bool | None = None
    reaction: str = ""


class LabelIn(Schema):
    category: str


class CaseNoteIn(Schema):
    note: str


class FollowUpOut(Schema):
    id: int
    store_id: int
    order_id: int
    customer_id: int
    method: str
    status: str
    due_at: dt.datetime
    overdue_at: dt.datetime
    attempts: int
    next_attempt_at: dt.datetime | None
    answered_at: dt.datetime | None
    score_overall: int | None
    score_attitude: int | None
    score_quality: int | None
    score_waiting: int | None
    score_price: int | None
    score_recommend: int | None
    suggestions: str


class AnswerIn(Schema):
    overall: int | None = None
    attitude: int | None = None
    quality: int | None = None
    waiting: int | None = None
    price: int | None = None
    recommend: int | None = None
    suggestions: str = ""


class AttemptIn(Schema):
    note: str = ""


class SatisfactionOut(Schema):
    store_id: int
    start: dt.datetime
    end: dt.datetime
    answered: int
    scores: int
    csat: float | None
    nps: float | None
    promoters: int
    detractors: int


def _detail(case: Any) -> dict[str, Any]:
    return {
        **{f: getattr(case, f) for f in ("id", "store_id", "kind", "channel", "status", "category", "category_confidence",
                                          "customer_id", "vehicle_id", "order_id", "owner_id", "text", "created_at",
                                          "resolution", "reaction", "adopted")},
        "paused": case.paused_at is not None,
        "timers": selectors.case_timers(case),
        "events": selectors.case_timeline(case),
    }


@router.get("/cases", response={200: list[CaseOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def case_list(request: Any, store_id: int | None = None, open_only: bool = True, kind: str = "", mine: bool = False) -> Any:
    user = request_user(request)
    store = default_store(user, store_id) if store_id else None
    return selectors.case_queue(user, store=store, open_only=open_only, kind=kind, mine=mine)


@router.post("/cases", response={201: CaseDetailOut, **ERRORS})
def case_create(request: Any, payload: CaseIn) -> Any:
    from aftersales.customers.selectors import customers_visible_to
    from aftersales.vehicles.models import Vehicle
    from aftersales.workshop.selectors import orders_visible_to

    user = request_user(request)
    require(user, "feedback.add_feedbackcase")
    store = default_store(user, payload.store_id)
    customer = get_or_404(customers_visible_to(user), pk=payload.customer_id) if payload.customer_id else None
    vehicle = get_or_404(Vehicle.objects.filter(group_id=store.group_id), pk=payload.vehicle_id) if payload.vehicle_id else None
    order = get_or_404(orders_visible_to(user), pk=payload.order_id) if payload.order_id else None
    case = services.case_create(actor=user, store=store, kind=payload.kind, channel=payload.channel, text=payload.text,
                                customer=customer, vehicle=vehicle, order=order)
    return Status(201, _detail(case))


@router.get("/cases/{case_id}", response={200: CaseDetailOut, **ERRORS})
def case_detail(request: Any, case_id: int) -> Any:
    return _detail(selectors.case_get(request_user(request), case_id))


@router.post("/cases/{case_id}/transition", response={200: CaseDetailOut, **ERRORS})
def case_transition(request: Any, case_id: int, payload: TransitionIn) -> Any:
    user = request_user(request)
    case = selectors.case_get(user, case_id)
    case = services.case_transition(actor=user, case=case, to=payload.to, reason=payload.reason, resolution=payload.resolution,
                                    adopted=payload.adopted, reaction=payload.reaction)
    return _detail(case)


@router.post("/cases/{case_id}/label", response={200: CaseDetailOut, **ERRORS})
def case_label(request: Any, case_id: int, payload: LabelIn) -> Any:
    user = request_user(request)
    case = services.case_relabel(actor=user, case=selectors.case_get(user, case_id), category=payload.category)
    return _detail(case)


@router.post("/cases/{case_id}/contact", response={200: CaseDetailOut, **ERRORS})
def case_contact(request: Any, case_id: int, payload: CaseNoteIn) -> Any:
    user = request_user(request)
    case = services.case_record_contact(actor=user, case=selectors.case_get(user, case_id), note=payload.note)
    return _detail(case)


@router.get("/followups", response={200: list[FollowUpOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def followup_list(request: Any, store_id: int | None = None, status: str = "open") -> Any:
    user = request_user(request)
    store = default_store(user, store_id) if store_id else None
    return selectors.followup_queue(user, store=store, status=status)


@router.post("/followups/{followup_id}/answer", response={200: FollowUpOut, **ERRORS})
def followup_answer(request: Any, followup_id: int, payload: AnswerIn) -> Any:
    user = request_user(request)
    followup = selectors.followup_get(user, followup_id)
    scores = payload.dict(exclude={"suggestions"})
    return services.followup_answer(followup=followup, scores=scores, suggestions=payload.suggestions, actor=user)


@router.post("/followups/{followup_id}/attempt", response={200: FollowUpOut, **ERRORS})
def followup_attempt(request: Any, followup_id: int, payload: AttemptIn) -> Any:
    user = request_user(request)
    return services.followup_record_attempt(actor=user, followup=selectors.followup_get(user, followup_id), note=payload.note)


@router.get("/satisfaction", response={200: SatisfactionOut, **ERRORS})
def satisfaction(request: Any, store_id: int | None = None, start: dt.date | None = None, end: dt.date | None = None) -> Any:
    """CSAT (share of follow-up scores 8–10) and NPS for a store over [start, end) in the store's local dates
    (default: the current month)."""
    user = request_user(request)
    store = default_store(user, store_id)
    today = timezone.localtime(timezone.now(), store.zone).date()
    start = start or today.replace(day=1)
    end = end or today + dt.timedelta(days=1)
    lo = dt.datetime.combine(start, dt.time(0), tzinfo=store.zone).astimezone(dt.UTC)
    hi = dt.datetime.combine(end, dt.time(0), tzinfo=store.zone).astimezone(dt.UTC)
    row = selectors.csat_nps(user=user, store=store, start=lo, end=hi)
    return {"store_id": store.pk, "start": lo, "end": hi, **{k: row[k] for k in ("answered", "scores", "csat", "nps", "promoters", "detractors")}}
