"""Orders for the billing tests, driven through the workshop core's real services (no shortcuts into the tables)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from django.db import connection
from django.utils import timezone

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.workshop.choices import JobStatus, JobType, OrderStatus
from aftersales.workshop.services import (
    repair_job_add,
    repair_job_move,
    repair_order_check_in,
    repair_order_move,
    repair_order_record_visit,
)

SERVICE_LINES = [
    {"kind": "labour", "description": "Labour", "quantity": 2, "unit_price": "150", "discount": "10"},
    {"kind": "part", "description": "Filter", "unit_price": "113.00", "code": "F-1"},
]


def recorded_visit(world: Any, store: Any = None, lines: list[dict[str, Any]] | None = None, actor: Any = None) -> Any:
    """A finished visit (delivered, jobs passed QC), as history and the demo record them."""
    store = store or world.a
    actor = actor or (world.advisor if store == world.a else world.advisor_b)
    customer = CustomerFactory(home_store=store)
    car = VehicleFactory(owner=customer)
    opened = timezone.now() - dt.timedelta(hours=3)
    return repair_order_record_visit(
        actor=actor, store=store, customer=customer, vehicle=car, opened_at=opened, mileage=12000,
        delivered_at=opened + dt.timedelta(hours=2),
        jobs=[{"title": "Service", "lines": lines or SERVICE_LINES}],
    )


def ready_order(
    world: Any, store: Any = None, jobs: list[tuple[str, str, list[dict[str, Any]]]] | None = None,
    decline: tuple[int, ...] = (), mileage: int = 20000,
) -> Any:
    """An order moved through the whole lane to "ready for delivery" by the core's services."""
    store = store or world.a
    actor = world.manager if store == world.a else world.manager_b
    customer = CustomerFactory(home_store=store)
    car = VehicleFactory(owner=customer)
    order = repair_order_check_in(actor=actor, store=store, customer=customer, vehicle=car, mileage=mileage, complaint="保养")
    jobs = jobs or [("Oil service", JobType.MAINTENANCE, SERVICE_LINES)]
    made = [repair_job_add(actor=actor, order=order, title=t, job_type=jt, lines=lines) for t, jt, lines in jobs]
    repair_order_move(actor=actor, order=order, to=OrderStatus.ESTIMATE_SENT)
    for n, job in enumerate(made):
        repair_job_move(actor=actor, job=job, to=JobStatus.DECLINED if n in decline else JobStatus.AUTHORIZED, reason="ok")
    repair_order_move(actor=actor, order=order, to=OrderStatus.AUTHORIZED)
    repair_order_move(actor=actor, order=order, to=OrderStatus.IN_PROGRESS)
    for n, job in enumerate(made):
        if n in decline:
            continue
        for to in (JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.DONE, JobStatus.PASSED_QC):
            repair_job_move(actor=actor, job=job, to=to, reason="QC: function test ok" if to == JobStatus.PASSED_QC else "")
    repair_order_move(actor=actor, order=order, to=OrderStatus.QUALITY_CHECK)
    repair_order_move(actor=actor, order=order, to=OrderStatus.READY)
    order.refresh_from_db()
    return order


def run_in_threads(*targets: Any) -> list[Any]:
    barrier = threading.Barrier(len(targets))
    results: list[Any] = [None] * len(targets)

    def runner(i: int, target: Any) -> None:
        try:
            barrier.wait()
            results[i] = target()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results
