"""The workshop floor's writes (SPEC §6): dispatch to a technician and a bay, clocking on and off jobs, waiting for
parts, the promised time, parts issued to and returned from jobs within the authorization, old parts kept for the
customer, and the 30-minute progress flag. Every state change goes through the core's moves (services.py).

Locking order (the same everywhere, so no deadlocks): the order row, then the technician's user row, then the job row.
(The API's clock-on and finish lock the order and the job in their scoped read, then the user row: the job row is
only ever locked after its order, and nothing locks a user row and then an order or a job.)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common import audit
from aftersales.common.db import held, hold, service_atomic
from aftersales.common.errors import Conflict, Forbidden, Problems, ValidationFailed
from aftersales.common.money import q
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded

from .choices import (
    ASSIGNED_JOB_STATES,
    IN_SHOP_STATES,
    NO_CHARGE_JOB_TYPES,
    PARTS_JOB_STATES,
    WORKING_ORDER_STATES,
    ClockOffReason,
    JobStatus,
    LineKind,
    OrderStatus,
)
from .models import ProgressFlag, RepairJob, RepairLine, RepairOrder, TimeEntry
from .services import order_move_checked_elsewhere, progress_note_add, repair_job_move


def _status_label(order: RepairOrder) -> str:
    return str(OrderStatus(order.status).label)


def _lock_order(job_or_order_id: int) -> RepairOrder:
    """The order row, locked once for the request (common/db.py hold) with what the progress message needs."""
    return hold(RepairOrder.objects.select_for_update(of=("self",)).select_related(
        "store", "customer", "vehicle", "advisor"
    ).get(pk=job_or_order_id))


def _lock_order_of(job: RepairJob) -> RepairOrder:
    """The job's order, locked: the caller's own when it holds it (the API's scoped read is the lock:
    floor_selectors.job_get(lock=True)), else locked here."""
    if held(job, "order") and held(job.order, "store", "customer", "vehicle", "advisor"):
        return job.order
    return _lock_order(job.order_id)


def _lock_job(job: RepairJob) -> RepairJob:
    """The job row, locked and held (the nested job move uses it): the caller's own when it holds it."""
    return job if held(job) else hold(RepairJob.objects.select_for_update().get(pk=job.pk))


def _lock_user(user_id: int) -> None:
    from aftersales.staff.models import User

    list(User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True))


# ---- dispatch -----------------------------------------------------------------------------------------------------
def _technician(store: Any, technician: Any) -> Any:
    from django.db.models import Exists, OuterRef

    from aftersales.staff.models import StoreMembership, User
    from aftersales.staff.roles import Role

    tech_id = getattr(technician, "pk", technician)
    user = User.objects.filter(pk=tech_id, is_active=True).annotate(  # one query: the user, the store, the role
        at_store=Exists(StoreMembership.objects.filter(user_id=OuterRef("pk"), store_id=store.pk)),
        is_technician=Exists(User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name=Role.TECHNICIAN)),
    ).first() if str(tech_id or "").isdigit() else None
    if user is None:
        raise ValidationFailed("technician_unknown", _("Choose a technician."), "technician")
    if not user.at_store:
        raise ValidationFailed("technician_other_store", _("%(name)s does not work at this store.") % {"name": user}, "technician")
    if not user.is_technician:
        raise ValidationFailed("not_a_technician", _("%(name)s is not a technician.") % {"name": user}, "technician")
    return user


def _bay(store: Any, bay: Any) -> Any:
    from aftersales.appointments.models import Bay

    bay_id = getattr(bay, "pk", bay)
    row = Bay.objects.filter(pk=bay_id).first() if str(bay_id or "").isdigit() else None
    if row is None or row.store_id != store.pk:
        raise ValidationFailed("bay_unknown", _("Choose a bay of this store."), "bay")
    if not row.is_active:
        raise ValidationFailed("bay_inactive", _("This bay is not in use."), "bay")
    return row


