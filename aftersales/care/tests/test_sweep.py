"""The daily reminder sweep: projected due dates, each reminder type once on the right day, messages, coverage."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.care.choices import ReminderKind, ReminderStatus
from aftersales.care.models import CareSettings, MaintenancePlan, Reminder
from aftersales.care.selectors import _declined_jobs_due, first_service_coverage
from aftersales.care.services import reminder_sweep
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.customers.models import Consent
from aftersales.messaging.models import Message
from aftersales.stores.models import Holiday
from aftersales.workshop.models import RepairJob

from .conftest import reading, visit

D = dt.date


def sweep(day: dt.date) -> dict[str, int]:
    return dict(reminder_sweep(today=day).created)


def reminders(kind: str) -> list[Reminder]:
    return list(Reminder.objects.filter(kind=kind).order_by("id"))


def fires_once(day: dt.date, kind: str, expected: int = 1) -> list[Reminder]:
    """Nothing the day before, ``expected`` reminders on the day, nothing new when run again or the day after."""
    sweep(day - dt.timedelta(days=1))
    assert reminders(kind) == []
    sweep(day)
    rows = reminders(kind)
    assert len(rows) == expected
    sweep(day)
    sweep(day + dt.timedelta(days=1))
    assert len(reminders(kind)) == expected
    return rows


# ---- projection -----------------------------------------------------------------------------------------------------
def test_first_service_by_mileage_when_the_car_drives_a_lot(car):
    # 3,000 km in 30 days = 100 km/day; 5,000 km reached 20 days after the last reading (2026-03-01), before 3 months
    reading(car.vehicle, D(2026, 1, 10), 0)
    reading(car.vehicle, D(2026, 1, 25), 1200)
    reading(car.vehicle, D(2026, 2, 9), 3000)
    (r,) = fires_once(D(2026, 2, 26), ReminderKind.FIRST_SERVICE)
    assert (r.due_date, r.due_km, r.lead_days, r.remind_on) == (D(2026, 3, 1), 5000, 3, D(2026, 2, 26))


def test_first_service_by_time_when_the_car_drives_little(car):
    # one reading: the store's assumed 40 km/day gives 5,000 km after 125 days (2026-05-15); 3 months (04-10) come first
    reading(car.vehicle, D(2026, 1, 10), 0)
    (r,) = fires_once(D(2026, 4, 7), ReminderKind.FIRST_SERVICE)
    assert r.due_date == D(2026, 4, 10)


def test_one_reading_uses_the_stores_assumed_daily_distance(car):
    CareSettings.objects.create(store=car.store, default_daily_km=100)
    reading(car.vehicle, D(2026, 1, 10), 0)
    (r,) = fires_once(D(2026, 2, 26), ReminderKind.FIRST_SERVICE)
    assert r.due_date == D(2026, 3, 1)  # 5,000 km / 100 km a day = 50 days


def test_calendar_months_end_of_month(car):
    car.vehicle.purchase_date = D(2025, 11, 30)
    car.vehicle.save()
    reading(car.vehicle, D(2025, 11, 30), 0)
    (r,) = fires_once(D(2026, 2, 25), ReminderKind.FIRST_SERVICE)
    assert r.due_date == D(2026, 2, 28)  # 3 months after 30 November is 28 February


def test_maintenance_after_the_last_service_whichever_first_and_model_plan(car):
    reading(car.vehicle, D(2026, 1, 10), 0)
    reading(car.vehicle, D(2026, 3, 1), 5000)  # 100 km/day
    visit(car.vehicle, D(2026, 3, 1), 5000)
    # default plan: 10,000 km more = 100 days (06-09) before 6 months (09-01); reminder 7 days before
    (r,) = fires_once(D(2026, 6, 2), ReminderKind.MAINTENANCE)
    assert (r.due_date, r.due_km) == (D(2026, 6, 9), 15000)
    assert reminders(ReminderKind.FIRST_SERVICE) == []  # serviced already


def test_model_plan_wins_over_the_default(car):
    MaintenancePlan.objects.create(group=car.store.group, make="Toyota", model="Camry", interval_months=6, interval_km=30000)
    MaintenancePlan.objects.create(group=car.store.group, store=car.store, interval_months=3, interval_km=5000)
    reading(car.vehicle, D(2026, 1, 10), 0)
    reading(car.vehicle, D(2026, 3, 1), 5000)
    visit(car.vehicle, D(2026, 3, 1), 5000)
    (r,) = fires_once(D(2026, 8, 25), ReminderKind.MAINTENANCE)  # 30,000 km would be 300 days: 6 months first
    assert r.due_date == D(2026, 9, 1)


def test_store_default_plan_when_no_model_plan(car):
    MaintenancePlan.objects.create(group=car.store.group, store=car.store, first_service_months=2, first_service_km=3000)
    reading(car.vehicle, D(2026, 1, 10), 0)
    (r,) = fires_once(D(2026, 3, 7), ReminderKind.FIRST_SERVICE)
    assert r.due_date == D(2026, 3, 10) and r.due_km == 3000


# ---- the other reminder types -----------------------------------------------------------------------------------------
def test_insurance_30_and_7_days_before(car):
    car.vehicle.insurance_expiry = D(2026, 7, 31)
    car.vehicle.save()
    (first,) = fires_once(D(2026, 7, 1), ReminderKind.INSURANCE)
    assert first.lead_days == 30
    sweep(D(2026, 7, 23))
    assert len(reminders(ReminderKind.INSURANCE)) == 1
    sweep(D(2026, 7, 24))
    sweep(D(2026, 7, 24))
    rows = reminders(ReminderKind.INSURANCE)
    assert [r.lead_days for r in rows] == [30, 7] and {r.due_date for r in rows} == {D(2026, 7, 31)}


def test_warranty_end(car):
    car.vehicle.warranty_start, car.vehicle.warranty_end = D(2023, 1, 10), D(2026, 1, 10)
    car.vehicle.purchase_date = D(2023, 1, 10)
    car.vehicle.save()
    (r,) = fires_once(D(2025, 12, 11), ReminderKind.WARRANTY)
    assert r.due_date == D(2026, 1, 10)


def test_annual_inspection_on_even_years_and_anniversary_every_year(car):
    car.vehicle.purchase_date = D(2024, 5, 20)
    car.vehicle.save()
    (r,) = fires_once(D(2026, 4, 20), ReminderKind.INSPECTION)
    assert (r.due_date, r.detail) == (D(2026, 5, 20), "2")
    (a,) = fires_once(D(2026, 5, 20), ReminderKind.ANNIVERSARY)
    assert a.detail == "2"
    sweep(D(2027, 5, 20))
    assert len(reminders(ReminderKind.INSPECTION)) == 1  # third year: no inspection
    assert len(reminders(ReminderKind.ANNIVERSARY)) == 2


def test_a_car_bought_on_29_february_has_its_anniversary_on_the_28th_in_other_years(car):
    from aftersales.care.sweep import _window_days

    assert _window_days(D(2027, 2, 27), 1) == [227, 228, 229]  # 2027 is not a leap year: the 29th's anniversary
    assert _window_days(D(2028, 2, 27), 1) == [227, 228]  # 2028 is: it has its own day
    assert _window_days(D(2026, 12, 30), 3) == [101, 102, 1230, 1231]
    car.vehicle.purchase_date = D(2024, 2, 29)
    car.vehicle.save()
    (a,) = fires_once(D(2025, 2, 28), ReminderKind.ANNIVERSARY)
    assert (a.due_date, a.detail) == (D(2025, 2, 28), "1")
    (i,) = fires_once(D(2026, 1, 29), ReminderKind.INSPECTION)  # 2 years, 30 days before
    assert i.due_date == D(2026, 2, 28)


def test_birthday_month_offer_once_per_customer(car):
    car.customer.birthday = D(1990, 3, 15)
    car.customer.save()
    VehicleFactory(owner=car.customer, purchase_date=None)  # a second car: still one birthday reminder
    Consent.objects.create(customer=car.customer, purpose="marketing", channel="sms", granted=True,
                           at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), source="paper")
    (r,) = fires_once(D(2026, 3, 1), ReminderKind.BIRTHDAY)
    assert r.vehicle_id is None and r.due_date == D(2026, 3, 1)
    message = Message.objects.get(pk=r.message_id)
    assert message.kind == "care.birthday" and "免费内饰清洁" in message.body and message.status == "pending"
    assert r.status == ReminderStatus.SENT


def test_holiday_before_the_first_day_only(car):
    for i in range(7):
        Holiday.objects.create(store=car.store, date=D(2026, 10, 1) + dt.timedelta(days=i), name="国庆节")
    (r,) = fires_once(D(2026, 9, 28), ReminderKind.HOLIDAY)
    assert (r.due_date, r.detail) == (D(2026, 10, 1), "国庆节")
    sweep(D(2026, 10, 2))
    assert len(reminders(ReminderKind.HOLIDAY)) == 1


def test_declined_recommendations(car):
    has_status = "status" in {f.name for f in RepairJob._meta.get_fields()}
    order = visit(car.vehicle, D(2026, 1, 20), 1000, job_type="repair")
    if not has_status:
        # until the workshop app has job statuses there are no declined jobs, and the sweep writes none
        assert _declined_jobs_due(store_ids=[car.store.pk], today=D(2026, 2, 19), delays={car.store.pk: 30}) == []
        sweep(D(2026, 2, 19))
        assert reminders(ReminderKind.DECLINED) == []
        return
    RepairJob.objects.filter(order=order).update(status="declined")
    (r,) = fires_once(D(2026, 2, 19), ReminderKind.DECLINED)
    assert r.due_date == D(2026, 2, 19) and r.detail == "维修"


# ---- the due-date table: refreshed for what changed, the same as a rebuild ---------------------------------------------
def _due_rows() -> list[tuple]:
    from aftersales.care.models import VehicleDue
    from aftersales.care.sweep import DUE_COLUMNS

    return sorted(VehicleDue.objects.values_list(*DUE_COLUMNS))


def test_the_refreshed_table_is_what_a_rebuild_gives_after_every_kind_of_change(car):
    from django.utils import timezone

    from aftersales.care.models import DueTableState
    from aftersales.workshop.models import RepairJobEvent

    day = D(2026, 4, 1)
    w = car.world
    cars = [VehicleFactory(owner=CustomerFactory(home_store=w.a), purchase_date=D(2025, 6, i + 1)) for i in range(7)]
    for v in cars:
        reading(v, D(2025, 6, 1), 0)
    served = visit(cars[5], D(2025, 12, 1), 4000)
    first = reminder_sweep(today=day, send=False)
    assert first.rebuilt and first.vehicles == 8
    second = reminder_sweep(today=day, send=False)
    assert not second.rebuilt and second.vehicles == 0  # nothing changed: nothing computed
    before = _due_rows()
    # every input the due dates depend on, changed the way the application changes it
    reading(cars[0], D(2026, 3, 1), 9000)  # a new reading
    visit(cars[1], D(2026, 3, 2), 8000)  # a maintenance visit (a new order and job)
    cars[2].insurance_expiry, cars[2].purchase_date = D(2026, 5, 1), D(2025, 7, 1)
    cars[2].save()  # the vehicle edited
    owner = cars[3].owner
    owner.home_store = w.b
    owner.save()  # the owner moved to store B: so does the car
    job = served.jobs.get()
    RepairJob.objects.filter(pk=job.pk).update(status="declined")  # the job declined through its transition (event row)
    RepairJobEvent.objects.create(job=job, from_state="passed_qc", to_state="declined", at=timezone.now())
    new_car = VehicleFactory(owner=CustomerFactory(home_store=w.b), purchase_date=D(2026, 1, 5))  # a new car
    refreshed = reminder_sweep(today=day + dt.timedelta(days=1), send=False)
    assert not refreshed.rebuilt and refreshed.vehicles == 6
    after = _due_rows()
    assert after != before
    reminder_sweep(today=day + dt.timedelta(days=1), send=False, full=True)
    assert _due_rows() == after
    assert {r[0]: r[2] for r in after}[cars[3].pk] == w.b.pk and new_car.pk in {r[0] for r in after}
    # the marks lag one sweep: what changed just before the last sweep is looked at again by the next one
    state = DueTableState.objects.get()
    assert state.marks_before["reading"] <= state.marks["reading"]


def test_a_plan_change_or_many_changed_vehicles_rebuild_the_table(car, monkeypatch):
    from aftersales.care import sweep as due

    day = D(2026, 4, 1)
    assert reminder_sweep(today=day, send=False).rebuilt
    assert not reminder_sweep(today=day, send=False).rebuilt
    MaintenancePlan.objects.create(group=car.store.group, make="Toyota", first_service_months=2)
    again = reminder_sweep(today=day, send=False)
    assert again.rebuilt and again.vehicles == 1
    CareSettings.objects.filter(store=car.store).update(default_daily_km=80)
    assert reminder_sweep(today=day, send=False).rebuilt
    assert not reminder_sweep(today=day, send=False).rebuilt
    monkeypatch.setattr(due, "REBUILD_MIN", 0)
    car.vehicle.save()  # every vehicle (one) changed: more than REBUILD_SHARE of them
    assert reminder_sweep(today=day, send=False).rebuilt


# ---- messages ---------------------------------------------------------------------------------------------------------
def test_first_service_message_has_booking_link_materials_and_directions(car):
    from aftersales.appointments.models import ServiceType

    ServiceType.objects.create(store=car.store, code="maint", name_zh="保养", materials_zh="保养手册、行驶证、身份证")
    reading(car.vehicle, D(2026, 1, 10), 0)
    sweep(D(2026, 4, 7))
    sweep(D(2026, 4, 7))
    (r,) = reminders(ReminderKind.FIRST_SERVICE)
    messages = Message.objects.filter(customer=car.customer)
    assert messages.count() == 1
    body = messages.get().body
    assert "天河路 1 号" in body and "保养手册、行驶证、身份证" in body and f"/book/{car.store.code}/?v={car.vehicle.pk}" in body
    assert "2026-04-10" in body and r.status == ReminderStatus.SENT and r.message_id == messages.get().pk


def _quiet(store, start: dt.time, end: dt.time) -> None:
    from aftersales.messaging.services import channel_settings

    cfg = channel_settings(store)
    cfg.quiet_start, cfg.quiet_end = start, end
    cfg.save()


@pytest.mark.parametrize("kind", [ReminderKind.INSURANCE, ReminderKind.MAINTENANCE, ReminderKind.FIRST_SERVICE,
                                  ReminderKind.INSPECTION])
def test_a_due_reminder_is_a_service_message_sent_without_marketing_consent(car, kind):
    from aftersales.care.services import reminders_send_pending

    _quiet(car.store, dt.time(0, 0), dt.time(0, 0))
    Reminder.objects.create(store=car.store, customer=car.customer, vehicle=car.vehicle, kind=kind, due_date=D(2026, 7, 31),
                            lead_days=7, remind_on=D(2026, 7, 24), due_km=10000)
    assert reminders_send_pending(since=D(2026, 7, 24)) == 1
    (r,) = reminders(kind)
    assert r.message.purpose == "service" and r.message.status == "pending" and r.status == ReminderStatus.SENT


def test_a_service_reminder_waits_out_quiet_hours(car):
    from django.utils import timezone

    from aftersales.care.services import reminders_send_pending

    _quiet(car.store, dt.time(0, 0), dt.time(23, 59))  # quiet all day but the last minute
    Reminder.objects.create(store=car.store, customer=car.customer, vehicle=car.vehicle, kind=ReminderKind.MAINTENANCE,
                            due_date=D(2026, 7, 31), lead_days=7, remind_on=D(2026, 7, 24), due_km=10000)
    reminders_send_pending(since=D(2026, 7, 24))
    (r,) = reminders(ReminderKind.MAINTENANCE)
    local = timezone.localtime(r.message.not_before, car.store.zone)
    assert local.time() == dt.time(23, 59) and r.message.not_before >= r.message.created_at


def test_withdrawn_service_consent_sends_nothing_and_leaves_the_reminder_to_call(car):
    from aftersales.care.services import reminders_send_pending
    from aftersales.customers.services import consent_record

    consent_record(actor=car.world.manager, customer=car.customer, purpose="service", channel="sms", granted=False,
                   source="in_store")
    Reminder.objects.create(store=car.store, customer=car.customer, vehicle=car.vehicle, kind=ReminderKind.MAINTENANCE,
                            due_date=D(2026, 7, 31), lead_days=7, remind_on=D(2026, 7, 24), due_km=10000)
    assert reminders_send_pending(since=D(2026, 7, 24)) == 0
    (r,) = reminders(ReminderKind.MAINTENANCE)
    assert r.message is None and r.status == ReminderStatus.DUE and not Message.objects.exists()


@pytest.mark.parametrize("consented", [False, True])
def test_the_offer_attached_to_a_service_reminder_is_dropped_without_marketing_consent(car, consented):
    from aftersales.care.services import reminders_send_pending
    from aftersales.customers.services import consent_record

    _quiet(car.store, dt.time(0, 0), dt.time(0, 0))
    if consented:
        consent_record(actor=car.world.manager, customer=car.customer, purpose="marketing", channel="sms", granted=True,
                       source="in_store")
    CareSettings.objects.create(store=car.store, warranty_offer="延保服务八折")
    Reminder.objects.create(store=car.store, customer=car.customer, vehicle=car.vehicle, kind=ReminderKind.WARRANTY,
                            due_date=D(2026, 7, 31), lead_days=30, remind_on=D(2026, 7, 1))
    reminders_send_pending(since=D(2026, 7, 1))
    (r,) = reminders(ReminderKind.WARRANTY)
    assert r.message.status == "pending" and r.status == ReminderStatus.SENT  # the reminder itself always goes
    assert "2026-07-31" in r.message.body and "。。" not in r.message.body
    assert ("延保服务八折" in r.message.body) is consented


def test_other_stores_vehicles_get_their_own_store(car):
    other = CustomerFactory(home_store=car.world.b)
    VehicleFactory(owner=other, purchase_date=D(2026, 1, 10))
    sweep(D(2026, 4, 7))
    assert sorted(r.store_id for r in reminders(ReminderKind.FIRST_SERVICE)) == sorted([car.store.pk, car.world.b.pk])


def test_messages_are_queued_in_batches_with_a_fixed_number_of_queries(car, monkeypatch):
    """Insurance reminders (service messages) for several cars, one customer a refused template: one batch links every other
    reminder to its message, moves them to "sent" with their event row; a rerun queues nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from aftersales.care import services
    from aftersales.care.models import ReminderEvent
    from aftersales.customers.services import consent_record
    from aftersales.messaging.models import MessageTemplate

    def fleet(n: int, expiry: dt.date, store) -> list:
        cars = []
        for i in range(n):
            customer = CustomerFactory(home_store=store, language="en" if i % 2 else "zh-hans")
            if i % 3 == 0:
                consent_record(actor=car.world.manager, customer=customer, purpose="marketing", channel="sms", granted=True,
                               source="in_store")
            cars.append(VehicleFactory(owner=customer, insurance_expiry=expiry))
        return cars

    def send(day: dt.date) -> tuple[int, int]:
        reminder_sweep(today=day, send=False)
        with CaptureQueriesContext(connection) as ctx:
            sent = services.reminders_send_pending(since=day)
        return sent, len(ctx.captured_queries)

    fleet(3, D(2026, 7, 31), car.store)
    fleet(3, D(2026, 7, 31), car.world.b)
    few = send(D(2026, 7, 1))
    assert few[0] == 6
    fleet(12, D(2026, 8, 31), car.store)
    fleet(12, D(2026, 8, 31), car.world.b)
    # store B's English SMS text uses a variable an insurance reminder does not have: those messages are refused
    MessageTemplate.objects.create(group=car.world.group, store=car.world.b, kind="care.insurance", channel="sms",
                                   language="en", body="{{ greeting }} {{ offer }}")
    monkeypatch.setattr(services, "SEND_BATCH", 1000)
    many = send(D(2026, 8, 1))
    assert many[0] == 24 - 6 and many[1] <= few[1]  # 24 reminders in one batch: no more queries than 6
    rows = list(Reminder.objects.filter(kind=ReminderKind.INSURANCE, due_date=D(2026, 8, 31)).select_related("message", "customer"))
    refused = [r for r in rows if r.store_id == car.world.b.pk and r.customer.language == "en"]
    assert len(refused) == 6 and all(r.message is None and r.status == ReminderStatus.DUE for r in refused)
    for r in rows:
        if r in refused:
            continue
        # an insurance reminder is a service message: sent whatever the marketing consent
        assert r.message.status == "pending" and r.status == ReminderStatus.SENT
        assert r.message.dedup_key == services.reminder_dedup_key(r)
        events = list(ReminderEvent.objects.filter(reminder=r).values_list("from_state", "to_state"))
        assert events == [("due", "sent")]
    assert services.reminders_send_pending(since=D(2026, 8, 1)) == 0  # the refused ones again: still refused
    assert Message.objects.filter(kind="care.insurance").count() == 6 + 18


