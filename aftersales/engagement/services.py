"""Writes for engagement: tier recomputation (one customer, or everyone set-based), settings, dedicated advisors."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import DomainError, ValidationFailed
from aftersales.common.money import parse_money
from aftersales.common.permissions import require, require_store
from aftersales.common.transitions import move

from . import importers, tiersql
from .choices import IMPORT_TRANSITIONS, AdvisorSource, ChangeSource, ImportStatus, Tier, ValueClass
from .models import CustomerTier, DedicatedAdvisor, ImportJob, ImportJobEvent, Segment, TierChange, TierSettings

log = logging.getLogger(__name__)


def tier_recompute_customer(
    *, customer_id: int, as_of: dt.date | None = None, source: str = ChangeSource.VISIT
) -> CustomerTier:
    """Recompute one customer's tier now (after a paid visit); a change is kept as a TierChange row."""
    from aftersales.customers.models import Customer

    from .selectors import tier_as_of

    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        result = tier_as_of(customer, as_of)
        row = CustomerTier.objects.select_for_update().filter(customer_id=customer_id).first()
        old = row.tier if row else ""
        figures = {"reason": result.reason, "last_visit": result.last_visit, "r_days": result.r_days, "f": result.f,
                   "m": result.m}
        if row is None:
            row = CustomerTier(customer_id=customer_id, value_class=ValueClass.BASIC, since=as_of)
        if old != result.tier:
            row.since = as_of
            TierChange.objects.create(
                customer_id=customer_id, store_id=customer.home_store_id, old_tier=old, new_tier=result.tier,
                changed_on=as_of, source=source, **figures,
            )
        for key, value in figures.items():
            setattr(row, key, value)
        row.tier, row.store_id, row.visits_total, row.computed_on = (
            result.tier, customer.home_store_id, result.visits_total, as_of
        )
        row.save()
    return row


def on_paid_visit_changed(event: Any) -> None:
    """Handler of ``events.PaidVisitChanged`` (subscribed in apps.py): recompute the customer's tier."""
    tier_recompute_customer(customer_id=event.customer_id)


def tier_recompute_after_commit(customer_id: int) -> None:
    """Called by billing/workshop inside their transaction: recompute once it has committed. Never breaks the
    caller (the nightly sweep catches anything missed)."""

    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        getattr(hook, "tier_customer_id", None) == customer_id and not getattr(hook, "done", False)
        for _sids, hook, *_rest in connection.run_on_commit
    ):
        return  # one recompute per customer per transaction (a delivery moves the order twice and settles the invoice)

    def run() -> None:
        run.done = True  # type: ignore[attr-defined]
        try:
            tier_recompute_customer(customer_id=customer_id)
        except DatabaseError:  # pragma: no cover - a failure here must not undo a payment; the sweep repairs it
            log.exception("tier recompute after paid visit failed for customer %s", customer_id)

    run.tier_customer_id = customer_id  # type: ignore[attr-defined]
    transaction.on_commit(run)


def tier_recompute_all(*, as_of: dt.date | None = None, source: str = ChangeSource.NIGHTLY) -> dict[str, Any]:
    """Everyone's tier, set-based (tiersql.recompute_all): a few INSERT … SELECT / UPDATE statements."""
    return tiersql.recompute_all(as_of=as_of or timezone.localdate(), source=source)


TIER_SETTING_FIELDS = ("a_recency_months", "a_min_visits", "a_min_amount", "c_new_months", "d_lapsed_months",
                       "vip_percent", "key_percent", "insurance_days")


def tier_settings_update(*, actor: Any, store: Any, **data: Any) -> TierSettings:
    require(actor, "engagement.change_tiersettings")
    require_store(actor, store.pk)
    clean: dict[str, Any] = {}
    for key in TIER_SETTING_FIELDS:
        if key not in data:
            continue
        if key == "a_min_amount":
            clean[key] = parse_money(data[key], key)
            continue
        try:
            value = int(str(data[key]).strip())
        except (TypeError, ValueError) as exc:
            raise ValidationFailed("number_format", _("Enter a whole number."), key) from exc
        low, high = (0, 100) if key.endswith("percent") else (1, 120) if key.endswith("months") else (0, 1000)
        if not low <= value <= high:
            raise ValidationFailed("number_range", _("Enter a number from %(a)s to %(b)s.") % {"a": low, "b": high}, key)
        clean[key] = value
    with transaction.atomic():
        row, _created = TierSettings.objects.select_for_update().get_or_create(store=store)
        before = audit.snapshot(row, TIER_SETTING_FIELDS)
        for key, value in clean.items():
            setattr(row, key, value)
        if row.vip_percent + row.key_percent > 100:
            raise ValidationFailed("shares_over_100", _("VIP and key shares together cannot exceed 100%."), "key_percent")
        row.save()
        changes = audit.diff(before, audit.snapshot(row, TIER_SETTING_FIELDS))
        if changes:
            audit.record(actor=actor, obj=row, action="tier_settings.updated", store_id=store.pk, changes=changes)
    return row


