"""Helpers shared by the parts UI, API, selector and import tests."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.parts import catalogue
from aftersales.parts.services import stock_receive


def make_part(world: Any, number: str = "04152-YZZA1", **data: Any) -> Any:
    data.setdefault("name_zh", "机油滤清器")
    data.setdefault("name_en", "Oil filter")
    data.setdefault("sale_price", "68.00")
    data.setdefault("cost_price", "30.00")
    return catalogue.part_create(actor=world.manager, group=world.group, number=number, **data)


def stocked(world: Any, part: Any, quantity: str = "10", store: Any = None, user: Any = None) -> Any:
    store = store or world.a
    user = user or (world.staff["parts_clerk"] if store == world.a else world.manager_b)
    return stock_receive(actor=user, store=store, part=part, quantity=quantity, unit_cost=str(part.cost_price))


def open_job(store: Any, number: str = "RO-1", title: str = "Oil change") -> Any:
    from aftersales.workshop.models import RepairJob, RepairOrder

    vehicle = VehicleFactory(owner=CustomerFactory(home_store=store))
    order = RepairOrder.objects.create(
        store=store, number=number, customer=vehicle.owner, vehicle=vehicle, opened_at=timezone.now()
    )
    return RepairJob.objects.create(order=order, title=title)


def authorized_job(store: Any, part: Any, quantity: str, number: str = "RO-1", title: str = "Oil change") -> Any:
    """A job the customer authorized, with the part on its estimate for ``quantity`` (what may be issued to it)."""
    from decimal import Decimal

    from aftersales.workshop.choices import JobStatus, LineKind, OrderStatus
    from aftersales.workshop.models import RepairLine

    job = open_job(store, number, title)
    qty, price = Decimal(quantity), Decimal(part.sale_price)
    RepairLine.objects.create(order=job.order, job=job, kind=LineKind.PART, part=part, code=part.number,
                              description=part.name_zh or part.number, quantity=qty, unit_price=price, amount=qty * price)
    job.status = JobStatus.AUTHORIZED
    job.save(update_fields=["status"])
    job.order.status = OrderStatus.AUTHORIZED
    job.order.save(update_fields=["status"])
    return job
