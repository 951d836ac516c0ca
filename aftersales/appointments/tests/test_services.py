import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.appointments import services
from aftersales.appointments.availability import free_slots
from aftersales.appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentPartShortage,
    CannedJob,
    CannedJobPart,
)
from aftersales.appointments.selectors import arrivals_today, no_show_count, preparation_for
from aftersales.common.errors import Conflict, DomainError, Forbidden, IllegalTransition, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_mobile, make_staff, make_vin
from aftersales.customers.models import Customer, CustomerStore
from aftersales.messaging.models import Message
from aftersales.parts.models import Part, Reservation, StockItem
from aftersales.parts.services import stock_receive
from aftersales.stores.models import Holiday
from aftersales.vehicles.models import Vehicle

from .conftest import hhmm, local

pytestmark = pytest.mark.django_db


def book(shop, start="09:00", day=None, **kwargs):
    kwargs.setdefault("customer", shop.customer)
    kwargs.setdefault("vehicle", shop.vehicle)
    return services.appointment_book(
        actor=kwargs.pop("actor", shop.world.advisor), store=shop.store, service_type=kwargs.pop("service_type", shop.maintenance),
        start=local(day or shop.monday, start), **kwargs,
    )


@pytest.fixture
def oil_service(shop):
    clerk = shop.world.staff["parts_clerk"]
    oil = Part.objects.create(group=shop.world.group, number="08880-83717", name_zh="机油", unit="l", cost_price="40")
    filt = Part.objects.create(group=shop.world.group, number="04152-YZZA1", name_zh="机油滤清器", unit="pc", cost_price="30")
    oil.refresh_from_db()
    filt.refresh_from_db()
    stock_receive(actor=clerk, store=shop.store, part=oil, quantity="10", unit_cost="40")
    job = CannedJob.objects.create(store=shop.store, name="5,000 km service", service_type=shop.maintenance, duration_minutes=90)
    CannedJobPart.objects.create(canned_job=job, part=oil, quantity=Decimal("4"))
    CannedJobPart.objects.create(canned_job=job, part=filt, quantity=Decimal("1"))
    return job, oil, filt


@pytest.mark.parametrize(("language", "materials", "advisor_name"), [("zh-hans", "保养手册、行驶证", None), ("en", "service book, registration", None)])
def test_booking_queues_confirmation_and_reminder_in_the_customers_language(shop, language, materials, advisor_name, settings):
    settings.AFTERSALES_PUBLIC_URL = "https://shop.example"
    Customer.objects.filter(pk=shop.customer.pk).update(language=language)
    shop.customer.refresh_from_db()
    appointment = book(shop, "09:00", fault_description="异响")
    assert appointment.status == "booked" and appointment.end - appointment.start == dt.timedelta(minutes=60)
    assert (appointment.bay, appointment.technician, appointment.advisor) == (shop.bays[0], shop.techs[0], shop.world.advisor)
    confirmation = Message.objects.get(dedup_key=f"appointment-confirmation:{appointment.pk}")
    assert confirmation.kind == "appointment.confirmation" and confirmation.language == language
    v = confirmation.variables
    assert v["date"] == shop.monday.isoformat() and v["time"] == "09:00" and v["duration"] == "1"
    assert v["advisor_name"] == str(shop.world.advisor) and v["materials"] == materials
    assert v["directions"] == "天河路 1 号" and v["plate"] == "粤B12345"
    assert v["link"].startswith("https://shop.example/a/") and v["link"].endswith("/")
    assert services.appointment_from_token(v["link"].split("/")[-2]) == appointment
    assert v["greeting"] == ("张先生" if language == "zh-hans" else "Mr 张")
    assert materials in confirmation.body and "09:00" in confirmation.body
    reminder = Message.objects.get(dedup_key=f"appointment-reminder:{appointment.pk}:{appointment.start.isoformat()}")
    assert reminder.kind == "appointment.reminder" and reminder.status == "pending"
    assert reminder.not_before == local(shop.monday - dt.timedelta(days=1), "18:00")
    assert AuditEvent.objects.filter(action="appointment.booked", object_id=str(appointment.pk)).exists()
    assert list(AppointmentEvent.objects.filter(appointment=appointment).values_list("from_state", "to_state")) == [("", "booked")]


def test_reminder_hour_is_configurable(shop, settings):
    settings.APPOINTMENT_REMINDER_HOUR = 9
    appointment = book(shop)
    reminder = Message.objects.get(kind="appointment.reminder", customer=shop.customer)
    assert reminder.not_before == local(shop.monday - dt.timedelta(days=1), "09:00")
    assert services.reminder_time(appointment) == reminder.not_before


