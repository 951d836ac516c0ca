"""Estimates and the customer's authorization (SPEC §5).

Writes only: the labour guide, adding priced jobs (operations, canned jobs, options) through
``workshop.services.repair_job_add``, sending an estimate (order → estimate sent, a message through the outbox with
a signed link), the customer's decision job by job (signed link, the advisor's tablet, or a phone call recorded by
the advisor) moving jobs and the order through ``repair_job_move`` / ``repair_order_move``, additional work found
mid-repair (with photos), re-proposing declined recommendations, and the rule that an invoice never exceeds what
the customer authorized (:func:`assert_within_authorization`).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import io
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from aftersales.common import audit
from aftersales.common.db import held, hold, service_atomic
from aftersales.common.errors import Conflict, ValidationFailed
from aftersales.common.money import LineAmount, insurance_split, parse_money, totals
from aftersales.common.names import job_title
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded, in_both
from aftersales.common.transitions import move
from aftersales.workshop.choices import (
    APPROVED_JOB_STATES,
    EDITABLE_STATES,
    JobStatus,
    JobType,
    LineKind,
    OrderStatus,
)
from aftersales.workshop.models import RepairJob, RepairLine, RepairOrder
from aftersales.workshop.services import (
    repair_job_add,
    repair_job_move,
    repair_job_remove,
    repair_job_revise,
    repair_order_move,
    repair_order_refresh_totals,
)

from .choices import ESTIMATE_TRANSITIONS, AuthorizationMethod, EstimateKind, EstimateStatus, PartChoice
from .models import (
    Authorization,
    AuthorizationItem,
    Estimate,
    EstimateEvent,
    EstimateRevision,
    JobOption,
    LabourOperation,
    LabourOperationPart,
    LabourRate,
    OptionGroup,
    Reproposal,
    WorkPhoto,
)

APPROVAL_SALT = "aftersales.estimates.approval"
STATUS_SALT = "aftersales.estimates.status"
APPROVAL_LINK_HOURS = int(getattr(settings, "ESTIMATE_LINK_HOURS", 72))
STATUS_LINK_DAYS = int(getattr(settings, "ORDER_STATUS_LINK_DAYS", 30))
SIGNATURE_MAX_BYTES = 400_000
PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_MAX_COUNT = 6
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Orders still being worked out get an ordinary estimate; orders in the workshop get "additional work".
ADDITIONAL_STATES = (OrderStatus.IN_PROGRESS, OrderStatus.WAITING_AUTH)
SERVICE_KIND_JOB_TYPE = {"maintenance": JobType.MAINTENANCE, "repair": JobType.REPAIR, "inspection": JobType.INSPECTION}
HOURS = Decimal("0.01")


# ---- actors ------------------------------------------------------------------------------------------------------
class CustomerActor:
    """The customer deciding on the signed link: no staff account. Workshop moves accept it for this one order
    (events and audit rows then have no staff actor and name the customer in their reason)."""

    pk = None
    is_authenticated = True
    is_active = True
    is_superuser = False
    PERMS = frozenset({"workshop.change_repairjob", "workshop.change_repairorder"})

    def __init__(self, order: RepairOrder, name: str) -> None:
        self._visible_store_ids = [order.store_id]
        self.name = name

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return perm in self.PERMS

    def __str__(self) -> str:
        return self.name


def _acting_with(user: Any, perms: set[str]) -> Any:
    """The same staff member, allowed the workshop permissions ``perms`` for one call of our service.

    A technician holds ``estimates.propose_additional_work`` but not ``workshop.change_repairorder``: proposing
    additional work adds a job and moves the order to "waiting for authorization" in the technician's name."""
    clone = copy.copy(user)
    granted = frozenset(perms)
    original = user.has_perm

    def has_perm(perm: str, obj: Any = None) -> bool:
        return perm in granted or original(perm, obj)

    clone.has_perm = has_perm
    return clone


# ---- small validators --------------------------------------------------------------------------------------------
def _hours(value: Any, field: str) -> Decimal:
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("hours_format", _("Enter hours such as 1 or 1.5."), field) from exc
    if not hours.is_finite() or hours <= 0 or hours > 200 or hours != hours.quantize(HOURS):
        raise ValidationFailed("hours_invalid", _("Hours must be more than 0 and at most 200, with two decimals at most."), field)
    return hours


def _job_type(value: Any, field: str = "job_type") -> str:
    if value not in JobType.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": value}, field)
    return str(value)


def _text(value: Any, field: str, max_length: int, *, required: bool = False, message: str = "") -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise ValidationFailed("required", message or _("This field is required."), field)
    if len(text) > max_length:
        raise ValidationFailed("too_long", _("Keep it under %(n)s characters.") % {"n": max_length}, field)
    return text


def _editable(order: RepairOrder) -> None:
    if order.status not in EDITABLE_STATES:
        raise Conflict("order_not_editable", _("Jobs can no longer be added to this repair order."), "order")


# ---- labour guide ------------------------------------------------------------------------------------------------
def labour_rate_set(*, actor: Any, store: Any, job_type: str, rate: Any) -> LabourRate:
    """Set the store's price per labour hour for a job type."""
    require(actor, "estimates.change_labourrate")
    require_store(actor, store.pk)
    job_type = _job_type(job_type)
    amount = parse_money(rate, "rate")
    with service_atomic():
        row, created = LabourRate.objects.select_for_update().get_or_create(
            store=store, job_type=job_type, defaults={"rate": amount}
        )
        before = None if created else str(row.rate)
        if not created and row.rate != amount:
            row.rate = amount
            row.save(update_fields=["rate"])
        audit.record(
            actor=actor, obj=row, action="labour_rate.set", store_id=store.pk,
            changes={f"rate {job_type}": [before, str(amount)]},
        )
    return row


def labour_rate_for(store: Any, job_type: str) -> Decimal:
    """The store's rate for the job type, else its repair rate; refused when the store has neither."""
    rates = dict(LabourRate.objects.filter(store=store, job_type__in=[job_type, JobType.REPAIR]).values_list("job_type", "rate"))
    rate = rates.get(job_type, rates.get(JobType.REPAIR))
    if rate is None:
        raise ValidationFailed(
            "no_labour_rate", _("This store has no labour rate for this job type; a manager sets it in the labour guide."),
            "job_type",
        )
    return Decimal(rate)


