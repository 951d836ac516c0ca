"""Writes for vehicles, ownership and mileage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.db import service_atomic
from aftersales.common.errors import Conflict, Problems, ValidationFailed
from aftersales.common.money import parse_money
from aftersales.common.permissions import require
from aftersales.common.validators import normalize_plate, normalize_vin, not_in_future, parse_date

from .choices import FuelType, ReadingSource
from .models import MileageReading, Vehicle, VehicleOwnership

AUDITED_FIELDS = (
    "vin", "plate", "make", "model", "year", "colour", "fuel_type", "purchase_date", "purchase_price",
    "selling_store", "insurance_company", "insurance_expiry", "warranty_start", "warranty_end", "owner",
)  # fmt: skip
MAX_KM = 3_000_000


def _text(data: dict[str, Any], key: str, limit: int, *, required_label: str = "") -> str:
    value = " ".join(str(data.get(key) or "").split())
    if required_label and not value:
        raise ValidationFailed(f"{key}_required", _("%(f)s is required.") % {"f": required_label}, key)
    if len(value) > limit:
        raise ValidationFailed(f"{key}_too_long", _("At most %(n)d characters.") % {"n": limit}, key)
    return value


def _clean(data: dict[str, Any], actor: Any, instance: Vehicle | None = None,
           problems: Problems | None = None) -> dict[str, Any]:
    """Every editable field present in ``data``, normalised; every bad one named at once (``problems`` collects them
    for a caller that checks more fields, otherwise they are raised here)."""
    own = problems is None
    problems = Problems() if problems is None else problems
    out: dict[str, Any] = {}
    if "vin" in data:
        with problems.field():
            out["vin"] = normalize_vin(data["vin"] or "", "vin")
    if "plate" in data:
        with problems.field():
            out["plate"] = normalize_plate(data["plate"], "plate") if (data["plate"] or "").strip() else ""
    for key, limit, label in (("make", 40, _("Make")), ("model", 60, _("Model")), ("colour", 30, ""),
                              ("insurance_company", 60, "")):
        if key in data:
            with problems.field():
                out[key] = _text(data, key, limit, required_label=label)
    if "year" in data:
        year = data["year"]
        if year in (None, ""):
            out["year"] = None
        else:
            try:
                year = int(year)
            except (TypeError, ValueError):
                problems.add("year_format", _("Enter a year such as 2021."), "year")
            else:
                if not 1950 <= year <= timezone.localdate().year + 1:
                    problems.add("year_range", _("The model year is not plausible."), "year")
                else:
                    out["year"] = year
    if "fuel_type" in data:
        fuel = str(data["fuel_type"] or FuelType.PETROL)
        if fuel not in FuelType.values:
            problems.add("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": fuel}, "fuel_type")
        else:
            out["fuel_type"] = fuel
    if "purchase_date" in data:
        with problems.field():
            out["purchase_date"] = not_in_future(parse_date(data["purchase_date"], "purchase_date"), "purchase_date",
                                                 _("Purchase date"))
    for key in ("insurance_expiry", "warranty_start", "warranty_end"):
        if key in data:
            with problems.field():
                out[key] = parse_date(data[key], key)
    if "purchase_price" in data:
        price = data["purchase_price"]
        with problems.field():
            out["purchase_price"] = None if price in (None, "") else parse_money(price, "purchase_price")
    if "selling_store" in data:
        store = data["selling_store"]
        if store is not None:
            from aftersales.stores.models import Store

            store_id = getattr(store, "pk", store)
            store = Store.objects.filter(pk=store_id, group_id=actor.dealer_group_id).first()
            if store is None:
                problems.add("store_unknown", _("Unknown store."), "selling_store")
        out["selling_store"] = store
    start = out.get("warranty_start", instance.warranty_start if instance else None)
    end = out.get("warranty_end", instance.warranty_end if instance else None)
    if start and end and end < start:
        problems.add("warranty_end_before_start", _("Warranty end must be after its start."), "warranty_end")
    if own:
        problems.raise_if_any()
    return out


def _raise_duplicate(group_id: int, vin: str, exclude_pk: int | None = None) -> None:
    qs = Vehicle.objects.filter(group_id=group_id, vin=vin)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    existing = qs.values_list("id", flat=True).first()
    if existing is not None:
        raise Conflict(
            "duplicate_vin", _("A vehicle with this VIN already exists in the dealer group."), "vin", existing_id=existing
        )


def plate_holders(group_id: int, plate: str, exclude_pk: int | None = None) -> list[Vehicle]:
    """Other vehicles of the dealer group that carry this plate."""
    if not plate:
        return []
    qs = Vehicle.objects.filter(group_id=group_id, plate=plate).select_related("owner")
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return list(qs.order_by("id")[:5])


def _check_plate(group_id: int, plate: str, exclude_pk: int | None, confirm_plate: bool) -> None:
    """Plates move between cars in China (a plate kept when a car is sold, re-issued later), so a plate already on
    another vehicle is not refused: it is questioned, and saved once the person confirms. The data-quality page lists
    every such pair."""
    holders = plate_holders(group_id, plate, exclude_pk)
    if holders and not confirm_plate:
        other = holders[0]
        raise Conflict(
            "plate_on_other_vehicle",
            _("Plate %(plate)s is already on another vehicle (%(car)s, VIN %(vin)s). Plates move between cars: tick "
              "the confirmation if this car carries it now.") % {
                "plate": plate, "car": f"{other.make} {other.model}".strip(), "vin": other.vin},
            "plate", existing_id=other.pk,
        )


def vehicle_check(*, actor: Any, mileage: Any = None, **data: Any) -> None:
    """The checks of ``vehicle_create``/``vehicle_update`` on the fields given, writing nothing: a form whose own
    checks failed shows these problems at the same time (``DomainForm.check_rest``)."""
    problems = Problems()
    _clean({k: v for k, v in data.items() if k in AUDITED_FIELDS and k != "owner"}, actor, problems=problems)
    if mileage not in (None, ""):
        problems.check(_parse_km, mileage, "mileage")
    problems.raise_if_any()


def vehicle_create(*, actor: Any, owner: Any, mileage: int | None = None, reason: str = "", confirm_plate: bool = False,
                   **data: Any) -> Vehicle:
    """A new vehicle; a plate already on another vehicle of the group needs ``confirm_plate``."""
    require(actor, "vehicles.add_vehicle")
    for key in ("vin", "make", "model"):
        data.setdefault(key, "")
    problems = Problems()
    fields = _clean(data, actor, problems=problems)
    km = problems.check(_parse_km, mileage, "mileage") if mileage not in (None, "") else None
    problems.raise_if_any()  # a bad VIN, plate and mileage are named together, nothing written
    _raise_duplicate(owner.group_id, fields["vin"])
    _check_plate(owner.group_id, fields.get("plate", ""), None, confirm_plate)
    try:
        with transaction.atomic():
            vehicle = Vehicle.objects.create(group_id=owner.group_id, owner=owner, current_mileage=km or 0, **fields)
            VehicleOwnership.objects.create(
                vehicle=vehicle, customer=owner, started_on=fields.get("purchase_date") or timezone.localdate()
            )
            audit.record(
                actor=actor, obj=vehicle, action="vehicle.created", customer_id=owner.pk, store_id=owner.home_store_id,
                changes=audit.diff({}, audit.snapshot(vehicle, AUDITED_FIELDS)), reason=reason,
            )
            if km:
                MileageReading.objects.create(
                    vehicle=vehicle, km=km, read_at=timezone.now(), source=ReadingSource.MANUAL,
                    recorded_by=actor if getattr(actor, "pk", None) else None,
                )
    except IntegrityError:
        _raise_duplicate(owner.group_id, fields["vin"])
        raise
    return vehicle


def vehicle_update(*, actor: Any, vehicle: Vehicle, reason: str = "", confirm_plate: bool = False, **data: Any) -> Vehicle:
    require(actor, "vehicles.change_vehicle")
    data.pop("owner", None)  # ownership changes go through vehicle_transfer
    fields = _clean(data, actor, instance=vehicle)
    if "vin" in fields and fields["vin"] != vehicle.vin:
        _raise_duplicate(vehicle.group_id, fields["vin"], exclude_pk=vehicle.pk)
    if fields.get("plate") and fields["plate"] != vehicle.plate:
        _check_plate(vehicle.group_id, fields["plate"], vehicle.pk, confirm_plate)
    try:
        with transaction.atomic():
            locked, changes = audit.update_locked(Vehicle, vehicle.pk, fields, AUDITED_FIELDS)
            if changes:
                audit.record(
                    actor=actor, obj=locked, action="vehicle.updated", customer_id=locked.owner_id, changes=changes,
                    reason=reason,
                )
    except IntegrityError:
        _raise_duplicate(vehicle.group_id, fields.get("vin", ""), exclude_pk=vehicle.pk)
        raise
    return locked


def vehicle_transfer(
    *, actor: Any, vehicle: Vehicle, new_owner: Any, on_date: dt.date | str | None = None, reason: str = ""
) -> Vehicle:
    """Record a change of owner. The vehicle keeps its history; the old owner keeps the ownership record."""
    require(actor, "vehicles.transfer_vehicle")
    day = parse_date(on_date, "on_date") or timezone.localdate()
    not_in_future(day, "on_date", _("Transfer date"))
    if new_owner.group_id != vehicle.group_id:
        raise ValidationFailed("owner_unknown", _("Unknown customer."), "new_owner")
    with service_atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        if locked.owner_id == new_owner.pk:
            raise ValidationFailed("same_owner", _("This customer already owns the vehicle."), "new_owner")
        current = VehicleOwnership.objects.filter(vehicle=locked, ended_on__isnull=True).first()
        if current and day < current.started_on:
            raise ValidationFailed(
                "transfer_before_ownership", _("The transfer date is before the current owner's start."), "on_date"
            )
        if current:
            current.ended_on = day
            current.save(update_fields=["ended_on"])
        VehicleOwnership.objects.create(vehicle=locked, customer=new_owner, started_on=day, reason=reason[:200])
        old_owner = locked.owner_id
        locked.owner = new_owner
        locked.save(update_fields=["owner", "updated_at"])
        for customer_id in {old_owner, new_owner.pk} - {None}:
            audit.record(
                actor=actor, obj=locked, action="vehicle.transferred", customer_id=customer_id,
                changes={"owner": [old_owner, new_owner.pk]}, reason=reason,
            )
    return locked


def _parse_km(value: Any, field: str = "km") -> int:
    try:
        km = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("km_format", _("Mileage must be a whole number of kilometres."), field) from exc
    if str(value).strip() != str(km) and not isinstance(value, int):
        raise ValidationFailed("km_format", _("Mileage must be a whole number of kilometres."), field)
    if km < 0 or km > MAX_KM:
        raise ValidationFailed("km_range", _("Mileage must be between 0 and 3,000,000 km."), field)
    return km


def mileage_record(
    *,
    actor: Any,
    vehicle: Vehicle,
    km: Any,
    read_at: dt.datetime | None = None,
    source: str = ReadingSource.MANUAL,
    is_correction: bool = False,
    note: str = "",
) -> MileageReading:
    """Record an odometer reading. Readings never go backwards unless recorded as a correction (with a note)."""
    require(actor, "vehicles.add_mileagereading")
    if is_correction:
        require(actor, "vehicles.correct_mileage")
    problems = Problems()
    km = problems.check(_parse_km, km)
    if source not in ReadingSource.values:
        problems.add("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": source}, "source")
    now = timezone.now()
    read_at = read_at or now
    if read_at > now + dt.timedelta(minutes=5):
        problems.add("date_in_future", _("A reading cannot be dated in the future."), "read_at")
    if is_correction and not note.strip():
        problems.add("note_required", _("Say why the odometer is being corrected."), "note")
    problems.raise_if_any()
    return _mileage_write(actor=actor, vehicle=vehicle, km=km, read_at=read_at, source=source,
                          is_correction=is_correction, note=note)


def mileage_record_from_device(*, vehicle: Vehicle, km: int, read_at: dt.datetime) -> MileageReading | None:
    """An odometer reading sent by the car's telematics device (no person records it, so no permission to check).

    A device never corrects the odometer: a reading lower than an earlier one (or higher than a later one) is
    skipped (None), the vehicle's mileage is left as it is; a correction is a person's decision (``mileage_record``).
    """
    km = _parse_km(km)
    if read_at > timezone.now() + dt.timedelta(minutes=5):
        return None
    try:
        with transaction.atomic():
            return _mileage_write(actor=None, vehicle=vehicle, km=km, read_at=read_at, source=ReadingSource.TELEMATICS,
                                  is_correction=False, note="")
    except ValidationFailed:
        return None


def _mileage_write(*, actor: Any, vehicle: Vehicle, km: int, read_at: dt.datetime, source: str, is_correction: bool,
                   note: str) -> MileageReading:
    with service_atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        readings = MileageReading.objects.filter(vehicle=locked)
        after: MileageReading | None = None
        if not is_correction:
            # Only readings since the last correction count: a correction resets the odometer's story.
            last_fix = readings.filter(is_correction=True).order_by("-read_at").values_list("read_at", flat=True).first()
            if last_fix:
                readings = readings.filter(read_at__gte=last_fix)
            before = readings.filter(read_at__lte=read_at).order_by("-read_at", "-id").first()
            after = readings.filter(read_at__gt=read_at).order_by("read_at", "id").first()
            if before and km < before.km:
                raise ValidationFailed(
                    "km_backwards",
                    _("%(km)s km is lower than the reading of %(prev)s km on %(date)s. "
                      "If the odometer was replaced or mis-read, record an odometer correction.")
                    % {"km": f"{km:,}", "prev": f"{before.km:,}", "date": timezone.localdate(before.read_at)},
                    "km",
                )
            if after and km > after.km:
                raise ValidationFailed(
                    "km_after_later_reading",
                    _("%(km)s km is higher than the later reading of %(next)s km on %(date)s.")
                    % {"km": f"{km:,}", "next": f"{after.km:,}", "date": timezone.localdate(after.read_at)},
                    "km",
                )
        reading = MileageReading.objects.create(
            vehicle=locked, km=km, read_at=read_at, source=source, is_correction=is_correction, note=note[:200],
            recorded_by=actor if getattr(actor, "pk", None) else None,
        )
        # Nothing read later than this one (not even a correction, which would be ``after``): it is the newest, the
        # highest id among equal times; else the newest is looked up (issue 19: one query fewer per check-in).
        latest = reading if not is_correction and after is None else (
            MileageReading.objects.filter(vehicle=locked).order_by("-read_at", "-id").first())
        if latest and latest.km != locked.current_mileage:
            old = locked.current_mileage
            locked.current_mileage = latest.km
            locked.save(update_fields=["current_mileage", "updated_at"])
            audit.record(
                actor=actor, obj=locked, action="vehicle.mileage_corrected" if is_correction else "vehicle.mileage",
                customer_id=locked.owner_id, changes={"current_mileage": [old, latest.km]}, reason=note,
            )
    vehicle.current_mileage = locked.current_mileage
    return reading


