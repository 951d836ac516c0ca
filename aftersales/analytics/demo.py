"""Demo data for the cockpit: what the year of demo history lacks for its figures.

- technicians' clock-on/off times on the delivered history (check-in → first clock-on gives the waiting time, which
  falls over the year as the quick-service lane beds in),
- answered follow-ups (overall, per-question and recommend scores) on a share of the history's deliveries,
- a year of imported new-car and other gross profit per store, and each store's targets (the SPEC's defaults).

History only: rows are written directly (no messages, no recovery cases for months-old answers).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from .models import GrossProfitMonth, KpiSettings
from .periods import add_months


def load(*, group: Any, now: dt.datetime, seed: int = 18) -> dict[str, int]:
    from aftersales.feedback.models import FollowUp
    from aftersales.staff.models import User
    from aftersales.stores.models import Store
    from aftersales.workshop.models import RepairJob, TimeEntry

    rng = random.Random(seed)
    stores = list(Store.objects.filter(group=group).order_by("id"))
    techs: dict[int, list[Any]] = {
        s.pk: list(User.objects.filter(memberships__store=s, groups__name="technician").distinct().order_by("id")) for s in stores
    }
    jobs = list(
        RepairJob.objects.filter(order__store__in=stores, order__status__in=("delivered", "closed"), order__delivered_at__isnull=False,
                                 time_entries__isnull=True)
        .select_related("order").order_by("order_id", "seq", "id")
    )
    entries: list[TimeEntry] = []
    start_of_history = min((j.order.opened_at for j in jobs), default=now)
    cursor: dict[int, dt.datetime] = {}
    for job in jobs:
        order = job.order
        pool = techs.get(order.store_id) or []
        tech = job.technician or (rng.choice(pool) if pool else None)
        if tech is None:
            continue
        age = (now - order.opened_at).days / max(1, (now - start_of_history).days)  # 1 = a year ago, 0 = today
        wait = rng.randint(10, 30) + int(age * rng.randint(10, 35))
        begin = max(cursor.get(order.pk, order.opened_at + dt.timedelta(minutes=wait)), order.opened_at + dt.timedelta(minutes=wait))
        hours = float(job.standard_hours or Decimal("0.5")) * rng.uniform(0.8, 1.25)
        end = begin + dt.timedelta(minutes=max(10, int(hours * 60)))
        if order.delivered_at and end > order.delivered_at:
            end = max(begin, order.delivered_at - dt.timedelta(minutes=5))
        cursor[order.pk] = end
        entries.append(TimeEntry(store_id=order.store_id, job=job, technician=tech, started_at=begin, ended_at=end, end_reason="done"))
    TimeEntry.objects.bulk_create(entries, batch_size=1000)

    from aftersales.workshop.models import RepairOrder

    answered = []
    orders = (RepairOrder.objects.filter(store__in=stores, status__in=("delivered", "closed"), delivered_at__lt=now - dt.timedelta(days=4),
                                         followup__isnull=True).select_related("customer").order_by("delivered_at", "id"))
    for order in orders:
        if rng.random() > 0.55:
            continue
        delivered = order.delivered_at
        happy = rng.random() < 0.9
        base = rng.randint(8, 10) if happy else rng.randint(4, 7)
        def score(spread: int = 1, base: int = base) -> int:
            return max(0, min(10, base + rng.randint(-spread, spread)))
        answered.append(FollowUp(
            store_id=order.store_id, order=order, customer=order.customer, vehicle_id=order.vehicle_id, advisor_id=order.advisor_id,
            method="call", status="answered", delivered_at=delivered, due_at=delivered + dt.timedelta(hours=24),
            overdue_at=delivered + dt.timedelta(hours=72), attempts=1,
            answered_at=delivered + dt.timedelta(hours=rng.choice((20, 23, 26, 30, 50, 80))),
            score_overall=base, score_attitude=score(), score_quality=score(), score_waiting=score(2), score_price=score(2),
            score_recommend=score(),
        ))
    FollowUp.objects.bulk_create(answered, batch_size=1000)

    today = now.date()
    month = today.replace(day=1)
    profits = []
    for store in stores:
        KpiSettings.objects.get_or_create(store=store)
        size = Decimal("1.0") if store == stores[0] else Decimal("0.7")
        for back in range(1, 13):
            first = add_months(month, -back)
            profits.append(GrossProfitMonth(
                store=store, month=first, new_car=(Decimal(rng.randint(9, 14) * 1000) * size).quantize(Decimal("0.01")),
                other=(Decimal(rng.randint(2, 5) * 1000) * size).quantize(Decimal("0.01")), source="DMS 导出.xlsx", imported_at=now,
            ))
    GrossProfitMonth.objects.bulk_create(profits, ignore_conflicts=True)
    return {"time_entries": len(entries), "followups": len(answered), "gross_profit_months": len(profits)}


def load_parts_demand(*, group: Any, now: dt.datetime, part_numbers_by_code: dict[str, str]) -> dict[str, int]:
    """A year of parts issues behind the demo's delivered history (the parts on its repair lines, issued when the
    order was opened), each stock item's history opened by a receipt of what it issued so that the ledger still adds
    up to today's stock; then the suggested minimum levels computed as the nightly task does."""
    from django.utils.translation import gettext_noop

    from aftersales.common.readtime import coded
    from aftersales.parts.models import Part, StockItem, StockMovement
    from aftersales.stores.models import Store
    from aftersales.workshop.models import RepairLine

    from . import parts_demand

    parts = {p.number: p for p in Part.objects.filter(group=group, number__in=set(part_numbers_by_code.values()))}
    by_code = {code: parts[number] for code, number in part_numbers_by_code.items() if number in parts}
    items = {(i.store_id, i.part_id): i for i in StockItem.objects.filter(store__group=group)}
    lines = (RepairLine.objects.filter(job__order__store__group=group, kind="part", code__in=list(by_code),
                                       job__order__status__in=("delivered", "closed"))
             .exclude(job__status="declined")
             .values_list("job_id", "job__order__store_id", "job__order__opened_at", "job__order__vehicle_id",
                          "job__order__customer_id", "quantity", "code").order_by("job__order__opened_at", "id"))
    per_item: dict[int, list[tuple[Any, ...]]] = {}
    for job_id, store_id, opened, vehicle_id, customer_id, qty, code in lines:
        part = by_code[code]
        item = items.get((store_id, part.pk))
        if item is None or qty <= 0:
            continue
        per_item.setdefault(item.pk, []).append((job_id, opened + dt.timedelta(hours=1), vehicle_id, customer_id, qty))
    rows: list[Any] = []
    cost_of = {p.pk: p.cost_price for p in parts.values()}
    opening = coded(gettext_noop("Opening stock"))
    by_pk = {i.pk: i for i in items.values()}
    for item_pk, issues in per_item.items():
        item = by_pk[item_pk]
        cost = cost_of.get(item.part_id, Decimal("0"))
        total = sum((q for *_rest, q in issues), Decimal("0"))
        first = issues[0][1] - dt.timedelta(days=1)
        rows.append(StockMovement(store_id=item.store_id, part_id=item.part_id, stock_item=item, kind="receipt",
                                  quantity=total, unit_cost=cost, balance_after=total, at=first, reason=opening))
        balance = total
        for job_id, at, vehicle_id, customer_id, qty in issues:
            balance -= qty
            rows.append(StockMovement(store_id=item.store_id, part_id=item.part_id, stock_item=item, kind="issue",
                                      quantity=-qty, unit_cost=cost, balance_after=balance, at=at, repair_job_id=job_id,
                                      vehicle_id=vehicle_id, customer_id=customer_id))
    StockMovement.objects.bulk_create(rows, batch_size=2000)
    written = {"movements": len(rows)}
    for store in Store.objects.filter(group=group).order_by("pk"):
        written[store.code] = parts_demand.compute_store(store, now)
    return written
