"""Phone numbers on the appointment screens follow the role: full for advisors, 138****1234 for the workshop."""

import pytest

from aftersales.appointments import services

from .conftest import local

pytestmark = pytest.mark.django_db


def test_appointment_page_masks_the_phone_for_technicians(client, shop):
    world = shop.world
    appointment = services.appointment_book(
        actor=world.advisor, store=shop.store, service_type=shop.maintenance, start=local(shop.monday, "09:00"),
        customer=shop.customer, vehicle=shop.vehicle,
    )
    full = shop.customer.mobile_display
    masked = f"{full[:3]}****{full[-4:]}"
    client.force_login(world.technician)
    page = client.get(f"/appointments/{appointment.pk}/").content.decode()
    assert masked in page and full not in page and shop.customer.mobile not in page
    client.force_login(world.advisor)
    page = client.get(f"/appointments/{appointment.pk}/").content.decode()
    assert full in page
