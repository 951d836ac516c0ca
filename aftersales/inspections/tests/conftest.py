"""A store with the shipped checklists, a checked-in car, staff for every role; helpers to finish an order's work."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_staff
from aftersales.inspections.services import install_default_checklists
from aftersales.workshop.choices import JobStatus, OrderStatus
from aftersales.workshop.models import RepairJob
from aftersales.workshop.services import repair_job_add, repair_job_move, repair_order_check_in, repair_order_move


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def check_in(world, store, advisor, *, language="zh-hans", fuel="petrol"):
    customer = CustomerFactory(home_store=store, name="张伟", title="mr", language=language)
    vehicle = VehicleFactory(owner=customer, plate="粤A12345", fuel_type=fuel)
    return repair_order_check_in(
        actor=advisor, store=store, customer=customer, vehicle=vehicle, mileage=23000, complaint="刹车时有异响",
    )


@pytest.fixture
def shop(world):
    install_default_checklists(store=world.a)
    install_default_checklists(store=world.b)
    order = check_in(world, world.a, world.advisor)
    order_b = check_in(world, world.b, world.advisor_b)
    return SimpleNamespace(
        world=world, store=world.a, order=order, order_b=order_b, advisor=world.advisor, manager=world.manager,
        technician=world.technician, tech2=make_staff("technician", world.a), foreman=world.staff["foreman"],
        qc=world.staff["qc_inspector"], cashier=world.staff["cashier"],
    )


def finish_work(shop, order, titles=("更换前刹车片", "四轮定位")):
    """Jobs added, approved, worked on and done (through the core services); returns the jobs."""
    jobs = [repair_job_add(actor=shop.advisor, order=order, title=t) for t in titles]
    order.refresh_from_db()
    if order.status != OrderStatus.ESTIMATE_SENT:
        repair_order_move(actor=shop.advisor, order=order, to=OrderStatus.ESTIMATE_SENT)
    for job in jobs:
        repair_job_move(actor=shop.advisor, job=job, to=JobStatus.AUTHORIZED)
    repair_order_move(actor=shop.advisor, order=order, to=OrderStatus.AUTHORIZED)
    repair_order_move(actor=shop.advisor, order=order, to=OrderStatus.IN_PROGRESS)
    for job in jobs:
        RepairJob.objects.filter(pk=job.pk).update(technician=shop.technician)
        for to in (JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.DONE):
            repair_job_move(actor=shop.technician, job=job, to=to)
    order.refresh_from_db()
    return [RepairJob.objects.get(pk=j.pk) for j in jobs]


def redo(shop, job):
    """A reworked job worked on again and done."""
    for to in (JobStatus.IN_PROGRESS, JobStatus.DONE):
        repair_job_move(actor=shop.technician, job=job, to=to)