def _bay_free(bay: Any, order: RepairOrder) -> None:
    """One car in a bay at a time (issue 14, item 3): a bay that holds another order's car (a job of it dispatched,
    under way or in rework there) is refused, naming that car; the order's own jobs share their bay."""
    other = (
        RepairJob.objects.filter(bay=bay, status__in=ASSIGNED_JOB_STATES).exclude(order_id=order.pk)
        .select_related("order__vehicle").order_by("id").first()
    )
    if other is not None:
        raise ValidationFailed(
            "bay_taken",
            _("Bay %(bay)s holds another car (%(plate)s, order %(n)s) until its work is finished or moved: choose a "
              "free bay.") % {"bay": bay.name, "plate": other.order.vehicle.plate or other.order.vehicle.vin,
                              "n": other.order.number},
            "bay",
        )


def _check_certificate(*, actor: Any, job: RepairJob, tech: Any, store: Any, override: bool, reason: str, at: dt.datetime) -> bool:
    """A job requiring a certificate goes only to a technician holding one valid on the store's local date (SPEC §20).
    A manager (``staff.override_certification``) may override with a reason; True when overridden."""
    from aftersales.staff.models import Certificate
    from aftersales.staff.selectors import certified_user_ids

    kind = job.required_certificate
    if not kind:
        return False
    day = timezone.localtime(at, store.zone).date()
    if tech.pk in certified_user_ids(kind, [tech.pk], day):
        return False
    label = Certificate(kind).label if kind in Certificate.values else kind
    if not override:
        raise ValidationFailed(
            "technician_not_certified",
            _("%(name)s holds no valid certificate for this job (%(certificate)s).") % {"name": tech, "certificate": label},
            "technician",
        )
    if not actor.has_perm("staff.override_certification"):
        raise Forbidden(
            "override_not_allowed", _("Only a manager can give this job to a technician without the certificate."), "override"
        )
    if not " ".join((reason or "").split()):
        raise ValidationFailed("reason_required", _("Say why the job goes to a technician without the certificate."), "reason")
    return True


def job_dispatch(
    *, actor: Any, job: RepairJob, technician: Any, bay: Any, reason: str = "", override: bool = False,
    at: dt.datetime | None = None,
) -> RepairJob:
    """Give an authorized job (or one sent back for rework) to a technician with the required skill and a bay:
    the job moves to "dispatched". A dispatched job, or one in progress with nobody clocked on, can be reassigned.
    A job requiring a certificate goes only to a technician holding a valid one, unless a manager overrides it
    (``override`` with a reason; audited as ``repair_job.certificate_override``)."""
    from aftersales.staff.models import Skill

    require(actor, "workshop.dispatch_repairjob")
    at = at or timezone.now()
    with service_atomic():
        order = _lock_order_of(job)
        require_store(actor, order.store_id)
        if order.status not in WORKING_ORDER_STATES:
            raise Conflict(
                "order_not_working", _("Jobs of this order cannot be dispatched while it is “%(s)s”.") % {"s": _status_label(order)},
                "order",
            )
        locked = _lock_job(job)  # the nested job move uses it too
        locked.order = order  # the nested job move uses this locked order row instead of reading it again
        store = order.store
        problems = Problems()  # the technician and the bay are judged together: both problems said at once
        tech = problems.check(_technician, store, technician)
        if tech is not None and locked.required_skill and locked.required_skill not in (tech.skills or []):
            skill = Skill(locked.required_skill).label if locked.required_skill in Skill.values else locked.required_skill
            problems.add(
                "technician_lacks_skill",
                _("%(name)s does not have the skill this job needs (%(skill)s).") % {"name": tech, "skill": skill},
                "technician",
            )
        bay_row = problems.check(_bay, store, bay)
        if bay_row is not None:
            problems.check(_bay_free, bay_row, order)
        problems.raise_if_any()
        overridden = _check_certificate(actor=actor, job=locked, tech=tech, store=store, override=override, reason=reason, at=at)
        before = {"technician": locked.technician_id, "bay": locked.bay_id, "status": locked.status}
        if locked.status in (JobStatus.AUTHORIZED, JobStatus.REWORK):
            repair_job_move(actor=actor, job=locked, to=JobStatus.DISPATCHED, reason=reason, at=at)
        elif locked.status == JobStatus.IN_PROGRESS:
            if TimeEntry.objects.filter(job=locked, ended_at__isnull=True).exists():
                raise Conflict("job_clocked_on", _("Someone is clocked on this job: they must pause it first."), "job")
        elif locked.status != JobStatus.DISPATCHED:
            raise Conflict(
                "job_not_dispatchable",
                _("Only an authorized job (or one sent back for rework) can be dispatched; this one is “%(s)s”.")
                % {"s": JobStatus(locked.status).label},
                "job",
            )
        RepairJob.objects.filter(pk=locked.pk).update(technician=tech, bay=bay_row)
        locked.technician, locked.bay = tech, bay_row  # the row as written: the response is built from it
        audit.record(
            actor=actor, obj=order, action="repair_job.assigned", store_id=order.store_id, customer_id=order.customer_id,
            changes={f"job {locked.seq}": [before, {"technician": tech.pk, "bay": bay_row.pk}]}, reason=reason[:300], at=at,
        )
        if overridden:
            audit.record(
                actor=actor, obj=order, action="repair_job.certificate_override", store_id=order.store_id,
                customer_id=order.customer_id,
                changes={f"job {locked.seq} certificate": [locked.required_certificate, None], "technician": [None, tech.pk]},
                reason=reason[:300], at=at,
            )
    return locked


