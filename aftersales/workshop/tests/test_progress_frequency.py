"""Issue 14, item 4: progress messages at the customer's chosen frequency (every step / when the work starts and
when ready / only when ready) and channel; the status page shows every step whatever the choice, and the report and
invoice links once they exist."""

from __future__ import annotations

import pytest

from aftersales.customers.services import customer_update
from aftersales.estimates.services import status_url
from aftersales.messaging.models import Message
from aftersales.workshop import floor_services as fs

from .conftest import authorized_order

pytestmark = pytest.mark.django_db


def _work(floor, frequency: str, channel: str = "sms"):
    order = authorized_order(floor, [{"title": "换机油", "standard_hours": "1", "required_skill": "maintenance"},
                                     {"title": "换空滤", "standard_hours": "1", "required_skill": "maintenance"}])
    customer_update(actor=floor.world.manager, customer=order.customer, progress_frequency=frequency,
                    preferred_channel=channel, email="owner@example.com")
    order.customer.refresh_from_db()
    first, second = order.made_jobs
    fs.job_dispatch(actor=floor.foreman, job=first, technician=floor.tech, bay=floor.bays[0], at=floor.at("09:00"))
    fs.job_dispatch(actor=floor.foreman, job=second, technician=floor.tech, bay=floor.bays[0], at=floor.at("09:00"))
    fs.clock_on(actor=floor.tech, job=first, at=floor.at("09:05"))
    fs.job_finish(actor=floor.tech, job=first, at=floor.at("09:50"))
    fs.clock_on(actor=floor.tech, job=second, at=floor.at("09:55"))
    fs.job_finish(actor=floor.tech, job=second, at=floor.at("10:40"))
    return order


def _progress(order):
    return list(Message.objects.filter(customer=order.customer, kind="repair.progress").order_by("id"))


def test_every_step_messages_each_job_move(floor):
    order = _work(floor, "every_step")
    assert len(_progress(order)) == 4  # two starts, two finishes


def test_key_moments_message_only_the_start_of_the_work_on_the_chosen_channel(floor, client):
    order = _work(floor, "key", channel="email")
    messages = _progress(order)
    assert len(messages) == 1 and "换机油" in messages[0].body
    assert messages[0].channel == "email" and messages[0].recipient == "owner@example.com"
    page = client.get(status_url(order)).content.decode()
    assert "换空滤" in page and "已完工" in page  # the status page still shows every step


def test_ready_only_sends_nothing_while_the_work_goes_on(floor):
    order = _work(floor, "ready")
    assert _progress(order) == []
