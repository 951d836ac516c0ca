from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Router, Schema, Status
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require

from .owners import owner_get
from .selectors import mileage_list, vehicle_get, vehicle_list
from .services import mileage_record, vehicle_create, vehicle_transfer, vehicle_update

router = Router(tags=["vehicles"])


class VehicleOut(Schema):
    id: int
    vin: str
    plate: str
    make: str
    model: str
    year: int | None
    colour: str
    fuel_type: str
    purchase_date: dt.date | None
    purchase_price: Decimal | None
    selling_store_id: int | None
    insurance_company: str
    insurance_expiry: dt.date | None
    warranty_start: dt.date | None
    warranty_end: dt.date | None
    current_mileage: int
    owner_id: int | None


class VehicleIn(Schema):
    owner_id: int
    vin: str
    plate: str = ""
    #: the plate is on another vehicle of the group and this car carries it now (else 409 plate_on_other_vehicle)
    confirm_plate: bool = False
    make: str
    model: str
    year: int | None = None
    colour: str = ""
    fuel_type: str = "petrol"
    purchase_date: str | None = None
    purchase_price: str | None = None
    selling_store_id: int | None = None
    insurance_company: str = ""
    insurance_expiry: str | None = None
    warranty_start: str | None = None
    warranty_end: str | None = None
    # Checked by the service with the other fields (named "mileage"), so a negative mileage and a bad VIN are
    # refused together (issue 14, item 6).
    mileage: int | None = None


class VehiclePatch(Schema):
    vin: str | None = None
    plate: str | None = None
    confirm_plate: bool = False
    make: str | None = None
    model: str | None = None
    year: int | None = None
    colour: str | None = None
    fuel_type: str | None = None
    purchase_date: str | None = None
    purchase_price: str | None = None
    selling_store_id: int | None = None
    insurance_company: str | None = None
    insurance_expiry: str | None = None
    warranty_start: str | None = None
    warranty_end: str | None = None
    reason: str = ""


class TransferIn(Schema):
    new_owner_id: int
    on_date: str | None = None
    reason: str = ""


class ReadingIn(Schema):
    km: int
    read_at: dt.datetime | None = None
    source: str = "manual"
    is_correction: bool = False
    note: str = ""


class ReadingOut(Schema):
    id: int
    km: int
    read_at: dt.datetime
    source: str
    is_correction: bool
    note: str
    recorded_by_id: int | None


def _store_fk(data: dict[str, Any]) -> dict[str, Any]:
    if "selling_store_id" in data:
        data["selling_store"] = data.pop("selling_store_id")
    return data


@router.get("/", response={200: list[VehicleOut], **ERRORS})
@paginate(PageNumberPagination, page_size=25)
def list_vehicles(request: Any, q: str = "", owner_id: int | None = None, make: str = "", fuel_type: str = "") -> Any:
    user = request_user(request)
    require(user, "vehicles.view_vehicle")
    return vehicle_list(user, q=q, owner_id=owner_id, make=make, fuel_type=fuel_type)


@router.post("/", response={201: VehicleOut, **ERRORS})
def create_vehicle(request: Any, payload: VehicleIn) -> Any:
    user = request_user(request)
    require(user, "vehicles.add_vehicle")
    data = _store_fk(payload.dict())
    owner = owner_get(user, data.pop("owner_id"))
    return Status(201, vehicle_create(actor=user, owner=owner, **data))


@router.get("/{vehicle_id}", response={200: VehicleOut, **ERRORS})
def get_vehicle(request: Any, vehicle_id: int) -> Any:
    user = request_user(request)
    require(user, "vehicles.view_vehicle")
    return vehicle_get(user, vehicle_id)


@router.patch("/{vehicle_id}", response={200: VehicleOut, **ERRORS})
def update_vehicle(request: Any, vehicle_id: int, payload: VehiclePatch) -> Any:
    user = request_user(request)
    require(user, "vehicles.change_vehicle")
    vehicle = vehicle_get(user, vehicle_id)
    data = _store_fk(payload.dict(exclude_unset=True))
    reason = data.pop("reason", "")
    return vehicle_update(actor=user, vehicle=vehicle, reason=reason, **data)


@router.post("/{vehicle_id}/transfer", response={200: VehicleOut, **ERRORS})
def transfer_vehicle(request: Any, vehicle_id: int, payload: TransferIn) -> Any:
    user = request_user(request)
    vehicle = vehicle_get(user, vehicle_id)
    new_owner = owner_get(user, payload.new_owner_id)
    return vehicle_transfer(actor=user, vehicle=vehicle, new_owner=new_owner, on_date=payload.on_date, reason=payload.reason)


@router.get("/{vehicle_id}/mileage", response={200: list[ReadingOut], **ERRORS})
def list_readings(request: Any, vehicle_id: int) -> Any:
    user = request_user(request)
    require(user, "vehicles.view_mileagereading")
    return list(mileage_list(user, vehicle_id)[:200])


@router.post("/{vehicle_id}/mileage", response={201: ReadingOut, **ERRORS})
def add_reading(request: Any, vehicle_id: int, payload: ReadingIn) -> Any:
    user = request_user(request)
    vehicle = vehicle_get(user, vehicle_id)
    return Status(201, mileage_record(actor=user, vehicle=vehicle, **payload.dict()))