def test_same_morning_reminder_when_the_store_wants_it(shop):
    shop.store.same_morning_reminder_hour = 8
    shop.store.save()
    early = book(shop, "08:30")  # 08:00 is too close to an 08:30 booking: the day-before reminder is enough
    late = book(shop, "14:00")
    assert not Message.objects.filter(dedup_key__endswith=":morning", dedup_key__contains=f":{early.pk}:").exists()
    morning = Message.objects.get(dedup_key=f"appointment-reminder:{late.pk}:{late.start.isoformat()}:morning")
    assert morning.not_before == local(shop.monday, "08:00") and morning.status == "pending"
    services.appointment_cancel(actor=shop.world.advisor, appointment=late)
    morning.refresh_from_db()
    assert morning.status == "cancelled"  # both reminders go with a cancellation


def test_new_customer_and_vehicle_are_created(shop):
    vin = make_vin()
    appointment = book(
        shop, customer=None, vehicle=None, customer_data={"name": "李娜", "mobile": "13900001111"},
        vehicle_data={"plate": "粤A00001", "vin": vin, "make": "Honda", "model": "Accord"}, channel="portal",
    )
    customer = Customer.objects.get(mobile="+8613900001111")
    assert appointment.customer == customer and appointment.vehicle.vin == vin and appointment.vehicle.owner == customer
    assert appointment.channel == "portal"
    # the same mobile again finds the customer; the same VIN finds the vehicle
    again = book(shop, "10:00", customer=None, vehicle=None, customer_data={"name": "李娜", "mobile": "139 0000 1111"},
                 vehicle_data={"vin": vin})
    assert again.customer == customer and again.vehicle == appointment.vehicle
    assert Customer.objects.filter(mobile="+8613900001111").count() == 1


def test_customer_of_another_store_is_found_by_mobile_and_attached(shop):
    other = CustomerFactory(home_store=shop.world.b, mobile=make_mobile())
    car = VehicleFactory(owner=other)
    appointment = book(shop, customer=None, vehicle=car, customer_data={"name": "x", "mobile": other.mobile})
    assert appointment.customer == other
    assert CustomerStore.objects.filter(customer=other, store=shop.store).exists()


def test_default_parts_are_reserved_and_shortages_recorded(shop, oil_service):
    job, oil, filt = oil_service
    appointment = book(shop, canned_job=job, service_type=None)
    assert appointment.end - appointment.start == dt.timedelta(minutes=90)
    reservation = Reservation.objects.get(reference=f"appointment:{appointment.pk}")
    assert reservation.part == oil and reservation.quantity == 4 and reservation.source == "appointment"
    assert reservation.expires_at == appointment.end + dt.timedelta(days=1)
    shortage = AppointmentPartShortage.objects.get(appointment=appointment)
    assert shortage.part == filt and shortage.quantity == 1 and shortage.available == 0
    plan = {p.appointment.pk: p for p in preparation_for(shop.world.staff["foreman"], shop.store, shop.monday)}
    assert [r.part for r in plan[appointment.pk].reserved] == [oil] and not plan[appointment.pk].parts_ready


def test_last_slot_taken_gives_next_free_times(shop):
    book(shop, "09:00")
    with pytest.raises(Conflict) as exc:
        book(shop, "09:30", customer=None, vehicle=None, customer_data={"name": "王五", "mobile": "13911112222"},
             vehicle_data={"vin": make_vin(), "make": "BYD", "model": "Han"})
    assert exc.value.code == "slot_taken" and exc.value.field == "start"
    assert exc.value.extra["next_free"][:2] == [local(shop.monday, "10:00").isoformat(), local(shop.monday, "10:15").isoformat()]
    assert not Customer.objects.filter(mobile="+8613911112222").exists()  # nothing half-saved
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(("change", "code"), [
    ({"start": "past"}, "start_in_past"),
    ({"start": "holiday"}, "store_closed"),
    ({"start": "lunch"}, "outside_opening_hours"),
    ({"start": "sunday"}, "store_closed"),
    ({"service_type": 999999}, "service_type_unknown"),
    ({"vehicle": "other"}, "vehicle_not_customers"),
    ({"channel": "pigeon"}, "invalid_choice"),
    ({"advisor": "manager"}, "advisor_unknown"),
    ({"customer": None, "customer_data": {"name": "x", "mobile": "123"}}, "mobile_invalid"),
    ({"canned_job": 999999}, "canned_job_unknown"),
])
def test_bad_input_is_refused_naming_the_field_with_nothing_written(shop, change, code):
    Holiday.objects.create(store=shop.store, date=shop.monday, name="假期")
    tuesday = shop.monday + dt.timedelta(days=1)
    starts = {
        "past": timezone.now() - dt.timedelta(hours=1), "holiday": local(shop.monday, "09:00"),
        "lunch": local(tuesday, "11:30"), "sunday": local(tuesday + dt.timedelta(days=5), "10:00"),
    }
    kwargs = {"customer": shop.customer, "vehicle": shop.vehicle, "service_type": shop.maintenance, "start": local(tuesday, "09:00")}
    for key, value in change.items():
        if key == "start":
            value = starts[value]
        elif key == "vehicle":
            value = VehicleFactory(owner=CustomerFactory(home_store=shop.store))
        elif key == "advisor":
            value = shop.world.manager
        kwargs[key] = value
    messages, customers = Message.objects.count(), Customer.objects.count()
    with pytest.raises(DomainError) as exc:
        services.appointment_book(actor=shop.world.advisor, store=shop.store, **kwargs)
    if code == "mobile_invalid":
        assert exc.value.field == "mobile"
    else:
        assert exc.value.code == code, exc.value.as_dict()
        expected_field = {"start_in_past": "start", "store_closed": "start", "outside_opening_hours": "start",
                          "service_type_unknown": "service_type", "vehicle_not_customers": "vehicle", "invalid_choice": "channel",
                          "advisor_unknown": "advisor", "canned_job_unknown": "canned_job"}[code]
        assert exc.value.field == expected_field
    assert str(exc.value.message)
    assert Appointment.objects.count() == 0 and Message.objects.count() == messages and Customer.objects.count() == customers


