"""Progress the customer sees without anyone typing (issue 14, item 4): the car in a bay, the job started and
finished by its technician (刘师傅 / first name), QC, on the status page at once and as messages; the silent flag
counts those; the status page shows bay, technician, photos and the fitted parts with their traceability."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.estimates.services import status_url
from aftersales.messaging.models import Message
from aftersales.parts.catalogue import part_create
from aftersales.parts.services import stock_receive
from aftersales.workshop import floor_services as fs
from aftersales.workshop.models import RepairOrder

from .conftest import authorized_order

pytestmark = pytest.mark.django_db


def test_the_work_updates_the_status_page_and_the_customer_by_itself(floor, client):
    floor.tech.first_name, floor.tech.last_name = "洋", "刘"
    floor.tech.save(update_fields=["first_name", "last_name"])
    manager = floor.world.manager
    pads = part_create(actor=manager, group=floor.world.group, number="BP-1", name_zh="刹车片", cost_price="100.00",
                       sale_price="300.00", unit="set", tracking="batch", warranty_months=12)
    batch = stock_receive(actor=manager, store=floor.store, part=pads, quantity=4, unit_cost="100.00", batch_number="LOT-2026-11",
                          origin="日本", production_date=dt.date(2026, 10, 1)).batch
    order = authorized_order(floor, [{
        "title": "更换前刹车片", "standard_hours": "1", "required_skill": "maintenance",
        "lines": [{"kind": "labour", "description": "工时", "quantity": "1", "unit_price": "200"},
                  {"kind": "part", "code": "BP-1", "description": "刹车片", "quantity": "1", "unit_price": "300"}],
    }])
    job = order.made_jobs[0]
    fs.job_dispatch(actor=floor.foreman, job=job, technician=floor.tech, bay=floor.bays[1], at=floor.at("09:00"))
    fs.clock_on(actor=floor.tech, job=job, at=floor.at("09:05"))
    fs.job_part_issue(actor=floor.parts_clerk, job=job, part=pads, quantity=1, batch=batch)
    fs.job_finish(actor=floor.tech, job=job, at=floor.at("09:50"))

    order = RepairOrder.objects.get(pk=order.pk)
    assert order.last_public_update_at == floor.at("09:50")  # the work itself reset the 30-minute clock
    page = client.get(status_url(order)).content.decode()
    assert "更换前刹车片：您的爱车已进入车间（工位：2号工位）" in page
    assert "更换前刹车片：刘师傅 开始作业" in page and "更换前刹车片：刘师傅 已完工，接下来进行质检" in page
    assert 'data-testid="status-job-who"' in page and "工位：2号工位 · 技师：刘师傅" in page
    assert "LOT-2026-11" in page and "日本" in page and "2026-10-01" in page  # traceability of the fitted part
    assert "质保截止: 20" in page
    assert "刘洋" not in page  # never the full name
    english = client.get(status_url(order) + "?lang=en").content.decode()
    assert "started by" not in english and "洋 started the work" in english
    bodies = [m.body for m in Message.objects.filter(customer=order.customer, kind="repair.progress").order_by("id")]
    assert any("刘师傅 开始作业" in b for b in bodies) and any("已完工" in b for b in bodies)
    assert all("/o/" in b for b in bodies)  # each with the status page link
