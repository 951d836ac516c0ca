"""Transfers of special parts between the group's stores: request, approve or reject, ship, receive, cancel.

The receiving store's advisor or parts clerk requests (optionally for a job that waits for the part); the sending
store's parts clerk or manager approves and ships (a TRANSFER_OUT ledger row); the receiving store receives (a
TRANSFER_IN row at the cost the part left the sending store with, so the moving average stays right). The elapsed
time requested → received is measured per store pair (SPEC target: transfer time down 50%).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common import audit
from aftersales.common.errors import Forbidden, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.scoping import get_or_404, visible_store_ids
from aftersales.common.transitions import move

from .choices import TRANSFER_TRANSITIONS, MovementKind, Tracking, TransferStatus
from .models import Batch, Part, PartsEvent, StockMovement, Transfer
from .services import batch_on_hand, lock_stock_item, parse_quantity, record_movement

OPEN_STATES = (TransferStatus.REQUESTED, TransferStatus.APPROVED, TransferStatus.SHIPPED)


# ---- selectors -------------------------------------------------------------------------------------------------
def transfers_for(user: Any) -> QuerySet[Transfer]:
    """Transfers into or out of the user's stores."""
    ids = visible_store_ids(user)
    return Transfer.objects.filter(Q(from_store_id__in=ids) | Q(to_store_id__in=ids)).select_related(
        "from_store", "to_store", "part", "for_job", "for_job__order", "requested_by"
    )


def transfer_get(user: Any, pk: int) -> Transfer:
    return get_or_404(transfers_for(user), pk=pk)


def transfers_waited_on_by(user: Any) -> QuerySet[Transfer]:
    """The advisor's view: transfers they requested or that a job of their repair orders waits for."""
    return transfers_for(user).filter(Q(requested_by=user) | Q(for_job__order__advisor=user))


def elapsed(transfer: Transfer, now: dt.datetime | None = None) -> dt.timedelta | None:
    """Requested → received; still running for an open transfer; none for a rejected or cancelled one."""
    if transfer.received_at is not None:
        return transfer.received_at - transfer.requested_at
    if transfer.status in OPEN_STATES:
        return (now or timezone.now()) - transfer.requested_at
    return None


# ---- services --------------------------------------------------------------------------------------------------
def _event(transfer: Transfer, actor: Any, to_state: str, at: dt.datetime, reason: str = "") -> None:
    PartsEvent.objects.create(
        transfer=transfer, from_state="", to_state=to_state, actor=actor if getattr(actor, "pk", None) else None,
        reason=reason[:300], at=at,
    )


def transfer_request(
    *,
    actor: Any,
    from_store: Any,
    to_store: Any,
    part: Part,
    quantity: Any,
    for_job: Any = None,
    note: str = "",
) -> Transfer:
    """Ask another store of the group for a part. The actor works at the receiving store (``to_store``)."""
    require(actor, "parts.add_transfer")
    if from_store is None:
        raise ValidationFailed("required", _("Choose the store that sends the part."), "from_store")
    if to_store is None:
        raise ValidationFailed("required", _("Choose the store that receives the part."), "to_store")
    if from_store.pk == to_store.pk:
        raise ValidationFailed("same_store", _("A transfer goes to another store than the one sending it."), "to_store")
    require_store(actor, to_store.pk, field="to_store")
    if from_store.group_id != to_store.group_id:
        raise ValidationFailed("store_unknown", _("Choose a store of your dealer group."), "from_store")
    if part.group_id != to_store.group_id:
        raise ValidationFailed("part_unknown", _("Unknown part number “%(n)s”.") % {"n": part.number}, "part")
    qty = parse_quantity(quantity, part)
    if for_job is not None and for_job.order.store_id != to_store.pk:
        raise ValidationFailed("job_other_store", _("This job belongs to another store."), "for_job")
    now = timezone.now()
    with transaction.atomic():
        transfer = Transfer.objects.create(
            from_store=from_store, to_store=to_store, part=part, quantity=qty, for_job=for_job,
            note=" ".join(str(note or "").split())[:300], requested_by=actor, requested_at=now,
        )
        _event(transfer, actor, TransferStatus.REQUESTED, now, transfer.note)
        audit.record(actor=actor, obj=transfer, action="parts.transfer_requested", store_id=to_store.pk,
                     changes={"quantity": [None, str(qty)], "from_store": [None, from_store.pk]})
    return transfer


def _lock(transfer: Transfer) -> Transfer:
    return Transfer.objects.select_for_update().select_related("from_store", "to_store", "part").get(pk=transfer.pk)


def _sending_side(actor: Any, transfer: Transfer) -> None:
    require(actor, "parts.change_transfer")
    require_store(actor, transfer.from_store_id, field="from_store")


