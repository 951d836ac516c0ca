"""Repair orders: check-in, jobs and lines, and the one place that moves an order or a job between states.

Other apps (estimates, inspections, the workshop floor, billing, reception) change an order's or a job's state only
through :func:`repair_order_move` and :func:`repair_job_move`, so every move is checked against the tables in
``choices.py`` and leaves an event row (the customer-visible timeline and the audit trail).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit, events
from aftersales.common.db import held, hold, saved, service_atomic
from aftersales.common.errors import Conflict, ValidationFailed
from aftersales.common.money import LineAmount, line_amount, parse_money, totals
from aftersales.common.permissions import require, require_store
from aftersales.common.transitions import allowed, move

from .choices import (
    APPROVED_JOB_STATES,
    EDITABLE_STATES,
    JOB_TRANSITIONS,
    NO_CHARGE_JOB_TYPES,
    ORDER_TRANSITIONS,
    JobStatus,
    JobType,
    LineKind,
    OrderStatus,
)
from .models import (
    OrderNumberCounter,
    ProgressNote,
    RepairJob,
    RepairJobEvent,
    RepairLine,
    RepairOrder,
    RepairOrderEvent,
)
from .progress import MESSAGE_STATES, WORK_UPDATE_STATES, work_update_text

# Job moves the customer sees on the status page ("car in bay 2", "oil change under way", "repair done, in quality
# check"): each resets the 30-minute clock, so the silent-order flag fires only when the work itself is silent.
PUBLIC_JOB_STATES = WORK_UPDATE_STATES


def next_order_number(store: Any, when: dt.datetime) -> str:
    """RO<store><yyyymmdd><nnn>: readable, unique per store. The day's counter row is locked until the caller's
    transaction ends, so two check-ins at the same moment get consecutive numbers instead of colliding."""
    local_day = timezone.localtime(when, store.zone).date()
    prefix = f"RO{store.code.upper()}{local_day:%Y%m%d}"
    with service_atomic():
        counter = OrderNumberCounter.objects.select_for_update().filter(store=store, day=local_day).first()
        if counter is None:
            try:
                with transaction.atomic():  # first order of the day: start after any numbered before the counter
                    counter = OrderNumberCounter.objects.create(
                        store=store, day=local_day,
                        last=RepairOrder.objects.filter(store=store, number__startswith=prefix).count(),
                    )
            except IntegrityError:  # another check-in created it first: take it under the lock
                counter = OrderNumberCounter.objects.select_for_update().get(store=store, day=local_day)
        counter.last += 1
        counter.save(update_fields=["last"])
    return f"{prefix}{counter.last:03d}"


def _quantity(value: Any, field: str) -> Decimal:
    try:
        qty = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("quantity_format", _("Enter a quantity such as 1 or 2.5."), field) from exc
    if qty.is_finite() and qty >= Decimal("10000000"):  # before quantize, which overflows on 1e30
        raise ValidationFailed("quantity_too_large", _("The quantity is too large."), field)
    if not qty.is_finite() or qty <= 0 or qty != qty.quantize(Decimal("0.01")):
        raise ValidationFailed("quantity_invalid", _("The quantity must be positive, with at most two decimals."), field)
    return qty


def _job_lines(
    *, order: RepairOrder, job: RepairJob, lines: list[dict[str, Any]], where: str
) -> list[RepairLine]:
    """Validate and price a job's lines (not saved). Warranty and internal jobs cost the customer nothing but keep
    their cost: the price given becomes the line's unit cost and the customer's price is zero.

    Every bad field of every line is reported at once: the error raised is the first one, with ``errors`` listing
    them all ({field, message})."""
    rows = []
    problems: list[ValidationFailed] = []
    no_charge = job.job_type in NO_CHARGE_JOB_TYPES

    def check(call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except ValidationFailed as exc:
            problems.append(exc)
            return None

    for n, line in enumerate(lines, start=1):
        at = f"{where}.lines[{n}]"
        before = len(problems)
        if line.get("kind") not in LineKind.values:
            problems.append(ValidationFailed("invalid_choice", _("Unknown line kind."), f"{at}.kind"))
        description = str(line.get("description", "")).strip()[:200]
        if not description:
            problems.append(ValidationFailed("required", _("Describe the line."), f"{at}.description"))
        price = check(parse_money, line.get("unit_price", 0), f"{at}.unit_price")
        cost = check(parse_money, line.get("unit_cost", 0), f"{at}.unit_cost")
        quantity = check(_quantity, line.get("quantity", 1), f"{at}.quantity")
        discount = Decimal("0.00") if no_charge else check(parse_money, line.get("discount", 0), f"{at}.discount")
        if len(problems) > before:
            continue
        if no_charge:
            cost, price = (cost or price), Decimal("0.00")
        amount = LineAmount(quantity=quantity, unit_price=price, discount=discount)
        if amount.discount > amount.quantity * amount.unit_price:
            problems.append(ValidationFailed("discount_too_large", _("The discount is larger than the line."), f"{at}.discount"))
            continue
        rows.append(
            RepairLine(
                order=order, job=job, kind=line["kind"], code=str(line.get("code", ""))[:40], part=line.get("part"),
                is_aftermarket=bool(line.get("is_aftermarket", False)), unit_cost=cost, description=description,
                quantity=amount.quantity, unit_price=amount.unit_price, discount=amount.discount,
                amount=line_amount(amount),
                # the handover's "give the old parts back": every part line of the order is kept for the customer
                keep_old_part=line["kind"] == LineKind.PART and bool(order.keep_old_parts),
            )
        )
    if problems:
        first = problems[0]
        raise ValidationFailed(
            first.code, first.message, first.field,
            errors=[{"code": p.code, "field": p.field, "message": str(p.message)} for p in problems],
        )
    return rows


def order_figures(order: RepairOrder) -> tuple[Decimal, Decimal]:
    """(total of every job not declined, total of the jobs the customer approved): the one place they are summed."""
    estimate: list[LineAmount] = []
    approved: list[LineAmount] = []
    # A proposed alternative that is not the recommended one of its option group (estimates.JobOption) is shown
    # beside the recommended one and never added to it: the estimate, the SMS and this header say the same total.
    aside = set(
        RepairJob.objects.filter(order=order, status=JobStatus.PROPOSED, option__is_recommended=False)
        .values_list("pk", flat=True)
    )
    for line in RepairLine.objects.filter(order=order).select_related("job").only(
        "quantity", "unit_price", "discount", "job__status"
    ):
        amount = LineAmount(quantity=line.quantity, unit_price=line.unit_price, discount=line.discount)
        if line.job.status != JobStatus.DECLINED and line.job_id not in aside:
            estimate.append(amount)
        if line.job.status in APPROVED_JOB_STATES:
            approved.append(amount)
    return totals(estimate).total, totals(approved).total


def _refresh_totals(order: RepairOrder) -> None:
    order.total, order.authorized_total = order_figures(order)
    order.save(update_fields=["total", "authorized_total"])


def repair_order_refresh_totals(*, order: RepairOrder) -> None:
    """Recompute the order's stored totals (after the estimates app grouped jobs as options)."""
    _refresh_totals(order)