def dedicated_advisor_assign(*, actor: Any, customer: Any, advisor: Any, source: str = AdvisorSource.MANAGER) -> DedicatedAdvisor:
    """Give a (tier A) customer a dedicated advisor: the manager's choice, or the system's suggestion accepted."""
    require(actor, "engagement.change_dedicatedadvisor")
    from aftersales.staff.selectors import staff_visible_to

    if advisor is None or not staff_visible_to(actor).filter(pk=getattr(advisor, "pk", advisor), is_active=True).exists():
        raise ValidationFailed("advisor_unknown", _("Unknown advisor."), "advisor")
    if source not in AdvisorSource.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": source}, "source")
    with transaction.atomic():
        row = DedicatedAdvisor.objects.select_for_update().filter(customer=customer).first()
        old = row.advisor_id if row else None
        if row is None:
            row = DedicatedAdvisor(customer=customer)
        row.advisor_id, row.source, row.assigned_at = getattr(advisor, "pk", advisor), source, timezone.now()
        row.assigned_by = actor if getattr(actor, "pk", None) else None
        row.save()
        audit.record(actor=actor, obj=customer, action="customer.dedicated_advisor", store_id=customer.home_store_id,
                     customer_id=customer.pk, changes={"dedicated_advisor": [old, row.advisor_id]}, reason=source)
    return row


def dedicated_advisor_suggest_all(*, as_of: dt.date | None = None) -> int:
    """Nightly: tier A customers without a dedicated advisor get the system's suggestion (the advisor with most of
    their visits). Manager assignments are never overwritten. Returns how many were assigned."""
    from .selectors import suggested_advisor

    count = 0
    missing = CustomerTier.objects.filter(tier=Tier.A, customer__dedicated_advisor__isnull=True).select_related("customer")
    for row in missing.iterator(chunk_size=500):  # tier A is a small share of customers
        advisor = suggested_advisor(row.customer)
        if advisor is None:
            continue
        _obj, created = DedicatedAdvisor.objects.get_or_create(
            customer=row.customer,
            defaults={"advisor": advisor, "source": AdvisorSource.SUGGESTED, "assigned_at": timezone.now()},
        )
        count += int(created)
    return count



# ---- history import ------------------------------------------------------------------------------------------------
IMPORT_CHUNK = 500
BULK_RECOMPUTE_FROM = 2000  # more customers touched than this: one set-based recompute instead of one per customer


def import_job_create(*, actor: Any, store: Any, name: str, data: bytes) -> tuple[ImportJob, importers.Preview]:
    """Check a file (row-level errors, nothing written but the job row that keeps the file for the import)."""
    require(actor, "engagement.run_import")
    require_store(actor, store.pk)
    result = importers.preview(actor=actor, group=store.group, store=store, name=name, data=data)
    with transaction.atomic():
        job = ImportJob.objects.create(
            group=store.group, store=store, created_by=actor if getattr(actor, "pk", None) else None,
            file_name=str(name)[:200], file_sha256=hashlib.sha256(data).hexdigest(), content=data,
            total_rows=result.total_rows, errors=[e.as_dict() for e in result.errors[:1000]],
            preview_new=result.new, preview_unchanged=result.unchanged, preview_error_rows=result.error_rows,
        )
        audit.record(actor=actor, obj=job, action="history_import.previewed", store_id=store.pk,
                     changes={"rows": [None, result.total_rows]})
    return job, result


def import_job_start(*, actor: Any, job: ImportJob) -> ImportJob:
    """Queue the import; a worker processes it in chunks (and the sweep finds it if the nudge is lost)."""
    require(actor, "engagement.run_import")
    require_store(actor, job.store_id)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        _move_job(locked, ImportStatus.QUEUED, actor)
        locked.processed_rows = locked.created_count = locked.unchanged_count = locked.error_count = 0
        locked.customers_created = locked.vehicles_created = 0
        locked.errors = []
        locked.save()
        audit.record(actor=actor, obj=locked, action="history_import.started", store_id=locked.store_id)
        transaction.on_commit(lambda: _nudge_import(locked.pk))
    return locked