def job_unassign(*, actor: Any, job: RepairJob, reason: str = "", at: dt.datetime | None = None) -> RepairJob:
    """Take a dispatched job back (dispatched → authorized), clearing its technician and bay."""
    require(actor, "workshop.dispatch_repairjob")
    with service_atomic():
        order = _lock_order_of(job)
        require_store(actor, order.store_id)
        locked = _lock_job(job)  # the nested job move uses it too
        locked.order = order  # the nested job move uses this locked order row instead of reading it again
        repair_job_move(actor=actor, job=locked, to=JobStatus.AUTHORIZED, reason=reason, at=at)
        RepairJob.objects.filter(pk=locked.pk).update(technician=None, bay=None)
        audit.record(actor=actor, obj=order, action="repair_job.unassigned", store_id=order.store_id,
                     customer_id=order.customer_id, reason=reason[:300], at=at)
    return RepairJob.objects.get(pk=job.pk)


# ---- clocking -----------------------------------------------------------------------------------------------------
def _close_open(technician_id: int, at: dt.datetime, why: str, entry: Any = ...) -> TimeEntry | None:
    """End the technician's open entry (``entry``: the caller has just read it, None when there is none)."""
    if entry is ...:
        entry = TimeEntry.objects.filter(technician_id=technician_id, ended_at__isnull=True).first()
    if entry is None:
        return None
    entry.ended_at = max(at, entry.started_at)
    entry.end_reason = why
    entry.save(update_fields=["ended_at", "end_reason"])
    return entry


def clock_on(*, actor: Any, job: RepairJob, at: dt.datetime | None = None) -> TimeEntry:
    """The technician starts (or resumes) work on their job. Clocking on a second job clocks off the first; a
    repeated tap on the same job is the same entry. Starting moves the job to "in progress" and an authorized order
    to "in progress". Concurrent taps by one technician are serialised on the technician's row."""
    require(actor, "workshop.clock_repairjob")
    at = at or timezone.now()
    with service_atomic():
        order = _lock_order_of(job)
        require_store(actor, order.store_id)
        _lock_user(actor.pk)
        locked = _lock_job(job)  # the nested job move uses it too
        locked.order = order  # the nested job move uses this locked order row instead of reading it again
        if locked.technician_id != actor.pk:
            raise Forbidden("not_your_job", _("This job is not assigned to you."), "job")
        if locked.status not in (JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.REWORK):
            raise Conflict(
                "job_not_startable", _("This job cannot be worked on while it is “%(s)s”.") % {"s": JobStatus(locked.status).label}, "job"
            )
        if order.status in (OrderStatus.WAITING_PARTS, OrderStatus.WAITING_AUTH):
            raise Conflict(
                "order_waiting", _("The order is “%(s)s”: resume it before starting work.") % {"s": _status_label(order)}, "order"
            )
        if order.status not in WORKING_ORDER_STATES:
            raise Conflict("order_not_working", _("Work cannot start while the order is “%(s)s”.") % {"s": _status_label(order)}, "order")
        current = TimeEntry.objects.filter(technician_id=actor.pk, ended_at__isnull=True).first()
        if current is not None and current.job_id == locked.pk:
            return current
        switched = _close_open(actor.pk, at, ClockOffReason.SWITCH, current)
        try:  # no savepoint of its own: the refusal rolls the whole service transaction back (issue 19)
            entry = TimeEntry.objects.create(store_id=order.store_id, job=locked, technician_id=actor.pk, started_at=at)
        except IntegrityError as exc:  # the partial unique index: another entry opened in between (cannot happen under the lock)
            raise Conflict("already_clocked_on", _("You are already clocked on another job."), "job") from exc
        if locked.status != JobStatus.IN_PROGRESS:
            repair_job_move(actor=actor, job=locked, to=JobStatus.IN_PROGRESS, at=at)
        if order.status == OrderStatus.AUTHORIZED:
            order_move_checked_elsewhere(actor=actor, order=order, to=OrderStatus.IN_PROGRESS,  # the job just started
                                         reason=coded(gettext_noop("Work started")), at=at, approved_job=True)
        audit.record(
            actor=actor, obj=order, action="repair_job.clock_on", store_id=order.store_id, customer_id=order.customer_id,
            changes={f"job {locked.seq}": [None, "clocked on"]},
            reason=f"switched from job {switched.job_id}" if switched else "", at=at,
        )
    return entry


