"""The workshop floor API (/api/workshop): the live board, the dispatch suggestion and dispatch, clocking on and off,
waiting for parts, the promised time, public updates, parts issued to and returned from jobs, old parts, and the
hours / progress-interval figures. Errors are ``{code, message, field}`` with a 4xx status."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.db import service_atomic
from aftersales.common.errors import Forbidden, ValidationFailed
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store

from . import floor_selectors as sel
from . import floor_services as fs
from .selectors import order_get

router = Router(tags=["workshop"])
Data = dict[str, Any]


def _board_reader(user: Any) -> None:
    require(user, "workshop.change_repairjob")


def _either(user: Any, *perms: str) -> None:
    if not any(user.has_perm(p) for p in perms):
        raise Forbidden("permission_denied", _("You do not have permission to do this."), None)


def _period(store: Any, since: dt.date | None, until: dt.date | None) -> tuple[dt.datetime, dt.datetime]:
    today = timezone.localtime(timezone.now(), store.zone).date()
    first = since or today - dt.timedelta(days=30)
    last = until or today
    if last < first:
        raise ValidationFailed("period_reversed", _("The end of the period is before its start."), "until")
    lo = dt.datetime.combine(first, dt.time.min, tzinfo=store.zone)
    return lo, dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=store.zone)


def _part_and_batch(user: Any, part_id: int, batch_id: int | None) -> tuple[Any, Any]:
    from aftersales.parts.models import Batch
    from aftersales.parts.selectors import part_get

    part = part_get(user, part_id)
    batch = None
    if batch_id is not None:
        batch = Batch.objects.filter(pk=batch_id, part=part).first()
        if batch is None:
            raise ValidationFailed("batch_unknown", _("This batch is not of this part."), "batch_id")
    return part, batch


def _movement(movement: Any) -> Data:
    return {"id": movement.pk, "kind": movement.kind, "part_id": movement.part_id, "quantity": str(movement.quantity),
            "batch_id": movement.batch_id, "job_id": movement.repair_job_id, "at": movement.at.isoformat()}


def _entry(entry: Any) -> Data:
    return {"id": entry.pk, "job_id": entry.job_id, "technician_id": entry.technician_id,
            "started_at": entry.started_at.isoformat(), "ended_at": entry.ended_at.isoformat() if entry.ended_at else None,
            "end_reason": entry.end_reason}


def _job(job: Any) -> Data:
    return {"id": job.pk, "order_id": job.order_id, "status": job.status, "technician_id": job.technician_id,
            "bay_id": job.bay_id}


# ---- the board and the suggestion -----------------------------------------------------------------------------------
@router.get("/board", response={200: Data, **ERRORS})
def get_board(request: Any, store_id: int | None = None) -> Any:
    """Bays, technicians and jobs with their state, promised time, AT RISK / LATE and the 30-minute silence flag."""
    user = request_user(request)
    _board_reader(user)
    return sel.board_as_dict(sel.board_for(user, default_store(user, store_id)))


@router.get("/my-jobs", response={200: Data, **ERRORS})
def get_my_jobs(request: Any) -> Any:
    """The calling technician's jobs today (assigned and not finished, and finished today) and the open entry."""
    user = request_user(request)
    require(user, "workshop.clock_repairjob")
    entry = sel.open_entry_for(user)
    return {"jobs": [r.as_dict() for r in sel.my_jobs(user)], "open_entry": _entry(entry) if entry else None}


@router.get("/jobs/{job_id}/suggestions", response={200: Data, **ERRORS})
def get_suggestions(request: Any, job_id: int) -> Any:
    """Technicians ranked for the job (skill, free time today, load), each with the reasons."""
    user = request_user(request)
    require(user, "workshop.dispatch_repairjob")
    job = sel.job_get(user, job_id)
    return {"job_id": job.pk, "suggested_bay_id": sel.suggested_bay_id(job),
            "technicians": [s.as_dict() for s in sel.dispatch_suggestions(user, job)]}


class DispatchIn(Schema):
    technician_id: int
    bay_id: int
    reason: str = ""
    override: bool = False  # a manager gives a job requiring a certificate to a technician without one (audited)


@router.post("/jobs/{job_id}/dispatch", response={200: Data, **ERRORS})
def dispatch(request: Any, job_id: int, payload: DispatchIn) -> Any:
    user = request_user(request)
    with service_atomic():  # the scoped read is the lock of the order and the job (issue 19)
        job = sel.job_get(user, job_id, lock=True)
        return _job(fs.job_dispatch(actor=user, job=job, technician=payload.technician_id, bay=payload.bay_id,
                                     reason=payload.reason, override=payload.override))


