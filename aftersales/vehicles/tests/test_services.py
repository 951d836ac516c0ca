"""Vehicle services: VIN and plate validation, duplicates, ownership transfer with history, mileage rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.common.errors import Conflict, Forbidden, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import CustomerFactory, StoreFactory, make_staff
from aftersales.vehicles.models import MileageReading, Vehicle, VehicleOwnership
from aftersales.vehicles.selectors import vehicle_get, vehicles_visible_to
from aftersales.vehicles.services import mileage_record, vehicle_create, vehicle_transfer, vehicle_update
from aftersales.workshop.services import repair_order_record_visit

pytestmark = pytest.mark.django_db

VIN = "1M8GDM9AXKP042788"
VIN2 = "1HGCM82633A004352"


@pytest.fixture
def owner(world):
    return CustomerFactory(home_store=world.a, name="张伟")


def create(world, owner, **data):
    data.setdefault("vin", VIN)
    data.setdefault("plate", "粤B12345")
    data.setdefault("make", "Toyota")
    data.setdefault("model", "Camry")
    return vehicle_create(actor=data.pop("actor", world.advisor), owner=owner, **data)


# ---- create ------------------------------------------------------------------------------------------------
def test_create_happy_path(world, owner):
    vehicle = create(
        world, owner, vin=" 1m8gdm9axkp042788 ", plate="粤 b·d12345", year="2021", fuel_type="ev",
        purchase_date="2021-05-01", purchase_price="158800.00", selling_store=world.a.pk, mileage="1200",
    )
    vehicle.refresh_from_db()
    assert vehicle.vin == VIN
    assert vehicle.plate == "粤BD12345"
    assert (vehicle.year, vehicle.fuel_type, vehicle.purchase_price) == (2021, "ev", Decimal("158800.00"))
    assert vehicle.group_id == world.group.pk
    assert vehicle.current_mileage == 1200
    ownership = VehicleOwnership.objects.get(vehicle=vehicle)
    assert (ownership.customer_id, ownership.started_on, ownership.ended_on) == (owner.pk, dt.date(2021, 5, 1), None)
    assert list(MileageReading.objects.filter(vehicle=vehicle).values_list("km", flat=True)) == [1200]
    event = AuditEvent.objects.get(action="vehicle.created", object_id=str(vehicle.pk))
    assert event.customer_id == owner.pk
    assert event.changes["vin"] == [None, VIN]
    assert event.changes["owner"] == [None, owner.pk]


@pytest.mark.parametrize(
    ("vin", "code"),
    [
        ("1M8GDM9AXKP042789", "vin_check_digit"),
        ("1M8GDM9AXKP04278", "vin_length"),
        ("1M8GDM9AXKPO42788", "vin_forbidden_letter"),
        ("", "vin_required"),
    ],
)
def test_invalid_vin_is_refused_naming_the_field(world, owner, vin, code):
    with pytest.raises(ValidationFailed) as exc:
        create(world, owner, vin=vin)
    assert (exc.value.code, exc.value.field) == (code, "vin")
    assert Vehicle.objects.count() == 0
    assert VehicleOwnership.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_vin_is_required_when_missing(world, owner):
    with pytest.raises(ValidationFailed) as exc:
        vehicle_create(actor=world.advisor, owner=owner, make="Toyota", model="Camry")
    assert exc.value.field == "vin"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"plate": "粤I12345"}, "plate"),
        ({"make": ""}, "make"),
        ({"model": " "}, "model"),
        ({"year": "1900"}, "year"),
        ({"year": "abc"}, "year"),
        ({"fuel_type": "coal"}, "fuel_type"),
        ({"purchase_date": "2999-01-01"}, "purchase_date"),
        ({"purchase_price": "-1"}, "purchase_price"),
        ({"warranty_start": "2022-01-01", "warranty_end": "2021-01-01"}, "warranty_end"),
        ({"mileage": "12.5"}, "mileage"),
    ],
)
def test_other_refusals_name_the_field(world, owner, data, field):
    with pytest.raises(ValidationFailed) as exc:
        create(world, owner, **data)
    assert exc.value.field == field
    assert Vehicle.objects.count() == 0


def test_duplicate_vin_in_the_group_is_a_conflict(world, owner):
    first = create(world, owner)
    other = CustomerFactory(home_store=world.b)
    with pytest.raises(Conflict) as exc:
        create(world, other, actor=world.advisor_b, vin=VIN.lower(), plate="粤B54321")
    assert (exc.value.code, exc.value.field) == ("duplicate_vin", "vin")
    assert exc.value.extra["existing_id"] == first.pk
    assert Vehicle.objects.filter(vin=VIN).count() == 1


def test_same_vin_in_another_group_is_allowed(world, owner):
    create(world, owner)
    store = StoreFactory()
    stranger = CustomerFactory(home_store=store)
    vehicle_create(actor=make_staff("service_advisor", store), owner=stranger, vin=VIN, make="Toyota", model="Camry")
    assert Vehicle.objects.filter(vin=VIN).count() == 2


def test_plate_may_be_empty(world, owner):
    assert create(world, owner, plate="").plate == ""


def test_create_requires_permission(world, owner):
    for role in ("technician", "cashier", "qc_inspector"):  # the call centre books new callers' cars (issue 14)
        with pytest.raises(Forbidden):
            create(world, owner, actor=world.staff[role])
    assert Vehicle.objects.count() == 0


# ---- update ------------------------------------------------------------------------------------------------
def test_update_normalises_and_audits(world, owner):
    vehicle = create(world, owner)
    updated = vehicle_update(actor=world.advisor, vehicle=vehicle, plate="粤b 54321", colour="白色", reason="new plate")
    assert updated.plate == "粤B54321"
    event = AuditEvent.objects.get(action="vehicle.updated")
    assert event.changes == {"plate": ["粤B12345", "粤B54321"], "colour": ["", "白色"]}
    assert event.reason == "new plate"
    assert event.customer_id == owner.pk


def test_update_ignores_owner_and_refuses_duplicate_vin(world, owner):
    vehicle = create(world, owner)
    other = create(world, CustomerFactory(home_store=world.a), vin=VIN2, plate="粤B11111")
    stranger = CustomerFactory(home_store=world.a)
    vehicle_update(actor=world.advisor, vehicle=vehicle, owner=stranger)
    vehicle.refresh_from_db()
    assert vehicle.owner_id == owner.pk
    with pytest.raises(Conflict):
        vehicle_update(actor=world.advisor, vehicle=other, vin=VIN)
    other.refresh_from_db()
    assert other.vin == VIN2
    with pytest.raises(ValidationFailed) as exc:
        vehicle_update(actor=world.advisor, vehicle=other, vin="1HGCM82633A004353")
    assert exc.value.field == "vin"


def test_update_warranty_end_checked_against_stored_start(world, owner):
    vehicle = create(world, owner, warranty_start="2021-01-01")
    with pytest.raises(ValidationFailed) as exc:
        vehicle_update(actor=world.advisor, vehicle=vehicle, warranty_end="2020-12-31")
    assert exc.value.code == "warranty_end_before_start"


# ---- transfer ----------------------------------------------------------------------------------------------
def test_transfer_keeps_history(world, owner):
    vehicle = create(world, owner, purchase_date="2020-01-01")
    order = repair_order_record_visit(
        actor=world.advisor, store=world.a, customer=owner, vehicle=vehicle,
        opened_at=timezone.now() - dt.timedelta(days=3),
        jobs=[{"title": "保养", "lines": [{"kind": "labour", "description": "工时", "unit_price": "100"}]}],
    )
    buyer = CustomerFactory(home_store=world.a, name="李四")
    day = timezone.localdate() - dt.timedelta(days=1)
    vehicle_transfer(actor=world.advisor, vehicle=vehicle, new_owner=buyer, on_date=day.isoformat(), reason="sold")
    vehicle.refresh_from_db()
    assert vehicle.owner_id == buyer.pk
    old, new = VehicleOwnership.objects.filter(vehicle=vehicle).order_by("started_on")
    assert (old.customer_id, old.started_on, old.ended_on) == (owner.pk, dt.date(2020, 1, 1), day)
    assert (new.customer_id, new.started_on, new.ended_on, new.reason) == (buyer.pk, day, None, "sold")
    order.refresh_from_db()
    assert (order.vehicle_id, order.customer_id) == (vehicle.pk, owner.pk)
    assert list(vehicle.repair_orders.all()) == [order]
    events = AuditEvent.objects.filter(action="vehicle.transferred")
    assert {e.customer_id for e in events} == {owner.pk, buyer.pk}
    assert all(e.changes == {"owner": [owner.pk, buyer.pk]} for e in events)


def test_transfer_refusals(world, owner):
    vehicle = create(world, owner, purchase_date="2020-01-01")
    buyer = CustomerFactory(home_store=world.a)
    with pytest.raises(ValidationFailed) as exc:
        vehicle_transfer(actor=world.advisor, vehicle=vehicle, new_owner=owner)
    assert exc.value.code == "same_owner"
    with pytest.raises(ValidationFailed) as exc:
        vehicle_transfer(actor=world.advisor, vehicle=vehicle, new_owner=buyer, on_date="2019-12-31")
    assert (exc.value.code, exc.value.field) == ("transfer_before_ownership", "on_date")
    with pytest.raises(ValidationFailed) as exc:
        vehicle_transfer(
            actor=world.advisor, vehicle=vehicle, new_owner=buyer, on_date=timezone.localdate() + dt.timedelta(days=1)
        )
    assert exc.value.code == "date_in_future"
    with pytest.raises(ValidationFailed) as exc:
        vehicle_transfer(actor=world.advisor, vehicle=vehicle, new_owner=CustomerFactory())  # another dealer group
    assert exc.value.code == "owner_unknown"
    with pytest.raises(Forbidden):
        vehicle_transfer(actor=world.technician, vehicle=vehicle, new_owner=buyer)
    vehicle.refresh_from_db()
    assert vehicle.owner_id == owner.pk
    assert VehicleOwnership.objects.filter(vehicle=vehicle).count() == 1
    assert not AuditEvent.objects.filter(action="vehicle.transferred").exists()


def test_vehicle_visibility_follows_current_owner(world, owner):
    vehicle = create(world, owner)
    assert vehicle_get(world.advisor, vehicle.pk) == vehicle
    assert vehicle not in vehicles_visible_to(world.advisor_b)


# ---- mileage -----------------------------------------------------------------------------------------------
def at(days_ago):
    return timezone.now() - dt.timedelta(days=days_ago)


def test_mileage_going_backwards_is_refused_and_nothing_written(world, owner):
    vehicle = create(world, owner)
    mileage_record(actor=world.technician, vehicle=vehicle, km=20000, read_at=at(10))
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        mileage_record(actor=world.technician, vehicle=vehicle, km=19999)
    assert (exc.value.code, exc.value.field) == ("km_backwards", "km")
    assert MileageReading.objects.filter(vehicle=vehicle).count() == 1
    vehicle.refresh_from_db()
    assert vehicle.current_mileage == 20000
    assert AuditEvent.objects.count() == before


def test_mileage_forward_updates_current_and_audits(world, owner):
    vehicle = create(world, owner)
    mileage_record(actor=world.technician, vehicle=vehicle, km="20000", read_at=at(10))
    mileage_record(actor=world.technician, vehicle=vehicle, km=20000)  # same reading again is fine
    mileage_record(actor=world.technician, vehicle=vehicle, km=25000, source="visit")
    assert vehicle.current_mileage == 25000
    vehicle.refresh_from_db()
    assert vehicle.current_mileage == 25000
    assert AuditEvent.objects.filter(action="vehicle.mileage").last().changes == {"current_mileage": [0, 20000]}


def test_correction_needs_permission_and_a_note(world, owner):
    vehicle = create(world, owner)
    mileage_record(actor=world.technician, vehicle=vehicle, km=80000, read_at=at(10))
    with pytest.raises(Forbidden):
        mileage_record(actor=world.technician, vehicle=vehicle, km=500, is_correction=True, note="new cluster")
    with pytest.raises(Forbidden):
        mileage_record(actor=world.advisor, vehicle=vehicle, km=500, is_correction=True, note="new cluster")
    with pytest.raises(ValidationFailed) as exc:
        mileage_record(actor=world.manager, vehicle=vehicle, km=500, is_correction=True, note="  ")
    assert (exc.value.code, exc.value.field) == ("note_required", "note")
    assert MileageReading.objects.filter(vehicle=vehicle).count() == 1
    mileage_record(actor=world.manager, vehicle=vehicle, km=500, is_correction=True, note="instrument cluster replaced")
    vehicle.refresh_from_db()
    assert vehicle.current_mileage == 500
    event = AuditEvent.objects.get(action="vehicle.mileage_corrected")
    assert event.changes == {"current_mileage": [80000, 500]}
    assert event.reason == "instrument cluster replaced"
    # after the correction, readings continue from the new odometer
    mileage_record(actor=world.technician, vehicle=vehicle, km=900)
    vehicle.refresh_from_db()
    assert vehicle.current_mileage == 900


def test_backdated_reading_must_fit_between_its_neighbours(world, owner):
    vehicle = create(world, owner)
    mileage_record(actor=world.technician, vehicle=vehicle, km=10000, read_at=at(30))
    mileage_record(actor=world.technician, vehicle=vehicle, km=30000, read_at=at(1))
    with pytest.raises(ValidationFailed) as exc:
        mileage_record(actor=world.technician, vehicle=vehicle, km=35000, read_at=at(15))
    assert (exc.value.code, exc.value.field) == ("km_after_later_reading", "km")
    with pytest.raises(ValidationFailed) as exc:
        mileage_record(actor=world.technician, vehicle=vehicle, km=9000, read_at=at(15))
    assert exc.value.code == "km_backwards"
    assert MileageReading.objects.filter(vehicle=vehicle).count() == 2
    mileage_record(actor=world.technician, vehicle=vehicle, km=20000, read_at=at(15))
    vehicle.refresh_from_db()
    assert vehicle.current_mileage == 30000  # the latest reading, not the last one recorded
    assert MileageReading.objects.filter(vehicle=vehicle).count() == 3


@pytest.mark.parametrize(
    ("km", "code"),
    [("12.5", "km_format"), (12.5, "km_format"), ("abc", "km_format"), ("", "km_format"), (None, "km_format"),
     (-5, "km_range"), ("-5", "km_range"), (3_000_001, "km_range")],
)
def test_bad_km_is_refused(world, owner, km, code):
    vehicle = create(world, owner)
    with pytest.raises(ValidationFailed) as exc:
        mileage_record(actor=world.technician, vehicle=vehicle, km=km)
    assert (exc.value.code, exc.value.field) == (code, "km")
    assert not MileageReading.objects.filter(vehicle=vehicle).exists()


def test_reading_in_the_future_or_with_unknown_source_is_refused(world, owner):
    vehicle = create(world, owner)
    with pytest.raises(ValidationFailed) as exc:
        mileage_record(actor=world.technician, vehicle=vehicle, km=100, read_at=timezone.now() + dt.timedelta(hours=2))
    assert exc.value.field == "read_at"
    with pytest.raises(ValidationFailed) as exc:
        mileage_record(actor=world.technician, vehicle=vehicle, km=100, source="guess")
    assert exc.value.field == "source"
    with pytest.raises(Forbidden):
        mileage_record(actor=world.staff["cashier"], vehicle=vehicle, km=1)
    assert not MileageReading.objects.filter(vehicle=vehicle).exists()