def clock_off(*, actor: Any, at: dt.datetime | None = None) -> TimeEntry | None:
    """Pause: the technician's open entry ends (the job stays in progress). None when nothing was open."""
    require(actor, "workshop.clock_repairjob")
    at = at or timezone.now()
    with service_atomic():
        _lock_user(actor.pk)
        entry = _close_open(actor.pk, at, ClockOffReason.PAUSE)
        if entry is not None:
            order = entry.job.order
            audit.record(actor=actor, obj=order, action="repair_job.clock_off", store_id=order.store_id,
                         customer_id=order.customer_id, changes={f"job {entry.job.seq}": ["clocked on", "paused"]}, at=at)
    return entry


def job_finish(*, actor: Any, job: RepairJob, at: dt.datetime | None = None) -> RepairJob:
    """The work is done: open time on the job ends and the job moves to "done" (then QC)."""
    require(actor, "workshop.clock_repairjob")
    at = at or timezone.now()
    with service_atomic():
        order = _lock_order_of(job)
        require_store(actor, order.store_id)
        _lock_user(actor.pk)
        locked = _lock_job(job)  # the nested job move uses it too
        locked.order = order  # the nested job move uses this locked order row instead of reading it again
        if locked.technician_id != actor.pk and not actor.has_perm("workshop.dispatch_repairjob"):
            raise Forbidden("not_your_job", _("This job is not assigned to you."), "job")
        if locked.status != JobStatus.IN_PROGRESS:
            raise Conflict("job_not_started", _("Only a job in progress can be finished."), "job")
        for entry in TimeEntry.objects.filter(job=locked, ended_at__isnull=True):
            entry.ended_at = max(at, entry.started_at)
            entry.end_reason = ClockOffReason.FINISH
            entry.save(update_fields=["ended_at", "end_reason"])
        repair_job_move(actor=actor, job=locked, to=JobStatus.DONE, at=at)
    return locked  # saved by the move: the row as it now is


# ---- waiting for parts, promised time, public update -----------------------------------------------------------------
def _floor_or_advisor(actor: Any) -> None:
    if actor is None or not (actor.has_perm("workshop.clock_repairjob") or actor.has_perm("workshop.change_repairorder")):
        raise Forbidden("permission_denied", _("You do not have permission to do this."), None)


def order_wait_for_parts(*, actor: Any, order: RepairOrder, reason: str, at: dt.datetime | None = None) -> RepairOrder:
    """In progress → waiting for parts (the technician, foreman or advisor says which part); whoever is clocked on
    the order's jobs is clocked off."""
    _floor_or_advisor(actor)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed("reason_required", _("Say which part the car is waiting for."), "reason")
    at = at or timezone.now()
    with service_atomic():
        moved = order_move_checked_elsewhere(actor=actor, order=order, to=OrderStatus.WAITING_PARTS, reason=reason, at=at)
        for entry in TimeEntry.objects.filter(job__order=moved, ended_at__isnull=True):
            entry.ended_at = max(at, entry.started_at)
            entry.end_reason = ClockOffReason.PAUSE
            entry.save(update_fields=["ended_at", "end_reason"])
    return moved