def _nudge_import(job_id: int) -> None:
    from .tasks import run_import

    try:
        run_import.delay(job_id)
    except Exception:  # the job is queued in the database; the sweep will run it
        log.warning("could not reach the task broker; the import sweep will run job %s", job_id, exc_info=True)


def _move_job(job: ImportJob, to: str, actor: Any, reason: str = "") -> None:
    move(job, to=to, actor=actor, transitions=IMPORT_TRANSITIONS, event_model=ImportJobEvent, event_fk="job",
         labels=ImportStatus, reason=reason)


def import_job_process(*, job_id: int, chunk: int = IMPORT_CHUNK) -> ImportJob | None:
    """Run a queued (or interrupted) import to the end, committing progress after every chunk. Safe to run twice:
    a chunk commits with its counters, and the visits' external keys make a repeated row a no-op."""
    with transaction.atomic():
        found = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if found is None:  # deleted since it was queued: nothing to do
            return None
        job = found
        if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return job
        if job.status == ImportStatus.QUEUED:
            _move_job(job, ImportStatus.RUNNING, None)
    actor = job.created_by
    try:
        result = importers.preview(actor=actor, group=job.group, store=job.store, name=job.file_name,
                                   data=bytes(job.content))
    except DomainError as exc:
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            job.errors = [{"row": 0, "field": exc.field or "file", "code": exc.code, "message": str(exc.message)}]
            job.finished_at = timezone.now()
            job.save()
            _move_job(job, ImportStatus.FAILED, None, str(exc.message))
        return job
    items: list[tuple[int, Any]] = sorted(
        [(p.row, p) for p in result.plans] + [(e.row, e) for e in result.errors], key=lambda x: x[0]
    )
    rows = sorted({row for row, _item in items})
    touched: set[int] = set()
    while True:
        job = ImportJob.objects.get(pk=job_id)
        todo = set(rows[job.processed_rows:job.processed_rows + chunk])
        if not todo:
            break
        plans = [item for row, item in items if row in todo and isinstance(item, importers.RowPlan)]
        errors = [item for row, item in items if row in todo and isinstance(item, importers.RowError)]
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job_id)
            if locked.processed_rows != job.processed_rows:  # another worker got here first
                continue
            done = importers.apply_rows(actor=actor, group=job.group, job=locked, plans=plans)
            all_errors = [*errors, *done.errors]
            locked.processed_rows += len(todo)
            locked.created_count += done.created
            locked.unchanged_count += done.unchanged
            locked.customers_created += done.customers_created
            locked.vehicles_created += done.vehicles_created
            locked.error_count += len({e.row for e in all_errors})
            locked.errors = [*locked.errors, *[e.as_dict() for e in sorted(all_errors, key=lambda e: e.row)]][:1000]
            locked.save()
        touched |= done.customer_ids
    if len(touched) > BULK_RECOMPUTE_FROM:
        tier_recompute_all(source=ChangeSource.IMPORT)
    else:
        for customer_id in sorted(touched):
            tier_recompute_customer(customer_id=customer_id, source=ChangeSource.IMPORT)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        job.finished_at = timezone.now()
        job.save(update_fields=["finished_at", "updated_at"])
        _move_job(job, ImportStatus.DONE, None)
        audit.record(actor=None, obj=job, action="history_import.done", store_id=job.store_id,
                     changes={"created": [None, job.created_count], "errors": [None, job.error_count]})
    return job


def import_sweep(*, stale_after: dt.timedelta = dt.timedelta(minutes=10)) -> int:
    """Periodic: run queued imports whose nudge was lost, and resume imports whose worker died."""
    now = timezone.now()
    ids = list(
        ImportJob.objects.filter(
            Q(status=ImportStatus.QUEUED, updated_at__lt=now - dt.timedelta(minutes=1))
            | Q(status=ImportStatus.RUNNING, updated_at__lt=now - stale_after)
        ).values_list("pk", flat=True)
    )
    for job_id in ids:
        import_job_process(job_id=job_id)
    return len(ids)