def _receiving_side(actor: Any, transfer: Transfer) -> None:
    require(actor, "parts.change_transfer")
    require_store(actor, transfer.to_store_id, field="to_store")


def _move(locked: Transfer, to: str, actor: Any, reason: str = "", at: dt.datetime | None = None) -> None:
    move(locked, to=to, actor=actor, transitions=TRANSFER_TRANSITIONS, event_model=PartsEvent, event_fk="transfer",
         reason=reason[:300], labels=TransferStatus, at=at)


def transfer_approve(*, actor: Any, transfer: Transfer) -> Transfer:
    _sending_side(actor, transfer)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(transfer)
        _move(locked, TransferStatus.APPROVED, actor, at=now)
        locked.approved_at = now
        locked.save(update_fields=["approved_at"])
        audit.record(actor=actor, obj=locked, action="parts.transfer_approved", store_id=locked.from_store_id)
    return locked


def transfer_reject(*, actor: Any, transfer: Transfer, reason: str) -> Transfer:
    _sending_side(actor, transfer)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationFailed("reason_required", _("Say why the transfer is rejected."), "reason")
    with transaction.atomic():
        locked = _lock(transfer)
        _move(locked, TransferStatus.REJECTED, actor, reason)
        audit.record(actor=actor, obj=locked, action="parts.transfer_rejected", store_id=locked.from_store_id, reason=reason)
    return locked


def transfer_ship(*, actor: Any, transfer: Transfer, batch: Batch | None = None) -> Transfer:
    """The sending store sends the part: a TRANSFER_OUT row (refused if not available) at its average cost."""
    _sending_side(actor, transfer)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(transfer)
        _move(locked, TransferStatus.SHIPPED, actor, at=now)
        part = locked.part
        if part.tracking != Tracking.NONE:
            if batch is None:
                raise ValidationFailed("batch_required", _("This part is tracked: choose the batch or serial number."), "batch")
            if batch.part_id != part.pk:
                raise ValidationFailed("batch_unknown", _("This batch is not of this part."), "batch")
        elif batch is not None and batch.part_id != part.pk:
            raise ValidationFailed("batch_unknown", _("This batch is not of this part."), "batch")
        item = lock_stock_item(locked.from_store, part)
        if batch is not None and batch_on_hand(batch, locked.from_store) < locked.quantity:
            raise ValidationFailed("insufficient_batch", _("Not enough left of batch %(b)s.") % {"b": batch.number}, "batch")
        record_movement(
            item=item, kind=MovementKind.TRANSFER_OUT, quantity=-locked.quantity, actor=actor, batch=batch,
            transfer=locked, at=now, reason=coded(gettext_noop("Transfer to %(store)s"), store=locked.to_store.name),
        )
        locked.shipped_at = now
        locked.save(update_fields=["shipped_at"])
        audit.record(actor=actor, obj=locked, action="parts.transfer_shipped", store_id=locked.from_store_id)
    return locked


def transfer_receive(*, actor: Any, transfer: Transfer) -> Transfer:
    """The receiving store books the part in at the cost it left the sending store with."""
    _receiving_side(actor, transfer)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(transfer)
        _move(locked, TransferStatus.RECEIVED, actor, at=now)
        out = StockMovement.objects.filter(transfer=locked, kind=MovementKind.TRANSFER_OUT).select_related("batch").first()
        if out is None:  # cannot happen through these services; refuse rather than book stock from nowhere
            raise ValidationFailed("not_shipped", _("Nothing was shipped on this transfer."), "status")
        item = lock_stock_item(locked.to_store, locked.part)
        record_movement(
            item=item, kind=MovementKind.TRANSFER_IN, quantity=locked.quantity, actor=actor, unit_cost=out.unit_cost,
            batch=out.batch, transfer=locked, at=now, reason=coded(gettext_noop("Transfer from %(store)s"), store=locked.from_store.name),
        )
        locked.received_at = now
        locked.save(update_fields=["received_at"])
        changes: dict[str, list[Any]] = {"hours": [None, round((now - locked.requested_at).total_seconds() / 3600, 2)]}
        if locked.for_job_id is not None and _job_still_open(locked.for_job):
            held = _hold_for_job(item, locked, actor)
            changes[f"reserved for job {locked.for_job_id}"] = [None, str(held)]
        audit.record(actor=actor, obj=locked, action="parts.transfer_received", store_id=locked.to_store_id, changes=changes)
    return locked


def _job_still_open(job: Any) -> bool:
    from aftersales.workshop.choices import IN_SHOP_STATES, JobStatus

    return job.order.status in IN_SHOP_STATES and job.status != JobStatus.DECLINED