def order_parts_arrived(*, actor: Any, order: RepairOrder, reason: str = "", at: dt.datetime | None = None) -> RepairOrder:
    """Waiting for parts → in progress."""
    _floor_or_advisor(actor)
    with service_atomic():
        locked = _lock_order(order.pk)
        if locked.status != OrderStatus.WAITING_PARTS:
            raise Conflict("not_waiting_parts", _("This order is not waiting for parts."), "status")
        return order_move_checked_elsewhere(actor=actor, order=locked, to=OrderStatus.IN_PROGRESS, reason=reason, at=at)


def order_set_promised(*, actor: Any, order: RepairOrder, promised_at: Any, at: dt.datetime | None = None) -> RepairOrder:
    """The advisor sets or changes the time the car is promised for (aware, in the future)."""
    from django.utils.dateparse import parse_datetime

    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    at = at or timezone.now()
    value = promised_at
    if isinstance(value, str):
        value = parse_datetime(value.strip()) if value.strip() else None
        if value is None:
            raise ValidationFailed("datetime_format", _("Enter a date and time such as 2026-12-01 17:30."), "promised_at")
    if not isinstance(value, dt.datetime):
        raise ValidationFailed("required", _("Enter the promised time."), "promised_at")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, order.store.zone)
    if value <= at:
        raise ValidationFailed("promised_in_past", _("The promised time must be in the future."), "promised_at")
    with service_atomic():
        locked = _lock_order(order.pk)
        if locked.status not in IN_SHOP_STATES:
            raise Conflict("order_not_in_shop", _("The car is no longer in the workshop."), "promised_at")
        before = locked.promised_at
        locked.promised_at = value
        locked.save(update_fields=["promised_at"])
        audit.record(
            actor=actor, obj=locked, action="repair_order.promised", store_id=locked.store_id, customer_id=locked.customer_id,
            changes={"promised_at": [audit.plain(before), audit.plain(value)]}, at=at,
        )
    return locked


def public_update_add(*, actor: Any, order: RepairOrder, text: str, at: dt.datetime | None = None) -> Any:
    """The advisor's one-click update from the board: a public progress note (resets the 30-minute clock)."""
    return progress_note_add(actor=actor, order=order, text=text, is_public=True, at=at)


# ---- parts issued to jobs ------------------------------------------------------------------------------------------
def _issued_to_job(job: RepairJob, part: Any) -> Decimal:
    from django.db.models import Sum

    from aftersales.parts.choices import MovementKind
    from aftersales.parts.models import StockMovement

    total = StockMovement.objects.filter(
        repair_job=job, part=part, kind__in=[MovementKind.ISSUE, MovementKind.RETURN]
    ).aggregate(total=Sum("quantity"))["total"]
    return -(total or Decimal("0"))


def _estimate_lines(job: RepairJob, part: Any) -> list[RepairLine]:
    from django.db.models import Q

    return list(
        RepairLine.objects.filter(job=job, kind=LineKind.PART)
        .filter(Q(part=part) | Q(part__isnull=True, code__iexact=part.number)).order_by("id")
    )