# ---- coverage ---------------------------------------------------------------------------------------------------------
def test_first_service_coverage(car):
    later = VehicleFactory(owner=CustomerFactory(home_store=car.store), purchase_date=D(2026, 1, 20))
    serviced = VehicleFactory(owner=CustomerFactory(home_store=car.store), purchase_date=D(2026, 1, 15))
    visit(serviced, D(2026, 3, 20), 3000)  # came early: needs no reminder
    admin = car.world.admin
    sweep(D(2026, 4, 7))  # car's reminder (due 04-10); the later car (due 04-20) not yet
    cov = first_service_coverage(admin, store=car.store, start=D(2026, 4, 1), end=D(2026, 4, 30))
    assert (cov["due"], cov["reached"]) == (2, 1) and cov["rate"] == pytest.approx(0.5)
    sweep(D(2026, 4, 17))
    cov = first_service_coverage(admin, store=car.store, start=D(2026, 4, 1), end=D(2026, 4, 30))
    assert (cov["due"], cov["reached"], cov["rate"]) == (2, 2, 1.0)
    assert later.care_reminders.get().due_date == D(2026, 4, 20)


def test_a_declined_maintenance_job_is_not_a_service(car):
    reading(car.vehicle, D(2026, 1, 10), 0)
    order = visit(car.vehicle, D(2026, 2, 1), 1000)
    RepairJob.objects.filter(order=order).update(status="declined")
    (r,) = fires_once(D(2026, 4, 7), ReminderKind.FIRST_SERVICE)  # still waiting for its first service
    assert r.due_date == D(2026, 4, 10)


def test_the_periodic_tasks_are_thin_and_idempotent(car):
    from django.utils import timezone

    from aftersales.care import tasks

    car.vehicle.insurance_expiry = timezone.localdate() + dt.timedelta(days=7)
    car.vehicle.save()
    assert "1 reminders" in tasks.reminder_sweep()
    assert "0 reminders" in tasks.reminder_sweep()
    assert tasks.playbooks_tick().startswith("0 enrolled")
    assert car.store.playbooks.count() == 5  # the shipped defaults were given to the store
