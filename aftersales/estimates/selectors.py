"""Reads for estimates, scoped to the acting user's stores (another store's order is a 404).

``authorized_total(order)`` and ``declined_recommendations(user=, vehicle=)`` are the entry points other apps use
(billing; the reception screen and the customer 360 page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils.translation import override

from aftersales.common.money import LineAmount, Totals, totals
from aftersales.common.names import guide_name
from aftersales.common.scoping import get_locked_or_404, get_or_404, restrict_to_stores, visible_store_ids
from aftersales.workshop.choices import APPROVED_JOB_STATES, IN_SHOP_STATES, JobStatus
from aftersales.workshop.models import ProgressNote, RepairJob, RepairLine, RepairOrder, RepairOrderEvent

from .choices import EstimateStatus
from .models import (
    Authorization,
    AuthorizationItem,
    Estimate,
    JobOption,
    LabourOperation,
    LabourRate,
    Reproposal,
    WorkPhoto,
)


# ---- orders ------------------------------------------------------------------------------------------------------
def orders_visible_to(user: Any) -> QuerySet[RepairOrder]:
    return restrict_to_stores(RepairOrder.objects.all(), user)


def order_list(user: Any, *, status: str = "", q: str = "", open_only: bool = False, store_id: int | None = None) -> QuerySet[RepairOrder]:
    qs = orders_visible_to(user).select_related("store", "customer", "vehicle", "advisor")
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    if status:
        qs = qs.filter(status=status)
    elif open_only:
        qs = qs.filter(status__in=IN_SHOP_STATES)
    q = " ".join((q or "").split())
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(vehicle__plate__icontains=q.upper()) | Q(customer__name__icontains=q))
    return qs.order_by("-opened_at", "-id")


def order_get(user: Any, order_id: int, *, lock: bool = False) -> RepairOrder:
    """The order (with store, customer, vehicle, advisor); ``lock``: locked and held for the caller's service
    transaction (common/scoping.py get_locked_or_404)."""
    qs = orders_visible_to(user).select_related("store", "customer", "vehicle", "advisor")
    return get_locked_or_404(qs, pk=order_id) if lock else get_or_404(qs, pk=order_id)


def job_get(user: Any, job_id: int) -> RepairJob:
    return get_or_404(
        RepairJob.objects.filter(order__store_id__in=visible_store_ids(user)).select_related("order__vehicle"), pk=job_id
    )


def order_jobs(order: RepairOrder) -> list[RepairJob]:
    """The order's jobs with lines, options, photos and re-proposal origin (a fixed number of queries)."""
    jobs = list(
        RepairJob.objects.filter(order=order).select_related("technician", "option__group", "reproposed_from__source_job__order")
        .prefetch_related(
            Prefetch("lines", queryset=RepairLine.objects.select_related("part").order_by("id")),
            Prefetch("photos", queryset=WorkPhoto.objects.order_by("id")),
        ).order_by("seq", "id")
    )
    for job in jobs:
        job.order = order  # the page's order object: names in the reader's language look its labour guide up once
    return jobs


# ---- the labour guide ----------------------------------------------------------------------------------------------
def operations_for(user: Any, *, q: str = "", include_inactive: bool = False) -> QuerySet[LabourOperation]:
    if not getattr(user, "is_authenticated", False):
        return LabourOperation.objects.none()
    qs = LabourOperation.objects.filter(group_id=user.dealer_group_id).prefetch_related("parts__part")
    if not include_inactive:
        qs = qs.filter(is_active=True)
    q = " ".join((q or "").split())
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name_zh__icontains=q) | Q(name_en__icontains=q))
    return qs.order_by("code")


def operation_get(user: Any, operation_id: int) -> LabourOperation:
    return get_or_404(operations_for(user), pk=operation_id)


def rates_for(user: Any, store: Any) -> QuerySet[LabourRate]:
    return restrict_to_stores(LabourRate.objects.filter(store=store), user).order_by("job_type")


def aftermarket_equivalents(part: Any) -> list[Any]:
    """Aftermarket parts of the same group that replace ``part``: they list its number (or OEM number) as an
    interchangeable number, or ``part`` lists theirs. Cheapest first."""
    from aftersales.parts.models import Part, PartAlias

    numbers = {n for n in (part.number, part.oem_number) if n}
    own_aliases = set(PartAlias.objects.filter(part=part).values_list("number", flat=True))
    return list(
        Part.objects.filter(group_id=part.group_id, is_oem=False, is_active=True)
        .filter(Q(aliases__number__in=numbers) | Q(number__in=own_aliases) | Q(oem_number__in=numbers))
        .exclude(pk=part.pk).distinct().order_by("sale_price", "number")
    )