def labour_operation_save(
    *,
    actor: Any,
    group: Any,
    code: str,
    name_zh: str,
    standard_hours: Any,
    job_type: str = JobType.REPAIR,
    name_en: str = "",
    required_skill: str = "",
    parts: list[dict[str, Any]] | None = None,
    is_active: bool = True,
    required_certificate: str | None = None,
) -> LabourOperation:
    """Create or update (by code) an operation of the group's labour guide, with the parts it needs.
    ``required_certificate`` None leaves an existing operation's certificate as it is."""
    from aftersales.parts.models import Part
    from aftersales.staff.models import Certificate, Skill

    require(actor, "estimates.change_labouroperation")
    if getattr(actor, "dealer_group_id", None) != group.pk and not actor.is_superuser:
        raise ValidationFailed("group_not_allowed", _("You do not work for this dealer group."), "group")
    code = _text(code, "code", 30, required=True, message=_("Give the operation a code.")).upper()
    name_zh = _text(name_zh, "name_zh", 120, required=True, message=_("Name the operation in Chinese."))
    name_en = _text(name_en, "name_en", 120)
    hours = _hours(standard_hours, "standard_hours")
    job_type = _job_type(job_type)
    if required_skill and required_skill not in Skill.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": required_skill}, "required_skill")
    if required_certificate and required_certificate not in Certificate.values:
        raise ValidationFailed(
            "invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": required_certificate}, "required_certificate"
        )
    wanted: list[tuple[Any, Decimal]] = []
    for n, row in enumerate(parts or [], start=1):
        part = row.get("part")
        if not isinstance(part, Part):
            part_id = str(row.get("part_id") or "")
            part = Part.objects.filter(group=group, pk=int(part_id)).first() if part_id.isdigit() else None
        if part is None or part.group_id != group.pk:
            raise ValidationFailed("part_not_found", _("No such part in the catalogue."), f"parts[{n}].part_id")
        wanted.append((part, _hours(row.get("quantity", 1), f"parts[{n}].quantity")))
    with service_atomic():
        op, created = LabourOperation.objects.select_for_update().get_or_create(
            group=group, code=code,
            defaults={"name_zh": name_zh, "name_en": name_en, "standard_hours": hours, "job_type": job_type,
                      "required_skill": required_skill, "is_active": is_active,
                      "required_certificate": required_certificate or ""},
        )
        fields = ["name_zh", "name_en", "standard_hours", "job_type", "required_skill", "required_certificate", "is_active"]
        before = audit.snapshot(op, fields)
        if not created:
            op.name_zh, op.name_en, op.standard_hours, op.job_type = name_zh, name_en, hours, job_type
            op.required_skill, op.is_active = required_skill, is_active
            if required_certificate is not None:
                op.required_certificate = required_certificate
            op.save()
        if parts is not None:
            LabourOperationPart.objects.filter(operation=op).delete()
            LabourOperationPart.objects.bulk_create(
                [LabourOperationPart(operation=op, part=p, quantity=qty) for p, qty in wanted]
            )
        after = audit.snapshot(op, fields)
        audit.record(
            actor=actor, obj=op, action="labour_operation.created" if created else "labour_operation.updated",
            changes=audit.diff({} if created else before, after),
        )
    return op


# ---- pricing jobs ------------------------------------------------------------------------------------------------
def _part_line(part: Any, quantity: Decimal, language: str) -> dict[str, Any]:
    from aftersales.parts.catalogue import price_for

    name = part.name_en if language == "en" and part.name_en else part.name_zh
    return {
        "kind": LineKind.PART, "code": part.number, "description": name, "quantity": quantity,
        "unit_price": price_for(part), "unit_cost": part.cost_price, "part": part, "is_aftermarket": not part.is_oem,
    }


def _labour_line(*, code: str, description: str, hours: Decimal, rate: Decimal) -> dict[str, Any]:
    return {"kind": LineKind.LABOUR, "code": code, "description": description, "quantity": hours, "unit_price": rate}


def _language(order: RepairOrder) -> str:
    return "en" if getattr(order.customer, "language", "") == "en" else "zh-hans"