def job_part_issue(
    *, actor: Any, job: RepairJob, part: Any, quantity: Any, batch: Any = None, at: dt.datetime | None = None
) -> Any:
    """Issue a part from the store's stock to an authorized job (through the parts ledger: consumes the job's
    reservation, records the batch or serial number). What the estimate does not cover is added as a line only when
    it adds no money (warranty / internal jobs); otherwise it is refused: the customer must authorize it first."""
    from aftersales.parts.services import parse_quantity, stock_issue

    require(actor, "parts.add_stockmovement")
    qty = parse_quantity(quantity, part)
    with service_atomic():
        order = _lock_order_of(job)
        require_store(actor, order.store_id)
        locked = RepairJob.objects.select_for_update().select_related("order").get(pk=job.pk)
        if locked.status not in PARTS_JOB_STATES:
            raise Conflict("job_not_authorized", _("Parts can be issued only to a job the customer has authorized."), "job")
        lines = _estimate_lines(locked, part)
        covered = sum((line.quantity for line in lines), Decimal("0"))
        extra = _issued_to_job(locked, part) + qty - covered
        if extra > 0:
            no_charge = locked.job_type in NO_CHARGE_JOB_TYPES
            price = Decimal("0.00") if no_charge else (lines[0].unit_price if lines else Decimal(part.sale_price))
            added = q(extra * price)
            if added > 0:
                raise Conflict(
                    "authorization_needed",
                    _("Issuing this would add ¥%(amount)s (%(qty)s × %(part)s) beyond what the customer authorized "
                      "(¥%(total)s): propose it as additional work and get a new authorization first.")
                    % {"amount": added, "qty": extra.normalize(), "part": part.number, "total": order.authorized_total},
                    "quantity", amount=str(added),
                )
            RepairLine.objects.create(
                order=order, job=locked, kind=LineKind.PART, part=part, code=part.number[:40],
                description=(part.name_zh or part.number)[:200], is_aftermarket=not part.is_oem,
                unit_cost=Decimal(part.cost_price), quantity=extra, unit_price=Decimal("0.00"), discount=Decimal("0.00"),
                amount=Decimal("0.00"),
            )
        for line in lines:
            if line.part_id is None:
                RepairLine.objects.filter(pk=line.pk).update(part=part)
        movement = stock_issue(actor=actor, store=order.store, part=part, quantity=qty, job=locked, batch=batch)
        audit.record(
            actor=actor, obj=order, action="repair_job.part_issued", store_id=order.store_id, customer_id=order.customer_id,
            changes={f"job {locked.seq} {part.number}": [None, str(qty)]},
            reason=f"batch {batch.number}" if batch is not None else "", at=at,
        )
    return movement


def job_part_return(
    *, actor: Any, job: RepairJob, part: Any, quantity: Any, batch: Any = None, reason: str = "", at: dt.datetime | None = None
) -> Any:
    """Unused parts go back to stock (never more than the job holds; refused once the order is invoiced). The
    invoice will not bill them: the part's estimate line bills what stayed on the car (``part_lines_billable``);
    the audit row records the quantity billed before and after."""
    from aftersales.parts.services import stock_return

    require(actor, "parts.add_stockmovement")
    with service_atomic():
        order = _lock_order_of(job)
        require_store(actor, order.store_id)
        lines = _estimate_lines(job, part)

        def billed() -> str:
            cut = part_lines_billable(order, lines)
            return str(sum((cut.get(line.pk, line.quantity) for line in lines), Decimal("0")))

        before = billed() if lines else None
        movement = stock_return(actor=actor, store=order.store, part=part, quantity=quantity, job=job, batch=batch, reason=reason)
        changes: dict[str, list[Any]] = {f"job {job.seq} {part.number}": [None, str(movement.quantity)]}
        if lines:
            changes[f"job {job.seq} {part.number} billed"] = [before, billed()]
        audit.record(
            actor=actor, obj=order, action="repair_job.part_returned", store_id=order.store_id, customer_id=order.customer_id,
            changes=changes, reason=reason[:300], at=at,
        )
    return movement