def oem_equivalent(part: Any) -> Any:
    """The OEM part that ``part`` (an aftermarket one) replaces: its OEM number, or a number either lists as
    interchangeable. ``part`` itself when it is OEM; None when the catalogue knows no OEM original."""
    from aftersales.parts.models import Part, PartAlias

    if part.is_oem:
        return part
    numbers = {n for n in (part.oem_number,) if n} | set(PartAlias.objects.filter(part=part).values_list("number", flat=True))
    return (
        Part.objects.filter(group_id=part.group_id, is_oem=True, is_active=True)
        .filter(Q(number__in=numbers) | Q(oem_number__in=numbers) | Q(aliases__number=part.number))
        .exclude(pk=part.pk).distinct().order_by("sale_price", "number").first()
    )


def aftermarket_equivalent(part: Any) -> Any:
    found = aftermarket_equivalents(part)
    return found[0] if found else None


# ---- the estimate --------------------------------------------------------------------------------------------------
@dataclass
class JobFigures:
    job: RepairJob
    labour: Decimal
    parts: Decimal
    fees: Decimal
    discount: Decimal
    total: Decimal
    has_aftermarket: bool
    option: JobOption | None = None
    unpriced: bool = False
    lines: list[RepairLine] = field(default_factory=list)  # the job's lines, by id, as the figures were computed


@dataclass
class OptionBlock:
    title: str
    group_id: int
    choices: list[JobFigures] = field(default_factory=list)


@dataclass
class EstimateFigures:
    """The estimate's amounts (tax-inclusive, as common.money computes them). Options count with the recommended
    one (the first) in the total; the others are shown beside it."""

    jobs: list[JobFigures]
    singles: list[JobFigures]
    groups: list[OptionBlock]
    labour: Decimal
    parts: Decimal
    fees: Decimal
    discount: Decimal
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    unpriced: list[JobFigures] = field(default_factory=list)


def _job_figures(job: RepairJob, lines: list[RepairLine], option: JobOption | None) -> JobFigures:
    def part_total(kind: str) -> Decimal:
        return totals([LineAmount(ln.quantity, ln.unit_price) for ln in lines if ln.kind == kind]).subtotal

    t = totals([LineAmount(ln.quantity, ln.unit_price, ln.discount) for ln in lines])
    return JobFigures(
        job=job, labour=part_total("labour"), parts=part_total("part"), fees=part_total("fee"), discount=t.discount,
        total=t.total, has_aftermarket=any(ln.is_aftermarket for ln in lines), option=option,
        unpriced=job_unpriced(job, lines), lines=list(lines),
    )


def job_unpriced(job: RepairJob, lines: list[RepairLine]) -> bool:
    """A job with no line, or a chargeable job whose lines are all at ¥0 (a warranty or internal job is free to the
    customer by design): it needs a price before the estimate can go to the customer."""
    from aftersales.workshop.choices import NO_CHARGE_JOB_TYPES

    if not lines:
        return True
    return job.job_type not in NO_CHARGE_JOB_TYPES and not any(ln.unit_price > 0 for ln in lines)


def _option_loaded(job: RepairJob) -> bool:
    """The job's option (reverse one-to-one) was read with it, group included, or is known to be missing."""
    if not RepairJob.option.is_cached(job):  # type: ignore[attr-defined]
        return False
    option = _cached_option(job)
    return option is None or JobOption.group.is_cached(option)  # type: ignore[attr-defined]


def _cached_option(job: RepairJob) -> JobOption | None:
    return RepairJob.option.related.get_cached_value(job, default=None)  # type: ignore[attr-defined, return-value]