def test_reschedule_moves_capacity_reminder_and_parts(shop, oil_service):
    job, oil, _filt = oil_service
    appointment = book(shop, "09:00", canned_job=job)
    old_key = f"appointment-reminder:{appointment.pk}:{appointment.start.isoformat()}"
    tuesday = shop.monday + dt.timedelta(days=1)
    moved = services.appointment_reschedule(actor=shop.world.advisor, appointment=appointment, start=local(tuesday, "14:00"))
    assert moved.start == local(tuesday, "14:00") and moved.status == "booked"
    assert moved.end - moved.start == dt.timedelta(minutes=90)
    assert Message.objects.get(dedup_key=old_key).status == "cancelled"
    new = Message.objects.get(dedup_key=f"appointment-reminder:{moved.pk}:{moved.start.isoformat()}")
    assert new.status == "pending" and new.not_before == local(shop.monday, "18:00")
    changed = Message.objects.get(kind="appointment.changed", customer=shop.customer)
    assert changed.variables["date"] == tuesday.isoformat() and changed.variables["change"] == "改期"
    assert "09:00" in hhmm(free_slots(shop.store, shop.monday, shop.maintenance))
    assert "14:00" not in hhmm(free_slots(shop.store, tuesday, shop.maintenance))
    active = Reservation.objects.filter(reference=f"appointment:{moved.pk}", status="active").get()
    assert active.expires_at == moved.end + dt.timedelta(days=1)
    assert StockItem.objects.get(part=oil, store=shop.store).reserved == 4
    assert list(moved.events.values_list("from_state", "to_state")) == [("", "booked"), ("booked", "booked")]


def test_reschedule_into_a_taken_slot_is_refused(shop):
    first = book(shop, "09:00")
    second = book(shop, "10:00")
    with pytest.raises(Conflict) as exc:
        services.appointment_reschedule(actor=shop.world.advisor, appointment=second, start=local(shop.monday, "09:30"))
    assert exc.value.code == "slot_taken"
    second.refresh_from_db()
    assert second.start == local(shop.monday, "10:00") and first.start == local(shop.monday, "09:00")
    # moving within its own time is fine (it does not collide with itself)
    services.appointment_reschedule(actor=shop.world.advisor, appointment=second, start=local(shop.monday, "10:15"))


def test_cancel_frees_capacity_releases_parts_and_tells_the_customer(shop, oil_service):
    job, oil, _filt = oil_service
    appointment = book(shop, "09:00", canned_job=job)
    assert "09:00" not in hhmm(free_slots(shop.store, shop.monday, shop.maintenance))
    services.appointment_cancel(actor=shop.world.advisor, appointment=appointment, reason="客户有事")
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert "09:00" in hhmm(free_slots(shop.store, shop.monday, shop.maintenance))
    assert StockItem.objects.get(part=oil, store=shop.store).reserved == 0
    assert not AppointmentPartShortage.objects.filter(appointment=appointment).exists()
    assert Message.objects.get(kind="appointment.reminder").status == "cancelled"
    assert Message.objects.get(kind="appointment.changed").variables["change"] == "取消"
    with pytest.raises(IllegalTransition):
        services.appointment_cancel(actor=shop.world.advisor, appointment=appointment)


