from __future__ import annotations

import base64
import io
from types import SimpleNamespace

import pytest

from aftersales.appointments.tests.conftest import local, next_monday, setup_store
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory


def png(width: int = 300, height: int = 120, *, ink: bool = True, fmt: str = "PNG") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA" if fmt == "PNG" else "RGB", (width, height), (255, 255, 255, 0) if fmt == "PNG" else (255, 255, 255))
    if ink:
        draw = ImageDraw.Draw(image)
        draw.line([(20, 90), (80, 20), (140, 100), (220, 30), (280, 80)], fill=(0, 0, 0, 255) if fmt == "PNG" else (0, 0, 0), width=6)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def data_url(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode()


@pytest.fixture
def desk(world, settings, tmp_path):
    """Store A with bays and a technician, a customer with a car, and a booking for next Monday."""
    from aftersales.appointments.services import appointment_book

    settings.MEDIA_ROOT = str(tmp_path / "media")
    setup = setup_store(world.a)
    customer = CustomerFactory(home_store=world.a, name="张伟", title="mr")
    vehicle = VehicleFactory(owner=customer, plate="粤B12345", make="Toyota", model="Camry")
    monday = next_monday()
    booking = appointment_book(
        actor=world.advisor, store=world.a, service_type=setup.maintenance, start=local(monday, "09:00"),
        customer=customer, vehicle=vehicle, fault_description="刹车时有异响",
    )
    return SimpleNamespace(world=world, store=world.a, customer=customer, vehicle=vehicle, booking=booking, **vars(setup))