def estimate_figures(order: RepairOrder, jobs: list[RepairJob] | None = None) -> EstimateFigures:
    """Every job given (default: the order's proposed jobs) with labour, parts, fees, discount and total; options
    grouped; the estimate's totals with the VAT included."""
    if jobs is None:
        jobs = list(RepairJob.objects.filter(order=order, status=JobStatus.PROPOSED).order_by("seq", "id"))
    by_job: dict[int, list[RepairLine]] = {j.pk: [] for j in jobs}
    options: dict[int, JobOption]
    if jobs and all("lines" in getattr(j, "_prefetched_objects_cache", {}) and _option_loaded(j) for j in jobs):
        # order_jobs() loaded them (lines by id, option with its group): no second read (issue 19)
        for job in jobs:
            by_job[job.pk] = list(job.lines.all())
        options = {j.pk: j.option for j in jobs if _cached_option(j) is not None}
    else:
        for line in RepairLine.objects.filter(job__in=jobs).order_by("id"):
            by_job[line.job_id].append(line)
        options = {o.job_id: o for o in JobOption.objects.filter(job__in=jobs).select_related("group")}
    rows = [_job_figures(j, by_job[j.pk], options.get(j.pk)) for j in jobs]
    singles = [r for r in rows if r.option is None]
    groups: dict[int, OptionBlock] = {}
    for r in rows:
        if r.option is not None:
            groups.setdefault(r.option.group_id, OptionBlock(title=guide_name(r.option.group.title, order), group_id=r.option.group_id)).choices.append(r)
    for g in groups.values():  # the recommended option first: it is the one counted in the total
        g.choices.sort(key=lambda r: not (r.option and r.option.is_recommended))
    counted = [*singles, *(g.choices[0] for g in groups.values())]
    counted_lines = [ln for r in counted for ln in by_job[r.job.pk]]
    t: Totals = totals([LineAmount(ln.quantity, ln.unit_price, ln.discount) for ln in counted_lines])
    return EstimateFigures(
        jobs=rows, singles=singles, groups=list(groups.values()),
        labour=sum((r.labour for r in counted), Decimal("0.00")), parts=sum((r.parts for r in counted), Decimal("0.00")),
        fees=sum((r.fees for r in counted), Decimal("0.00")), discount=t.discount, subtotal=t.subtotal, tax=t.tax,
        total=t.total, unpriced=[r for r in rows if r.unpriced],
    )


def open_estimate(order: RepairOrder) -> Estimate | None:
    return Estimate.objects.filter(order=order, status__in=[EstimateStatus.DRAFT, EstimateStatus.SENT]).first()


def estimate_revisions(order: RepairOrder) -> list[Any]:
    """Every version sent to the customer, newest first (the replaced ones are kept to read)."""
    from .models import EstimateRevision

    return list(EstimateRevision.objects.filter(estimate__order=order).select_related("sent_by").order_by("-sent_at", "-id"))


def sent_estimate(order: RepairOrder) -> Estimate | None:
    return Estimate.objects.filter(order=order, status=EstimateStatus.SENT).first()


def estimate_jobs(estimate: Estimate) -> list[RepairJob]:
    return list(estimate.jobs.select_related("option__group").prefetch_related(
        Prefetch("lines", queryset=RepairLine.objects.order_by("id")),
        Prefetch("photos", queryset=WorkPhoto.objects.order_by("id")),
    ).order_by("seq", "id"))


def authorizations_for(order: RepairOrder) -> list[Authorization]:
    return list(
        Authorization.objects.filter(order=order).select_related("recorded_by", "estimate")
        .prefetch_related(Prefetch("items", queryset=AuthorizationItem.objects.select_related("job")))
        .order_by("approved_at", "id")
    )


def authorization_get(user: Any, order: RepairOrder, authorization_id: int) -> Authorization:
    return get_or_404(Authorization.objects.filter(order=order, order__store_id__in=visible_store_ids(user)), pk=authorization_id)


def photo_get(user: Any, order: RepairOrder, photo_id: int) -> WorkPhoto:
    return get_or_404(WorkPhoto.objects.filter(order=order, order__store_id__in=visible_store_ids(user)), pk=photo_id)


def fault_photos(user: Any, *, order: RepairOrder | None = None, appointment: Any = None) -> list[Any]:
    """The photos the customer sent with their description of the fault: the order's own and those of the appointment
    it came from (or the appointment's), at the user's stores, oldest first."""
    from .models import FaultPhoto

    match = Q(pk__in=[])
    if order is not None:
        match |= Q(order_id=order.pk)
        if order.appointment_id:
            match |= Q(appointment_id=order.appointment_id)
    if appointment is not None:
        match |= Q(appointment_id=appointment.pk)
    return list(FaultPhoto.objects.filter(match, store_id__in=visible_store_ids(user)).order_by("id")[:20])


def fault_photo_get(user: Any, photo_id: int) -> Any:
    from .models import FaultPhoto

    return get_or_404(FaultPhoto.objects.filter(store_id__in=visible_store_ids(user)), pk=photo_id)


