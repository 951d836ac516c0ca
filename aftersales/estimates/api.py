"""The estimates API (/api/estimates): the labour guide, repair orders with their estimate, pricing jobs, sending,
recording the customer's decision (phone, tablet), additional work with photos, declined recommendations, the
authorized total; and, without staff login, the customer's signed link (``/public/...``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.db import held, refreshed, service_atomic
from aftersales.common.errors import NotFound, ValidationFailed
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store

from . import selectors, services
from .choices import PartChoice

router = Router(tags=["estimates"])


# ---- schemas -----------------------------------------------------------------------------------------------------
class OperationPartOut(Schema):
    part_id: int
    part_number: str
    quantity: Decimal


class OperationOut(Schema):
    id: int
    code: str
    name_zh: str
    name_en: str
    standard_hours: Decimal
    job_type: str
    required_skill: str
    required_certificate: str
    is_active: bool
    parts: list[OperationPartOut]

    @staticmethod
    def resolve_parts(obj: Any) -> list[dict[str, Any]]:
        return [{"part_id": p.part_id, "part_number": p.part.number, "quantity": p.quantity} for p in obj.parts.all()]


class OperationPartIn(Schema):
    part_id: int
    quantity: Decimal = Decimal("1")


class OperationIn(Schema):
    code: str
    name_zh: str
    name_en: str = ""
    standard_hours: Decimal
    job_type: str = "repair"
    required_skill: str = ""
    required_certificate: str | None = None
    is_active: bool = True
    parts: list[OperationPartIn] = []


class RateOut(Schema):
    store_id: int
    job_type: str
    rate: Decimal


class RateIn(Schema):
    store_id: int | None = None
    job_type: str
    rate: Decimal


class LineOut(Schema):
    id: int
    kind: str
    code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    amount: Decimal
    part_id: int | None
    is_aftermarket: bool


class JobOut(Schema):
    id: int
    seq: int
    title: str
    status: str
    job_type: str
    is_additional: bool
    cause: str
    declined_reason: str
    standard_hours: Decimal
    required_skill: str
    required_certificate: str
    option_group: str
    option: str
    lines: list[LineOut]
    photo_ids: list[int]

    @staticmethod
    def resolve_option_group(obj: Any) -> str:
        option = getattr(obj, "_option", None)
        return option.group.title if option else ""

    @staticmethod
    def resolve_option(obj: Any) -> str:
        option = getattr(obj, "_option", None)
        return option.label if option else ""

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_photo_ids(obj: Any) -> list[int]:
        return [p.pk for p in obj.photos.all()]


class FiguresOut(Schema):
    unpriced_job_ids: list[int] = []
    labour: Decimal
    parts: Decimal
    fees: Decimal
    discount: Decimal
    subtotal: Decimal
    tax: Decimal
    total: Decimal


class EstimateOut(Schema):
    id: int
    kind: str
    status: str
    version: int
    note: str
    sent_at: dt.datetime | None
    expires_at: dt.datetime | None
    job_ids: list[int]
    approval_url: str

    @staticmethod
    def resolve_job_ids(obj: Any) -> list[int]:
        return sorted(j.pk for j in obj.jobs.all())

    @staticmethod
    def resolve_approval_url(obj: Any) -> str:
        return services.approval_url(obj) if obj.status == "sent" else ""


class OrderRowOut(Schema):
    id: int
    number: str
    store_id: int
    customer_id: int
    customer_name: str
    vehicle_id: int
    plate: str
    status: str
    opened_at: dt.datetime
    promised_at: dt.datetime | None
    total: Decimal
    authorized_total: Decimal

    @staticmethod
    def resolve_customer_name(obj: Any) -> str:
        return obj["customer_name"] if isinstance(obj, dict) else obj.customer.name

    @staticmethod
    def resolve_plate(obj: Any) -> str:
        return obj["plate"] if isinstance(obj, dict) else obj.vehicle.plate


class OrderOut(OrderRowOut):
    advisor_id: int | None
    complaint: str
    jobs: list[JobOut]
    estimate: FiguresOut
    open_estimate: EstimateOut | None
    customer_authorized_total: Decimal
    status_url: str


class AuthorizationItemOut(Schema):
    job_id: int
    approved: bool
    amount: Decimal
    has_aftermarket: bool
    aftermarket_consent: bool
    reason: str


class AuthorizationOut(Schema):
    id: int
    order_id: int
    estimate_id: int
    method: str
    signer_name: str
    phone_said: str
    recorded_by_id: int | None
    approved_at: dt.datetime
    recorded_at: dt.datetime
    ip: str | None
    approved_total: Decimal
    declined_total: Decimal
    has_signature: bool
    items: list[AuthorizationItemOut]
    snapshot: dict[str, Any]

    @staticmethod
    def resolve_has_signature(obj: Any) -> bool:
        return bool(obj.signature)

    @staticmethod
    def resolve_items(obj: Any) -> list[Any]:
        return list(obj.items.all())


class DecisionIn(Schema):
    job_id: int
    approve: bool | None = None
    reason: str = ""
    aftermarket_consent: bool = False


class PhoneApprovalIn(Schema):
    decisions: list[DecisionIn]
    approver_name: str
    said: str
    approved_at: dt.datetime | None = None
    version: int | None = None


class SignedApprovalIn(Schema):
    decisions: list[DecisionIn]
    signer_name: str
    signature: str  # data:image/png;base64,…
    version: int | None = None


class AddOperationIn(Schema):
    operation_id: int
    part_choice: str = PartChoice.OEM


class AddCannedIn(Schema):
    canned_job_id: int


class JobLineIn(Schema):
    kind: str
    description: str
    quantity: Decimal = Decimal("1")
    unit_price: Decimal
    discount: Decimal = Decimal("0")
    code: str = ""
    part_id: int | None = None


class AddJobIn(Schema):
    title: str
    job_type: str = "repair"
    hours: Decimal | None = None
    discount: Decimal = Decimal("0")
    cause: str = ""
    lines: list[JobLineIn] = []


class EditJobIn(Schema):
    title: str | None = None
    cause: str | None = None
    lines: list[JobLineIn] | None = None


class OptionsIn(Schema):
    title: str
    job_ids: list[int]
    labels: list[str] | None = None


class SendIn(Schema):
    note: str = ""


class ReproposeIn(Schema):
    job_id: int


class DeclinedOut(Schema):
    job_id: int
    order_id: int
    order_number: str
    title: str
    amount: Decimal
    reason: str
    declined_at: dt.datetime | None


class AuthorizedTotalOut(Schema):
    order_id: int
    authorized_total: Decimal
    order_total: Decimal


class StatusItemOut(Schema):
    at: dt.datetime
    text: str
    kind: str


class PublicJobOut(Schema):
    id: int
    title: str
    status: str


class PublicStatusOut(Schema):
    number: str
    status: str
    status_label: str
    plate: str
    promised_at: dt.datetime | None
    jobs: list[PublicJobOut]
    timeline: list[StatusItemOut]
    pending_estimate: bool


class PublicEstimateOut(Schema):
    order_number: str
    kind: str
    version: int
    expires_at: dt.datetime | None
    jobs: list[JobOut]
    estimate: FiguresOut


# ---- helpers -------------------------------------------------------------------------------------------------------
def _decisions(rows: list[DecisionIn]) -> dict[int, dict[str, Any]]:
    return {r.job_id: {"approve": r.approve, "reason": r.reason, "aftermarket_consent": r.aftermarket_consent} for r in rows}


def _jobs_out(jobs: list[Any]) -> list[Any]:
    for job in jobs:
        try:
            job._option = job.option
        except Exception:
            job._option = None
    return jobs


def _figures(f: Any) -> dict[str, Any]:
    data = {k: getattr(f, k) for k in ("labour", "parts", "fees", "discount", "subtotal", "tax", "total")}
    data["unpriced_job_ids"] = [r.job.pk for r in f.unpriced]
    return data


def _order_out(order: Any, *, estimate: Any = False) -> dict[str, Any]:
    """The order as the API answers it; ``estimate``: its open estimate when the caller has it in memory (the one
    the service just read or created in the request's transaction), else read here."""
    if not held(order):  # a row held (locked by the request, changed only through save()) is the row as it is
        refreshed(order)  # the row as the service left it; its customer and vehicle stay loaded (issue 19)
    jobs = _jobs_out(selectors.order_jobs(order))
    proposed = [j for j in jobs if j.status == "proposed"]
    data = {f: getattr(order, f) for f in (
        "id", "number", "store_id", "customer_id", "vehicle_id", "status", "opened_at", "promised_at", "total",
        "authorized_total", "advisor_id", "complaint",
    )}
    data.update(
        customer_name=order.customer.name, plate=order.vehicle.plate, jobs=jobs,
        estimate=_figures(selectors.estimate_figures(order, proposed)),
        open_estimate=selectors.open_estimate(order) if estimate is False else estimate,
        customer_authorized_total=selectors.authorized_total(order, fresh=True), status_url=services.status_url(order),
    )
    return data


def _order(user: Any, order_id: int, *, lock: bool = False) -> Any:
    require(user, "workshop.view_repairorder")
    return selectors.order_get(user, order_id, lock=lock)


# ---- labour guide --------------------------------------------------------------------------------------------------
@router.get("/operations", response={200: list[OperationOut], **ERRORS})
def list_operations(request: Any, q: str = "", include_inactive: bool = False) -> Any:
    user = request_user(request)
    require(user, "estimates.view_labouroperation")
    return list(selectors.operations_for(user, q=q, include_inactive=include_inactive))


@router.post("/operations", response={200: OperationOut, **ERRORS})
def save_operation(request: Any, payload: OperationIn) -> Any:
    user = request_user(request)
    store = default_store(user)
    data = payload.dict()
    parts = [{"part_id": p["part_id"], "quantity": p["quantity"]} for p in data.pop("parts")]
    op = services.labour_operation_save(actor=user, group=store.group, parts=parts, **data)
    return selectors.operations_for(user, include_inactive=True).get(pk=op.pk)


@router.get("/rates", response={200: list[RateOut], **ERRORS})
def list_rates(request: Any, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "estimates.view_labourrate")
    return list(selectors.rates_for(user, default_store(user, store_id)))


@router.put("/rates", response={200: RateOut, **ERRORS})
def set_rate(request: Any, payload: RateIn) -> Any:
    user = request_user(request)
    return services.labour_rate_set(
        actor=user, store=default_store(user, payload.store_id), job_type=payload.job_type, rate=payload.rate
    )


# ---- orders and their estimate --------------------------------------------------------------------------------------
@router.get("/orders", response={200: list[OrderRowOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def list_orders(request: Any, status: str = "", q: str = "", all: bool = False, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "workshop.view_repairorder")
    return selectors.order_list(user, status=status, q=q, open_only=not all, store_id=store_id)


@router.get("/orders/{order_id}", response={200: OrderOut, **ERRORS})
def get_order(request: Any, order_id: int) -> Any:
    return _order_out(_order(request_user(request), order_id))


@router.post("/orders/{order_id}/operations", response={201: OrderOut, **ERRORS})
def add_operation(request: Any, order_id: int, payload: AddOperationIn) -> Any:
    user = request_user(request)
    order = _order(user, order_id)
    try:
        operation = selectors.operation_get(user, payload.operation_id)
    except NotFound as exc:
        raise ValidationFailed("operation_not_found", _("No such operation in the labour guide."), "operation_id") from exc
    services.estimate_add_operation(actor=user, order=order, operation=operation, part_choice=payload.part_choice)
    return Status(201, _order_out(order))


@router.post("/orders/{order_id}/canned-jobs", response={201: OrderOut, **ERRORS})
def add_canned_job(request: Any, order_id: int, payload: AddCannedIn) -> Any:
    from aftersales.appointments.models import CannedJob

    user = request_user(request)
    order = _order(user, order_id)
    canned = CannedJob.objects.filter(store_id=order.store_id, pk=payload.canned_job_id).first()
    if canned is None:
        raise ValidationFailed("canned_job_not_found", _("No such standard job at this store."), "canned_job_id")
    services.estimate_add_canned_job(actor=user, order=order, canned_job=canned)
    return Status(201, _order_out(order))


@router.post("/orders/{order_id}/jobs", response={201: OrderOut, **ERRORS})
def add_job(request: Any, order_id: int, payload: AddJobIn) -> Any:
    from aftersales.parts.models import Part

    user = request_user(request)
    with service_atomic():  # the scoped read is the order's lock for the whole request (issue 19)
        order = _order(user, order_id, lock=True)
        lines = []
        for n, line in enumerate(payload.lines, start=1):
            row = line.dict()
            part_id = row.pop("part_id")
            if part_id is not None:
                row["part"] = Part.objects.filter(group_id=order.store.group_id, pk=part_id).first()
                if row["part"] is None:
                    raise ValidationFailed("part_not_found", _("No such part in the catalogue."), f"lines[{n}].part_id")
                row["is_aftermarket"] = not row["part"].is_oem
            lines.append(row)
        services.estimate_add_job(
            actor=user, order=order, title=payload.title, job_type=payload.job_type, hours=payload.hours, lines=lines,
            cause=payload.cause, discount=payload.discount,
        )
        return Status(201, _order_out(order, estimate=order.__dict__.pop("_draft_estimate")))


def _lines_in(order: Any, rows: list[JobLineIn]) -> list[dict[str, Any]]:
    from aftersales.parts.models import Part

    lines = []
    for n, line in enumerate(rows, start=1):
        row = line.dict()
        part_id = row.pop("part_id")
        if part_id is not None:
            row["part"] = Part.objects.filter(group_id=order.store.group_id, pk=part_id).first()
            if row["part"] is None:
                raise ValidationFailed("part_not_found", _("No such part in the catalogue."), f"lines[{n}].part_id")
            row["is_aftermarket"] = not row["part"].is_oem
            row.setdefault("unit_cost", row["part"].cost_price)
        lines.append(row)
    return lines


def _job_of(order: Any, job_id: int) -> Any:
    from aftersales.workshop.models import RepairJob

    job = RepairJob.objects.filter(order=order, pk=job_id).first()
    if job is None:
        raise NotFound("not_found", _("Not found, or not visible to you."), "job_id")
    return job


@router.patch("/orders/{order_id}/jobs/{job_id}", response={200: OrderOut, **ERRORS})
def edit_job(request: Any, order_id: int, job_id: int, payload: EditJobIn) -> Any:
    """Correct a proposed job: title, cause, and (``lines`` given) all its labour, parts and fee lines with their
    discounts. A job of a sent estimate takes the estimate back to draft; the sent version is kept."""
    user = request_user(request)
    order = _order(user, order_id)
    job = _job_of(order, job_id)
    services.estimate_job_edit(
        actor=user, order=order, job=job, title=payload.title, cause=payload.cause,
        lines=None if payload.lines is None else _lines_in(order, payload.lines),
    )
    return _order_out(order)


@router.delete("/orders/{order_id}/jobs/{job_id}", response={200: OrderOut, **ERRORS})
def delete_job(request: Any, order_id: int, job_id: int) -> Any:
    user = request_user(request)
    order = _order(user, order_id)
    services.estimate_job_delete(actor=user, order=order, job=_job_of(order, job_id))
    return _order_out(order)


@router.post("/orders/{order_id}/options", response={201: OrderOut, **ERRORS})
def make_options(request: Any, order_id: int, payload: OptionsIn) -> Any:
    from aftersales.workshop.models import RepairJob

    user = request_user(request)
    order = _order(user, order_id)
    by_id = {j.pk: j for j in RepairJob.objects.filter(order=order, pk__in=payload.job_ids)}
    if len(by_id) != len(set(payload.job_ids)):
        raise ValidationFailed("job_not_on_order", _("This job is not on this repair order."), "job_ids")
    services.estimate_group_options(
        actor=user, order=order, title=payload.title, jobs=[by_id[i] for i in payload.job_ids], labels=payload.labels
    )
    return Status(201, _order_out(order))


@router.post("/orders/{order_id}/send", response={200: EstimateOut, **ERRORS})
def send_estimate(request: Any, order_id: int, payload: SendIn) -> Any:
    user = request_user(request)
    with service_atomic():  # the scoped read is the order's lock for the whole request (issue 19)
        return services.estimate_send(actor=user, order=_order(user, order_id, lock=True), note=payload.note)


@router.post("/orders/{order_id}/withdraw", response={200: EstimateOut, **ERRORS})
def withdraw_estimate(request: Any, order_id: int) -> Any:
    user = request_user(request)
    return services.estimate_withdraw(actor=user, order=_order(user, order_id))


@router.post("/orders/{order_id}/phone-approval", response={201: AuthorizationOut, **ERRORS})
def phone_approval(request: Any, order_id: int, payload: PhoneApprovalIn) -> Any:
    user = request_user(request)
    auth = services.authorize_by_phone(
        actor=user, order=_order(user, order_id), decisions=_decisions(payload.decisions),
        approver_name=payload.approver_name, said=payload.said, approved_at=payload.approved_at, version=payload.version,
    )
    return Status(201, auth)


@router.post("/orders/{order_id}/tablet-approval", response={201: AuthorizationOut, **ERRORS})
def tablet_approval(request: Any, order_id: int, payload: SignedApprovalIn) -> Any:
    user = request_user(request)
    auth = services.authorize_on_tablet(
        actor=user, order=_order(user, order_id), decisions=_decisions(payload.decisions), signer_name=payload.signer_name,
        signature=payload.signature, version=payload.version,
    )
    return Status(201, auth)


@router.post("/orders/{order_id}/additional-work", response={201: OrderOut, **ERRORS})
def additional_work(
    request: Any, order_id: int, cause: Form[str], photos: File[list[UploadedFile]], title: Form[str] = "",
    hours: Form[str] = "", operation_id: Form[int | None] = None, part_choice: Form[str] = PartChoice.OEM,
) -> Any:
    user = request_user(request)
    order = _order(user, order_id)
    operation = None
    if operation_id is not None:
        try:
            operation = selectors.operation_get(user, operation_id)
        except NotFound as exc:
            raise ValidationFailed("operation_not_found", _("No such operation in the labour guide."), "operation_id") from exc
    services.additional_work_propose(
        actor=user, order=order, title=title, cause=cause, operation=operation, hours=hours or None,
        part_choice=part_choice, photos=photos,
    )
    return Status(201, _order_out(order))


@router.get("/orders/{order_id}/authorizations", response={200: list[AuthorizationOut], **ERRORS})
def list_authorizations(request: Any, order_id: int) -> Any:
    return selectors.authorizations_for(_order(request_user(request), order_id))


@router.get("/orders/{order_id}/authorized-total", response={200: AuthorizedTotalOut, **ERRORS})
def get_authorized_total(request: Any, order_id: int) -> Any:
    order = _order(request_user(request), order_id)
    return {"order_id": order.pk, "authorized_total": selectors.authorized_total(order), "order_total": order.total}


@router.post("/orders/{order_id}/repropose", response={201: OrderOut, **ERRORS})
def repropose(request: Any, order_id: int, payload: ReproposeIn) -> Any:
    user = request_user(request)
    order = _order(user, order_id)
    try:
        job = selectors.job_get(user, payload.job_id)
    except NotFound as exc:
        raise ValidationFailed("not_a_declined_job", _("This is not a declined recommendation for this vehicle."), "job_id") from exc
    services.declined_repropose(actor=user, job=job, order=order)
    return Status(201, _order_out(order))


@router.get("/vehicles/{vehicle_id}/declined", response={200: list[DeclinedOut], **ERRORS})
def declined(request: Any, vehicle_id: int) -> Any:
    from aftersales.vehicles.selectors import vehicle_get

    user = request_user(request)
    require(user, "workshop.view_repairorder")
    vehicle = vehicle_get(user, vehicle_id)
    return [
        {"job_id": d.job.pk, "order_id": d.order.pk, "order_number": d.order.number, "title": d.job.title,
         "amount": d.amount, "reason": d.reason, "declined_at": d.declined_at}
        for d in selectors.declined_recommendations(user=user, vehicle=vehicle)
    ]


# ---- the customer's signed links (no staff login) ---------------------------------------------------------------------
def _link_estimate(token: str) -> Any:
    estimate, problem = services.estimate_from_token(token)
    if estimate is None or problem:
        codes = {"expired": ("link_expired", _("This link has expired; please ask the store for a new one.")),
                 "revised": ("estimate_revised", _("This estimate has been revised; please open the newest link.")),
                 "decided": ("already_decided", _("This estimate has already been decided."))}
        code, message = codes.get(problem, ("link_invalid", _("This link is not valid.")))
        raise NotFound(code, message, "token")
    return estimate


@router.get("/public/estimates/{token}", auth=None, response={200: PublicEstimateOut, **ERRORS})
def public_estimate(request: Any, token: str) -> Any:
    estimate = _link_estimate(token)
    jobs = _jobs_out(selectors.estimate_jobs(estimate))
    return {
        "order_number": estimate.order.number, "kind": estimate.kind, "version": estimate.version,
        "expires_at": estimate.expires_at, "jobs": jobs, "estimate": _figures(selectors.estimate_figures(estimate.order, jobs)),
    }


@router.post("/public/estimates/{token}/decision", auth=None, response={201: AuthorizationOut, **ERRORS})
def public_decision(request: Any, token: str, payload: SignedApprovalIn) -> Any:
    _link_estimate(token)
    auth = services.authorize_by_link(
        token=token, decisions=_decisions(payload.decisions), signer_name=payload.signer_name,
        signature=payload.signature, ip=request.META.get("REMOTE_ADDR"), user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    return Status(201, auth)


@router.get("/public/orders/{token}", auth=None, response={200: PublicStatusOut, **ERRORS})
def public_status(request: Any, token: str) -> Any:
    from aftersales.workshop.models import RepairJob

    order = services.order_from_status_token(token)
    if order is None:
        raise NotFound("link_invalid", _("This link is not valid."), "token")
    return {
        "number": order.number, "status": order.status, "status_label": str(order.get_status_display()),
        "plate": order.vehicle.plate, "promised_at": order.promised_at,
        "jobs": list(RepairJob.objects.filter(order=order).order_by("seq", "id")),
        "timeline": selectors.status_timeline(order), "pending_estimate": selectors.sent_estimate(order) is not None,
    }


# ---- the preliminary diagnosis of a customer's words (issue 21) ---------------------------------------------------
class DiagnoseIn(Schema):
    text: str = ""
    order: int | None = None  # the repair order whose request (and photos) to read
    appointment: int | None = None  # or the booking's fault description (and photos)


class FaultPhotoOut(Schema):
    id: int
    url: str
    content_type: str
    width: int
    height: int


class DiagnosisOperationOut(Schema):
    id: int
    code: str
    name_zh: str
    name_en: str
    standard_hours: Decimal


class DiagnosisAlternativeOut(Schema):
    system: str
    system_label: str
    confidence: float


class DiagnosisOut(Schema):
    found: bool
    system: str | None = None
    system_label: str | None = None
    confidence: float | None = None
    level: str | None = None
    source: str | None = None
    operations: list[DiagnosisOperationOut] = []
    alternatives: list[DiagnosisAlternativeOut] = []
    photos: list[FaultPhotoOut] = []  # the customer's photos of the order / booking, for the advisor to look at


@router.post("/diagnose", response={200: DiagnosisOut, **ERRORS})
def diagnose_text(request: Any, payload: DiagnoseIn) -> Any:
    """A suggestion, never a verdict: the likely system for the customer's description, with the group's labour-guide
    operations for it. Empty text or words that say too little: ``found`` is false."""
    from .diagnosis import diagnose
    from .selectors import fault_photos

    user = request_user(request)
    require(user, "estimates.view_labouroperation")
    text = payload.text.strip()
    order = appointment = None
    if payload.order is not None:
        order = selectors.order_get(user, payload.order)  # another store's order: 404
    if payload.appointment is not None:
        from aftersales.appointments.selectors import appointment_get

        appointment = appointment_get(user, payload.appointment)
    if not text:
        text = (order.complaint if order is not None else "") or (appointment.fault_description if appointment is not None else "")
        text = text.strip()
    if len(text) > 2000:
        raise ValidationFailed("too_long", _("Keep the description under 2,000 characters."), "text")
    photos = [
        {"id": p.pk, "url": reverse("estimates:fault_photo", args=[p.pk]), "content_type": p.content_type,
         "width": p.width, "height": p.height}
        for p in (fault_photos(user, order=order, appointment=appointment) if order or appointment else [])
    ]
    result = diagnose(text, group_id=user.dealer_group_id) if text else None
    if result is None:
        return {"found": False, "photos": photos}
    return {
        "found": True, "system": result.system, "system_label": result.label, "confidence": round(result.confidence, 3),
        "level": result.level, "source": result.source, "operations": result.operations, "photos": photos,
        "alternatives": [{"system": s, "system_label": label, "confidence": round(p, 3)} for s, label, p in result.alternatives],
    }


@router.post("/fault-photos", response={201: list[FaultPhotoOut], **ERRORS})
def fault_photos_upload(
    request: Any, photos: File[list[UploadedFile]], order: Form[int | None] = None, appointment: Form[int | None] = None,
) -> Any:
    """The customer's photos of the fault, kept with their booking or repair order (at most 6 per request, JPEG / PNG /
    WebP, stored upright without EXIF); the advisor sees them beside the preliminary diagnosis."""
    user = request_user(request)
    target_order = selectors.order_get(user, order) if order is not None else None
    target_appointment = None
    if appointment is not None:
        from aftersales.appointments.selectors import appointment_get

        target_appointment = appointment_get(user, appointment)
    saved = services.fault_photos_add(actor=user, photos=photos, order=target_order, appointment=target_appointment)
    return Status(201, [
        {"id": p.pk, "url": reverse("estimates:fault_photo", args=[p.pk]), "content_type": p.content_type,
         "width": p.width, "height": p.height}
        for p in saved
    ])