# ---- clocking -------------------------------------------------------------------------------------------------------
@router.post("/jobs/{job_id}/clock-on", response={200: Data, **ERRORS})
def clock_on(request: Any, job_id: int) -> Any:
    """Start or resume the job (clocks off any other job of the caller)."""
    user = request_user(request)
    with service_atomic():  # the scoped read is the lock of the order and the job (issue 19)
        return _entry(fs.clock_on(actor=user, job=sel.job_get(user, job_id, lock=True)))


@router.post("/clock-off", response={200: Data, **ERRORS})
def clock_off(request: Any) -> Any:
    """Pause: the caller's open entry ends."""
    user = request_user(request)
    entry = fs.clock_off(actor=user)
    return {"closed": _entry(entry) if entry else None}


@router.post("/jobs/{job_id}/finish", response={200: Data, **ERRORS})
def finish(request: Any, job_id: int) -> Any:
    user = request_user(request)
    with service_atomic():  # the scoped read is the lock of the order and the job (issue 19)
        return _job(fs.job_finish(actor=user, job=sel.job_get(user, job_id, lock=True)))


# ---- check-in -------------------------------------------------------------------------------------------------------
class CheckInIn(Schema):
    customer_id: int
    vehicle_id: int
    mileage: int | None = None
    complaint: str = ""
    promised_at: dt.datetime | None = None
    store_id: int | None = None
    appointment_id: int | None = None


@router.post("/orders", response={201: Data, **ERRORS})
def check_in(request: Any, payload: CheckInIn) -> Any:
    """Open a repair order for a car that has arrived (walk-in, a booking, or an integration) without the reception
    handover sheet; the customer and the car must be visible to the caller, the car the customer's."""
    from aftersales.customers.selectors import customer_get
    from aftersales.vehicles.selectors import vehicle_get

    from .services import repair_order_check_in

    user = request_user(request)
    require(user, "workshop.add_repairorder")
    store = default_store(user, payload.store_id)
    customer = customer_get(user, payload.customer_id)
    vehicle = vehicle_get(user, payload.vehicle_id)
    appointment = None
    if payload.appointment_id is not None:
        from aftersales.appointments.models import Appointment

        appointment = Appointment.objects.filter(pk=payload.appointment_id, store=store).first()
        if appointment is None:
            raise ValidationFailed("appointment_unknown", _("No such appointment at this store."), "appointment_id")
    from aftersales.vehicles.services import MAX_KM

    if payload.mileage is not None and not 0 <= payload.mileage <= MAX_KM:
        raise ValidationFailed(
            "mileage_out_of_range", _("Enter the mileage in km, from 0 to %(max)s.") % {"max": f"{MAX_KM:,}"}, "mileage"
        )
    if len(payload.complaint) > 2000:
        raise ValidationFailed("too_long", _("At most %(n)s characters.") % {"n": 2000}, "complaint")
    order = repair_order_check_in(
        actor=user, store=store, customer=customer, vehicle=vehicle, appointment=appointment, mileage=payload.mileage,
        complaint=payload.complaint, promised_at=payload.promised_at,
    )
    return Status(201, {
        "id": order.pk, "number": order.number, "status": order.status, "store_id": order.store_id,
        "customer_id": order.customer_id, "vehicle_id": order.vehicle_id, "mileage_in": order.mileage_in,
        "opened_at": order.opened_at.isoformat(), "promised_at": order.promised_at.isoformat() if order.promised_at else None,
    })


# ---- the order ------------------------------------------------------------------------------------------------------
@router.get("/orders/{order_id}/jobs", response={200: Data, **ERRORS})
def order_jobs(request: Any, order_id: int) -> Any:
    """The order's jobs with standard, worked (clocked) and remaining hours."""
    user = request_user(request)
    _board_reader(user)
    order = order_get(user, order_id)
    return {"order_id": order.pk, "jobs": [r.as_dict() for r in sel.order_job_rows(user, order)]}


class WaitingIn(Schema):
    waiting: bool
    reason: str = ""


@router.post("/orders/{order_id}/waiting-parts", response={200: Data, **ERRORS})
def waiting_parts(request: Any, order_id: int, payload: WaitingIn) -> Any:
    user = request_user(request)
    order = order_get(user, order_id)
    if payload.waiting:
        order = fs.order_wait_for_parts(actor=user, order=order, reason=payload.reason)
    else:
        order = fs.order_parts_arrived(actor=user, order=order, reason=payload.reason)
    return {"id": order.pk, "status": order.status}


class PromisedIn(Schema):
    promised_at: str


@router.post("/orders/{order_id}/promised", response={200: Data, **ERRORS})
def promised(request: Any, order_id: int, payload: PromisedIn) -> Any:
    """Set or change the promised time (ISO 8601; without an offset it is the store's local time)."""
    user = request_user(request)
    order = fs.order_set_promised(actor=user, order=order_get(user, order_id), promised_at=payload.promised_at)
    return {"id": order.pk, "promised_at": order.promised_at.isoformat() if order.promised_at else None}


