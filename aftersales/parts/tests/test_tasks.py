import datetime as dt

from django.utils import timezone

from aftersales.celery import app
from aftersales.parts.choices import ReservationStatus
from aftersales.parts.models import Part, Reservation, StockItem
from aftersales.parts.services import reserve, stock_receive
from aftersales.parts.tasks import expire_reservations


def test_expiry_task_releases_stock_and_is_scheduled(world):
    clerk = world.staff["parts_clerk"]
    pads = Part.objects.create(group=world.group, number="BP-01", name_zh="刹车片", unit="set")
    stock_receive(actor=clerk, store=world.a, part=pads, quantity="4", unit_cost="200")
    reserve(actor=clerk, store=world.a, part=pads, quantity="3", source="appointment", reference="appointment:9",
            expires_at=timezone.now() - dt.timedelta(minutes=1))
    reserve(actor=clerk, store=world.a, part=pads, quantity="1", source="appointment", reference="appointment:10",
            expires_at=timezone.now() + dt.timedelta(days=1))
    assert expire_reservations() == 1
    assert expire_reservations() == 0  # idempotent
    item = StockItem.objects.get(store=world.a, part=pads)
    assert item.reserved == 1
    assert Reservation.objects.get(reference="appointment:9").status == ReservationStatus.EXPIRED
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"aftersales.parts.expire_reservations", "aftersales.parts.reorder_sweep"} <= scheduled
