"""A workshop floor: store A open 08:30–18:00 every day, two bays, technicians with skills and shifts, and helpers
that bring a repair order to "authorized" through the real core services. Times are fixed on next Monday."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from aftersales.appointments.models import Bay, TechnicianShift
from aftersales.appointments.tests.conftest import local, next_monday
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_staff
from aftersales.stores.models import OpeningPeriod
from aftersales.workshop.choices import JobStatus, OrderStatus
from aftersales.workshop.services import repair_job_add, repair_job_move, repair_order_check_in, repair_order_move


def shifts(user: Any, store: Any, start: str = "08:30", end: str = "18:00") -> None:
    for weekday in range(7):
        TechnicianShift.objects.create(
            user=user, store=store, weekday=weekday, start=dt.time.fromisoformat(start), end=dt.time.fromisoformat(end)
        )


@pytest.fixture
def floor(world):
    for store in (world.a, world.b):
        for weekday in range(7):
            OpeningPeriod.objects.create(store=store, weekday=weekday, opens=dt.time(8, 30), closes=dt.time(18, 0))
    bays = [Bay.objects.create(store=world.a, name="1号工位"), Bay.objects.create(store=world.a, name="2号工位")]
    bay_b = Bay.objects.create(store=world.b, name="B1")
    tech = world.technician
    tech.skills = ["maintenance", "engine"]
    tech.save(update_fields=["skills"])
    shifts(tech, world.a)
    body = make_staff("technician", world.a, skills=["body", "paint"], username="body-tech", display_name="钣金师傅")
    shifts(body, world.a, "08:30", "12:00")
    tech_b = make_staff("technician", world.b, skills=["maintenance", "engine"], username="tech-b")
    shifts(tech_b, world.b)
    monday = next_monday()
    return SimpleNamespace(
        world=world, store=world.a, bays=bays, bay_b=bay_b, tech=tech, body=body, tech_b=tech_b,
        foreman=world.staff["foreman"], advisor=world.advisor, parts_clerk=world.staff["parts_clerk"],
        day=monday, at=lambda hhmm, day=monday: local(day, hhmm),
    )


def authorized_order(
    floor: Any,
    jobs: list[dict[str, Any]] | None = None,
    *,
    promised: str | None = None,
    at: str = "08:40",
    store: Any = None,
    advisor: Any = None,
    authorize: bool = True,
) -> Any:
    """Check a car in, add jobs, send the estimate and authorize every job (order → authorized)."""
    store = store or floor.store
    advisor = advisor or floor.advisor
    customer = CustomerFactory(home_store=store)
    vehicle = VehicleFactory(owner=customer)
    t0 = floor.at(at)
    order = repair_order_check_in(
        actor=advisor, store=store, customer=customer, vehicle=vehicle, at=t0,
        promised_at=floor.at(promised) if promised else None,
    )
    jobs = jobs if jobs is not None else [{"title": "机油更换", "standard_hours": "1.00", "required_skill": "maintenance"}]
    made = []
    for spec in jobs:
        spec = dict(spec)
        spec.setdefault("lines", [{"kind": "labour", "description": "工时", "quantity": spec.get("standard_hours", "1"),
                                   "unit_price": "200.00"}])
        made.append(repair_job_add(actor=advisor, order=order, at=t0, **spec))
    if authorize:
        repair_order_move(actor=advisor, order=order, to=OrderStatus.ESTIMATE_SENT, at=t0 + dt.timedelta(minutes=2))
        for job in made:
            repair_job_move(actor=advisor, job=job, to=JobStatus.AUTHORIZED, at=t0 + dt.timedelta(minutes=3))
        repair_order_move(actor=advisor, order=order, to=OrderStatus.AUTHORIZED, at=t0 + dt.timedelta(minutes=3))
    order.refresh_from_db()
    order.made_jobs = [type(j).objects.get(pk=j.pk) for j in made]
    return order


def money(value: str) -> Decimal:
    return Decimal(value)
