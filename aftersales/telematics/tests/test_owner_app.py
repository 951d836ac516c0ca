"""Issue 21: an alert from the car reaches the owner app's car page, in the owner's language, with a booking that
carries the problem; another owner never sees it; a closed alert leaves the page."""

from __future__ import annotations

import pytest

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.portal.tests.conftest import sign_in
from aftersales.telematics.models import Alert

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language,problem,advice", [
    ("zh-hans", "电池电量低", "建议到店检测"),
    ("en", "The battery is low", "have it checked at the store"),
])
def test_the_cars_alert_is_on_the_owners_car_page(client, tel, language, problem, advice):
    tel.owner.language = language
    tel.owner.save(update_fields=["language"])
    for seq in range(1, 4):
        tel.send(seq, battery_v=11.0, ignition=False)
    assert Alert.objects.filter(status="open").count() == 1
    sign_in(client, tel.owner)
    page = client.get(f"/app/cars/{tel.vehicle.pk}/").content.decode()
    assert 'data-testid="car-alert"' in page
    assert problem in page and advice in page
    book = page.split('data-testid="car-alert-book"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert book.startswith("/app/book/?") and f"v={tel.vehicle.pk}" in book
    form = client.get(book.replace("&amp;", "&")).content.decode()
    assert problem.lower() in form.lower()  # the problem is already written in the booking form


def test_another_owner_and_a_closed_alert_show_nothing(client, tel):
    for seq in range(1, 4):
        tel.send(seq, battery_v=11.0, ignition=False)
    other = CustomerFactory(home_store=tel.world.a, name="赵六")
    other_car = VehicleFactory(owner=other, plate="粤A54321")
    sign_in(client, other)
    assert client.get(f"/app/cars/{tel.vehicle.pk}/").status_code == 404
    assert 'data-testid="car-alert"' not in client.get(f"/app/cars/{other_car.pk}/").content.decode()
    tel.send(4, battery_v=12.8, ignition=False)  # charged: the alert closes
    client.post("/app/logout/")
    sign_in(client, tel.owner)
    assert 'data-testid="car-alert"' not in client.get(f"/app/cars/{tel.vehicle.pk}/").content.decode()