# ---- segments ------------------------------------------------------------------------------------------------------
def clean_criteria(actor: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Validate segment criteria (see selectors.segment_customers); errors name the criterion."""
    from aftersales.common.scoping import visible_store_ids
    from aftersales.common.validators import parse_date

    out: dict[str, Any] = {}

    def as_list(key: str) -> list[str]:
        value = data.get(key) or []
        if isinstance(value, str):
            value = value.replace("，", ",").split(",")
        return [str(v).strip() for v in value if str(v).strip()]

    tiers = as_list("tiers")
    if any(t not in Tier.values for t in tiers):
        raise ValidationFailed("invalid_choice", _("Tiers are A, B, C and D."), "tiers")
    if tiers:
        out["tiers"] = sorted(set(tiers))
    classes = as_list("value_classes")
    if any(c not in ValueClass.values for c in classes):
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": ",".join(classes)},
                               "value_classes")
    if classes:
        out["value_classes"] = sorted(set(classes))
    for key in ("tags", "any_tags"):
        names = as_list(key)
        if any(len(n) > 40 for n in names):
            raise ValidationFailed("tag_too_long", _("At most %(n)d characters.") % {"n": 40}, key)
        if names:
            out[key] = names
    store = data.get("store")
    if store not in (None, "", 0):
        try:
            store_id = int(store)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed("store_unknown", _("Unknown store."), "store") from exc
        if store_id not in visible_store_ids(actor):
            raise ValidationFailed("store_unknown", _("Unknown store."), "store")
        out["store"] = store_id
    for key, limit in (("make", 40), ("model", 60)):
        text = " ".join(str(data.get(key) or "").split())
        if len(text) > limit:
            raise ValidationFailed(f"{key}_too_long", _("At most %(n)d characters.") % {"n": limit}, key)
        if text:
            out[key] = text
    for key in ("last_visit_from", "last_visit_to"):
        day = parse_date(data.get(key) or None, key)
        if day:
            out[key] = day.isoformat()
    if out.get("last_visit_from") and out.get("last_visit_to") and out["last_visit_to"] < out["last_visit_from"]:
        raise ValidationFailed("range_reversed", _("The end is before the start."), "last_visit_to")
    for key in ("mileage_min", "mileage_max"):
        value = data.get(key)
        if value in (None, ""):
            continue
        try:
            km = int(str(value).replace(",", "").strip())
        except ValueError as exc:
            raise ValidationFailed("km_format", _("Mileage must be a whole number of kilometres."), key) from exc
        if km < 0:
            raise ValidationFailed("km_format", _("Mileage must be a whole number of kilometres."), key)
        out[key] = km
    for key in ("spend_min", "spend_max"):
        value = data.get(key)
        if value not in (None, ""):
            out[key] = str(parse_money(value, key))
    for lo, hi in (("mileage_min", "mileage_max"), ("spend_min", "spend_max")):
        if lo in out and hi in out and Decimal(str(out[hi])) < Decimal(str(out[lo])):
            raise ValidationFailed("range_reversed", _("The maximum is below the minimum."), hi)
    if data.get("marketing_consent") in (True, "true", "on", "1", 1):
        out["marketing_consent"] = True
    return out


def segment_save(*, actor: Any, name: str, criteria: dict[str, Any], segment: Segment | None = None,
                 store: Any = None) -> Segment:
    require(actor, "engagement.change_segment" if segment else "engagement.add_segment")
    text = " ".join(str(name or "").split())
    if not text:
        raise ValidationFailed("name_required", _("Name is required."), "name")
    if len(text) > 80:
        raise ValidationFailed("name_too_long", _("At most %(n)d characters.") % {"n": 80}, "name")
    clean = clean_criteria(actor, criteria)
    if store is not None:
        require_store(actor, store.pk)
    with transaction.atomic():
        if segment is None:
            segment = Segment.objects.create(group_id=actor.dealer_group_id, store=store, name=text, criteria=clean,
                                             created_by=actor if getattr(actor, "pk", None) else None)
            action, changes = "segment.created", {"criteria": [None, clean]}
        else:
            segment = Segment.objects.select_for_update().get(pk=segment.pk)
            changes = audit.diff({"name": segment.name, "criteria": segment.criteria}, {"name": text, "criteria": clean})
            segment.name, segment.criteria = text, clean
            segment.save()
            action = "segment.updated"
        audit.record(actor=actor, obj=segment, action=action, store_id=segment.store_id, changes=changes)
    return segment


def segment_delete(*, actor: Any, segment: Segment) -> None:
    require(actor, "engagement.delete_segment")
    with transaction.atomic():
        audit.record(actor=actor, obj=segment, action="segment.deleted", store_id=segment.store_id)
        segment.delete()