def repair_order_record_visit(
    *,
    actor: Any,
    store: Any,
    customer: Any,
    vehicle: Any,
    opened_at: dt.datetime,
    jobs: list[dict[str, Any]],
    advisor: Any = None,
    mileage: int | None = None,
    complaint: str = "",
    delivered_at: dt.datetime | None = None,
) -> RepairOrder:
    """Record a visit with its jobs and lines in one call (history, imports, the demo).

    With ``delivered_at`` the visit is a finished one: the order is delivered and its jobs passed QC, with one
    event saying so. Without it, the order is checked in and its jobs are proposed, as after a check-in.
    """
    require(actor, "workshop.add_repairorder")
    require_store(actor, store.pk)
    if vehicle.owner_id != customer.pk:
        raise ValidationFailed("vehicle_not_owned", _("This vehicle does not belong to the customer."), "vehicle")
    if not jobs:
        raise ValidationFailed("jobs_required", _("A repair order needs at least one job."), "jobs")
    if delivered_at is not None and delivered_at < opened_at:
        raise ValidationFailed("delivered_before_opened", _("Delivery cannot be before check-in."), "delivered_at")
    finished = delivered_at is not None
    with service_atomic():
        order = RepairOrder.objects.create(
            store=store, number=next_order_number(store, opened_at), customer=customer, vehicle=vehicle,
            advisor=advisor, opened_at=opened_at, mileage_in=mileage, complaint=complaint,
            status=OrderStatus.DELIVERED if finished else OrderStatus.CHECKED_IN, delivered_at=delivered_at,
        )
        rows: list[RepairLine] = []
        for j, job_data in enumerate(jobs, start=1):
            job_type = job_data.get("job_type", JobType.REPAIR)
            if job_type not in JobType.values:
                raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": job_type}, f"jobs[{j}].job_type")
            job = RepairJob.objects.create(
                order=order, seq=j, job_type=job_type, title=str(job_data.get("title", ""))[:200],
                cause=job_data.get("cause", ""), correction=job_data.get("correction", ""),
                technician=job_data.get("technician"), created_at=opened_at,
                status=JobStatus.PASSED_QC if finished else JobStatus.PROPOSED,
            )
            rows.extend(_job_lines(order=order, job=job, lines=job_data.get("lines", []), where=f"jobs[{j}]"))
        RepairLine.objects.bulk_create(rows)
        _refresh_totals(order)
        RepairOrderEvent.objects.create(
            order=order, from_state="", to_state=order.status, actor=actor, at=delivered_at or opened_at,
            reason="recorded visit" if finished else "",
        )
        from aftersales.customers.services import customer_link_store

        customer_link_store(customer=customer, store_id=store.pk)
        if mileage:
            from aftersales.vehicles.choices import ReadingSource
            from aftersales.vehicles.services import mileage_record

            mileage_record(actor=actor, vehicle=vehicle, km=mileage, read_at=opened_at, source=ReadingSource.VISIT)
        audit.record(
            actor=actor, obj=order, action="repair_order.opened", store_id=store.pk, customer_id=customer.pk,
            changes={"total": [None, str(order.total)]}, at=opened_at,
        )
    return order