def _in_the_past(appointment, minutes=30):
    start = timezone.now() - dt.timedelta(minutes=minutes)
    Appointment.objects.filter(pk=appointment.pk).update(start=start, end=start + dt.timedelta(hours=1))
    appointment.refresh_from_db()
    return appointment


def test_no_show_is_counted_and_frees_capacity(shop, oil_service, clock):
    clock(f"{timezone.localdate()} 11:00")  # half an hour ago is still today (at 00:15 it would be yesterday)
    job, oil, _filt = oil_service
    appointment = book(shop, "09:00", canned_job=job)
    with pytest.raises(ValidationFailed):
        services.appointment_mark_no_show(actor=shop.world.advisor, appointment=appointment)
    _in_the_past(appointment)
    assert [a.status for a in arrivals_today(shop.world.advisor, shop.store)] == ["late"]
    services.appointment_mark_no_show(actor=shop.world.advisor, appointment=appointment)
    assert no_show_count(shop.customer) == 1
    assert StockItem.objects.get(part=oil, store=shop.store).reserved == 0
    assert [a.status for a in arrivals_today(shop.world.advisor, shop.store)] == ["no_show"]
    # a late customer who turns up after all
    services.appointment_arrive(actor=shop.world.advisor, appointment=appointment)
    assert [a.status for a in arrivals_today(shop.world.advisor, shop.store)] == ["arrived"]


def test_arrive_and_arrivals_list(shop, clock):
    clock(f"{timezone.localdate()} 11:00")  # five minutes ago is still today
    appointment = _in_the_past(book(shop, "09:00"), minutes=5)
    assert [a.status for a in arrivals_today(shop.world.advisor, shop.store)] == ["expected"]
    services.appointment_arrive(actor=shop.world.advisor, appointment=appointment)
    appointment.refresh_from_db()
    assert appointment.status == "arrived"
    assert arrivals_today(shop.world.advisor_b, shop.store) == []  # another store's advisor sees nothing


@pytest.mark.parametrize("role", ["technician", "foreman", "cashier", "parts_clerk", "qc_inspector"])
def test_roles_without_booking_permission_are_refused(shop, role):
    with pytest.raises(Forbidden):
        book(shop, actor=shop.world.staff[role])
    assert Appointment.objects.count() == 0


@pytest.mark.parametrize("role", ["service_advisor", "call_centre_agent", "store_manager", "group_admin"])
def test_booking_roles(shop, role):
    appointment = book(shop, actor=shop.world.staff[role])
    services.appointment_cancel(actor=shop.world.staff[role], appointment=appointment)


def test_call_centre_creates_new_callers_and_books_existing_ones(shop):
    """Phone booking is the call centre's core task (issue 14): a new caller and their car are created while booking."""
    agent = shop.world.staff["call_centre_agent"]
    book(shop, actor=agent, customer=None, vehicle=None, customer_data={"name": "新客", "mobile": "13922223333"},
         vehicle_data={"vin": make_vin(), "make": "BYD", "model": "Han"})
    assert Customer.objects.filter(mobile="+8613922223333").exists()
    book(shop, actor=agent, customer=None, customer_data={"name": "张伟", "mobile": shop.customer.mobile}, start="11:00")


def test_other_store_is_refused(shop):
    with pytest.raises(Forbidden):
        book(shop, actor=shop.world.advisor_b)
    appointment = book(shop)
    with pytest.raises(Forbidden):
        services.appointment_cancel(actor=shop.world.advisor_b, appointment=appointment)


def test_vehicle_data_must_not_take_someone_elses_car(shop):
    stranger_car = VehicleFactory(owner=CustomerFactory(home_store=shop.store))
    with pytest.raises(ValidationFailed) as exc:
        book(shop, vehicle=None, vehicle_data={"vin": stranger_car.vin})
    assert exc.value.code == "vehicle_not_customers"
    assert Vehicle.objects.filter(vin=stranger_car.vin).count() == 1


def test_technician_with_least_load_is_picked(world):
    from .conftest import next_monday, setup_store

    setup = setup_store(world.a, techs=2, bays=2)
    make_staff("service_advisor", world.a)
    customer = CustomerFactory(home_store=world.a)
    car = VehicleFactory(owner=customer)
    monday = next_monday()
    first = services.appointment_book(actor=world.advisor, store=world.a, service_type=setup.maintenance,
                                      start=local(monday, "09:00"), customer=customer, vehicle=car)
    second = services.appointment_book(actor=world.advisor, store=world.a, service_type=setup.maintenance,
                                       start=local(monday, "11:00"), customer=customer, vehicle=car)
    assert first.technician != second.technician
