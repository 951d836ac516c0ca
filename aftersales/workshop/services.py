"""Repair orders, started minimal (a visit with jobs and lines) for history; the repair-order work extends it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import ValidationFailed
from aftersales.common.money import LineAmount, line_amount, parse_money, totals
from aftersales.common.permissions import require, require_store
from aftersales.common.transitions import move

from .choices import ORDER_TRANSITIONS, JobType, LineKind, OrderStatus
from .models import RepairJob, RepairLine, RepairOrder, RepairOrderEvent


def next_order_number(store: Any, when: dt.datetime) -> str:
    """RO-<store>-<yyyymmdd>-<n>: readable, unique per store (the unique constraint is the final guard)."""
    local_day = timezone.localtime(when, store.zone).strftime("%Y%m%d")
    prefix = f"RO{store.code.upper()}{local_day}"
    count = RepairOrder.objects.filter(store=store, number__startswith=prefix).count()
    return f"{prefix}{count + 1:03d}"


def _quantity(value: Any, field: str) -> Decimal:
    try:
        qty = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("quantity_format", _("Enter a quantity such as 1 or 2.5."), field) from exc
    if not qty.is_finite() or qty <= 0 or qty != qty.quantize(Decimal("0.01")):
        raise ValidationFailed("quantity_invalid", _("The quantity must be positive, with at most two decimals."), field)
    return qty


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
) -> RepairOrder:
    """Open a repair order with its jobs and lines, computing every amount in one place."""
    require(actor, "workshop.add_repairorder")
    require_store(actor, store.pk)
    if vehicle.owner_id != customer.pk:
        raise ValidationFailed("vehicle_not_owned", _("This vehicle does not belong to the customer."), "vehicle")
    if not jobs:
        raise ValidationFailed("jobs_required", _("A repair order needs at least one job."), "jobs")
    with transaction.atomic():
        order = RepairOrder.objects.create(
            store=store, number=next_order_number(store, opened_at), customer=customer, vehicle=vehicle,
            advisor=advisor, opened_at=opened_at, mileage_in=mileage, complaint=complaint,
        )
        all_lines: list[LineAmount] = []
        for j, job_data in enumerate(jobs, start=1):
            job_type = job_data.get("job_type", JobType.REPAIR)
            if job_type not in JobType.values:
                raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": job_type}, f"jobs[{j}].job_type")
            job = RepairJob.objects.create(
                order=order, seq=j, job_type=job_type, title=str(job_data.get("title", ""))[:200],
                cause=job_data.get("cause", ""), correction=job_data.get("correction", ""),
                technician=job_data.get("technician"),
            )
            rows = []
            for n, line in enumerate(job_data.get("lines", []), start=1):
                where = f"jobs[{j}].lines[{n}]"
                if line.get("kind") not in LineKind.values:
                    raise ValidationFailed("invalid_choice", _("Unknown line kind."), f"{where}.kind")
                amount = LineAmount(
                    quantity=_quantity(line.get("quantity", 1), f"{where}.quantity"),
                    unit_price=parse_money(line.get("unit_price", 0), f"{where}.unit_price"),
                    discount=parse_money(line.get("discount", 0), f"{where}.discount"),
                )
                all_lines.append(amount)
                rows.append(
                    RepairLine(
                        order=order, job=job, kind=line["kind"], code=str(line.get("code", ""))[:40],
                        description=str(line.get("description", ""))[:200], quantity=amount.quantity,
                        unit_price=amount.unit_price, discount=amount.discount, amount=line_amount(amount),
                    )
                )
            RepairLine.objects.bulk_create(rows)
        order.total = totals(all_lines).total
        order.save(update_fields=["total"])
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


def repair_order_deliver(*, actor: Any, order: RepairOrder, at: dt.datetime | None = None) -> RepairOrder:
    require(actor, "workshop.change_repairorder")
    require_store(actor, order.store_id)
    at = at or timezone.now()
    with transaction.atomic():
        locked = RepairOrder.objects.select_for_update().get(pk=order.pk)
        move(
            locked, to=OrderStatus.DELIVERED, actor=actor, transitions=ORDER_TRANSITIONS,
            event_model=RepairOrderEvent, event_fk="order", labels=OrderStatus, at=at,
        )
        locked.delivered_at = at
        locked.save(update_fields=["delivered_at"])
        audit.record(
            actor=actor, obj=locked, action="repair_order.delivered", store_id=locked.store_id,
            customer_id=locked.customer_id, changes={"status": [OrderStatus.OPEN, OrderStatus.DELIVERED]}, at=at,
        )
        from aftersales.engagement.services import tier_recompute_after_commit

        tier_recompute_after_commit(locked.customer_id)  # delivered and paid = a paid visit (SPEC §10)
    return locked