def _operation_variants(operation: LabourOperation, order: RepairOrder, part_choice: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """[(option label, lines)]: one variant (OEM, aftermarket or labour only) or two (OEM and aftermarket)."""
    from .selectors import aftermarket_equivalent, oem_equivalent

    if part_choice not in PartChoice.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": part_choice}, "part_choice")
    language = _language(order)
    rate = labour_rate_for(order.store, operation.job_type)
    labour = _labour_line(code=operation.code, description=operation.name_in(language), hours=operation.standard_hours, rate=rate)
    needed = list(operation.parts.select_related("part").order_by("id"))
    if part_choice == PartChoice.NONE or not needed:
        return [("", [labour])]
    oem = []
    for row in needed:  # "OEM parts" means OEM parts: an aftermarket part of the guide is swapped for its original
        original = oem_equivalent(row.part)
        if original is None:
            raise ValidationFailed(
                "no_oem_equivalent",
                _("No OEM original of %(part)s in the catalogue.") % {"part": row.part.number}, "part_choice",
            )
        oem.append(_part_line(original, row.quantity, language))
    if part_choice == PartChoice.OEM:
        return [("", [labour, *oem])]
    aftermarket = []
    for row in needed:
        alt = aftermarket_equivalent(row.part) if row.part.is_oem else row.part
        if alt is None:
            raise ValidationFailed(
                "no_aftermarket_equivalent",
                _("No aftermarket equivalent of %(part)s in the catalogue.") % {"part": row.part.number}, "part_choice",
            )
        aftermarket.append(_part_line(alt, row.quantity, language))
    if part_choice == PartChoice.AFTERMARKET:
        return [("", [labour, *aftermarket])]
    with override(language):
        return [(_("OEM parts"), [labour, *oem]), (_("Aftermarket parts"), [labour, *aftermarket])]


def _ensure_draft(order: RepairOrder, actor: Any, at: dt.datetime, *, lock: bool = False) -> Estimate:
    """The order's estimate being prepared (created when the first job is priced); ``lock``: the open one read with
    SELECT … FOR UPDATE (a new one is this transaction's own row)."""
    open_ones = Estimate.objects.filter(order=order, status__in=[EstimateStatus.DRAFT, EstimateStatus.SENT])
    open_one = (open_ones.select_for_update() if lock else open_ones).first()
    if open_one is not None:
        return open_one
    estimate = Estimate.objects.create(
        order=order, created_by=actor if getattr(actor, "pk", None) else None, created_at=at,
        kind=EstimateKind.ADDITIONAL if order.status in ADDITIONAL_STATES else EstimateKind.INITIAL,
    )
    EstimateEvent.objects.create(estimate=estimate, from_state="", to_state=EstimateStatus.DRAFT, actor=estimate.created_by, at=at)
    # a new draft lists no jobs yet (they are tied to it when it is sent): answering from memory needs no read; a
    # jobs.add() later in the transaction drops this cache (issue 19)
    estimate._prefetched_objects_cache = {"jobs": RepairJob.objects.none()}  # type: ignore[attr-defined]
    return estimate


def _option_group(*, order: RepairOrder, title: str, jobs: list[tuple[str, RepairJob]], at: dt.datetime) -> OptionGroup:
    group = OptionGroup.objects.create(order=order, title=title[:200], created_at=at)
    JobOption.objects.bulk_create(
        [JobOption(job=job, group=group, label=label[:60], is_recommended=n == 0) for n, (label, job) in enumerate(jobs)]
    )
    repair_order_refresh_totals(order=order)  # the alternatives beside the recommended one leave the total
    return group


def estimate_add_operation(
    *, actor: Any, order: RepairOrder, operation: LabourOperation, part_choice: str = PartChoice.OEM,
    is_additional: bool = False, cause: str = "", at: dt.datetime | None = None,
) -> list[RepairJob]:
    """Add an operation of the labour guide as a proposed job: hours × the store's rate, and its parts (OEM, the
    aftermarket equivalents, or both as two options the customer chooses between)."""
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    if operation.group_id != order.store.group_id or not operation.is_active:
        raise ValidationFailed("operation_not_found", _("No such operation in the labour guide."), "operation")
    _editable(order)
    at = at or timezone.now()
    variants = _operation_variants(operation, order, part_choice)
    title = operation.name_in(_language(order))
    with service_atomic():
        jobs = []
        for label, lines in variants:
            jobs.append((label, repair_job_add(
                actor=actor, order=order, title=f"{title} · {label}" if label else title, job_type=operation.job_type,
                lines=lines, cause=cause, is_additional=is_additional, standard_hours=operation.standard_hours,
                required_skill=operation.required_skill, required_certificate=operation.required_certificate, at=at,
            )))
        if len(jobs) > 1:
            _option_group(order=order, title=title, jobs=jobs, at=at)
        _ensure_draft(order, actor, at)
    return [job for _label, job in jobs]


def estimate_add_canned_job(*, actor: Any, order: RepairOrder, canned_job: Any, at: dt.datetime | None = None) -> RepairJob:
    """A standard job in one click: its duration as labour hours at the store's rate, and its default parts."""
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    if canned_job.store_id != order.store_id or not canned_job.is_active:
        raise ValidationFailed("canned_job_not_found", _("No such standard job at this store."), "canned_job")
    _editable(order)
    at = at or timezone.now()
    language = _language(order)
    service_type = canned_job.service_type
    job_type = SERVICE_KIND_JOB_TYPE.get(service_type.kind, JobType.OTHER)
    hours = (Decimal(canned_job.duration) / 60).quantize(HOURS)
    rate = labour_rate_for(order.store, job_type)
    lines = [_labour_line(code=service_type.code.upper(), description=canned_job.name, hours=hours, rate=rate)]
    lines += [_part_line(row.part, row.quantity, language) for row in canned_job.parts.select_related("part").order_by("id")]
    with service_atomic():
        job = repair_job_add(
            actor=actor, order=order, title=canned_job.name, job_type=job_type, lines=lines, standard_hours=hours,
            required_skill=service_type.required_skill, at=at,
        )
        # the open estimate, for the caller's answer (estimates API add-job): not read again (issue 19)
        order._draft_estimate = _ensure_draft(order, actor, at)  # type: ignore[attr-defined]
    return job


def estimate_add_job(
    *, actor: Any, order: RepairOrder, title: str, job_type: str = JobType.REPAIR, hours: Any = None,
    lines: list[dict[str, Any]] | None = None, cause: str = "", required_skill: str = "", discount: Any = 0,
    at: dt.datetime | None = None,
) -> RepairJob:
    """A job written by the advisor: ``hours`` become a labour line at the store's rate (less ``discount``), plus
    any parts or fees (``lines`` as for ``repair_job_add``; a line's ``discount`` shows on the estimate)."""
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    _editable(order)
    at = at or timezone.now()
    job_type = _job_type(job_type)
    all_lines = list(lines or [])
    standard = Decimal("0")
    if hours not in (None, ""):
        standard = _hours(hours, "hours")
        rate = labour_rate_for(order.store, job_type)
        labour = _labour_line(code="", description=_text(title, "title", 200) or "-", hours=standard, rate=rate)
        labour["discount"] = discount or 0
        all_lines.insert(0, labour)
    elif discount not in (0, "0", "", None):
        raise ValidationFailed("discount_needs_labour", _("A discount here is on the labour: enter the hours too."), "discount")
    with service_atomic():
        job = repair_job_add(
            actor=actor, order=order, title=title, job_type=job_type, lines=all_lines, cause=cause,
            standard_hours=standard, required_skill=required_skill, at=at,
        )
        # the open estimate, for the caller's answer (estimates API add-job): not read again (issue 19)
        order._draft_estimate = _ensure_draft(order, actor, at)  # type: ignore[attr-defined]
    return job


def estimate_group_options(
    *, actor: Any, order: RepairOrder, title: str, jobs: list[RepairJob], labels: list[str] | None = None,
    at: dt.datetime | None = None,
) -> OptionGroup:
    """Make proposed jobs alternatives of one another (good / better / best): the customer approves one at most."""
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    title = _text(title, "title", 200, required=True, message=_("Name what the options are for."))
    if len(jobs) < 2 or len({j.pk for j in jobs}) != len(jobs):
        raise ValidationFailed("options_too_few", _("Choose at least two different jobs as options."), "jobs")
    labels = labels or [job.title for job in jobs]
    if len(labels) != len(jobs):
        raise ValidationFailed("labels_mismatch", _("Give one label per option."), "labels")
    at = at or timezone.now()
    with service_atomic():
        locked = list(RepairJob.objects.select_for_update().filter(pk__in=[j.pk for j in jobs], order=order))
        if len(locked) != len(jobs):
            raise ValidationFailed("job_not_on_order", _("This job is not on this repair order."), "jobs")
        if any(j.status != JobStatus.PROPOSED for j in locked):
            raise Conflict("job_not_proposed", _("Only proposed jobs can be offered as options."), "jobs")
        if JobOption.objects.filter(job__in=locked).exists():
            raise Conflict("already_an_option", _("A job is already an option of another group."), "jobs")
        if Estimate.objects.filter(order=order, status=EstimateStatus.SENT, jobs__in=locked).exists():
            raise Conflict("estimate_sent", _("The estimate with these jobs is with the customer; revise it first."), "jobs")
        group = _option_group(order=order, title=title, jobs=list(zip(labels, jobs, strict=True)), at=at)
        audit.record(
            actor=actor, obj=order, action="estimate.options", store_id=order.store_id, customer_id=order.customer_id,
            reason=title, changes={"options": [None, [j.pk for j in jobs]]}, at=at,
        )
    return group


# ---- correcting the estimate ----------------------------------------------------------------------------------------
def _revision_snapshot(figures: Any, note: str) -> dict[str, Any]:
    return {
        "note": note, "total": str(figures.total), "tax": str(figures.tax), "discount": str(figures.discount),
        "jobs": [
            {"id": r.job.pk, "seq": r.job.seq, "title": r.job.title, "total": str(r.total),
             "option_group": r.option.group.title if r.option else "", "option": r.option.label if r.option else "",
             "lines": [{"kind": ln.kind, "code": ln.code, "description": ln.description, "quantity": str(ln.quantity),
                        "unit_price": str(ln.unit_price), "discount": str(ln.discount), "amount": str(ln.amount)}
                       for ln in r.lines]}  # read once with the figures (issue 19)
            for r in figures.jobs
        ],
    }


def _job_on_order(order: RepairOrder, job: RepairJob) -> None:
    if job.order_id != order.pk:
        raise ValidationFailed("job_not_on_order", _("This job is not on this repair order."), "job")


def _reopen_if_sent(order: RepairOrder, job: RepairJob, actor: Any, at: dt.datetime) -> Estimate | None:
    """A job of the estimate with the customer is being changed: that version goes back to draft (its link stops
    working; what was sent stays as a revision) and the advisor sends the corrected version to approve again."""
    estimate = (
        Estimate.objects.select_for_update().filter(order=order, status=EstimateStatus.SENT, jobs=job).first()
    )
    if estimate is None:
        return None
    estimate.version += 1
    estimate.save(update_fields=["version"])
    _estimate_move(estimate, EstimateStatus.DRAFT, actor, at, reason=coded(gettext_noop("revised: %(t)s"), t=in_both(job_title, job)))
    EstimateRevision.objects.filter(estimate=estimate, superseded_at__isnull=True).update(superseded_at=at)
    audit.record(
        actor=actor, obj=order, action="estimate.revised", store_id=order.store_id, customer_id=order.customer_id,
        reason=job.title, at=at,
    )
    return estimate


def estimate_job_edit(
    *, actor: Any, order: RepairOrder, job: RepairJob, title: str | None = None, cause: str | None = None,
    lines: list[dict[str, Any]] | None = None, at: dt.datetime | None = None,
) -> RepairJob:
    """Correct a proposed job: title, cause, and its labour, parts and fee lines with their discounts (``lines`` is
    the whole new list; a line may name a catalogue ``part``). While the estimate is a draft it simply changes;
    once sent, the sent version is kept and the estimate goes back to draft to be sent and approved again."""
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    _job_on_order(order, job)
    at = at or timezone.now()
    with service_atomic():
        RepairOrder.objects.select_for_update(of=("self",)).get(pk=order.pk)
        _reopen_if_sent(order, job, actor, at)
        edited = repair_job_revise(actor=actor, job=job, title=title, cause=cause, lines=lines, at=at)
        _ensure_draft(order, actor, at)
    return edited


def estimate_job_delete(*, actor: Any, order: RepairOrder, job: RepairJob, at: dt.datetime | None = None) -> None:
    """Delete a proposed job. In an option group the other options stay (a single one left is an ordinary job);
    a job of a sent estimate takes the estimate back to draft as :func:`estimate_job_edit` does."""
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    _job_on_order(order, job)
    at = at or timezone.now()
    with service_atomic():
        RepairOrder.objects.select_for_update(of=("self",)).get(pk=order.pk)
        _reopen_if_sent(order, job, actor, at)
        option = JobOption.objects.filter(job=job).select_related("group").first()
        repair_job_remove(actor=actor, job=job, at=at)
        if option is not None:
            rest = list(JobOption.objects.filter(group=option.group).order_by("id"))
            if len(rest) < 2:
                option.group.delete()  # one option left: an ordinary job again
            elif option.is_recommended:
                JobOption.objects.filter(pk=rest[0].pk).update(is_recommended=True)
            repair_order_refresh_totals(order=order)


# ---- sending -----------------------------------------------------------------------------------------------------
def _estimate_move(
    estimate: Estimate, to: str, actor: Any, at: dt.datetime, reason: str = "", also_save: tuple[str, ...] = (),
) -> None:
    move(
        estimate, to=to, actor=actor, transitions=ESTIMATE_TRANSITIONS, event_model=EstimateEvent, event_fk="estimate",
        labels=EstimateStatus, at=at, reason=reason[:300], also_save=also_save,
    )


def approval_token(estimate: Estimate) -> str:
    return signing.dumps({"e": estimate.pk, "v": estimate.version}, salt=APPROVAL_SALT, compress=True)


def status_token(order: RepairOrder) -> str:
    return signing.dumps({"o": order.pk}, salt=STATUS_SALT, compress=True)


def _public(path: str) -> str:
    return f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}{path}"