def repair_order_check_in(
    *,
    actor: Any,
    store: Any,
    customer: Any,
    vehicle: Any,
    advisor: Any = None,
    appointment: Any = None,
    mileage: int | None = None,
    complaint: str = "",
    promised_at: dt.datetime | None = None,
    keep_old_parts: bool = False,
    at: dt.datetime | None = None,
) -> RepairOrder:
    """Open a repair order in "checked in" for a car that has arrived (from reception, a walk-in or a booking)."""
    require(actor, "workshop.add_repairorder")
    require_store(actor, store.pk)
    at = at or timezone.now()
    if vehicle.owner_id != customer.pk:
        raise ValidationFailed("vehicle_not_owned", _("This vehicle does not belong to the customer."), "vehicle")
    if appointment is not None and (
        appointment.store_id != store.pk or appointment.customer_id != customer.pk or appointment.vehicle_id != vehicle.pk
    ):
        raise ValidationFailed(
            "appointment_mismatch", _("The appointment is for another store, customer or vehicle."), "appointment"
        )
    if promised_at is not None and promised_at < at:
        raise ValidationFailed("promised_in_past", _("The promised time must be after check-in."), "promised_at")
    with service_atomic():
        if appointment is not None and RepairOrder.objects.filter(appointment=appointment).exists():
            raise Conflict("appointment_has_order", _("This appointment already has a repair order."), "appointment")
        order = RepairOrder.objects.create(
            store=store, number=next_order_number(store, at), customer=customer, vehicle=vehicle,
            advisor=advisor or (actor if getattr(actor, "pk", None) else None), opened_at=at, mileage_in=mileage,
            complaint=complaint.strip(), appointment=appointment, promised_at=promised_at,
            status=OrderStatus.CHECKED_IN, last_public_update_at=at, keep_old_parts=bool(keep_old_parts),
        )
        RepairOrderEvent.objects.create(order=order, from_state="", to_state=OrderStatus.CHECKED_IN, actor=actor, at=at)
        from aftersales.customers.services import customer_link_store

        customer_link_store(customer=customer, store_id=store.pk)
        if mileage:
            from aftersales.vehicles.choices import ReadingSource
            from aftersales.vehicles.services import mileage_record

            mileage_record(actor=actor, vehicle=vehicle, km=mileage, read_at=at, source=ReadingSource.VISIT)
        audit.record(
            actor=actor, obj=order, action="repair_order.checked_in", store_id=store.pk, customer_id=customer.pk,
            changes={"status": [None, OrderStatus.CHECKED_IN]}, at=at,
        )
    return order


