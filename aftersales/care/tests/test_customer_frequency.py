"""Issue 14, item 4: the care sweep honours how often the customer wants reminders (all / only what the car needs /
none) and sends on the channel they chose."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.care.choices import ReminderKind, ReminderStatus
from aftersales.care.models import Reminder
from aftersales.care.services import reminders_send_pending
from aftersales.customers.services import customer_update
from aftersales.messaging.models import Message

pytestmark = pytest.mark.django_db
D = dt.date


def _due(car, kind):
    return Reminder.objects.create(store=car.store, customer=car.customer, vehicle=car.vehicle, kind=kind,
                                   due_date=D(2026, 7, 31), lead_days=7, remind_on=D(2026, 7, 24), due_km=10000)


def _set(car, frequency, channel="sms"):
    customer_update(actor=car.world.manager, customer=car.customer, reminder_frequency=frequency, preferred_channel=channel,
                    email="zw@example.com")


def test_all_sends_greetings_and_needs_on_the_chosen_channel(car):
    _set(car, "all", channel="email")
    _due(car, ReminderKind.MAINTENANCE)
    _due(car, ReminderKind.BIRTHDAY)
    assert reminders_send_pending(since=D(2026, 7, 24)) == 2
    assert set(Message.objects.values_list("channel", flat=True)) == {"email"}


def test_essential_dismisses_greetings_and_sends_what_the_car_needs(car):
    _set(car, "essential")
    maintenance = _due(car, ReminderKind.MAINTENANCE)
    birthday = _due(car, ReminderKind.BIRTHDAY)
    assert reminders_send_pending(since=D(2026, 7, 24)) == 1
    maintenance.refresh_from_db()
    birthday.refresh_from_db()
    assert maintenance.status == ReminderStatus.SENT and birthday.status == ReminderStatus.DISMISSED
    assert birthday.message is None and birthday.events.filter(to_state="dismissed").exists()


def test_none_sends_nothing_and_leaves_the_car_reminders_to_call(car):
    _set(car, "none")
    maintenance = _due(car, ReminderKind.MAINTENANCE)
    assert reminders_send_pending(since=D(2026, 7, 24)) == 0
    maintenance.refresh_from_db()
    assert maintenance.status == ReminderStatus.DUE and not Message.objects.exists()