def approval_url(estimate: Estimate) -> str:
    return _public(reverse("estimates:approve", args=[approval_token(estimate)]))


def status_url(order: RepairOrder) -> str:
    return _public(reverse("estimates:status", args=[status_token(order)]))


def estimate_from_token(token: str, *, now: dt.datetime | None = None) -> tuple[Estimate | None, str]:
    """(estimate, "") for a valid link; (None, "invalid" | "expired") otherwise. A revised estimate's old link is
    ("revised"); a decided one is returned with "decided" (the page shows what was decided)."""
    try:
        data = signing.loads(token, salt=APPROVAL_SALT, max_age=dt.timedelta(hours=APPROVAL_LINK_HOURS))
    except signing.SignatureExpired:
        return None, "expired"
    except signing.BadSignature:
        return None, "invalid"
    if not isinstance(data, dict) or not isinstance(data.get("e"), int):
        return None, "invalid"
    estimate = Estimate.objects.select_related("order__store", "order__customer", "order__vehicle").filter(pk=data["e"]).first()
    if estimate is None:
        return None, "invalid"
    if estimate.version != data.get("v"):
        return estimate, "revised"
    if estimate.status == EstimateStatus.DECIDED:
        return estimate, "decided"
    if estimate.status != EstimateStatus.SENT:
        return estimate, "revised"
    return estimate, ""


def order_from_status_token(token: str) -> RepairOrder | None:
    try:
        data = signing.loads(token, salt=STATUS_SALT, max_age=dt.timedelta(days=STATUS_LINK_DAYS))
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("o"), int):
        return None
    return RepairOrder.objects.select_related("store", "customer", "vehicle", "advisor").filter(pk=data["o"]).first()


