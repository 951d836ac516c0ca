"""A store with labour rates, a labour guide (brake pads with an aftermarket equivalent, an oil service), a
customer with a car checked in, and helpers: a signature PNG, a photo, the decisions of every job."""

from __future__ import annotations

import base64
import io
from types import SimpleNamespace

import pytest
from PIL import Image, ImageDraw

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.estimates import services
from aftersales.parts import catalogue
from aftersales.workshop.services import repair_order_check_in


def signature_data_url(blank: bool = False, size: tuple[int, int] = (300, 120)) -> str:
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(img).line([(10, 90), (80, 20), (150, 100), (280, 30)], fill=(16, 36, 58, 255), width=4)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def photo_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, fmt)
    return buf.getvalue()


def upload(name: str = "pads.jpg", data: bytes | None = None, content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, photo_bytes() if data is None else data, content_type=content_type)


def approve_all(order_or_jobs, consent: bool = True) -> dict[int, dict]:
    jobs = order_or_jobs if isinstance(order_or_jobs, list) else list(order_or_jobs.jobs.filter(status="proposed"))
    return {j.pk: {"approve": True, "aftermarket_consent": consent} for j in jobs}


@pytest.fixture
def shop(world):
    manager = world.manager
    pads = catalogue.part_create(
        actor=manager, group=world.group, number="04465-33471", oem_number="04465-33471", name_zh="丰田前刹车片",
        name_en="Toyota front brake pads", category="brake", unit="set", cost_price="380.00", sale_price="620.00",
        is_oem=True,
    )
    bosch = catalogue.part_create(
        actor=manager, group=world.group, number="0986AB2553", name_zh="博世前刹车片", name_en="Bosch front brake pads",
        category="brake", unit="set", cost_price="260.00", sale_price="450.00", is_oem=False,
        aliases=[{"number": "04465-33471", "brand": "TOYOTA"}],
    )
    oil = catalogue.part_create(
        actor=manager, group=world.group, number="08880-13705", oem_number="08880-13705", name_zh="丰田机油 0W-20",
        name_en="Toyota oil 0W-20", category="oil", unit="litre", cost_price="55.00", sale_price="88.00", is_oem=True,
    )
    for job_type, rate in (("repair", "300.00"), ("maintenance", "200.00")):
        services.labour_rate_set(actor=manager, store=world.a, job_type=job_type, rate=rate)
    services.labour_rate_set(actor=world.manager_b, store=world.b, job_type="repair", rate="280.00")
    brakes = services.labour_operation_save(
        actor=manager, group=world.group, code="BRK-F", name_zh="更换前刹车片", name_en="Replace front brake pads",
        standard_hours="1.5", job_type="repair", required_skill="maintenance", parts=[{"part": pads, "quantity": 1}],
    )
    oil_service = services.labour_operation_save(
        actor=manager, group=world.group, code="OIL", name_zh="更换机油", name_en="Oil change",
        standard_hours="0.5", job_type="maintenance", parts=[{"part": oil, "quantity": "4"}],
    )
    customer = CustomerFactory(home_store=world.a, name="张伟", title="mr")
    vehicle = VehicleFactory(owner=customer, plate="粤B12345", make="Toyota", model="Camry")
    order = repair_order_check_in(actor=world.advisor, store=world.a, customer=customer, vehicle=vehicle, mileage=42000)
    return SimpleNamespace(
        pads=pads, bosch=bosch, oil=oil, brakes=brakes, oil_service=oil_service, customer=customer, vehicle=vehicle,
        order=order,
    )
