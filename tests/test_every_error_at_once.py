"""Issue 14, item 6: the staff forms outside the estimate editor report every bad field at once, inline on its own
field, in the user's language, and write nothing (a bad VIN must not hide the bad plate and the negative mileage).

One test per form, through the real view (or, where the screen only shows a message list, the real service), each
with several bad fields in one submission."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core import signing
from django.test import Client

from aftersales.appointments.models import Appointment
from aftersales.appointments.tests.conftest import local, next_monday, setup_store
from aftersales.appointments.views import WALK_IN_SALT
from aftersales.common.errors import ValidationFailed
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_vin
from aftersales.customers.models import Customer
from aftersales.vehicles.models import Vehicle

pytestmark = pytest.mark.django_db


def login(user, language: str = "en") -> Client:
    if user.language != language:
        user.language = language  # the staff member's own setting picks the language of every page and message
        user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def errors_of(response) -> dict[str, list[str]]:
    form = response.context["form"]
    return {k: [str(m) for m in v] for k, v in form.errors.items()}


# ---- customers and vehicles (web) -----------------------------------------------------------------------------------
def test_new_vehicle_names_the_bad_vin_plate_and_mileage_together(world):
    owner = CustomerFactory(home_store=world.a)
    client = login(world.advisor)
    response = client.post(f"/customers/{owner.pk}/vehicles/new/", {
        "vin": "LSVAB12X", "plate": "12", "make": "Toyota", "model": "Camry", "fuel_type": "petrol",
        "mileage": "-5", "year": "1800",
    })
    assert response.status_code == 200
    errors = errors_of(response)
    assert {"vin", "plate", "mileage", "year"} <= set(errors), errors
    assert not Vehicle.objects.filter(owner=owner).exists()
    page = response.content.decode()
    for field in ("vin", "plate", "mileage", "year"):  # each message sits beside its own input
        assert errors[field][0] in page


def test_new_vehicle_errors_in_chinese_for_a_chinese_user(world):
    owner = CustomerFactory(home_store=world.a)
    response = login(world.advisor, "zh-hans").post(f"/customers/{owner.pk}/vehicles/new/", {
        "vin": "LSVAB12X", "plate": "12", "make": "", "model": "Camry", "fuel_type": "petrol", "mileage": "-5",
    })
    errors = errors_of(response)
    assert {"vin", "plate", "mileage"} <= set(errors)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in msgs[0]) for msgs in errors.values()), errors


def test_new_customer_names_the_bad_mobile_email_and_birthday_together(world):
    before = Customer.objects.count()
    response = login(world.advisor).post("/customers/new/", {
        "name": "李娜", "mobile": "12345", "email": "not-an-address", "birthday": "2999-01-01", "preferred_channel": "sms",
    })
    errors = errors_of(response)
    assert {"mobile", "email", "birthday"} <= set(errors), errors
    assert Customer.objects.count() == before


def test_mileage_reading_names_the_number_and_the_missing_note(world):
    owner = CustomerFactory(home_store=world.a)
    car = VehicleFactory(owner=owner)
    from aftersales.vehicles.services import mileage_record

    with pytest.raises(ValidationFailed) as exc:
        mileage_record(actor=world.manager, vehicle=car, km="-3", is_correction=True, note="")
    assert {e["field"] for e in exc.value.extra["errors"]} == {"km", "note"}


# ---- reception ----------------------------------------------------------------------------------------------------
@pytest.fixture
def desk(world, settings, tmp_path):
    from aftersales.reception.services import handover_start

    settings.MEDIA_ROOT = str(tmp_path / "media")
    setup_store(world.a)
    customer = CustomerFactory(home_store=world.a, name="张伟", title="mr")
    car = VehicleFactory(owner=customer, plate="粤B12345", make="Toyota", model="Camry", current_mileage=20000)
    return handover_start(actor=world.advisor, store=world.a, vehicle=car)


def test_handover_sheet_names_every_bad_field_and_saves_nothing(world, desk):
    response = login(world.advisor).post(f"/reception/{desk.pk}/", {
        "mileage": "12000", "energy_level": "150", "exterior": "good", "interior": "good",
        "promised_at": "2026-13-45T99:00", "customer_words": "刹车异响",
    })
    errors = errors_of(response)
    # the odometer going backwards and the impossible level are said together (the bad date is the form's own)
    assert {"mileage", "energy_level"} <= set(errors), errors
    desk.refresh_from_db()
    assert desk.mileage is None and desk.energy_level is None and desk.customer_words == ""


def test_open_order_lists_everything_missing_at_once(world, desk):
    response = login(world.advisor).post(f"/reception/{desk.pk}/open-order/", follow=True)
    said = [str(m) for m in response.context["messages"]]
    assert any("mileage" in m for m in said) and any("charge level" in m for m in said), said
    assert any("customer asks for" in m for m in said), said
    desk.refresh_from_db()
    assert desk.order_id is None


# ---- appointments -------------------------------------------------------------------------------------------------
def test_phone_booking_names_the_bad_mobile_vin_and_plate_together(world):
    setup = setup_store(world.a)
    start = local(next_monday(), "10:00")
    response = login(world.advisor).post("/appointments/book/form/", {
        "store": world.a.pk, "start": start.isoformat(), "service_type": setup.maintenance.pk,
        "mobile": "12345", "name": "王芳", "vin": "LSVAB12X", "plate": "12", "make": "Toyota", "model": "Corolla",
    })
    errors = errors_of(response)
    assert {"mobile", "vin", "plate"} <= set(errors), errors
    assert not Appointment.objects.exists() and not Customer.objects.filter(name="王芳").exists()


def test_walk_in_names_the_bad_mobile_and_vin_together(world):
    setup = setup_store(world.a)
    started = signing.dumps(time.time() - 60, salt=WALK_IN_SALT)
    response = login(world.advisor).post("/appointments/walk-in/", {
        "store": world.a.pk, "started": started, "mobile": "12345", "name": "周", "plate": "粤B66666",
        "vin": "NOT-A-VIN", "make": "Toyota", "model": "Corolla", "service_type": setup.maintenance.pk,
    })
    errors = errors_of(response)
    assert {"mobile", "vin"} <= set(errors), errors
    assert not Appointment.objects.exists()


# ---- workshop -----------------------------------------------------------------------------------------------------
def test_job_parts_names_the_unknown_part_and_the_bad_quantity(floor_order):
    floor, order = floor_order
    job = order.made_jobs[0]
    response = login(floor.world.staff["parts_clerk"]).post(f"/workshop/jobs/{job.pk}/parts/", {
        "part": "NO-SUCH-PART", "quantity": "-2", "batch": "", "direction": "issue",
    })
    assert response.status_code in (200, 422)
    error = response.context["error"]
    assert set(error["fields"]) == {"part", "quantity"}, error
    page = response.content.decode()
    assert error["fields"]["part"] in page and error["fields"]["quantity"] in page


def test_dispatch_names_the_missing_technician_and_the_taken_bay(floor_order):
    from aftersales.workshop import floor_services as fs
    from aftersales.workshop.tests.conftest import authorized_order

    floor, order = floor_order
    other = authorized_order(floor, [{"title": "换机油", "standard_hours": "1"}])
    fs.job_dispatch(actor=floor.foreman, job=other.made_jobs[0], technician=floor.tech, bay=floor.bays[0])
    job = order.made_jobs[0]
    response = login(floor.foreman).post(f"/workshop/jobs/{job.pk}/dispatch/", {"technician": "", "bay": floor.bays[0].pk})
    error = response.context["error"]
    assert set(error["fields"]) == {"technician", "bay"}, error
    assert other.vehicle.plate in error["fields"]["bay"] and other.number in error["fields"]["bay"]
    job.refresh_from_db()
    assert job.technician_id is None and job.bay_id is None


@pytest.fixture
def floor_order(world):
    from types import SimpleNamespace

    from aftersales.appointments.models import Bay, TechnicianShift
    from aftersales.stores.models import OpeningPeriod
    from aftersales.workshop.tests.conftest import authorized_order

    for weekday in range(7):
        OpeningPeriod.objects.create(store=world.a, weekday=weekday, opens=dt.time(8, 30), closes=dt.time(18, 0))
        TechnicianShift.objects.create(user=world.technician, store=world.a, weekday=weekday, start=dt.time(8, 30),
                                       end=dt.time(18, 0))
    world.technician.skills = ["maintenance", "engine"]
    world.technician.save(update_fields=["skills"])
    bays = [Bay.objects.create(store=world.a, name="1号工位"), Bay.objects.create(store=world.a, name="2号工位")]
    monday = next_monday()
    floor = SimpleNamespace(world=world, store=world.a, bays=bays, tech=world.technician, foreman=world.staff["foreman"],
                            advisor=world.advisor, at=lambda hhmm, day=monday: local(day, hhmm))
    return floor, authorized_order(floor)


# ---- billing ------------------------------------------------------------------------------------------------------
def test_payment_names_the_bad_amount_and_the_missing_reference(world):
    from aftersales.billing.models import Payment
    from aftersales.billing.services import invoice_issue
    from aftersales.billing.tests.helpers import ready_order

    invoice = invoice_issue(actor=world.manager, order=ready_order(world))
    response = login(world.staff["cashier"]).post(f"/billing/invoices/{invoice.pk}/pay/", {
        "method": "wechat_pay", "amount": "-10", "reference": "", "idempotency_key": "k-1",
    })
    assert response.status_code == 422
    form = response.context["payment_form"]
    assert {"amount", "reference"} <= set(form.errors), form.errors
    assert not Payment.objects.filter(invoice=invoice).exists()


def test_refund_and_credit_note_name_amount_and_reason_together(world):
    from aftersales.billing.services import credit_note_issue, invoice_issue, payment_record, refund_record
    from aftersales.billing.tests.helpers import ready_order

    invoice = invoice_issue(actor=world.manager, order=ready_order(world))
    paid = payment_record(actor=world.manager, invoice=invoice, method="cash", amount="10.00", idempotency_key="p1")
    with pytest.raises(ValidationFailed) as exc:
        refund_record(actor=world.manager, payment=paid, amount="abc", reason=" ", idempotency_key="")
    assert {e["field"] for e in exc.value.extra["errors"]} == {"amount", "reason", "idempotency_key"}
    with pytest.raises(ValidationFailed) as exc:
        credit_note_issue(actor=world.manager, invoice=invoice, amount="0", reason="")
    assert {e["field"] for e in exc.value.extra["errors"]} == {"amount", "reason"}


# ---- parts --------------------------------------------------------------------------------------------------------
def test_new_part_names_every_bad_field(world):
    from aftersales.parts.models import Part

    response = login(world.admin).post("/parts/new/", {
        "number": "BRK-1", "name_zh": "刹车片", "category": "other", "unit": "piece", "tracking": "none",
        "cost_price": "abc", "sale_price": "-1x", "tax_rate": "7", "warranty_months": "-1", "warranty_km": "x",
    })
    errors = errors_of(response)
    assert {"cost_price", "sale_price", "tax_rate", "warranty_months", "warranty_km"} <= set(errors), errors
    assert not Part.objects.filter(number="BRK-1").exists()


def test_goods_in_names_the_bad_quantity_and_cost_together(world):
    from aftersales.parts.models import StockMovement
    from aftersales.parts.tests.helpers_purchasing import make_part

    part = make_part(world.group)
    response = login(world.staff["parts_clerk"]).post(f"/parts/{part.pk}/receive/", {
        "store": world.a.pk, "quantity": "0", "unit_cost": "abc",
    })
    errors = errors_of(response)
    assert {"quantity", "unit_cost"} <= set(errors), errors
    assert not StockMovement.objects.filter(part=part).exists()


def test_supplier_names_the_bad_email_and_lead_time_together(world):
    from aftersales.parts.purchasing import supplier_create

    with pytest.raises(ValidationFailed) as exc:
        supplier_create(actor=world.staff["parts_clerk"], name="", email="nope", lead_time_days="400")
    assert {e["field"] for e in exc.value.extra["errors"]} == {"name", "email", "lead_time_days"}


def test_the_api_returns_every_bad_field_too(world):
    owner = CustomerFactory(home_store=world.a)
    client = login(world.advisor)
    response = client.post("/api/vehicles/", {"owner_id": owner.pk, "vin": "LSVAB12X", "plate": "12", "make": "",
                                                 "model": "Camry", "mileage": -5}, content_type="application/json")
    assert response.status_code == 422, response.content
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"vin", "plate", "make", "mileage"} <= fields, response.json()
    assert make_vin()  # the factory still makes valid VINs for the other tests