def estimate_send(*, actor: Any, order: RepairOrder, note: str = "", at: dt.datetime | None = None) -> Estimate:
    """Send the order's proposed jobs to the customer: the estimate goes to "sent" (a new version: an older link
    stops working), the order to "estimate sent" (or "waiting for authorization" mid-repair), and an SMS / WeChat
    message with the signed link is queued in the same transaction."""
    from aftersales.messaging.services import customer_variables, message_enqueue

    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    note = _text(note, "note", 500)
    at = at or timezone.now()
    with service_atomic():
        locked = order if held(order, "store", "customer", "vehicle", "advisor") else hold(  # the API's scoped read
            RepairOrder.objects.select_for_update(of=("self",)).select_related("store", "customer", "vehicle", "advisor")
            .get(pk=order.pk))  # locked once: nested moves use it
        jobs = list(RepairJob.objects.filter(order=locked, status=JobStatus.PROPOSED).order_by("seq"))
        if not jobs:
            raise ValidationFailed("nothing_to_send", _("There is no proposed job to send."), "jobs")
        from .selectors import estimate_figures

        figures = estimate_figures(locked, jobs)
        if figures.unpriced:  # a ¥0 job never reaches the customer
            raise ValidationFailed(
                "unpriced_jobs",
                _("Price every job before sending: %(jobs)s.") % {"jobs": "、".join(r.job.title for r in figures.unpriced)},
                "jobs",
            )
        additional = locked.status in ADDITIONAL_STATES
        if not additional and locked.status not in (
            OrderStatus.CHECKED_IN, OrderStatus.INSPECTING, OrderStatus.ESTIMATE_SENT, OrderStatus.AUTHORIZED
        ):
            raise Conflict(
                "order_state",
                _("An estimate cannot be sent while the order is “%(s)s”.") % {"s": locked.get_status_display()}, "status",
            )
        groups = OptionGroup.objects.filter(order=locked, options__job__in=jobs).distinct()
        for group in groups:
            if group.options.filter(job__status=JobStatus.PROPOSED).count() < 2:
                raise ValidationFailed("options_too_few", _("“%(t)s” needs at least two proposed options.") % {"t": group.title}, "jobs")
        estimate = _ensure_draft(locked, actor, at, lock=True)  # locked as it is read: not read twice
        if estimate.status == EstimateStatus.SENT and {j.pk for j in jobs} == set(
            estimate.jobs.values_list("pk", flat=True)
        ) and note == estimate.note:
            return estimate  # already with the customer as it is: a second click sends nothing
        if estimate.status == EstimateStatus.SENT:
            _estimate_move(estimate, EstimateStatus.DRAFT, actor, at, reason="revised")
        estimate.kind = EstimateKind.ADDITIONAL if additional else EstimateKind.INITIAL
        estimate.version += 1
        estimate.note = note
        estimate.sent_at = at
        estimate.expires_at = at + dt.timedelta(hours=APPROVAL_LINK_HOURS)
        estimate.jobs.set(jobs)
        # the jobs as just set, as a prefetch would leave them: the response's job ids are not read back (issue 19)
        sent_jobs = RepairJob.objects.filter(pk__in=[j.pk for j in jobs]).order_by("seq", "id")
        sent_jobs._result_cache, sent_jobs._prefetch_done = list(jobs), True  # type: ignore[attr-defined]
        cache = getattr(estimate, "_prefetched_objects_cache", None)
        if cache is None:
            cache = {}
            estimate._prefetched_objects_cache = cache  # type: ignore[attr-defined]
        cache["jobs"] = sent_jobs
        _estimate_move(  # the new version and the state in one UPDATE
            estimate, EstimateStatus.SENT, actor, at, also_save=("kind", "version", "note", "sent_at", "expires_at"),
        )
        EstimateRevision.objects.filter(estimate=estimate, superseded_at__isnull=True).update(superseded_at=at)
        EstimateRevision.objects.create(
            estimate=estimate, version=estimate.version, sent_at=at, sent_by=actor if getattr(actor, "pk", None) else None,
            total=figures.total, snapshot=_revision_snapshot(figures, note),
        )
        if additional and locked.status == OrderStatus.IN_PROGRESS:
            repair_order_move(actor=actor, order=locked, to=OrderStatus.WAITING_AUTH, reason=coded(gettext_noop("Additional work to approve")), at=at)
        elif not additional and locked.status != OrderStatus.ESTIMATE_SENT:
            repair_order_move(actor=actor, order=locked, to=OrderStatus.ESTIMATE_SENT, at=at)
        customer = locked.customer
        variables = {
            **customer_variables(customer=customer, store=locked.store),
            "plate": locked.vehicle.plate, "model": f"{locked.vehicle.make} {locked.vehicle.model}".strip(),
            "amount": f"{figures.total:,.2f}", "link": approval_url(estimate),
        }
        if additional:
            variables["work"] = "、".join(j.title for j in jobs)[:120]
        message_enqueue(
            kind="estimate.additional_work" if additional else "estimate.approval", store=locked.store, customer=customer,
            variables=variables, dedup_key=f"estimate:{estimate.pk}:v{estimate.version}",
        )
        audit.record(
            actor=actor, obj=locked, action="estimate.sent", store_id=locked.store_id, customer_id=locked.customer_id,
            changes={"estimate": [None, f"v{estimate.version} ¥{figures.total}"]}, reason=note, at=at,
        )
    return estimate


def estimate_withdraw(*, actor: Any, order: RepairOrder, reason: str = "", at: dt.datetime | None = None) -> Estimate:
    """Take a sent estimate back to draft to revise it: its link stops working at once."""
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    at = at or timezone.now()
    with service_atomic():
        estimate = Estimate.objects.select_for_update().filter(order=order, status=EstimateStatus.SENT).first()
        if estimate is None:
            raise Conflict("no_sent_estimate", _("No estimate is waiting for the customer."), "estimate")
        estimate.version += 1  # the link sent carries the old version
        estimate.save(update_fields=["version"])
        _estimate_move(estimate, EstimateStatus.DRAFT, actor, at, reason=reason or "withdrawn")
        audit.record(
            actor=actor, obj=order, action="estimate.withdrawn", store_id=order.store_id, customer_id=order.customer_id,
            reason=reason, at=at,
        )
    return estimate


# ---- the customer's decision ---------------------------------------------------------------------------------------
def signature_png(data_url: str) -> bytes:
    """The PNG of a signature drawn on the canvas (a data: URL), checked with Pillow: a real PNG, not blank."""
    from PIL import Image, UnidentifiedImageError

    prefix = "data:image/png;base64,"
    if not data_url or not data_url.startswith(prefix):
        raise ValidationFailed("signature_required", _("Please sign in the box with your finger or the mouse."), "signature")
    try:
        raw = base64.b64decode(data_url[len(prefix):], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed("signature_invalid", _("The signature could not be read; please sign again."), "signature") from exc
    if len(raw) > SIGNATURE_MAX_BYTES:
        raise ValidationFailed("signature_too_large", _("The signature image is too large; please sign again."), "signature")
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(raw)) as img:
            if img.format != "PNG" or not (40 <= img.width <= 3000 and 20 <= img.height <= 2000):
                raise ValidationFailed("signature_invalid", _("The signature could not be read; please sign again."), "signature")
            rgba = img.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationFailed("signature_invalid", _("The signature could not be read; please sign again."), "signature") from exc
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    ink = Image.alpha_composite(white, rgba).convert("L").point(lambda v: 255 if v < 200 else 0)
    if ink.getbbox() is None:
        raise ValidationFailed("signature_required", _("Please sign in the box with your finger or the mouse."), "signature")
    return raw


def _job_amounts(jobs: list[RepairJob]) -> dict[int, tuple[Decimal, list[RepairLine]]]:
    lines: dict[int, list[RepairLine]] = {j.pk: [] for j in jobs}
    for line in RepairLine.objects.filter(job__in=jobs).order_by("id"):
        lines[line.job_id].append(line)
    return {
        job_id: (totals([LineAmount(ln.quantity, ln.unit_price, ln.discount) for ln in rows]).total, rows)
        for job_id, rows in lines.items()
    }


def _normalise_decisions(
    jobs: list[RepairJob], decisions: dict[Any, dict[str, Any]], options: dict[int, JobOption]
) -> dict[int, dict[str, Any]]:
    """Every job decided explicitly (approve True/False); in an option group at most one approved, the others
    declined as "another option chosen"."""
    out: dict[int, dict[str, Any]] = {}
    by_key = {int(k): v for k, v in decisions.items()}
    group_choice: dict[int, int | None] = {}
    for job in jobs:
        d = by_key.get(job.pk) or {}
        approve = d.get("approve")
        option = options.get(job.pk)
        if option is not None:
            if approve:
                if group_choice.get(option.group_id):
                    raise ValidationFailed(
                        "one_option_only", _("Choose one option of “%(t)s”.") % {"t": option.group.title},
                        f"group_{option.group_id}",
                    )
                group_choice[option.group_id] = job.pk
            else:
                group_choice.setdefault(option.group_id, None)
        elif approve is None:
            raise ValidationFailed(
                "decision_required", _("Approve or decline “%(t)s”.") % {"t": job.title}, f"job_{job.pk}"
            )
        out[job.pk] = {
            "approve": bool(approve), "reason": _text(d.get("reason", ""), f"job_{job.pk}.reason", 300),
            "aftermarket_consent": bool(d.get("aftermarket_consent")),
        }
    for job in jobs:
        option = options.get(job.pk)
        if option is None:
            continue
        chosen = group_choice.get(option.group_id)
        explicit = any((by_key.get(j.pk) or {}).get("approve") is not None for j in jobs if options.get(j.pk) and options[j.pk].group_id == option.group_id)
        if chosen is None and not explicit:
            raise ValidationFailed(
                "decision_required", _("Choose an option of “%(t)s”, or decline it.") % {"t": option.group.title},
                f"group_{option.group_id}",
            )
        if chosen is not None and chosen != job.pk and not out[job.pk]["reason"]:
            out[job.pk]["reason"] = _("Another option was chosen")
    return out