def part_lines_billable(order: RepairOrder, lines: list[RepairLine]) -> dict[int, Decimal]:
    """What the invoice bills of the order's part lines once parts came back from its jobs: {line id: quantity}
    for the lines that bill less than the estimate (the others bill as estimated).

    Per job and part, the estimate's lines (``_estimate_lines``: the part, or its number while the line is not linked)
    bill their quantity less what was returned to stock, never less than what is still on the car (a part returned
    and issued again is billed again) and never below zero, reduced from the last line first. Without a return
    nothing changes: parts the shop does not issue through stock bill as estimated. A part on no line (issued
    straight from the parts screens) bills nothing, so its return changes nothing either.
    """
    from django.db.models import Q, Sum

    from aftersales.parts.choices import MovementKind
    from aftersales.parts.models import StockMovement

    moved = (
        StockMovement.objects.filter(repair_job__order=order, kind__in=[MovementKind.ISSUE, MovementKind.RETURN])
        .values("repair_job_id", "part_id", "part__number")
        .annotate(out=Sum("quantity", filter=Q(kind=MovementKind.ISSUE)), back=Sum("quantity", filter=Q(kind=MovementKind.RETURN)))
    )
    billable: dict[int, Decimal] = {}
    for row in moved:
        returned = Decimal(row["back"] or 0)
        if returned <= 0:
            continue
        number = (row["part__number"] or "").lower()
        matching = [
            line for line in lines
            if line.job_id == row["repair_job_id"] and line.kind == LineKind.PART
            and (line.part_id == row["part_id"] or (line.part_id is None and (line.code or "").lower() == number))
        ]
        if not matching:
            continue
        estimated = sum((line.quantity for line in matching), Decimal("0"))
        on_car = -Decimal(row["out"] or 0) - returned
        cut = estimated - min(estimated, max(on_car, estimated - returned))
        for line in sorted(matching, key=lambda x: x.pk, reverse=True):
            if cut <= 0:
                break
            less = min(cut, line.quantity)
            billable[line.pk] = line.quantity - less
            cut -= less
    return billable


def line_keep_old_part(*, actor: Any, line: RepairLine, keep: bool) -> RepairLine:
    """Tick (or untick) "old part kept for the customer" on a part line; shown at delivery."""
    require(actor, "workshop.change_repairjob")
    with service_atomic():
        order = _lock_order(line.order_id)
        require_store(actor, order.store_id)
        if line.kind != LineKind.PART:
            raise ValidationFailed("not_a_part", _("Only a part line has an old part."), "line")
        if order.status not in IN_SHOP_STATES:
            raise Conflict("order_not_in_shop", _("The car is no longer in the workshop."), "line")
        locked = RepairLine.objects.select_for_update().get(pk=line.pk)
        before = locked.keep_old_part
        locked.keep_old_part = bool(keep)
        locked.save(update_fields=["keep_old_part"])
        audit.record(
            actor=actor, obj=order, action="repair_line.keep_old_part", store_id=order.store_id,
            customer_id=order.customer_id, changes={f"line {locked.pk} keep old part": [before, locked.keep_old_part]},
        )
    return locked


# ---- the 30-minute progress flag ---------------------------------------------------------------------------------
SILENT_KIND = "workshop.progress_silent"


def flag_silent_orders(*, now: dt.datetime | None = None) -> int:
    """The sweep (every few minutes): each order silent for 30 minutes of opening time while its car is in the
    workshop is flagged once per silent period (a ProgressFlag row named by the period's start) and its advisor gets
    an in-app notification through the outbox. Safe to run twice, and concurrently. Returns the flags created."""
    from aftersales.messaging.services import message_enqueue

    from .floor_selectors import silent_orders

    now = now or timezone.now()
    created = 0
    for order, minutes in silent_orders(now):
        since = order.last_public_update_at or order.opened_at
        with service_atomic():
            try:
                with transaction.atomic():
                    _flag, is_new = ProgressFlag.objects.get_or_create(
                        order=order, silent_since=since, defaults={"flagged_at": now, "advisor": order.advisor}
                    )
            except IntegrityError:  # flagged concurrently by another worker
                continue
            if not is_new:
                continue
            created += 1
            if order.advisor is not None:
                from aftersales.customers.choices import Channel

                message_enqueue(
                    kind=SILENT_KIND, store=order.store, staff_user=order.advisor, channel=Channel.APP,
                    dedup_key=f"workshop.silent:{order.pk}:{since.isoformat()}",
                    variables={
                        "order_number": order.number, "plate": order.vehicle.plate, "minutes": str(minutes),
                        "customer_name": order.customer.name, "link": f"/workshop/board/?store={order.store_id}#order-{order.pk}",
                    },
                )
            audit.record(actor=None, obj=order, action="repair_order.silent_flagged", store_id=order.store_id,
                         customer_id=order.customer_id, changes={"silent_minutes": [None, minutes]}, at=now)
    return created