def repair_job_add(
    *,
    actor: Any,
    order: RepairOrder,
    title: str,
    job_type: str = JobType.REPAIR,
    lines: list[dict[str, Any]] | None = None,
    cause: str = "",
    is_additional: bool = False,
    standard_hours: Any = 0,
    required_skill: str = "",
    required_certificate: str = "",
    at: dt.datetime | None = None,
) -> RepairJob:
    """Add a proposed job (a complaint or service with its lines) to an order that is still being worked out."""
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    at = at or timezone.now()
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("required", _("Name the job."), "title")
    if job_type not in JobType.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": job_type}, "job_type")
    hours = _quantity(standard_hours, "standard_hours") if standard_hours not in (0, "0", None, "") else Decimal("0")
    with service_atomic():
        before_total = str(order.total)
        locked = order if held(order) else RepairOrder.objects.select_for_update().get(pk=order.pk)  # (the API's scoped read)
        if locked.status not in EDITABLE_STATES:
            raise Conflict("order_not_editable", _("Jobs can no longer be added to this repair order."), "order")
        seq = (RepairJob.objects.filter(order=locked).order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
        job = RepairJob.objects.create(
            order=locked, seq=seq, job_type=job_type, title=title[:200], cause=cause[:300], is_additional=is_additional,
            standard_hours=hours, required_skill=required_skill[:20],
            required_certificate=(required_certificate or "")[:20], created_at=at,
        )
        RepairLine.objects.bulk_create(_job_lines(order=locked, job=job, lines=lines or [], where="job"))
        RepairJobEvent.objects.create(job=job, from_state="", to_state=JobStatus.PROPOSED, actor=actor, at=at)
        _refresh_totals(locked)
        audit.record(
            actor=actor, obj=locked, action="repair_order.job_added", store_id=locked.store_id,
            customer_id=locked.customer_id, changes={"total": [before_total, str(locked.total)]},
            reason=title[:200], at=at,
        )
    return job


def _proposed_job_locked(actor: Any, job: RepairJob) -> tuple[RepairOrder, RepairJob]:
    """The order and the job, locked, when the job is still a proposal on an order still being worked out."""
    require(actor, "workshop.change_repairorder")
    locked_order = RepairOrder.objects.select_for_update().get(pk=job.order_id)
    require_store(actor, locked_order.store_id)
    if locked_order.status not in EDITABLE_STATES:
        raise Conflict("order_not_editable", _("This repair order can no longer be changed."), "order")
    locked = RepairJob.objects.select_for_update().get(pk=job.pk)
    if locked.status != JobStatus.PROPOSED:
        raise Conflict(
            "job_not_proposed",
            _("“%(t)s” is already %(s)s; only proposed jobs can be changed.") % {"t": locked.title, "s": locked.get_status_display()},
            "job",
        )
    return locked_order, locked


def repair_job_revise(
    *,
    actor: Any,
    job: RepairJob,
    title: str | None = None,
    cause: str | None = None,
    lines: list[dict[str, Any]] | None = None,
    at: dt.datetime | None = None,
) -> RepairJob:
    """Correct a proposed job: its title, cause and (when ``lines`` is given) the whole list of its labour, parts
    and fee lines with their discounts. Refused once the job is authorized, declined or under way."""
    at = at or timezone.now()
    with service_atomic():
        order, locked = _proposed_job_locked(actor, job)
        before_total = str(order.total)
        changes: dict[str, Any] = {}
        if title is not None:
            title = " ".join(title.split())
            if not title:
                raise ValidationFailed("required", _("Name the job."), "title")
            if title[:200] != locked.title:
                changes["title"] = [locked.title, title[:200]]
                locked.title = title[:200]
        if cause is not None and cause.strip()[:300] != locked.cause:
            changes["cause"] = [locked.cause, cause.strip()[:300]]
            locked.cause = cause.strip()[:300]
        locked.save(update_fields=["title", "cause"])
        if lines is not None:
            rows = _job_lines(order=order, job=locked, lines=lines, where="job")
            RepairLine.objects.filter(job=locked).delete()
            RepairLine.objects.bulk_create(rows)
            labour = sum((r.quantity for r in rows if r.kind == LineKind.LABOUR), Decimal("0"))
            if labour and labour != locked.standard_hours:
                locked.standard_hours = labour
                locked.save(update_fields=["standard_hours"])
            _refresh_totals(order)
            changes["total"] = [before_total, str(order.total)]
        audit.record(
            actor=actor, obj=order, action="repair_order.job_revised", store_id=order.store_id,
            customer_id=order.customer_id, changes=changes, reason=locked.title, at=at,
        )
    return locked


def repair_job_remove(*, actor: Any, job: RepairJob, at: dt.datetime | None = None) -> None:
    """Delete a proposed job and its lines (a mistake, or a job the customer will not be offered after all)."""
    at = at or timezone.now()
    with service_atomic():
        order, locked = _proposed_job_locked(actor, job)
        before_total = str(order.total)
        title, seq = locked.title, locked.seq
        try:
            with transaction.atomic():
                locked.delete()
        except ProtectedError as exc:
            raise Conflict("job_in_use", _("Parts were already issued to this job; it cannot be deleted."), "job") from exc
        _refresh_totals(order)
        audit.record(
            actor=actor, obj=order, action="repair_order.job_deleted", store_id=order.store_id,
            customer_id=order.customer_id, changes={f"job {seq}": [title, None], "total": [before_total, str(order.total)]},
            reason=title, at=at,
        )


def repair_order_move(
    *, actor: Any, order: RepairOrder, to: str, reason: str = "", at: dt.datetime | None = None,
    approved_job: bool = False,
) -> RepairOrder:
    """Move an order to ``to`` (refused unless ORDER_TRANSITIONS allows it); records the event and the audit row.
    ``approved_job``: as for :func:`order_move_checked_elsewhere`."""
    require(actor, "workshop.change_repairorder")
    return order_move_checked_elsewhere(actor=actor, order=order, to=to, reason=reason, at=at, approved_job=approved_job)


PAID_VISIT_STATES = {OrderStatus.DELIVERED, OrderStatus.CLOSED}  # with a paid invoice: what tiers count


def order_move_checked_elsewhere(
    *, actor: Any, order: RepairOrder, to: str, reason: str = "", at: dt.datetime | None = None,
    approved_job: bool = False,
) -> RepairOrder:
    """:func:`repair_order_move` for a caller that has checked its own permission (the workshop floor lets a
    technician start an authorized order or put it in "waiting for parts"); the store, the table and the event as ever.
    ``actor=None``: the system (a verified payment notification closing a car delivered on credit), no store check.
    ``approved_job``: the caller holds an approved job of this order in this transaction (it has just started or
    approved it), so the "nothing authorized" check needs no query."""
    if actor is not None:
        require_store(actor, order.store_id)
    at = at or timezone.now()
    with service_atomic():
        # The caller's own locked row when it holds one (common/db.py hold): the row is locked once per request.
        locked = order if held(order) else hold(RepairOrder.objects.select_for_update().get(pk=order.pk))
        before = locked.status
        legal = allowed(ORDER_TRANSITIONS, before, to)  # an illegal move is refused by move() below
        if legal and to in (OrderStatus.AUTHORIZED, OrderStatus.IN_PROGRESS) and not approved_job and not RepairJob.objects.filter(
            order=locked, status__in=APPROVED_JOB_STATES
        ).exists():
            raise Conflict("nothing_authorized", _("No job on this order has been authorized by the customer."), "status")
        locked.last_public_update_at = at  # every state change shows on the customer's status page
        fields = ["last_public_update_at"]
        if to == OrderStatus.DELIVERED:
            locked.delivered_at = at
            fields.append("delivered_at")
        move(
            locked, to=to, actor=actor, transitions=ORDER_TRANSITIONS, event_model=RepairOrderEvent,
            event_fk="order", labels=OrderStatus, at=at, reason=reason[:300], also_save=fields,
        )
        if to == OrderStatus.READY:
            event = getattr(locked, "last_event", None)  # set by move()
            _progress_message(
                locked, kind="repair.ready",
                dedup_key=lambda: f"repair-ready:{locked.pk}:{saved(event).pk if event else 0}",
                step="ready", amount=f"{locked.authorized_total:,.2f}",
            )
        audit.record(
            actor=actor, obj=locked, action=f"repair_order.{to}", store_id=locked.store_id,
            customer_id=locked.customer_id, changes={"status": [before, to]}, reason=reason[:300], at=at,
        )
        # Told after commit to whoever subscribed (common/events.py; docs/events.md): not called upward.
        events.publish(events.OrderMoved(order_id=locked.pk, customer_id=locked.customer_id, store_id=locked.store_id,
                                         before=before, to=to))
        if to == OrderStatus.DELIVERED:
            events.publish(events.OrderDelivered(order_id=locked.pk, customer_id=locked.customer_id,
                                                 store_id=locked.store_id))
        if PAID_VISIT_STATES & {before, to}:  # delivered (or closed) and paid = a paid visit (SPEC §10)
            events.publish(events.PaidVisitChanged(customer_id=locked.customer_id))
    return locked


def repair_job_move(
    *, actor: Any, job: RepairJob, to: str, reason: str = "", at: dt.datetime | None = None
) -> RepairJob:
    """Move a job to ``to`` (refused unless JOB_TRANSITIONS allows it); keeps the order's totals in step."""
    require(actor, "workshop.change_repairjob")
    at = at or timezone.now()
    with service_atomic():
        given = job._state.fields_cache.get("order")  # the job's order, as its caller loaded it
        order: RepairOrder
        if given is not None and held(given, "store", "customer", "vehicle", "advisor") and given.pk == job.order_id:
            order = given  # the caller locked it with everything the progress message needs
        else:
            order = hold(RepairOrder.objects.select_for_update(of=("self",)).select_related(
                "store", "customer", "vehicle", "advisor"  # the progress message's variables, in the same query
            ).get(pk=job.order_id))
        require_store(actor, order.store_id)
        if held(job):  # the caller locked the job row in this transaction (common/db.py hold): not read again
            locked = job
            if locked.technician_id and locked.technician_id == getattr(actor, "pk", None) and not held(job, "technician"):
                locked.technician = actor  # the technician's own tap: their row is the actor's
        else:
            locked = RepairJob.objects.select_for_update(of=("self",)).select_related("technician").get(pk=job.pk)
        before = locked.status
        move(
            locked, to=to, actor=actor, transitions=JOB_TRANSITIONS, event_model=RepairJobEvent,
            event_fk="job", labels=JobStatus, at=at, reason=reason[:300],
        )
        if to == JobStatus.DECLINED:
            locked.declined_reason = reason[:300]
            locked.save(update_fields=["declined_reason"])
        if to in PUBLIC_JOB_STATES:
            order.last_public_update_at = at
            order.save(update_fields=["last_public_update_at"])
        if to in MESSAGE_STATES:  # the work tells the customer itself (their phone, if they want messages)
            _work_message(order, locked, to=to, actor=actor)
        if (before in APPROVED_JOB_STATES) != (to in APPROVED_JOB_STATES) or JobStatus.DECLINED in (before, to):
            _refresh_totals(order)
        audit.record(
            actor=actor, obj=order, action=f"repair_job.{to}", store_id=order.store_id, customer_id=order.customer_id,
            changes={f"job {locked.seq} status": [before, to]}, reason=reason[:300], at=at,
        )
        events.publish(events.JobMoved(job_id=locked.pk, order_id=order.pk, before=before, to=to))
    return locked


#: which progress messages each of the customer's choices lets through (customers.ProgressFrequency): "every_step"
#: all of them; "key" the work starting on the car and the car ready; "ready" only the car ready. The status page
#: shows every step whatever the choice.
PROGRESS_STEPS = {"every_step": {"work", "start", "note", "ready"}, "key": {"start", "ready"}, "ready": {"ready"}}


def _progress_message(
    order: RepairOrder, *, kind: str, dedup_key: str | Callable[[], str], step: str = "work", **variables: str
) -> None:
    """Tell the customer (SPEC §6: progress visible in real time), unless the order says not to or the customer chose
    fewer messages (``step``: "work", "start", "note" or "ready"); through the outbox, in the caller's transaction,
    with the link to the order's status page, on the customer's chosen channel. ``dedup_key`` may be a function: called
    only when a message is queued (a key naming an event row writes that row at once, common/db.py saved)."""
    if not order.progress_messages:
        return
    wanted = PROGRESS_STEPS.get(getattr(order.customer, "progress_frequency", "") or "every_step", PROGRESS_STEPS["every_step"])
    if step not in wanted:
        return
    from django.utils.translation import override

    from aftersales.messaging.services import customer_variables, message_enqueue

    from .status_links import status_url  # estimates' page, provided at start (issue 19)

    customer = order.customer
    with override(getattr(customer, "language", "") or "zh-hans"):
        advisor = str(order.advisor) if order.advisor_id else ""
    message_enqueue(
        kind=kind, store=order.store, customer=customer, dedup_key=dedup_key() if callable(dedup_key) else dedup_key,
        variables={
            **customer_variables(customer=customer, store=order.store), "plate": order.vehicle.plate,
            "model": f"{order.vehicle.make} {order.vehicle.model}".strip(), "link": status_url(order),
            "date": timezone.localtime(order.opened_at, order.store.zone).date().isoformat(),
            "time": timezone.localtime(order.opened_at, order.store.zone).strftime("%H:%M"), "advisor_name": advisor,
            **variables,
        },
    )


def _work_message(order: RepairOrder, job: RepairJob, *, to: str, actor: Any) -> None:
    event = getattr(job, "last_event", None)  # set by move()
    language = "en" if getattr(order.customer, "language", "") == "en" else "zh-hans"
    technician = job.technician if job.technician_id else (actor if getattr(actor, "pk", None) else None)
    text = work_update_text(title=job.title, to_state=to, technician=technician, bay_name="", language=language)
    if text:
        step = "work"
        if to == JobStatus.IN_PROGRESS and getattr(order.customer, "progress_frequency", "") == "key":
            # "when the work starts": the first job of the order under way (a resumed or second job is a mere step)
            started = RepairJobEvent.objects.filter(job__order_id=order.pk, to_state=JobStatus.IN_PROGRESS).count()
            step = "start" if started <= 1 else "work"
        _progress_message(
            order, kind="repair.progress", dedup_key=lambda: f"repair-work:{job.pk}:{saved(event).pk if event else to}",
            step=step,
            progress=text[:200],
        )


def progress_note_add(
    *, actor: Any, order: RepairOrder, text: str, is_public: bool = False, job: RepairJob | None = None,
    at: dt.datetime | None = None,
) -> ProgressNote:
    """A progress note; a public one shows on the customer's status page and resets the 30-minute clock."""
    require(actor, "workshop.change_repairjob")
    require_store(actor, order.store_id)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("required", _("Write the note."), "text")
    if len(text) > 2000:
        raise ValidationFailed("too_long", _("Keep the note under 2,000 characters."), "text")
    if job is not None and job.order_id != order.pk:
        raise ValidationFailed("job_not_on_order", _("This job is not on this repair order."), "job")
    at = at or timezone.now()
    with service_atomic():
        note = ProgressNote.objects.create(
            order=order, job=job, text=text, is_public=is_public, actor=actor if getattr(actor, "pk", None) else None, at=at
        )
        if is_public:
            RepairOrder.objects.filter(pk=order.pk).update(last_public_update_at=at)
            _progress_message(order, kind="repair.progress", dedup_key=f"repair-progress:{note.pk}", step="note",
                              progress=text[:200])
        audit.record(
            actor=actor, obj=order, action="repair_order.note", store_id=order.store_id, customer_id=order.customer_id,
            reason=text[:300], changes={"public": [None, is_public]}, at=at,
        )
    return note


def order_set_progress_messages(*, actor: Any, order: RepairOrder, enabled: bool) -> RepairOrder:
    """Whether the customer wants progress messages on their phone for this order (the status page shows all)."""
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    with service_atomic():
        locked = RepairOrder.objects.select_for_update().get(pk=order.pk)
        if locked.progress_messages != enabled:
            audit.record(
                actor=actor, obj=locked, action="repair_order.progress_messages", store_id=locked.store_id,
                customer_id=locked.customer_id, changes={"progress_messages": [locked.progress_messages, enabled]},
            )
            locked.progress_messages = enabled
            locked.save(update_fields=["progress_messages"])
    return locked


def repair_order_deliver(*, actor: Any, order: RepairOrder, at: dt.datetime | None = None) -> RepairOrder:
    """Hand the car back: READY → DELIVERED (billing adds its payment checks around this)."""
    return repair_order_move(actor=actor, order=order, to=OrderStatus.DELIVERED, at=at)