def _decide(
    *, estimate: Estimate, version: int, decisions: dict[Any, dict[str, Any]], actor: Any, method: str, signer_name: str,
    signature: str = "", said: str = "", recorded_by: Any = None, approved_at: dt.datetime | None = None,
    ip: str | None = None, user_agent: str = "", at: dt.datetime | None = None,
) -> Authorization:
    at = at or timezone.now()
    signer_name = _text(signer_name, "signer_name", 80, required=True, message=_("Write the name of the person approving."))
    png = signature_png(signature) if method in (AuthorizationMethod.LINK, AuthorizationMethod.TABLET) else b""
    if method == AuthorizationMethod.PHONE:
        said = _text(said, "said", 2000, required=True, message=_("Write down what the customer said."))
    with service_atomic():
        locked = Estimate.objects.select_for_update(of=("self",)).get(pk=estimate.pk)
        if locked.version != version or locked.status in (EstimateStatus.DRAFT, EstimateStatus.CANCELLED):
            raise Conflict("estimate_revised", _("This estimate has been revised; please open the newest link."), "estimate")
        if locked.status == EstimateStatus.DECIDED:
            raise Conflict("already_decided", _("This estimate has already been decided."), "estimate")
        if method == AuthorizationMethod.PHONE:
            approved_at = approved_at or at
            if approved_at > at + dt.timedelta(minutes=5) or (locked.sent_at and approved_at < locked.sent_at - dt.timedelta(hours=12)):
                raise ValidationFailed("approved_at_invalid", _("The time of the call must be after the estimate was prepared and not in the future."), "approved_at")
        else:
            approved_at = at
        jobs = list(RepairJob.objects.select_for_update().filter(pk__in=locked.jobs.values("pk")).order_by("seq", "id"))
        # The order row locked once, with what the progress messages need, and handed to the nested job and order
        # moves with the locked jobs (common/db.py hold): none of them reads it again.
        order = hold(RepairOrder.objects.select_for_update(of=("self",)).select_related(
            "store", "customer", "vehicle", "advisor",
        ).get(pk=locked.order_id))
        for job in jobs:
            hold(job).order = order
        if any(j.status != JobStatus.PROPOSED for j in jobs):
            raise Conflict("estimate_changed", _("A job of this estimate has changed since it was sent; please ask the advisor."), "estimate")
        options = {o.job_id: o for o in JobOption.objects.select_related("group").filter(job__in=jobs)}
        decided = _normalise_decisions(jobs, decisions, options)
        amounts = _job_amounts(jobs)
        for job in jobs:
            has_aftermarket = any(line.is_aftermarket for line in amounts[job.pk][1])
            if decided[job.pk]["approve"] and has_aftermarket and not decided[job.pk]["aftermarket_consent"]:
                raise ValidationFailed(
                    "aftermarket_consent_required",
                    _("“%(t)s” uses non-OEM (aftermarket) parts: tick that you accept them, or decline the job.") % {"t": job.title},
                    f"job_{job.pk}.aftermarket_consent",
                )
            decided[job.pk]["has_aftermarket"] = has_aftermarket
        how = coded({  # stored as codes: each reader reads how and who in their own language
            str(AuthorizationMethod.LINK): gettext_noop("signed link"), str(AuthorizationMethod.TABLET): gettext_noop("signed on the tablet"),
            str(AuthorizationMethod.PHONE): gettext_noop("by phone"),
        }[method])
        how_who = coded(gettext_noop("%(how)s: %(name)s"), how=how, name=signer_name)
        auth = Authorization(
            order=order, estimate=locked, method=method, signer_name=signer_name, phone_said=said,
            recorded_by=recorded_by if getattr(recorded_by, "pk", None) else None, approved_at=approved_at, recorded_at=at,
            ip=ip or None, user_agent=(user_agent or "")[:300], approved_total=Decimal("0.00"), declined_total=Decimal("0.00"),
        )
        snapshot_jobs = []
        items = []
        approved_amounts: list[LineAmount] = []
        declined_amounts: list[LineAmount] = []
        for job in jobs:
            d = decided[job.pk]
            amount, lines = amounts[job.pk]
            line_amounts = [LineAmount(ln.quantity, ln.unit_price, ln.discount) for ln in lines]
            (approved_amounts if d["approve"] else declined_amounts).extend(line_amounts)
            reason = d["reason"] or ("" if d["approve"] else coded(gettext_noop("Declined by the customer")))
            repair_job_move(
                actor=actor, job=job, to=JobStatus.AUTHORIZED if d["approve"] else JobStatus.DECLINED,
                reason=how_who if d["approve"] else coded(gettext_noop("%(reason)s (%(how)s: %(name)s)"), reason=reason, how=how, name=signer_name),
                at=at,
            )
            if not d["approve"]:
                RepairJob.objects.filter(pk=job.pk).update(declined_reason=reason[:300])
            option = options.get(job.pk)
            items.append(AuthorizationItem(
                job=job, approved=d["approve"], amount=amount, has_aftermarket=d["has_aftermarket"],
                aftermarket_consent=d["approve"] and d["aftermarket_consent"], reason="" if d["approve"] else reason[:300],
            ))
            snapshot_jobs.append({
                "id": job.pk, "seq": job.seq, "title": job.title, "job_type": job.job_type, "approved": d["approve"],
                "reason": "" if d["approve"] else reason, "aftermarket": d["has_aftermarket"],
                "aftermarket_consent": d["approve"] and d["aftermarket_consent"], "amount": str(amount),
                "option_group": option.group.title if option else "", "option": option.label if option else "",
                "lines": [
                    {"kind": ln.kind, "code": ln.code, "description": ln.description, "quantity": str(ln.quantity),
                     "unit_price": str(ln.unit_price), "discount": str(ln.discount), "amount": str(ln.amount),
                     "part_id": ln.part_id, "is_aftermarket": ln.is_aftermarket}
                    for ln in lines
                ],
            })
        approved = totals(approved_amounts)
        auth.approved_total = approved.total
        auth.declined_total = totals(declined_amounts).total
        if order.insurer_amount is not None:  # an insured repair: the customer approves only their share
            auth.insurer_part, auth.customer_share = insurance_split(approved.total, order.insurer_amount)
        auth.snapshot = {
            "estimate": locked.pk, "version": locked.version, "kind": locked.kind, "currency": "CNY",
            "jobs": snapshot_jobs, "approved_total": str(approved.total), "approved_tax_included": str(approved.tax),
            "declined_total": str(auth.declined_total), "method": method, "signer": signer_name,
            "approved_at": approved_at.isoformat(),
            **({"insurer": order.insurer_name, "insurer_part": str(auth.insurer_part),
                "customer_share": str(auth.customer_share)} if auth.customer_share is not None else {}),
        }
        if png:
            auth.signature.save(f"{uuid.uuid4().hex}.png", ContentFile(png), save=False)
        auth.save()
        for item in items:
            item.authorization = auth
        AuthorizationItem.objects.bulk_create(items)
        locked.decided_at = at
        _estimate_move(locked, EstimateStatus.DECIDED, actor, at, reason=how_who, also_save=("decided_at",))  # one UPDATE
        if not held(order):  # (it is: the nested moves changed this very object)
            order.refresh_from_db()
        # a job of this estimate approved just now is enough; else one approved earlier (a query)
        any_approved = any(decided[j.pk]["approve"] for j in jobs) or RepairJob.objects.filter(
            order=order, status__in=APPROVED_JOB_STATES).exists()
        if order.status == OrderStatus.WAITING_AUTH:
            repair_order_move(actor=actor, order=order, to=OrderStatus.IN_PROGRESS, reason=how, at=at, approved_job=any_approved)
        elif order.status == OrderStatus.ESTIMATE_SENT and any_approved:
            repair_order_move(actor=actor, order=order, to=OrderStatus.AUTHORIZED, reason=how_who, at=at, approved_job=True)
        audit.record(
            actor=actor, obj=order, action="estimate.decided", store_id=order.store_id, customer_id=order.customer_id,
            changes={"approved_total": [None, str(auth.approved_total)], "declined_total": [None, str(auth.declined_total)]},
            reason=how_who, at=at,
        )
    return auth


