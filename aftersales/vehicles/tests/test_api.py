"""API tests for /api/vehicles/: scoping by the owner's stores, VIN/plate validation, ownership, mileage."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.common.models import AuditEvent
from aftersales.common.tests.api_helpers import (
    ENDPOINTS,
    Api,
    assert_error,
    count_queries,
    fill,
    ids,
    token_issuer,
    token_key_for,
)
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_vin
from aftersales.common.validators import vin_check_digit
from aftersales.vehicles.models import MileageReading, Vehicle, VehicleOwnership

pytestmark = pytest.mark.django_db

VIN = "LSVAU218XN2183294"  # a valid VIN: check digit X at position 9


@pytest.fixture
def owner_a(world):
    return CustomerFactory(home_store=world.a, name="张伟")


@pytest.fixture
def car_a(owner_a):
    """A vehicle whose owner is known only at store A, with one reading of 10,000 km."""
    vehicle = VehicleFactory(owner=owner_a, plate="粤B12345", make="Toyota", current_mileage=10_000)
    MileageReading.objects.create(vehicle=vehicle, km=10_000, read_at=timezone.now() - dt.timedelta(days=30))
    return vehicle


@pytest.fixture
def car_b(world):
    return VehicleFactory(
        owner=CustomerFactory(home_store=world.b), plate="粤A54321", make="Honda", fuel_type="ev"
    )


def counts():
    return (
        Vehicle.objects.count(),
        VehicleOwnership.objects.count(),
        MileageReading.objects.count(),
        AuditEvent.objects.count(),
    )


def new_vehicle(owner, **overrides):
    data = {
        "owner_id": owner.pk,
        "vin": VIN.lower(),
        "plate": "粤b·D12345",
        "make": "BYD",
        "model": "Han",
        "year": 2022,
        "fuel_type": "ev",
        "purchase_date": "2022-05-01",
        "purchase_price": "219800.00",
        "mileage": 12_345,
    }
    data.update(overrides)
    return data


def test_fixture_vin_is_valid():
    assert vin_check_digit(VIN) == VIN[8]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["vehicles"], ids=lambda v: str(v))
def test_unauthenticated_is_401(world, car_a, method, path):
    before = counts()
    response = Api.anonymous().request(method, fill(path, car_a.pk), {"km": 20_000, "new_owner_id": 1})
    assert_error(response, 401, "unauthenticated")
    assert counts() == before


# ---- scoping -------------------------------------------------------------------------------------------
def test_list_shows_only_vehicles_of_customers_known_at_own_stores(world, car_a, car_b):
    assert ids(Api.session(world.advisor).get("/api/vehicles/")) == {car_a.pk}
    assert ids(Api.session(world.advisor_b).get("/api/vehicles/")) == {car_b.pk}
    assert ids(Api.session(world.admin).get("/api/vehicles/")) == {car_a.pk, car_b.pk}


def test_list_filters_cannot_reach_another_store(world, car_a, car_b):
    api = Api.session(world.advisor_b)
    assert ids(api.get("/api/vehicles/", {"owner_id": car_a.owner_id})) == set()
    assert ids(api.get("/api/vehicles/", {"q": "B123"})) == set()


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("get", "", None),
        ("patch", "", {"plate": "粤B99999"}),
        ("post", "/transfer", "new_owner"),
        ("get", "/mileage", None),
        ("post", "/mileage", {"km": 20_000}),
    ],
)
def test_vehicle_of_another_store_is_404(world, car_a, method, suffix, payload):
    if payload == "new_owner":
        payload = {"new_owner_id": CustomerFactory(home_store=world.b).pk}
    before = counts()
    for user in (world.advisor_b, world.manager_b):
        response = Api.session(user).request(method, f"/api/vehicles/{car_a.pk}{suffix}", payload)
        assert_error(response, 404, "not_found")
    assert counts() == before
    car_a.refresh_from_db()
    assert (car_a.plate, car_a.owner_id, car_a.current_mileage) == ("粤B12345", car_a.owner_id, 10_000)


def test_create_for_an_owner_of_another_store_is_404(world, owner_a):
    before = counts()
    assert_error(Api.session(world.advisor_b).post("/api/vehicles/", new_vehicle(owner_a)), 404, "not_found")
    assert counts() == before


def test_transfer_to_a_customer_of_another_store_is_404(world, car_b, owner_a):
    before = counts()
    response = Api.session(world.advisor_b).post(
        f"/api/vehicles/{car_b.pk}/transfer", {"new_owner_id": owner_a.pk}
    )
    assert_error(response, 404, "not_found")
    assert counts() == before


def test_group_admin_reads_vehicles_and_readings_of_both_stores(world, car_a, car_b):
    api = Api.session(world.admin)
    for car in (car_a, car_b):
        assert api.get(f"/api/vehicles/{car.pk}").status_code == 200
        assert api.get(f"/api/vehicles/{car.pk}/mileage").status_code == 200


# ---- permissions per role ------------------------------------------------------------------------------
def test_technician_reads_but_cannot_create_update_or_transfer(world, car_a, owner_a):
    api = Api.session(world.technician)
    assert api.get(f"/api/vehicles/{car_a.pk}").status_code == 200
    assert ids(api.get("/api/vehicles/")) == {car_a.pk}
    before = counts()
    assert_error(api.post("/api/vehicles/", new_vehicle(owner_a)), 403, "permission_denied")
    assert_error(api.patch(f"/api/vehicles/{car_a.pk}", {"plate": "粤B99999"}), 403, "permission_denied")
    other = CustomerFactory(home_store=world.a)
    assert_error(
        api.post(f"/api/vehicles/{car_a.pk}/transfer", {"new_owner_id": other.pk}), 403, "permission_denied"
    )
    assert counts() == before


def test_technician_records_mileage(world, car_a):
    response = Api.session(world.technician).post(
        f"/api/vehicles/{car_a.pk}/mileage", {"km": 10_500, "source": "visit"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["recorded_by_id"] == world.technician.pk


@pytest.mark.parametrize("role", ["qc_inspector", "parts_clerk", "cashier"])
def test_read_only_roles_cannot_record_mileage(world, car_a, role):
    before = counts()
    response = Api.session(world.staff[role]).post(f"/api/vehicles/{car_a.pk}/mileage", {"km": 10_500})
    assert_error(response, 403, "permission_denied")
    assert counts() == before


def test_only_a_manager_records_an_odometer_correction(world, car_a):
    payload = {"km": 500, "is_correction": True, "note": "cluster replaced"}
    before = counts()
    assert_error(
        Api.session(world.advisor).post(f"/api/vehicles/{car_a.pk}/mileage", payload),
        403,
        "permission_denied",
    )
    assert counts() == before
    response = Api.session(world.manager).post(f"/api/vehicles/{car_a.pk}/mileage", payload)
    assert response.status_code == 201
    car_a.refresh_from_db()
    assert car_a.current_mileage == 500


def test_correction_needs_a_note(world, car_a):
    before = counts()
    response = Api.session(world.manager).post(
        f"/api/vehicles/{car_a.pk}/mileage", {"km": 500, "is_correction": True}
    )
    assert_error(response, 422, "note_required", "note")
    assert counts() == before


# ---- create --------------------------------------------------------------------------------------------
def test_create_vehicle_with_initial_mileage(world, owner_a):
    response = Api.session(world.advisor).post("/api/vehicles/", new_vehicle(owner_a))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["vin"] == VIN
    assert body["plate"] == "粤BD12345"
    assert body["current_mileage"] == 12_345
    assert body["owner_id"] == owner_a.pk
    assert body["purchase_price"] == "219800.00"
    vehicle = Vehicle.objects.get(pk=body["id"])
    assert list(vehicle.readings.values_list("km", flat=True)) == [12_345]
    assert list(vehicle.ownerships.values_list("customer_id", "started_on")) == [
        (owner_a.pk, dt.date(2022, 5, 1))
    ]
    assert AuditEvent.objects.filter(action="vehicle.created", object_id=str(vehicle.pk)).count() == 1
    # It shows on the owner's record.
    detail = Api.session(world.advisor).get(f"/api/customers/{owner_a.pk}").json()
    assert [v["id"] for v in detail["vehicles"]] == [vehicle.pk]


def test_create_by_token_without_plate_or_mileage(world, owner_a):
    key = token_key_for(world.advisor, actor=world.manager)
    response = Api.bearer(key).post("/api/vehicles/", new_vehicle(owner_a, plate="", mileage=None))
    assert response.status_code == 201
    assert (response.json()["plate"], response.json()["current_mileage"]) == ("", 0)
    assert MileageReading.objects.count() == 0


def _bad_check_digit(vin):
    wrong = "1" if vin[8] != "1" else "2"
    return vin[:8] + wrong + vin[9:]


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"vin": _bad_check_digit(VIN)}, 422, "vin_check_digit", "vin"),
        ({"vin": VIN[:16]}, 422, "vin_length", "vin"),
        ({"vin": "LSVAU2180N218329O"}, 422, "vin_forbidden_letter", "vin"),
        ({"vin": ""}, 422, "vin_required", "vin"),
        ({"plate": "ABC123"}, 422, "plate_format", "plate"),
        ({"plate": "粤I12345"}, 422, "plate_format", "plate"),
        ({"make": " "}, 422, "make_required", "make"),
        ({"model": "x" * 61}, 422, "model_too_long", "model"),
        ({"year": 1900}, 422, "year_range", "year"),
        ({"fuel_type": "coal"}, 422, "invalid_choice", "fuel_type"),
        ({"purchase_date": "2999-01-01"}, 422, "date_in_future", "purchase_date"),
        ({"purchase_date": "yesterday"}, 422, "date_format", "purchase_date"),
        ({"purchase_price": "lots"}, 422, None, "purchase_price"),
        (
            {"warranty_start": "2023-01-01", "warranty_end": "2022-01-01"},
            422,
            "warranty_end_before_start",
            "warranty_end",
        ),
        ({"mileage": -5}, 422, None, "mileage"),
        ({"mileage": 3_000_001}, 422, None, "mileage"),
        ({"mileage": "abc"}, 422, "invalid", "mileage"),
        ({"year": "twenty"}, 422, "invalid", "year"),
        ({"owner_id": "abc"}, 422, "invalid", "owner_id"),
        ({"vin": None}, 422, "invalid", "vin"),
    ],
)
def test_create_bad_input_names_the_field_and_writes_nothing(world, owner_a, changes, status, code, field):
    before = counts()
    response = Api.session(world.advisor).post("/api/vehicles/", new_vehicle(owner_a, **changes))
    assert_error(response, status, code, field)
    assert counts() == before


def test_duplicate_vin_is_409(world, car_a, owner_a):
    before = counts()
    response = Api.session(world.advisor).post("/api/vehicles/", new_vehicle(owner_a, vin=car_a.vin))
    body = assert_error(response, 409, "duplicate_vin", "vin")
    assert body["existing_id"] == car_a.pk
    assert counts() == before


def test_duplicate_vin_across_the_group_is_409(world, car_a):
    owner_b = CustomerFactory(home_store=world.b)
    before = counts()
    response = Api.session(world.advisor_b).post("/api/vehicles/", new_vehicle(owner_b, vin=car_a.vin))
    assert_error(response, 409, "duplicate_vin", "vin")
    assert counts() == before


def test_create_with_missing_owner_is_404(world):
    before = counts()
    response = Api.session(world.advisor).post(
        "/api/vehicles/", {**new_vehicle(CustomerFactory(home_store=world.a)), "owner_id": 999999}
    )
    assert_error(response, 404, "not_found")
    assert counts() == before


# ---- update --------------------------------------------------------------------------------------------
def test_patch_vehicle_writes_an_audit_row(world, car_a):
    response = Api.session(world.advisor).patch(
        f"/api/vehicles/{car_a.pk}", {"plate": "粤b 99999", "colour": "White", "reason": "new plate"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["plate"], body["colour"], body["make"]) == ("粤B99999", "White", "Toyota")
    event = AuditEvent.objects.get(action="vehicle.updated", object_id=str(car_a.pk))
    assert set(event.changes) == {"plate", "colour"}
    assert event.reason == "new plate"


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"vin": _bad_check_digit(VIN)}, 422, "vin_check_digit", "vin"),
        ({"plate": "12345"}, 422, "plate_format", "plate"),
        ({"year": "abc"}, 422, "invalid", "year"),
        (
            {"warranty_end": "2000-01-01", "warranty_start": "2001-01-01"},
            422,
            "warranty_end_before_start",
            "warranty_end",
        ),
    ],
)
def test_patch_bad_input_changes_nothing(world, car_a, changes, status, code, field):
    before = counts()
    response = Api.session(world.advisor).patch(f"/api/vehicles/{car_a.pk}", {"colour": "Red", **changes})
    assert_error(response, status, code, field)
    assert counts() == before
    car_a.refresh_from_db()
    assert car_a.colour == ""


def test_patch_to_a_vin_already_in_the_group_is_409(world, car_a, car_b):
    response = Api.session(world.admin).patch(f"/api/vehicles/{car_a.pk}", {"vin": car_b.vin})
    assert_error(response, 409, "duplicate_vin", "vin")
    car_a.refresh_from_db()
    assert car_a.vin != car_b.vin


def test_patch_keeping_the_same_vin_is_fine(world, car_a):
    response = Api.session(world.advisor).patch(
        f"/api/vehicles/{car_a.pk}", {"vin": car_a.vin.lower(), "model": "Corolla"}
    )
    assert response.status_code == 200
    assert response.json()["model"] == "Corolla"


# ---- transfer ------------------------------------------------------------------------------------------
def test_transfer_owner(world, car_a, owner_a):
    buyer = CustomerFactory(home_store=world.a, name="Buyer")
    response = Api.session(world.advisor).post(
        f"/api/vehicles/{car_a.pk}/transfer",
        {"new_owner_id": buyer.pk, "on_date": "2024-06-01", "reason": "sold"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["owner_id"] == buyer.pk
    history = list(
        car_a.ownerships.order_by("started_on").values_list("customer_id", "started_on", "ended_on")
    )
    assert history == [
        (owner_a.pk, dt.date(2021, 1, 1), dt.date(2024, 6, 1)),
        (buyer.pk, dt.date(2024, 6, 1), None),
    ]
    assert AuditEvent.objects.filter(action="vehicle.transferred").count() == 2
    # Readings stay with the vehicle.
    assert Api.session(world.advisor).get(f"/api/vehicles/{car_a.pk}/mileage").json()[0]["km"] == 10_000


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"on_date": "2999-01-01"}, "date_in_future", "on_date"),
        ({"on_date": "2020-01-01"}, "transfer_before_ownership", "on_date"),
        ({"on_date": "1/6/2024"}, "date_format", "on_date"),
        ("same", "same_owner", "new_owner"),
        ({"new_owner_id": "abc"}, "invalid", "new_owner_id"),
    ],
)
def test_transfer_bad_input_changes_nothing(world, car_a, owner_a, payload, code, field):
    buyer = CustomerFactory(home_store=world.a)
    payload = {"new_owner_id": owner_a.pk} if payload == "same" else {"new_owner_id": buyer.pk, **payload}
    before = counts()
    response = Api.session(world.advisor).post(f"/api/vehicles/{car_a.pk}/transfer", payload)
    assert_error(response, 422, code, field)
    assert counts() == before
    car_a.refresh_from_db()
    assert car_a.owner_id == owner_a.pk


# ---- mileage -------------------------------------------------------------------------------------------
def test_add_and_list_mileage(world, car_a):
    api = Api.session(world.advisor)
    response = api.post(f"/api/vehicles/{car_a.pk}/mileage", {"km": 12_000, "note": "walk-in"})
    assert response.status_code == 201, response.content
    assert response.json()["km"] == 12_000
    car_a.refresh_from_db()
    assert car_a.current_mileage == 12_000
    assert api.get(f"/api/vehicles/{car_a.pk}").json()["current_mileage"] == 12_000
    readings = api.get(f"/api/vehicles/{car_a.pk}/mileage").json()
    assert [r["km"] for r in readings] == [12_000, 10_000]
    assert AuditEvent.objects.filter(action="vehicle.mileage", object_id=str(car_a.pk)).count() == 1


def test_mileage_by_token(world, car_a):
    key = token_key_for(world.technician, actor=token_issuer(world.a))
    assert Api.bearer(key).post(f"/api/vehicles/{car_a.pk}/mileage", {"km": 10_001}).status_code == 201
    assert len(Api.bearer(key).get(f"/api/vehicles/{car_a.pk}/mileage").json()) == 2


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"km": 9_000}, 422, "km_backwards"),
        ({"km": "abc"}, 422, "invalid"),
        ({"km": 1.5}, 422, "invalid"),
        ({"km": None}, 422, "invalid"),
        ({}, 422, "invalid"),
        ({"km": -1}, 422, "km_range"),
        ({"km": 3_000_001}, 422, "km_range"),
    ],
)
def test_bad_mileage_names_km_and_writes_nothing(world, car_a, payload, status, code):
    before = counts()
    response = Api.session(world.advisor).post(f"/api/vehicles/{car_a.pk}/mileage", payload)
    assert_error(response, status, code, "km")
    assert counts() == before
    car_a.refresh_from_db()
    assert car_a.current_mileage == 10_000


def test_backdated_reading_above_a_later_one_is_refused(world, car_a):
    MileageReading.objects.create(vehicle=car_a, km=11_000, read_at=timezone.now() - dt.timedelta(days=10))
    read_at = (timezone.now() - dt.timedelta(days=20)).isoformat()
    before = counts()
    response = Api.session(world.advisor).post(
        f"/api/vehicles/{car_a.pk}/mileage", {"km": 12_000, "read_at": read_at}
    )
    assert_error(response, 422, "km_after_later_reading", "km")
    assert counts() == before


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"km": 11_000, "read_at": "2999-01-01T00:00:00Z"}, "date_in_future", "read_at"),
        ({"km": 11_000, "read_at": "soon"}, "invalid", "read_at"),
        ({"km": 11_000, "source": "guess"}, "invalid_choice", "source"),
    ],
)
def test_bad_reading_fields(world, car_a, payload, code, field):
    before = counts()
    assert_error(
        Api.session(world.advisor).post(f"/api/vehicles/{car_a.pk}/mileage", payload), 422, code, field
    )
    assert counts() == before


# ---- list filters, search, pagination ------------------------------------------------------------------
def test_list_search_and_filters(world, car_a):
    ev = VehicleFactory(
        owner=CustomerFactory(home_store=world.a), plate="粤BD77777", make="BYD", fuel_type="ev"
    )
    api = Api.session(world.advisor)
    assert ids(api.get("/api/vehicles/", {"q": "B123"})) == {car_a.pk}
    assert ids(api.get("/api/vehicles/", {"q": "d777"})) == {ev.pk}
    assert ids(api.get("/api/vehicles/", {"q": car_a.vin[-6:].lower()})) == {car_a.pk}
    assert ids(api.get("/api/vehicles/", {"make": "byd"})) == {ev.pk}
    assert ids(api.get("/api/vehicles/", {"fuel_type": "ev"})) == {ev.pk}
    assert ids(api.get("/api/vehicles/", {"owner_id": car_a.owner_id})) == {car_a.pk}
    assert_error(api.get("/api/vehicles/", {"owner_id": "abc"}), 422, "invalid", "owner_id")


def test_pagination_shape(world):
    owner = CustomerFactory(home_store=world.a)
    for _ in range(30):
        VehicleFactory(owner=owner, vin=make_vin())
    api = Api.session(world.advisor)
    first = api.get("/api/vehicles/").json()
    assert set(first) == {"items", "count"}
    assert (first["count"], len(first["items"])) == (30, 25)
    assert len(api.get("/api/vehicles/", {"page": 2}).json()["items"]) == 5


# ---- query counts --------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["advisor", "admin"])
def test_list_query_count_is_the_same_for_3_and_30_rows(world, who):
    api = Api.session(getattr(world, who))
    for _ in range(3):
        VehicleFactory(owner=CustomerFactory(home_store=world.a))
    api.get("/api/vehicles/")
    few, response = count_queries(lambda: api.get("/api/vehicles/"))
    assert response.json()["count"] == 3
    for _ in range(27):
        VehicleFactory(owner=CustomerFactory(home_store=world.a))
    many, response = count_queries(lambda: api.get("/api/vehicles/"))
    assert response.json()["count"] == 30
    assert many == few


def test_mileage_list_query_count_does_not_grow(world, car_a):
    api = Api.session(world.advisor)
    url = f"/api/vehicles/{car_a.pk}/mileage"
    api.get(url)
    few, _response = count_queries(lambda: api.get(url))
    for i in range(20):
        MileageReading.objects.create(
            vehicle=car_a,
            km=10_001 + i,
            read_at=timezone.now() - dt.timedelta(days=20 - i),
            recorded_by=world.advisor,
        )
    many, response = count_queries(lambda: api.get(url))
    assert len(response.json()) == 21
    assert many == few
