"""The inspections API (/api/inspections): checklists, inspections with items, photos and the diagnosis, proposed
jobs, the report to the customer, quality checks and their figures. Errors are ``{code, message, field}``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.db import service_atomic
from aftersales.common.errors import ValidationFailed
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store

from . import selectors, services
from .report import report_link

router = Router(tags=["inspections"])


# ---- schemas ----------------------------------------------------------------------------------------------------
class ChecklistItemIO(Schema):
    id: int | None = None
    name_zh: str
    name_en: str = ""
    kind: str = "check"
    unit: str = ""
    red_below: Decimal | None = None
    yellow_below: Decimal | None = None
    yellow_above: Decimal | None = None
    red_above: Decimal | None = None
    optional: bool = False


class ChecklistGroupIO(Schema):
    id: int | None = None
    name_zh: str
    name_en: str = ""
    items: list[ChecklistItemIO]


class ChecklistIn(Schema):
    store_id: int | None = None
    code: str
    purpose: str = "inspection"
    name_zh: str
    name_en: str = ""
    service_type_ids: list[int] = []
    for_ev: bool = False
    is_default: bool = False
    is_active: bool = True
    groups: list[ChecklistGroupIO]


class ChecklistOut(Schema):
    id: int
    store_id: int
    code: str
    purpose: str
    name_zh: str
    name_en: str
    service_type_ids: list[int]
    for_ev: bool
    is_default: bool
    is_active: bool
    groups: list[ChecklistGroupIO]

    @staticmethod
    def resolve_service_type_ids(obj: Any) -> list[int]:
        return [t.pk for t in obj.service_types.all()]

    @staticmethod
    def resolve_groups(obj: Any) -> list[dict[str, Any]]:
        return [
            {"id": node["group"].pk, "name_zh": node["group"].name_zh, "name_en": node["group"].name_en,
             "items": node["items"]}
            for node in selectors.checklist_tree(obj)
        ]


class InspectionPhotoOut(Schema):
    id: int
    item_id: int
    content_type: str
    size: int
    width: int
    height: int
    url: str

    @staticmethod
    def resolve_url(obj: Any) -> str:
        return f"/inspections/photos/{obj.pk}/"


class ItemOut(Schema):
    id: int
    seq: int
    group_zh: str
    group_en: str
    name_zh: str
    name_en: str
    kind: str
    unit: str
    red_below: Decimal | None
    yellow_below: Decimal | None
    yellow_above: Decimal | None
    red_above: Decimal | None
    rating: str
    value: Decimal | None
    auto_rating: str
    override_note: str
    notes: str
    job_id: int | None
    photos: list[InspectionPhotoOut]

    @staticmethod
    def resolve_photos(obj: Any) -> list[Any]:
        return list(obj.photos.all())


class InspectionSummaryOut(Schema):
    id: int
    store_id: int
    order_id: int
    order_number: str
    plate: str
    status: str
    checklist_name_zh: str
    technician_id: int | None
    started_at: dt.datetime
    completed_at: dt.datetime | None
    report_sent_at: dt.datetime | None
    red: int = 0
    yellow: int = 0
    unrated: int = 0

    @staticmethod
    def resolve_order_number(obj: Any) -> str:
        return obj.order.number

    @staticmethod
    def resolve_plate(obj: Any) -> str:
        return obj.order.vehicle.plate


class InspectionOut(Schema):
    id: int
    store_id: int
    order_id: int
    status: str
    checklist_id: int | None
    checklist_name_zh: str
    checklist_name_en: str
    technician_id: int | None
    started_at: dt.datetime
    completed_at: dt.datetime | None
    mileage: int | None
    symptoms: str
    findings: str
    likely_causes: str
    recommended_work: str
    revision: int
    report_sent_at: dt.datetime | None
    report_is_current: bool
    items: list[ItemOut]

    @staticmethod
    def resolve_items(obj: Any) -> list[Any]:
        return list(obj.items.all())


class InspectionStartIn(Schema):
    checklist_id: int | None = None
    technician_id: int | None = None


class ItemIn(Schema):
    rating: str | None = None
    value: str | None = None
    clear_value: bool = False
    notes: str | None = None
    override_note: str | None = None


class DiagnosisIn(Schema):
    symptoms: str | None = None
    findings: str | None = None
    likely_causes: str | None = None
    recommended_work: str | None = None


class InspectionJobOut(Schema):
    id: int
    seq: int
    title: str
    status: str
    cause: str


class SentOut(Schema):
    message_id: int
    status: str
    link: str


class InspectionCoverageOut(Schema):
    store_id: int
    store_name: str
    completed: int
    reported: int
    share: Decimal | None


class QcResultIn(Schema):
    item_id: int
    result: str
    note: str = ""


class QcCheckIn(Schema):
    kind: str
    results: list[QcResultIn]
    notes: str = ""
    rework_job_ids: list[int] | None = None


class QcCheckItemOut(Schema):
    name_zh: str
    name_en: str
    result: str
    note: str


class QcCheckOut(Schema):
    id: int
    order_id: int
    kind: str
    cycle: int
    result: str
    notes: str
    signed_by_id: int
    signed_at: dt.datetime
    items: list[QcCheckItemOut]

    @staticmethod
    def resolve_items(obj: Any) -> list[Any]:
        return list(obj.items.all())


class QcStatusOut(Schema):
    order_id: int
    order_status: str
    cycle: int
    next_check: str | None
    passed: list[str]
    cleaning_passed: bool
    everything_passed: bool
    jobs_total: int
    jobs_done: int
    jobs_passed: int
    jobs_open: int
    reworks: int
    checks: list[QcCheckOut]


class TechnicianReworkOut(Schema):
    technician_id: int | None
    name: str
    reworks: int


class OrderReworkOut(Schema):
    order_id: int
    number: str
    reworks: int


class QcFiguresOut(Schema):
    start: dt.datetime
    end: dt.datetime
    orders_passed: int
    first_time: int
    first_time_fix_rate: Decimal | None
    reworks: int
    by_technician: list[TechnicianReworkOut]
    by_order: list[OrderReworkOut]


def _period(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    end = end or timezone.now()
    start = start or end - dt.timedelta(days=30)
    if start >= end:
        raise ValidationFailed("period_invalid", _("The start must be before the end."), "start")
    return start, end


# ---- checklists -------------------------------------------------------------------------------------------------
@router.get("/checklists", response={200: list[ChecklistOut], **ERRORS})
def list_checklists(request: Any, store_id: int | None = None, purpose: str = "") -> Any:
    user = request_user(request)
    require(user, "inspections.view_checklist")
    store = default_store(user, store_id)
    ids = list(selectors.checklists_for(user, store_id=store.pk, purpose=purpose or None).values_list("pk", flat=True))
    return [selectors.checklist_get(user, pk) for pk in ids]


@router.post("/checklists", response={201: ChecklistOut, **ERRORS})
def create_checklist(request: Any, payload: ChecklistIn) -> Any:
    user = request_user(request)
    require(user, "inspections.add_checklist")
    store = default_store(user, payload.store_id)
    data = payload.dict(exclude={"store_id"})
    checklist = services.checklist_save(actor=user, store=store, data=data)
    return Status(201, selectors.checklist_get(user, checklist.pk))


@router.get("/checklists/{checklist_id}", response={200: ChecklistOut, **ERRORS})
def get_checklist(request: Any, checklist_id: int) -> Any:
    user = request_user(request)
    require(user, "inspections.view_checklist")
    return selectors.checklist_get(user, checklist_id)


@router.put("/checklists/{checklist_id}", response={200: ChecklistOut, **ERRORS})
def replace_checklist(request: Any, checklist_id: int, payload: ChecklistIn) -> Any:
    user = request_user(request)
    require(user, "inspections.change_checklist")
    checklist = selectors.checklist_get(user, checklist_id)
    services.checklist_save(actor=user, store=checklist.store, checklist=checklist, data=payload.dict(exclude={"store_id"}))
    return selectors.checklist_get(user, checklist_id)


# ---- figures ----------------------------------------------------------------------------------------------------
@router.get("/report-coverage", response={200: list[InspectionCoverageOut], **ERRORS})
def report_coverage(request: Any, start: dt.datetime | None = None, end: dt.datetime | None = None, store_id: int | None = None) -> Any:
    """Share of inspections completed in the period whose report was sent to the customer (target 100%)."""
    user = request_user(request)
    require(user, "inspections.view_inspection")
    if store_id is not None:
        default_store(user, store_id)  # 404 outside the user's stores
    start, end = _period(start, end)
    return selectors.report_coverage(user, start=start, end=end, store_id=store_id)


@router.get("/qc/figures", response={200: QcFiguresOut, **ERRORS})
def qc_figures(request: Any, start: dt.datetime | None = None, end: dt.datetime | None = None, store_id: int | None = None) -> Any:
    """Rework per technician and order, and the first-time-fix rate (final QC passed without any rework)."""
    user = request_user(request)
    require(user, "inspections.view_qccheck")
    if store_id is not None:
        default_store(user, store_id)
    start, end = _period(start, end)
    return {"start": start, "end": end, **selectors.qc_figures(user, start=start, end=end, store_id=store_id)}


# ---- quality control --------------------------------------------------------------------------------------------
def _qc_status(user: Any, order_id: int) -> dict[str, Any]:
    order = selectors.qc_order_get(user, order_id)
    state = selectors.qc_state(order)
    return {
        "order_id": order.pk, "order_status": order.status, "cycle": state.cycle, "next_check": state.next_check,
        "passed": [k for k, v in state.passed.items() if v], "cleaning_passed": state.cleaning_passed,
        "everything_passed": state.everything_passed, "jobs_total": state.jobs_total, "jobs_done": state.jobs_done,
        "jobs_passed": state.jobs_passed, "jobs_open": state.jobs_open, "reworks": state.reworks, "checks": state.checks,
    }


@router.get("/qc/orders/{order_id}", response={200: QcStatusOut, **ERRORS})
def qc_status(request: Any, order_id: int) -> Any:
    user = request_user(request)
    require(user, "inspections.view_qccheck")
    return _qc_status(user, order_id)


@router.post("/qc/orders/{order_id}/checks", response={201: QcCheckOut, **ERRORS})
def qc_sign(request: Any, order_id: int, payload: QcCheckIn) -> Any:
    """Sign a check (self, peer, final or cleaning): every item of the store's checklist, pass / fail / na."""
    user = request_user(request)
    require(user, "inspections.view_qccheck")
    with service_atomic():  # the scoped read is the order's lock for the whole request (issue 19)
        order = selectors.qc_order_get(user, order_id, lock=True)
        check = services.qc_sign(
            actor=user, order=order, kind=payload.kind, results=[r.dict() for r in payload.results], notes=payload.notes,
            rework_job_ids=payload.rework_job_ids,
        )
    return Status(201, check)