def authorize_by_link(
    *, token: str, decisions: dict[Any, dict[str, Any]], signer_name: str, signature: str, ip: str | None = None,
    user_agent: str = "", at: dt.datetime | None = None,
) -> Authorization:
    """The customer decides on the signed link (no login): the token names the estimate and its version."""
    estimate, problem = estimate_from_token(token)
    if estimate is None:
        raise ValidationFailed(
            "link_expired" if problem == "expired" else "link_invalid",
            _("This link has expired; please ask the store for a new one.") if problem == "expired"
            else _("This link is not valid."), "token",
        )
    try:
        version = signing.loads(token, salt=APPROVAL_SALT)["v"]
    except (signing.BadSignature, KeyError, TypeError) as exc:  # pragma: no cover - checked just above
        raise ValidationFailed("link_invalid", _("This link is not valid."), "token") from exc
    return _decide(
        estimate=estimate, version=version, decisions=decisions, actor=CustomerActor(estimate.order, signer_name),
        method=AuthorizationMethod.LINK, signer_name=signer_name, signature=signature, ip=ip, user_agent=user_agent, at=at,
    )


def _sent_estimate(order: RepairOrder) -> Estimate:
    estimate = Estimate.objects.filter(order=order, status=EstimateStatus.SENT).first()
    if estimate is None:
        raise Conflict("no_sent_estimate", _("No estimate is waiting for the customer; send it first."), "estimate")
    return estimate


def authorize_on_tablet(
    *, actor: Any, order: RepairOrder, decisions: dict[Any, dict[str, Any]], signer_name: str, signature: str,
    version: int | None = None, at: dt.datetime | None = None,
) -> Authorization:
    """The customer signs on the advisor's tablet (the same page inside the staff UI)."""
    require(actor, "workshop.change_repairjob")
    require_store(actor, order.store_id)
    estimate = _sent_estimate(order)
    return _decide(
        estimate=estimate, version=estimate.version if version is None else version, decisions=decisions, actor=actor,
        method=AuthorizationMethod.TABLET, signer_name=signer_name, signature=signature, recorded_by=actor, at=at,
    )


def authorize_by_phone(
    *, actor: Any, order: RepairOrder, decisions: dict[Any, dict[str, Any]], approver_name: str, said: str,
    approved_at: dt.datetime | None = None, version: int | None = None, at: dt.datetime | None = None,
) -> Authorization:
    """The advisor records a phone approval: who approved, when, and what was said."""
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    estimate = _sent_estimate(order)
    return _decide(
        estimate=estimate, version=estimate.version if version is None else version, decisions=decisions, actor=actor,
        method=AuthorizationMethod.PHONE, signer_name=approver_name, said=said, recorded_by=actor,
        approved_at=approved_at, at=at,
    )