class NoteIn(Schema):
    text: str


@router.post("/orders/{order_id}/public-note", response={201: Data, **ERRORS})
def public_note(request: Any, order_id: int, payload: NoteIn) -> Any:
    """A customer-visible progress note (resets the 30-minute clock)."""
    user = request_user(request)
    note = fs.public_update_add(actor=user, order=order_get(user, order_id), text=payload.text)
    return Status(201, {"id": note.pk, "order_id": note.order_id, "at": note.at.isoformat()})


@router.get("/orders/{order_id}/parts", response={200: Data, **ERRORS})
def order_parts(request: Any, order_id: int) -> Any:
    """Parts fitted (issued less returned) with batch, origin, production date and warranty; old parts kept."""
    user = request_user(request)
    _board_reader(user)
    order = order_get(user, order_id)

    def batch(b: Any) -> Data | None:
        if b is None:
            return None
        return {"id": b.pk, "number": b.number, "origin": b.origin, "supplier": str(b.supplier or ""),
                "production_date": b.production_date.isoformat() if b.production_date else None,
                "warranty_until": b.warranty_until.isoformat() if b.warranty_until else None}

    return {
        "fitted": [{"job_id": f.job_id, "part_id": f.part.pk, "number": f.part.number, "name": f.part.name_zh,
                    "quantity": str(f.quantity), "batch": batch(f.batch)} for f in sel.parts_fitted(user, order)],
        "old_parts_kept": [{"line_id": line.pk, "job_id": line.job_id, "description": line.description,
                            "quantity": str(line.quantity)} for line in sel.old_parts_kept(user, order)],
    }


# ---- parts ---------------------------------------------------------------------------------------------------------
class PartMoveIn(Schema):
    part_id: int
    quantity: Decimal
    batch_id: int | None = None
    reason: str = ""


@router.post("/jobs/{job_id}/parts/issue", response={201: Data, **ERRORS})
def issue_part(request: Any, job_id: int, payload: PartMoveIn) -> Any:
    """Issue from stock to the job (consumes its reservation); refused (409 ``authorization_needed``) when it would
    add money the customer has not authorized."""
    user = request_user(request)
    job = sel.job_get(user, job_id)
    part, batch = _part_and_batch(user, payload.part_id, payload.batch_id)
    return Status(201, _movement(fs.job_part_issue(actor=user, job=job, part=part, quantity=payload.quantity, batch=batch)))


@router.post("/jobs/{job_id}/parts/return", response={201: Data, **ERRORS})
def return_part(request: Any, job_id: int, payload: PartMoveIn) -> Any:
    user = request_user(request)
    job = sel.job_get(user, job_id)
    part, batch = _part_and_batch(user, payload.part_id, payload.batch_id)
    movement = fs.job_part_return(actor=user, job=job, part=part, quantity=payload.quantity, batch=batch, reason=payload.reason)
    return Status(201, _movement(movement))


class KeepIn(Schema):
    keep: bool


@router.post("/lines/{line_id}/keep-old-part", response={200: Data, **ERRORS})
def keep_old_part(request: Any, line_id: int, payload: KeepIn) -> Any:
    user = request_user(request)
    line = fs.line_keep_old_part(actor=user, line=sel.line_get(user, line_id), keep=payload.keep)
    return {"id": line.pk, "keep_old_part": line.keep_old_part}


# ---- figures ---------------------------------------------------------------------------------------------------------
@router.get("/efficiency", response={200: Data, **ERRORS})
def efficiency(request: Any, store_id: int | None = None, since: dt.date | None = None, until: dt.date | None = None) -> Any:
    """Per technician: jobs finished in the period, standard vs clocked hours and efficiency (standard ÷ actual)."""
    user = request_user(request)
    _either(user, "workshop.change_repairorder", "workshop.dispatch_repairjob")
    store = default_store(user, store_id)
    lo, hi = _period(store, since, until)
    return {"store_id": store.pk, "technicians": [e.as_dict() for e in sel.technician_efficiency(user, store, lo, hi)]}


@router.get("/progress-intervals", response={200: Data, **ERRORS})
def progress_intervals(request: Any, store_id: int | None = None, since: dt.date | None = None, until: dt.date | None = None) -> Any:
    """The longest gap between customer-visible updates while cars were in the workshop (SPEC §6: 30 minutes)."""
    user = request_user(request)
    _either(user, "workshop.change_repairorder", "workshop.dispatch_repairjob")
    store = default_store(user, store_id)
    lo, hi = _period(store, since, until)
    return {"store_id": store.pk, **sel.progress_update_intervals(user, store, lo, hi).as_dict()}