# ---- inspections ------------------------------------------------------------------------------------------------
@router.get("/", response={200: list[InspectionSummaryOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def list_inspections(request: Any, store_id: int | None = None, status: str = "", order_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "inspections.view_inspection")
    if store_id is not None:
        default_store(user, store_id)
    return selectors.inspection_list(user, store_id=store_id, status=status or None, order_id=order_id)


@router.post("/orders/{order_id}/start", response={201: InspectionOut, **ERRORS})
def start_inspection(request: Any, order_id: int, payload: InspectionStartIn) -> Any:
    """Start inspecting an order's car (the order moves to "inspecting"); the checklist is picked when not given."""
    from aftersales.staff.models import User
    from aftersales.workshop.selectors import order_get

    user = request_user(request)
    require(user, "inspections.add_inspection")
    order = order_get(user, order_id)
    checklist = selectors.checklist_get(user, payload.checklist_id) if payload.checklist_id else None
    technician = None
    if payload.technician_id:
        technician = User.objects.filter(pk=payload.technician_id).first()
        if technician is None:
            raise ValidationFailed("technician_invalid", _("The technician does not work at this store."), "technician_id")
    inspection = services.inspection_start(actor=user, order=order, checklist=checklist, technician=technician)
    return Status(201, selectors.inspection_get(user, inspection.pk))


@router.get("/{inspection_id}", response={200: InspectionOut, **ERRORS})
def get_inspection(request: Any, inspection_id: int) -> Any:
    user = request_user(request)
    require(user, "inspections.view_inspection")
    return selectors.inspection_get(user, inspection_id)


@router.patch("/{inspection_id}/items/{item_id}", response={200: ItemOut, **ERRORS})
def record_item(request: Any, inspection_id: int, item_id: int, payload: ItemIn) -> Any:
    """Rate an item and/or give its measurement (coloured from the thresholds; another colour needs override_note)."""
    user = request_user(request)
    require(user, "inspections.change_inspection")
    item = selectors.item_get(user, inspection_id, item_id)
    kwargs: dict[str, Any] = {"rating": payload.rating, "notes": payload.notes, "override_note": payload.override_note}
    if payload.value is not None or payload.clear_value:
        kwargs["value"] = None if payload.clear_value else payload.value
    services.inspection_item_record(actor=user, item=item, **kwargs)
    return selectors.item_get(user, inspection_id, item_id)


@router.post("/{inspection_id}/items/{item_id}/photos", response={201: InspectionPhotoOut, **ERRORS})
def upload_photo(request: Any, inspection_id: int, item_id: int, photo: File[UploadedFile]) -> Any:
    """A photo of the item (multipart field ``photo``; JPEG, PNG or WebP, at most 8 MB)."""
    user = request_user(request)
    require(user, "inspections.change_inspection")
    item = selectors.item_get(user, inspection_id, item_id)
    return Status(201, services.inspection_photo_add(actor=user, item=item, upload=photo))


@router.patch("/{inspection_id}/diagnosis", response={200: InspectionOut, **ERRORS})
def save_diagnosis(request: Any, inspection_id: int, payload: DiagnosisIn) -> Any:
    user = request_user(request)
    require(user, "inspections.change_inspection")
    inspection = selectors.inspection_get(user, inspection_id)
    services.inspection_diagnosis_save(actor=user, inspection=inspection, **payload.dict(exclude_none=True))
    return selectors.inspection_get(user, inspection_id)


@router.post("/{inspection_id}/complete", response={200: InspectionOut, **ERRORS})
def complete(request: Any, inspection_id: int) -> Any:
    user = request_user(request)
    require(user, "inspections.change_inspection")
    services.inspection_complete(actor=user, inspection=selectors.inspection_get(user, inspection_id))
    return selectors.inspection_get(user, inspection_id)


@router.post("/{inspection_id}/propose-jobs", response={201: list[InspectionJobOut], **ERRORS})
def propose_jobs(request: Any, inspection_id: int) -> Any:
    """Every red and yellow item without a job becomes a proposed job on the repair order."""
    user = request_user(request)
    require(user, "inspections.add_inspection")
    jobs = services.inspection_propose_jobs(actor=user, inspection=selectors.inspection_get(user, inspection_id))
    return Status(201, jobs)


@router.post("/{inspection_id}/send-report", response={200: SentOut, **ERRORS})
def send_report(request: Any, inspection_id: int) -> Any:
    """Queue the report's link to the customer (once per completed revision; a repeat returns the same message)."""
    user = request_user(request)
    require(user, "inspections.send_report")
    inspection = selectors.inspection_get(user, inspection_id)
    message = services.inspection_report_send(actor=user, inspection=inspection)
    return {"message_id": message.pk, "status": message.status, "link": report_link(inspection)}
