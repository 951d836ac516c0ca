"""Parts returned from a job to stock are not billed: the invoice bills what stayed on the car, the order's lines stay
what the customer authorized, the authorized-total rule holds, and a return after invoicing is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.billing.services import invoice_issue
from aftersales.common.errors import Conflict
from aftersales.common.models import AuditEvent
from aftersales.workshop import floor_services as fs
from aftersales.workshop.choices import JobStatus, OrderStatus
from aftersales.workshop.models import RepairLine
from aftersales.workshop.services import repair_job_move, repair_order_move

from .conftest import authorized_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock(floor):
    from aftersales.parts.catalogue import part_create
    from aftersales.parts.services import stock_receive

    manager = floor.world.manager
    pads = part_create(actor=manager, group=floor.world.group, number="BP-1", name_zh="刹车片", cost_price="100.00",
                       sale_price="300.00")
    oil = part_create(actor=manager, group=floor.world.group, number="OIL-5", name_zh="机油", cost_price="40.00",
                      sale_price="80.00", unit="litre")
    stock_receive(actor=manager, store=floor.store, part=pads, quantity=10, unit_cost="100.00")
    stock_receive(actor=manager, store=floor.store, part=oil, quantity=20, unit_cost="40.00")
    return pads, oil


def brake_order(floor):
    """Labour ¥200 and 4 brake pads at ¥300 less ¥40: ¥1,360 authorized."""
    order = authorized_order(floor, [{
        "title": "更换刹车片", "job_type": "repair", "standard_hours": "1",
        "lines": [{"kind": "labour", "description": "工时", "quantity": "1", "unit_price": "200"},
                  {"kind": "part", "code": "BP-1", "description": "刹车片", "quantity": "4", "unit_price": "300",
                   "discount": "40"}],
    }])
    assert order.authorized_total == Decimal("1360.00")
    return order, order.made_jobs[0]


def finish(floor, order):
    """The work done and checked: the order is ready to invoice (through the core's moves)."""
    actor = floor.world.manager
    at = floor.at("11:00")
    for job in order.made_jobs:
        for n, to in enumerate((JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.DONE, JobStatus.PASSED_QC)):
            repair_job_move(actor=actor, job=job, to=to, at=at + dt.timedelta(minutes=n),
                            reason="QC: brake test ok" if to == JobStatus.PASSED_QC else "")
    for n, to in enumerate((OrderStatus.IN_PROGRESS, OrderStatus.QUALITY_CHECK, OrderStatus.READY)):
        repair_order_move(actor=actor, order=order, to=to, at=at + dt.timedelta(minutes=10 + n))
    return invoice_issue(actor=floor.world.manager, order=order, at=at + dt.timedelta(minutes=20))


def test_issue_four_return_one_bills_three(floor, stock):
    pads, _oil = stock
    order, job = brake_order(floor)
    fs.job_part_issue(actor=floor.parts_clerk, job=job, part=pads, quantity=4)
    fs.job_part_return(actor=floor.parts_clerk, job=job, part=pads, quantity=1, reason="多领了一片")
    returned = AuditEvent.objects.get(action="repair_job.part_returned")
    assert returned.changes["job 1 BP-1 billed"] == ["4.00", "3.00"]
    invoice = finish(floor, order)
    line = invoice.lines.get(kind="part")
    assert (line.quantity, line.discount, line.amount) == (Decimal("3.00"), Decimal("30.00"), Decimal("870.00"))
    assert invoice.total == Decimal("1070.00") <= invoice.authorized_total == Decimal("1360.00")
    assert RepairLine.objects.get(job=job, kind="part").quantity == Decimal("4.00")  # what the customer authorized
    issued = AuditEvent.objects.get(action="invoice.issued")
    assert issued.changes["returned job 1 BP-1"] == ["4.00", "3.00"]


def test_a_part_issued_again_after_its_return_is_billed_again(floor, stock):
    pads, _oil = stock
    order, job = brake_order(floor)
    fs.job_part_issue(actor=floor.parts_clerk, job=job, part=pads, quantity=4)
    fs.job_part_return(actor=floor.parts_clerk, job=job, part=pads, quantity=2)
    fs.job_part_issue(actor=floor.parts_clerk, job=job, part=pads, quantity=1)  # within the authorization again
    invoice = finish(floor, order)
    assert invoice.lines.get(kind="part").quantity == Decimal("3.00") and invoice.total == Decimal("1070.00")


def test_every_part_returned_bills_no_part_line(floor, stock):
    pads, _oil = stock
    order, job = brake_order(floor)
    fs.job_part_issue(actor=floor.parts_clerk, job=job, part=pads, quantity=4)
    fs.job_part_return(actor=floor.parts_clerk, job=job, part=pads, quantity=4)  # the pads were fine after all
    invoice = finish(floor, order)
    assert list(invoice.lines.values_list("kind", flat=True)) == ["labour"] and invoice.total == Decimal("200.00")


def test_without_a_return_the_estimate_is_billed_as_before(floor, stock):
    pads, _oil = stock
    order, job = brake_order(floor)
    fs.job_part_issue(actor=floor.parts_clerk, job=job, part=pads, quantity=2)  # the rest not issued through stock
    invoice = finish(floor, order)
    assert invoice.lines.get(kind="part").quantity == Decimal("4.00") and invoice.total == Decimal("1360.00")
    assert "returned job 1 BP-1" not in AuditEvent.objects.get(action="invoice.issued").changes


def test_returning_a_part_on_no_line_changes_no_line(floor, stock):
    from aftersales.parts.services import stock_issue

    _pads, oil = stock
    order, job = brake_order(floor)
    stock_issue(actor=floor.parts_clerk, store=floor.store, part=oil, quantity=3, job=job)  # from the parts screens
    fs.job_part_return(actor=floor.parts_clerk, job=job, part=oil, quantity=1)
    assert "job 1 OIL-5 billed" not in AuditEvent.objects.get(action="repair_job.part_returned").changes
    invoice = finish(floor, order)
    assert RepairLine.objects.filter(job=job).count() == 2 and invoice.lines.count() == 2
    assert invoice.total == Decimal("1360.00")


def test_a_return_after_the_invoice_is_refused_and_writes_nothing(floor, stock):
    from aftersales.parts.models import StockItem, StockMovement
    from aftersales.parts.services import stock_return

    pads, _oil = stock
    order, job = brake_order(floor)
    fs.job_part_issue(actor=floor.parts_clerk, job=job, part=pads, quantity=4)
    invoice = finish(floor, order)
    assert invoice.total == Decimal("1360.00")
    for attempt in (
        lambda: fs.job_part_return(actor=floor.parts_clerk, job=job, part=pads, quantity=1),
        lambda: stock_return(actor=floor.parts_clerk, store=floor.store, part=pads, quantity=1, job=job),
    ):
        with pytest.raises(Conflict) as exc:
            attempt()
        assert (exc.value.code, exc.value.field) == ("order_invoiced", "quantity")
        assert "credit note" in str(exc.value.message) or "红字发票" in str(exc.value.message)
    assert not StockMovement.objects.filter(kind="return").exists()
    assert StockItem.objects.get(store=floor.store, part=pads).on_hand == Decimal("6")
    assert not AuditEvent.objects.filter(action="repair_job.part_returned").exists()
