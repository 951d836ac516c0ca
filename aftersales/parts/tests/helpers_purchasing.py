"""Small builders shared by the purchasing, transfer and report tests."""

from __future__ import annotations

import itertools
from typing import Any

from django.utils import timezone

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.parts.models import Part, StockItem, Supplier
from aftersales.workshop.models import RepairJob, RepairOrder

_seq = itertools.count(1)


def make_supplier(group: Any, name: str | None = None, **kwargs: Any) -> Supplier:
    n = next(_seq)
    kwargs.setdefault("email", f"orders{n}@supplier.example.cn")  # "Send to supplier" e-mails the order
    return Supplier.objects.create(group=group, name=name or f"Supplier {n}", **kwargs)


def make_part(group: Any, number: str | None = None, **kwargs: Any) -> Part:
    kwargs.setdefault("name_zh", "配件")
    kwargs.setdefault("cost_price", "10.00")
    return Part.objects.create(group=group, number=number or f"P-{next(_seq):05d}", **kwargs)


def stock_rule(store: Any, part: Part, min_qty: Any, max_qty: Any, **kwargs: Any) -> StockItem:
    item, _ = StockItem.objects.get_or_create(store=store, part=part)
    item.min_qty, item.max_qty = min_qty, max_qty
    for key, value in kwargs.items():
        setattr(item, key, value)
    item.save()
    return item


def make_job(store: Any, advisor: Any = None, customer: Any = None, vehicle: Any = None, title: str = "Brake job") -> RepairJob:
    customer = customer or CustomerFactory(home_store=store)
    vehicle = vehicle or VehicleFactory(owner=customer)
    order = RepairOrder.objects.create(
        store=store, number=f"RO{store.code.upper()}{next(_seq):06d}", customer=customer, vehicle=vehicle,
        advisor=advisor, opened_at=timezone.now(), mileage_in=42000,
    )
    return RepairJob.objects.create(order=order, seq=1, title=title)
