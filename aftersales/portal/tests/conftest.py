"""Owners signed in through the real SMS-code flow (the code is read from the outbox, as the phone would show it)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from aftersales.appointments.tests.conftest import next_monday, setup_store
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.messaging.models import Message


def last_code(mobile: str) -> str:
    body = Message.objects.filter(kind="portal.sign_in_code", recipient=mobile).order_by("-id").values_list("body", flat=True).first()
    assert body, f"no sign-in code was sent to {mobile}"
    return re.search(r"\b(\d{6})\b", body).group(1)


def sign_in(client, customer, ip: str = "10.0.0.1") -> None:
    response = client.post("/app/login/", {"mobile": customer.mobile, "action": "send"}, REMOTE_ADDR=ip)
    assert response.status_code == 200, response.content
    response = client.post("/app/login/", {"mobile": customer.mobile, "code": last_code(customer.mobile), "action": "verify"}, REMOTE_ADDR=ip)
    assert response.status_code == 302, response.content


@pytest.fixture
def owners(world):
    setup = setup_store(world.a)
    zhang = CustomerFactory(group=world.group, home_store=world.a, name="张伟", title="mr")
    car = VehicleFactory(group=world.group, owner=zhang, plate="粤B12345", make="Toyota", model="Camry")
    li = CustomerFactory(group=world.group, home_store=world.a, name="李娜", title="ms")
    li_car = VehicleFactory(group=world.group, owner=li, plate="粤B99999", make="Honda", model="Accord")
    return SimpleNamespace(world=world, store=world.a, zhang=zhang, car=car, li=li, li_car=li_car,
                           monday=next_monday(), **vars(setup))
