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
    #: what a vendor adapter could not use and left out (unknown or bad bits, bad extension values): the message is
    #: taken without them, and the ingester counts them per device (reason "ignored")
    ignored: list[str] = field(default_factory=list)


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


#: GB/T 32960.3 real-time report, alarm data, the general alarm flags (通用报警标志, a DWORD, bit 0 = least
#: significant): what each bit means, in our own words. Bits 0–18 are the 2016 edition's, 19–27 were added by the 2025
#: edition; 28–31 are reserved. None of them is a collision or an airbag deployment: the standard watches the
#: traction battery, the motor and the high-voltage system, so a crash reaches us only through a vendor's extension
#: (see ``adapt_gbt32960``).
GBT32960_GENERAL_FLAGS: dict[int, str] = {
    0: "battery temperature difference", 1: "battery high temperature", 2: "energy storage over-voltage",
    3: "energy storage under-voltage", 4: "state of charge low", 5: "cell over-voltage", 6: "cell under-voltage",
    7: "state of charge high", 8: "state of charge jump", 9: "energy storage mismatch", 10: "cell consistency poor",
    11: "insulation", 12: "DC-DC temperature", 13: "braking system", 14: "DC-DC state",
    15: "motor controller temperature", 16: "high-voltage interlock", 17: "motor temperature",
    18: "energy storage over-charge", 19: "motor over-speed", 20: "motor over-current",
    21: "super-capacitor over-temperature", 22: "super-capacitor over-pressure", 23: "battery thermal event",
    24: "hydrogen leak", 25: "hydrogen system pressure", 26: "hydrogen system temperature",
    27: "fuel-cell stack over-temperature",
}
#: the extension's fields (a vendor's own information type, 0x80–0xFE in GB/T 32960.3, as the gateway renders it)
#: → our schema's flags
GBT32960_EXTENSION_FLAGS = {"collision": "crash", "airbag_deployed": "airbag"}


def _gbt32960_flags(alarm: dict[str, Any], out: dict[str, Any], ignored: list[str]) -> None:
    """The general alarm flags: known bits are checked and not mapped (none means a crash); reserved bits are mapped
    only where the settings name them (``TELEMATICS_GBT32960_RESERVED_BITS``, e.g. ``{31: "crash"}`` for a vendor
    that raises a reserved bit on a collision), else ignored and counted; a value that is not a 32-bit number is
    ignored and counted (the rest of the message is taken)."""
    from django.conf import settings

    raw = alarm.get("general_flags")
    if raw is None:
        return
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, Decimal) and raw == raw.to_integral_value():
        value = int(raw)
    elif isinstance(raw, str) and raw.lower().startswith("0x"):
        try:
            value = int(raw, 16)
        except ValueError:
            value = None
    if value is None or not 0 <= value < 2**32:
        ignored.append("alarm.general_flags: not a 32-bit number")
        return
    reserved: dict[int, str] = {}
    for bit, target in (getattr(settings, "TELEMATICS_GBT32960_RESERVED_BITS", None) or {}).items():
        if str(bit).isdigit() and 28 <= int(bit) <= 31 and target in ("crash", "airbag"):
            reserved[int(bit)] = target
    for bit in range(32):
        if not value >> bit & 1 or bit in GBT32960_GENERAL_FLAGS:
            continue
        if bit in reserved:
            out[reserved[bit]] = True
        else:
            ignored.append(f"alarm.general_flags: reserved bit {bit}")


def adapt_gbt32960(obj: dict[str, Any]) -> dict[str, Any]:
    """A vendor gateway's JSON rendering of a GB/T 32960 real-time report → our schema (before checking).

    The gateway sends ``{"device", "serial", "collect_time" (ISO), "vehicle": {"mileage_01km", "soc"},
    "alarm": {"max_level", "general_flags", "faults": [...]}, "position": {"lon_1e6", "lat_1e6"},
    "extension": {"collision", "airbag_deployed"}}``; GB/T 32960 gives mileage in 0.1 km and positions in millionths
    of a degree. The mapping:

    - ``alarm.max_level`` (the highest alarm level, 0–3) → ``nev_alarm``: level 3 (a fault that endangers the car or
      its occupants) opens the critical NEV alarm alert and a rescue draft; it is not called a crash (a thermal event
      or an insulation fault is level 3 too).
    - ``alarm.general_flags`` (the DWORD, as a number or ``"0x…"``): see ``_gbt32960_flags``; the standard has no
      collision bit, so only a reserved bit the settings name maps to ``crash`` / ``airbag``.
    - ``extension.collision`` → ``crash``, ``extension.airbag_deployed`` → ``airbag`` (true / false: the vendor's
      own data item, which the standard leaves to the manufacturer); anything else there is ignored and counted.
    """
    vehicle = obj.get("vehicle") if isinstance(obj.get("vehicle"), dict) else {}
    alarm = obj.get("alarm") if isinstance(obj.get("alarm"), dict) else {}
    position = obj.get("position") if isinstance(obj.get("position"), dict) else None
    out: dict[str, Any] = {"device": obj.get("device"), "seq": obj.get("serial"), "time": obj.get("collect_time")}
    ignored: list[str] = []
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
    _gbt32960_flags(alarm, out, ignored)
    extension = obj.get("extension")
    if extension is not None:
        if not isinstance(extension, dict):
            ignored.append("extension: not an object")
        else:
            for key, value in extension.items():
                target = GBT32960_EXTENSION_FLAGS.get(key)
                if target is None:
                    ignored.append(f"extension.{str(key)[:40]}: unknown")
                elif not isinstance(value, bool):
                    ignored.append(f"extension.{key}: not true or false")
                elif value:
                    out[target] = True
                elif target not in out:  # a reserved bit that set the flag outweighs the extension's false
                    out[target] = False
    if position is not None:
        try:
            out["gps"] = {"lat": Decimal(position["lat_1e6"]) / 1_000_000, "lon": Decimal(position["lon_1e6"]) / 1_000_000}
        except (KeyError, TypeError, ArithmeticError, ValueError):
            out["gps"] = "invalid"
    out[IGNORED_KEY] = ignored
    return out


#: where an adapter hands over what it left out (never a field of a device's own message: ``check`` reads it only
#: from the adapter's output)
IGNORED_KEY = "\x00ignored"


ADAPTERS = {Protocol.JSON_V1: lambda obj: obj, Protocol.GBT32960_JSON: adapt_gbt32960}


def check(obj: dict[str, Any], protocol: str) -> Message:
    adapter = ADAPTERS.get(protocol, ADAPTERS[Protocol.JSON_V1])
    if adapter is ADAPTERS[Protocol.JSON_V1]:
        return check_v1(obj)
    adapted = dict(adapter(obj))
    ignored = adapted.pop(IGNORED_KEY, [])
    message = check_v1(adapted)
    message.ignored = list(ignored)
    return message
