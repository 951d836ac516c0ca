from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.telematics import credentials
from aftersales.telematics.services import device_create, ingest


def signed(key: str, **fields: Any) -> bytes:
    return json.dumps(credentials.sign_message(key, fields), ensure_ascii=False).encode()


@pytest.fixture
def tel(world):
    """A car with a device at store A, its owner (advisor: world.advisor) and a ``send`` helper."""
    owner = CustomerFactory(home_store=world.a, name="王芳", preferred_advisor=world.advisor)
    vehicle = VehicleFactory(owner=owner, plate="粤A12345", make="Toyota", model="Camry")
    device, key = device_create(actor=world.manager, store=world.a, vehicle=vehicle, device_id="OBD-A-0001")
    base = timezone.now() - dt.timedelta(hours=1)

    def message(seq: int, *, at: dt.datetime | None = None, sign_with: str | None = None, **fields: Any) -> bytes:
        body = {"v": 1, "device": device.device_id, "seq": seq,
                "time": (at or base + dt.timedelta(seconds=30 * seq)).isoformat(), **fields}
        return signed(sign_with or key, **body)

    def send(seq: int, **fields: Any) -> Any:
        return ingest(payload=message(seq, **fields), topic_device=device.device_id)

    return SimpleNamespace(world=world, owner=owner, vehicle=vehicle, device=device, key=key, message=message, send=send,
                           base=base)
