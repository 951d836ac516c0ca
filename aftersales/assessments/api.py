"""The damage assessment API (/api/staff/assessments): an assessment with its findings, the assessor's finding, the
suggestions, and the approval that opens the repair order. Errors are {code, message, field} (+ ``errors``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Router, Schema, Status

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.permissions import require

from . import selectors, services

router = Router(tags=["assessments"])


class FindingOut(Schema):
    id: int
    source: str
    panel: str
    damage_type: str
    severity: str
    action: str
    hours: Decimal
    confidence: Decimal | None
    model_name: str
    model_version: str
    decision: str
    proposal_id: int | None


class AssessmentOut(Schema):
    id: int
    number: str
    store_id: int
    vehicle_id: int
    customer_id: int
    rescue_case_id: int | None
    handover_id: int | None
    status: str
    first_photo_at: dt.datetime | None
    approved_at: dt.datetime | None
    minutes: int | None
    baseline_minutes: int | None
    order_id: int | None
    total: Decimal
    insurer: str
    policy_number: str
    claim_number: str
    insurer_assessor: str
    insurer_approved: Decimal | None
    photos: int
    findings: list[FindingOut]

    @staticmethod
    def resolve_photos(obj: Any) -> int:
        return obj.photos.count()

    @staticmethod
    def resolve_findings(obj: Any) -> list[Any]:
        return list(obj.findings.order_by("id"))


class FindingIn(Schema):
    panel: str
    damage_type: str
    severity: str
    action: str | None = None
    hours: float | str | None = None
    note: str = ""


def _get(request: Any, assessment_id: int) -> tuple[Any, Any]:
    user = request_user(request)
    require(user, "assessments.view_assessment")
    return user, selectors.assessment_get(user, assessment_id)


@router.get("/{assessment_id}", response={200: AssessmentOut, **ERRORS})
def assessment_detail(request: Any, assessment_id: int) -> Any:
    return _get(request, assessment_id)[1]


@router.post("/{assessment_id}/propose", response={200: AssessmentOut, **ERRORS})
def assessment_propose(request: Any, assessment_id: int) -> Any:
    user, a = _get(request, assessment_id)
    services.assessment_propose(actor=user, assessment=a)
    return selectors.assessment_get(user, a.pk)


@router.post("/{assessment_id}/findings", response={201: FindingOut, **ERRORS})
def finding_add(request: Any, assessment_id: int, payload: FindingIn) -> Any:
    user, a = _get(request, assessment_id)
    return Status(201, services.finding_add(actor=user, assessment=a, **payload.dict()))


@router.post("/{assessment_id}/approve", response={200: AssessmentOut, **ERRORS})
def assessment_approve(request: Any, assessment_id: int) -> Any:
    user, a = _get(request, assessment_id)
    services.assessment_approve(actor=user, assessment=a)
    return selectors.assessment_get(user, a.pk)
