"""The message schema (version 1) and the vendor adapter layer: bytes in, a checked message out, or a rejection.

See ``docs/telematics.md`` for the schema with examples. Everything here is pure (no database).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .choices import Protocol
from .faultcodes import normalize

MAX_BYTES = 16_384
MAX_CODES = 50


class Malformed(Exception):
    """The message does not follow the schema; ``str()`` names every bad field."""


@dataclass
class Message:
    device: str
    seq: int
    time: dt.datetime
    odometer_km: int | None = None
    battery_v: Decimal | None = None
    fuel_pct: int | None = None
    charge_pct: int | None = None
    ignition: bool | None = None
    speed_kmh: int | None = None
    dtcs: list[str] = field(default_factory=list)
    lat: Decimal | None = None
    lon: Decimal | None = None
    nev_alarm: int | None = None
    crash: bool | None = None
    airbag: bool | None = None


def parse_json(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_BYTES:
        raise Malformed(f"message larger than {MAX_BYTES} bytes")
    try:
        obj = json.loads(payload.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Malformed("not JSON") from exc
    if not isinstance(obj, dict):
        raise Malformed("not a JSON object")
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def signed_payload(obj: dict[str, Any]) -> bytes:
    """The canonical bytes the signature covers (floats as the device wrote them: parsed as Decimal)."""
    from .credentials import canonical

    return canonical({k: (float(v) if isinstance(v, Decimal) else _plain(v)) for k, v in obj.items()})


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _int(obj: dict[str, Any], key: str, low: int, high: int, errors: list[str], *, required: bool = False) -> int | None:
    value = obj.get(key)
    if value is None:
        if required:
            errors.append(f"{key}: required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or (isinstance(value, Decimal) and value != value.to_integral_value()):
        errors.append(f"{key}: not a whole number")
        return None
    number = int(value)
    if not low <= number <= high:
        errors.append(f"{key}: out of range {low}–{high}")
        return None
    return number


def _dec(obj: dict[str, Any], key: str, low: str, high: str, places: int, errors: list[str]) -> Decimal | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        errors.append(f"{key}: not a number")
        return None
    number = Decimal(value)
    if not number.is_finite() or not Decimal(low) <= number <= Decimal(high):
        errors.append(f"{key}: out of range {low}–{high}")
        return None
    return number.quantize(Decimal(1).scaleb(-places))


def _time(value: Any, errors: list[str]) -> dt.datetime | None:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        seconds = float(value)
        if not math.isfinite(seconds) or not 0 < seconds < 32503680000:
            errors.append("time: out of range")
            return None
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            errors.append("time: not an ISO 8601 time")
            return None
        if parsed.tzinfo is None:
            errors.append("time: needs a UTC offset")
            return None
        return parsed
    errors.append("time: required")
    return None


def check_v1(obj: dict[str, Any]) -> Message:
    """Our own schema; every bad field is named in the error."""
    errors: list[str] = []
    device = obj.get("device")
    if not isinstance(device, str) or not 1 <= len(device) <= 64:
        errors.append("device: required, at most 64 characters")
    if obj.get("v", 1) != 1:
        errors.append("v: unsupported version")
    seq = _int(obj, "seq", 0, 2**62, errors, required=True)
    when = _time(obj.get("time"), errors)
    codes: list[str] = []
    raw_codes = obj.get("dtc", [])
    if not isinstance(raw_codes, list) or len(raw_codes) > MAX_CODES:
        errors.append(f"dtc: a list of at most {MAX_CODES} codes")
    else:
        for raw in raw_codes:
            code = normalize(raw)
            if code is None:
                errors.append("dtc: not a fault code such as P0301")
                break
            if code not in codes:
                codes.append(code)
    lat = lon = None
    gps = obj.get("gps")
    if gps is not None:
        if not isinstance(gps, dict):
            errors.append("gps: an object with lat and lon")
        else:
            lat = _dec(gps, "lat", "-90", "90", 6, errors)
            lon = _dec(gps, "lon", "-180", "180", 6, errors)
            if lat is None or lon is None:
                lat = lon = None
                if "gps: an object with lat and lon" not in errors and not any(e.startswith(("lat", "lon")) for e in errors):
                    errors.append("gps: an object with lat and lon")
    ignition = obj.get("ignition")
    if ignition is not None and not isinstance(ignition, bool):
        errors.append("ignition: true or false")
        ignition = None
    flags: dict[str, bool | None] = {}
    for key in ("crash", "airbag"):  # the device's crash sensor / the airbag control unit's deployment signal
        flag = obj.get(key)
        if flag is not None and not isinstance(flag, bool):
            errors.append(f"{key}: true or false")
            flag = None
        flags[key] = flag
    message = Message(
        device=device if isinstance(device, str) else "", seq=seq or 0, time=when or dt.datetime.min.replace(tzinfo=dt.UTC),
        odometer_km=_int(obj, "odometer_km", 0, 3_000_000, errors),
        battery_v=_dec(obj, "battery_v", "0", "60", 2, errors),
        fuel_pct=_int(obj, "fuel_pct", 0, 100, errors), charge_pct=_int(obj, "charge_pct", 0, 100, errors),
        ignition=ignition, speed_kmh=_int(obj, "speed_kmh", 0, 400, errors), dtcs=codes, lat=lat, lon=lon,
        nev_alarm=_int(obj, "nev_alarm", 0, 3, errors), crash=flags["crash"], airbag=flags["airbag"],
    )
    if errors:
        raise Malformed("; ".join(errors))
    return message


def adapt_gbt32960(obj: dict[str, Any]) -> dict[str, Any]:
    """A vendor gateway's JSON rendering of a GB/T 32960 real-time report → our schema (before checking).

    The gateway sends ``{"device", "serial", "collect_time" (ISO), "vehicle": {"mileage_01km", "soc"},
    "alarm": {"max_level", "faults": [...]}, "position": {"lon_1e6", "lat_1e6"}}``; GB/T 32960 gives mileage in
    0.1 km and positions in millionths of a degree.
    """
    vehicle = obj.get("vehicle") if isinstance(obj.get("vehicle"), dict) else {}
    alarm = obj.get("alarm") if isinstance(obj.get("alarm"), dict) else {}
    position = obj.get("position") if isinstance(obj.get("position"), dict) else None
    out: dict[str, Any] = {"device": obj.get("device"), "seq": obj.get("serial"), "time": obj.get("collect_time")}
    mileage = vehicle.get("mileage_01km")
    if isinstance(mileage, int | Decimal) and not isinstance(mileage, bool):
        out["odometer_km"] = int(Decimal(mileage) / 10)
    if "soc" in vehicle:
        out["charge_pct"] = vehicle["soc"]
    if "aux_battery_v" in vehicle:
        out["battery_v"] = vehicle["aux_battery_v"]
    if "max_level" in alarm:
        out["nev_alarm"] = alarm["max_level"]
    if "faults" in alarm:
        out["dtc"] = alarm["faults"]
    if position is not None:
        try:
            out["gps"] = {"lat": Decimal(position["lat_1e6"]) / 1_000_000, "lon": Decimal(position["lon_1e6"]) / 1_000_000}
        except (KeyError, TypeError, ArithmeticError, ValueError):
            out["gps"] = "invalid"
    return out


ADAPTERS = {Protocol.JSON_V1: lambda obj: obj, Protocol.GBT32960_JSON: adapt_gbt32960}


def check(obj: dict[str, Any], protocol: str) -> Message:
    return check_v1(ADAPTERS.get(protocol, ADAPTERS[Protocol.JSON_V1])(obj))