# ---- the invoice rule ----------------------------------------------------------------------------------------------
def authorized_total(order: RepairOrder, *, fresh: bool = False) -> Decimal:
    """What the customer has authorized on this order: the amounts of the jobs they approved, as they were when
    they approved them (a line added to an approved job later does not raise it), for jobs still approved. A job
    authorized without the customer's recorded decision does not count: it needs a new authorization.

    An order that never went through an estimate here (history recorded as finished, imported visits, the demo's
    cars already in the workshop) has no authorization rows: its approved jobs' current total counts instead
    (``fresh``: the order object was just read, so that figure is taken from it)."""
    figures = AuthorizationItem.objects.filter(authorization__order=order).aggregate(  # one query (issue 19)
        n=Count("id"), s=Sum("amount", filter=Q(approved=True, job__status__in=APPROVED_JOB_STATES)),
    )
    if not figures["n"]:
        if fresh:  # the caller has just read the order's row: its figure is current
            return Decimal(order.authorized_total or 0).quantize(Decimal("0.01"))
        return Decimal(RepairOrder.objects.filter(pk=order.pk).values_list("authorized_total", flat=True).first() or 0).quantize(Decimal("0.01"))
    return Decimal(figures["s"] or 0).quantize(Decimal("0.01"))


# ---- declined recommendations --------------------------------------------------------------------------------------
@dataclass
class Declined:
    job: RepairJob
    amount: Decimal
    reason: str
    declined_at: Any
    order: RepairOrder


def _declined(user: Any, limit: int, **where: Any) -> list[Declined]:
    chosen_sibling = JobOption.objects.filter(group_id=OuterRef("option__group_id"), job__status__in=APPROVED_JOB_STATES)
    jobs = list(
        RepairJob.objects.filter(order__store_id__in=visible_store_ids(user), status=JobStatus.DECLINED, **where)
        .exclude(Exists(Reproposal.objects.filter(source_job=OuterRef("pk"))))
        .exclude(Q(option__isnull=False) & Exists(chosen_sibling))
        # only what the customer really was offered at a price and said no to: never a ¥0 placeholder; on an order
        # that went through the estimate flow, only a job the customer declined on a decided estimate (history
        # recorded without one, e.g. imported visits, counts when priced)
        .filter(Exists(RepairLine.objects.filter(job=OuterRef("pk"), amount__gt=0)))
        .filter(
            Exists(AuthorizationItem.objects.filter(job=OuterRef("pk"), approved=False))
            | ~Exists(Authorization.objects.filter(order=OuterRef("order_id")))
        )
        .select_related("order__store", "order__vehicle")
        .prefetch_related(Prefetch("lines", queryset=RepairLine.objects.order_by("id")))
        .order_by("-order__opened_at", "-id")[:limit]
    )
    events: dict[int, Any] = {}
    if jobs:
        from aftersales.workshop.models import RepairJobEvent

        for ev in RepairJobEvent.objects.filter(job__in=jobs, to_state=JobStatus.DECLINED).order_by("at", "id"):
            events[ev.job_id] = ev.at
    out = []
    for job in jobs:
        lines = list(job.lines.all())
        amount = totals([LineAmount(ln.quantity, ln.unit_price, ln.discount) for ln in lines]).total
        out.append(Declined(job=job, amount=amount, reason=job.declined_reason, declined_at=events.get(job.pk), order=job.order))
    return out


def declined_recommendations(*, user: Any, vehicle: Any, limit: int = 20) -> list[Declined]:
    """Jobs the customer declined on this vehicle (at the user's stores), newest first, with their price and
    reason; not those offered again since, nor options left aside because another option was chosen."""
    return _declined(user, limit, order__vehicle=vehicle)


def declined_for_customers(*, user: Any, customer_ids: list[int], limit: int = 50) -> list[Declined]:
    """The same for several customers at once (the reception screen's cards), in three queries."""
    return _declined(user, limit, order__customer_id__in=customer_ids)


@dataclass
class VehicleDeclined:
    vehicle: Any
    rows: list[Declined]
    open_orders: list[RepairOrder]


def declined_for_customer(*, user: Any, customer: Any, limit: int = 30) -> list[VehicleDeclined]:
    """The declined recommendations of every vehicle the customer owns, with the vehicle's open orders (where
    they can be offered again): a fixed number of queries (the reception screen and the customer 360 page)."""
    from aftersales.workshop.choices import EDITABLE_STATES

    rows = _declined(user, limit, order__vehicle__owner=customer)
    if not rows:
        return []
    vehicle_ids = list(dict.fromkeys(r.order.vehicle_id for r in rows))
    open_orders: dict[int, list[RepairOrder]] = {}
    for order in orders_visible_to(user).filter(vehicle_id__in=vehicle_ids, status__in=EDITABLE_STATES).order_by("-opened_at"):
        open_orders.setdefault(order.vehicle_id, []).append(order)
    blocks = []
    for vid in vehicle_ids:
        mine = [r for r in rows if r.order.vehicle_id == vid]
        blocks.append(VehicleDeclined(
            vehicle=mine[0].order.vehicle, rows=mine,
            open_orders=[o for o in open_orders.get(vid, []) if user.has_perm("workshop.change_repairorder")],
        ))
    return blocks