def _hold_for_job(item: Any, transfer: Transfer, actor: Any) -> Decimal:
    """What arrived for a waiting job is held for it at once (the job's reservation grows by what came, never beyond
    what is free), so the next walk-in does not take it off the shelf. Returns the quantity now held for the job."""
    from .choices import ReservationSource, ReservationStatus
    from .models import Reservation

    reference = f"job:{transfer.for_job_id}"
    free = max(item.on_hand - item.reserved, Decimal("0"))
    add = min(transfer.quantity, free)
    if add <= 0:
        return Decimal("0")
    existing = Reservation.objects.select_for_update().filter(
        stock_item=item, reference=reference, status=ReservationStatus.ACTIVE).first()
    if existing is None:
        existing = Reservation.objects.create(
            store=transfer.to_store, part=transfer.part, stock_item=item, quantity=add, source=ReservationSource.JOB,
            reference=reference, created_by=actor if getattr(actor, "pk", None) else None,
        )
    else:
        existing.quantity += add
        existing.save(update_fields=["quantity"])
    item.reserved += add
    item.save(update_fields=["reserved"])
    return existing.quantity


def transfer_cancel(*, actor: Any, transfer: Transfer, reason: str = "") -> Transfer:
    """Either side may cancel before shipping: the receiving store (it no longer needs it) or the sending store."""
    ids = visible_store_ids(actor)
    if transfer.to_store_id in ids:
        require(actor, "parts.add_transfer")
    elif transfer.from_store_id in ids:
        require(actor, "parts.change_transfer")
    else:
        raise Forbidden("store_not_allowed", _("You do not work at this store."), "to_store")
    with transaction.atomic():
        locked = _lock(transfer)
        _move(locked, TransferStatus.CANCELLED, actor, reason)
        audit.record(actor=actor, obj=locked, action="parts.transfer_cancelled", store_id=locked.to_store_id, reason=reason)
    return locked


# ---- elapsed-time figures ----------------------------------------------------------------------------------------
@dataclass
class PairStats:
    from_store: Any
    to_store: Any
    count: int = 0
    avg_hours: float | None = None
    median_hours: float | None = None
    previous_count: int = 0
    previous_avg_hours: float | None = None
    previous_median_hours: float | None = None

    @property
    def change(self) -> float | None:
        """Relative change of the average against the previous period (−0.5 = halved, the SPEC target)."""
        if self.avg_hours is None or not self.previous_avg_hours:
            return None
        return self.avg_hours / self.previous_avg_hours - 1


@dataclass
class TransferStats:
    since: dt.datetime
    until: dt.datetime
    previous_since: dt.datetime
    pairs: list[PairStats] = field(default_factory=list)
    overall: PairStats | None = None


def _summary(hours: list[float]) -> tuple[int, float | None, float | None]:
    if not hours:
        return 0, None, None
    return len(hours), round(statistics.fmean(hours), 1), round(statistics.median(hours), 1)


def transfer_stats(user: Any, since: dt.datetime, until: dt.datetime | None = None) -> TransferStats:
    """Received transfers in [since, until) per store pair: count, average and median hours requested → received,
    with the same figures for the previous period of equal length beside them."""
    until = until or timezone.now()
    previous_since = since - (until - since)
    rows = (
        transfers_for(user)
        .filter(status=TransferStatus.RECEIVED, received_at__gte=previous_since, received_at__lt=until)
        .values_list("from_store_id", "to_store_id", "requested_at", "received_at")
    )
    current: dict[tuple[int, int], list[float]] = defaultdict(list)
    previous: dict[tuple[int, int], list[float]] = defaultdict(list)
    for from_id, to_id, requested_at, received_at in rows:
        if received_at is None:
            continue
        hours = (received_at - requested_at).total_seconds() / 3600
        (current if received_at >= since else previous)[(from_id, to_id)].append(hours)
    from aftersales.stores.models import Store

    keys = sorted(set(current) | set(previous))
    stores = Store.objects.in_bulk({s for key in keys for s in key})
    result = TransferStats(since=since, until=until, previous_since=previous_since)
    for key in keys:
        stats = PairStats(from_store=stores.get(key[0]), to_store=stores.get(key[1]))
        stats.count, stats.avg_hours, stats.median_hours = _summary(current.get(key, []))
        stats.previous_count, stats.previous_avg_hours, stats.previous_median_hours = _summary(previous.get(key, []))
        result.pairs.append(stats)
    overall = PairStats(from_store=None, to_store=None)
    overall.count, overall.avg_hours, overall.median_hours = _summary([h for v in current.values() for h in v])
    overall.previous_count, overall.previous_avg_hours, overall.previous_median_hours = _summary(
        [h for v in previous.values() for h in v]
    )
    result.overall = overall
    return result