# ---- additional work found mid-repair --------------------------------------------------------------------------------
def check_photo(upload: Any) -> tuple[bytes, str, int, int]:
    """(bytes, content type, width, height) of an uploaded photo, verified with Pillow; refused with a clear error
    when it is too large or not a JPEG / PNG / WebP image."""
    from aftersales.common.uploads import probe_image

    name = getattr(upload, "name", "") or _("the file")
    size = getattr(upload, "size", None)
    if size is not None and size > PHOTO_MAX_BYTES:
        raise ValidationFailed(
            "photo_too_large", _("“%(name)s” is larger than %(mb)s MB.") % {"name": name, "mb": PHOTO_MAX_BYTES // (1024 * 1024)}, "photos"
        )
    data = upload.read(PHOTO_MAX_BYTES + 1)
    if len(data) > PHOTO_MAX_BYTES:
        raise ValidationFailed(
            "photo_too_large", _("“%(name)s” is larger than %(mb)s MB.") % {"name": name, "mb": PHOTO_MAX_BYTES // (1024 * 1024)}, "photos"
        )
    not_image = ValidationFailed("photo_not_image", _("“%(name)s” is not a photo (JPEG, PNG or WebP).") % {"name": name}, "photos")
    probed = probe_image(data)
    if probed is None or probed[0] not in PHOTO_FORMATS:
        raise not_image
    fmt, width, height = probed
    from aftersales.common.uploads import without_metadata

    data, width, height = without_metadata(data)  # upright, no EXIF/GPS
    return data, PHOTO_FORMATS[fmt], width, height


def additional_work_propose(
    *, actor: Any, order: RepairOrder, title: str, cause: str = "", operation: LabourOperation | None = None,
    hours: Any = None, part_choice: str = PartChoice.OEM, photos: list[Any] | None = None, at: dt.datetime | None = None,
) -> list[RepairJob]:
    """A technician found more work: a proposed job marked additional, with photos; the order waits for the
    customer's authorization ("waiting for authorization") and the advisor is told to send it."""
    from aftersales.messaging.services import message_enqueue

    require(actor, "estimates.propose_additional_work")
    require_store(actor, order.store_id)
    photos = list(photos or [])
    if not photos:
        raise ValidationFailed("photos_required", _("Add at least one photo of what you found."), "photos")
    if len(photos) > PHOTO_MAX_COUNT:
        raise ValidationFailed("too_many_photos", _("At most %(n)s photos.") % {"n": PHOTO_MAX_COUNT}, "photos")
    checked = [(upload, *check_photo(upload)) for upload in photos]
    cause = _text(cause, "cause", 300, required=True, message=_("Say what you found and why it needs doing."))
    if operation is None:
        title = _text(title, "title", 200, required=True, message=_("Name the job."))
    at = at or timezone.now()
    acting = _acting_with(actor, {"workshop.change_repairorder"})
    with service_atomic():
        locked = RepairOrder.objects.select_for_update(of=("self",)).select_related("store", "customer").get(pk=order.pk)
        if locked.status not in ADDITIONAL_STATES:
            raise Conflict(
                "order_not_in_progress", _("Additional work is proposed while the repair is in progress."), "order"
            )
        if operation is not None:
            jobs = estimate_add_operation(
                actor=acting, order=locked, operation=operation, part_choice=part_choice, is_additional=True, cause=cause, at=at
            )
        else:
            rate = labour_rate_for(locked.store, JobType.REPAIR)
            lines = [_labour_line(code="", description=title, hours=_hours(hours, "hours"), rate=rate)]
            jobs = [repair_job_add(
                actor=acting, order=locked, title=title, job_type=JobType.REPAIR, lines=lines, cause=cause,
                is_additional=True, standard_hours=_hours(hours, "hours"), at=at,
            )]
            _ensure_draft(locked, acting, at)
        for _upload, data, content_type, width, height in checked:
            photo = WorkPhoto(
                order=locked, job=jobs[0], content_type=content_type, width=width, height=height,
                uploaded_by=actor if getattr(actor, "pk", None) else None, at=at,
            )
            ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}[content_type]
            photo.image.save(f"{uuid.uuid4().hex}.{ext}", ContentFile(data), save=True)
        if locked.status == OrderStatus.IN_PROGRESS:
            repair_order_move(actor=acting, order=locked, to=OrderStatus.WAITING_AUTH, reason=jobs[0].title, at=at)
        if locked.advisor_id:
            with override(getattr(locked.advisor, "language", "") or "zh-hans"):  # the advisor's language
                variables = {
                    "title": _("Additional work on %(n)s") % {"n": locked.number},
                    "details": _("%(who)s found: %(what)s. Send it to the customer for approval.")
                    % {"who": actor, "what": jobs[0].title},
                }
            message_enqueue(
                kind="staff.task", store=locked.store, staff_user=locked.advisor, channel="app",
                dedup_key=f"additional-work:{jobs[0].pk}", variables=variables,
            )
        audit.record(
            actor=actor, obj=locked, action="estimate.additional_work", store_id=locked.store_id,
            customer_id=locked.customer_id, reason=cause, changes={"jobs": [None, [j.pk for j in jobs]]}, at=at,
        )
    return jobs


# ---- declined recommendations --------------------------------------------------------------------------------------
def declined_repropose(*, actor: Any, job: RepairJob, order: RepairOrder, at: dt.datetime | None = None) -> RepairJob:
    """Offer a declined recommendation again (on a later order of the vehicle, or on the same one when the customer
    changes their mind): a new proposed job with the lines as quoted, to be authorized like any other."""
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    source = RepairJob.objects.select_related("order").get(pk=job.pk)
    if source.status != JobStatus.DECLINED or source.order.vehicle_id != order.vehicle_id:
        raise ValidationFailed("not_a_declined_job", _("This is not a declined recommendation for this vehicle."), "job")
    _editable(order)
    at = at or timezone.now()
    with service_atomic():
        RepairJob.objects.select_for_update().filter(pk=source.pk).first()  # one re-proposal at a time
        if Reproposal.objects.filter(source_job=source).exists():
            raise Conflict("already_reproposed", _("This recommendation has already been offered again."), "job")
        lines = [
            {"kind": ln.kind, "code": ln.code, "description": ln.description, "quantity": ln.quantity,
             "unit_price": ln.unit_cost if source.job_type in ("warranty", "internal") else ln.unit_price,
             "discount": ln.discount, "unit_cost": ln.unit_cost, "part": ln.part, "is_aftermarket": ln.is_aftermarket}
            for ln in source.lines.select_related("part").order_by("id")
        ]
        new = repair_job_add(
            actor=actor, order=order, title=source.title, job_type=source.job_type, lines=lines,
            cause=source.cause or _("Recommended on %(n)s") % {"n": source.order.number},
            standard_hours=source.standard_hours, required_skill=source.required_skill,
            required_certificate=source.required_certificate, at=at,
        )
        Reproposal.objects.create(source_job=source, new_job=new, actor=actor if getattr(actor, "pk", None) else None, at=at)
        _ensure_draft(order, actor, at)
    return new


# ---- the invoice rule ----------------------------------------------------------------------------------------------
def assert_within_authorization(*, order: RepairOrder, amount: Any) -> Decimal:
    """Refuse an amount (an invoice's total) above what the customer authorized on this order; returns the
    authorized total. Billing calls this before posting an invoice: going above needs a new authorization."""
    from .selectors import authorized_total

    value = parse_money(amount, "amount", allow_negative=True)
    limit = authorized_total(order)
    if value > limit:
        raise Conflict(
            "above_authorized",
            _("¥%(a)s is above the ¥%(b)s the customer authorized; ask the customer to authorize the difference first.")
            % {"a": f"{value:,.2f}", "b": f"{limit:,.2f}"},
            "amount", authorized_total=str(limit),
        )
    return limit


# ---- photos with the customer's description of the fault (issue 21) ------------------------------------------------
FAULT_PHOTO_MAX_COUNT = 6


def fault_photos_add(
    *, actor: Any = None, photos: list[Any], order: RepairOrder | None = None, appointment: Any = None,
    at: dt.datetime | None = None,
) -> list[Any]:
    """Keep the customer's photos with their description of the fault: on the appointment (booking form, owner app)
    or the repair order (API, counter). ``actor`` None is the owner booking for themselves (the caller resolved the
    appointment from the owner); a staff actor must hold ``estimates.add_faultphoto`` at the request's store. Every
    photo is checked before any is written (all refused or all kept)."""
    from .models import FaultPhoto

    if (order is None) == (appointment is None):
        raise ValidationFailed("request_required", _("Attach the photos to one booking or one repair order."), "order")
    store_id = order.store_id if order is not None else appointment.store_id
    if actor is not None:
        require(actor, "estimates.add_faultphoto")
        require_store(actor, store_id)
    photos = list(photos or [])
    if not photos:
        raise ValidationFailed("photos_required", _("Add at least one photo."), "photos")
    already = FaultPhoto.objects.filter(order=order).count() if order is not None else \
        FaultPhoto.objects.filter(appointment=appointment).count()
    if already + len(photos) > FAULT_PHOTO_MAX_COUNT:
        raise ValidationFailed("too_many_photos", _("At most %(n)s photos.") % {"n": FAULT_PHOTO_MAX_COUNT}, "photos")
    checked = [check_photo(upload) for upload in photos]
    at = at or timezone.now()
    saved: list[Any] = []
    with service_atomic():
        for data, content_type, width, height in checked:
            photo = FaultPhoto(
                store_id=store_id, order=order, appointment=appointment, content_type=content_type, width=width,
                height=height, uploaded_by=actor if getattr(actor, "pk", None) else None, at=at,
            )
            ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}[content_type]
            photo.image.save(f"{uuid.uuid4().hex}.{ext}", ContentFile(data), save=True)
            saved.append(photo)
        target = order if order is not None else appointment
        audit.record(
            actor=actor if getattr(actor, "pk", None) else None, obj=target, action="estimates.fault_photos",
            store_id=store_id, customer_id=target.customer_id, changes={"photos": [None, [p.pk for p in saved]]}, at=at,
        )
    return saved