def open_orders_for_vehicle(user: Any, vehicle: Any) -> list[RepairOrder]:
    from aftersales.workshop.choices import EDITABLE_STATES

    return list(orders_visible_to(user).filter(vehicle=vehicle, status__in=EDITABLE_STATES).order_by("-opened_at"))


# ---- the customer's status page ----------------------------------------------------------------------------------
@dataclass
class StatusItem:
    at: Any
    text: str
    kind: str  # state | note


def public_staff_name(user: Any, language: str) -> str:
    from aftersales.workshop.progress import public_staff_name as name

    return name(user, language)


def work_updates(order: RepairOrder, language: str) -> list[StatusItem]:
    """Customer-visible updates generated from the work itself (nobody types them): the car in a bay, a job started
    and finished by its technician, a job through the quality check (wording in ``workshop.progress``)."""
    from aftersales.workshop.models import RepairJobEvent
    from aftersales.workshop.progress import WORK_UPDATE_STATES, work_update_text

    out = []
    for ev in RepairJobEvent.objects.filter(job__order=order, to_state__in=WORK_UPDATE_STATES).select_related(
        "job__bay", "job__technician", "actor"
    ).order_by("at", "id"):
        job = ev.job
        with override(language):
            title = guide_name(job.title, order)
        text = work_update_text(
            title=title, to_state=ev.to_state, technician=job.technician or ev.actor,
            bay_name=job.bay.name if job.bay is not None else "", language=language,
        )
        if text:
            out.append(StatusItem(at=ev.at, text=text, kind="work"))
    return out


def status_timeline(order: RepairOrder, language: str = "") -> list[StatusItem]:
    """State moves, updates generated from the work, and public notes, oldest first: what the customer sees."""
    from django.utils.translation import get_language

    from aftersales.workshop.choices import OrderStatus

    language = language or ("en" if (get_language() or "").startswith("en") else "zh-hans")
    items = [
        StatusItem(at=ev.at, text=str(OrderStatus(ev.to_state).label) if ev.to_state in OrderStatus.values else ev.to_state, kind="state")
        for ev in RepairOrderEvent.objects.filter(order=order).order_by("at", "id")
    ]
    items += [StatusItem(at=n.at, text=n.text, kind="note") for n in ProgressNote.objects.filter(order=order, is_public=True)]
    items += work_updates(order, language)
    return sorted(items, key=lambda i: i.at)


def staff_timeline(order: RepairOrder) -> list[dict[str, Any]]:
    """Everything that happened to the order: its moves, its jobs' moves, notes (public or not), estimates."""
    from aftersales.workshop.choices import OrderStatus
    from aftersales.workshop.models import RepairJobEvent

    from .models import EstimateEvent

    rows: list[dict[str, Any]] = []
    for ev in RepairOrderEvent.objects.filter(order=order).select_related("actor"):
        label = OrderStatus(ev.to_state).label if ev.to_state in OrderStatus.values else ev.to_state
        rows.append({"at": ev.at, "kind": "order", "text": label, "actor": ev.actor, "reason": ev.reason})
    for jev in RepairJobEvent.objects.filter(job__order=order).select_related("actor", "job"):
        label = JobStatus(jev.to_state).label if jev.to_state in JobStatus.values else jev.to_state
        rows.append({"at": jev.at, "kind": "job", "text": f"{jev.job.seq}. {guide_name(jev.job.title, order)}: {label}", "actor": jev.actor, "reason": jev.reason})
    for note in ProgressNote.objects.filter(order=order).select_related("actor"):
        rows.append({"at": note.at, "kind": "note", "text": note.text, "actor": note.actor, "reason": "", "public": note.is_public})
    for eev in EstimateEvent.objects.filter(estimate__order=order).select_related("actor", "estimate"):
        label = EstimateStatus(eev.to_state).label if eev.to_state in EstimateStatus.values else eev.to_state
        rows.append({"at": eev.at, "kind": "estimate", "text": label, "actor": eev.actor, "reason": eev.reason})
    return sorted(rows, key=lambda r: r["at"])
