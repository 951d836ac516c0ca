"""Validators for the identifiers a dealership handles: VIN, mainland plates, mobile numbers, dates.

Each ``normalize_*`` returns the canonical form or raises :class:`ValidationFailed` naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import Problems, ValidationFailed

# ---- VIN (ISO 3779 / GB 16735): 17 characters, no I, O or Q, check digit at position 9 -----------------
VIN_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}  # fmt: skip
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_ALPHABET = "".join(VIN_TRANSLITERATION)


def vin_check_digit(vin: str) -> str:
    """The check digit (position 9) a 17-character VIN must carry."""
    total = sum(VIN_TRANSLITERATION[ch] * w for ch, w in zip(vin, VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_vin(value: str, field: str = "vin") -> str:
    vin = re.sub(r"[\s-]", "", value or "").upper()
    if not vin:
        raise ValidationFailed("vin_required", _("VIN is required."), field)
    if len(vin) != 17:
        raise ValidationFailed(
            "vin_length", _("VIN must be exactly 17 characters (got %(n)d).") % {"n": len(vin)}, field
        )
    bad = sorted({ch for ch in vin if ch in "IOQ"})
    if bad:
        raise ValidationFailed(
            "vin_forbidden_letter", _("VIN may not contain the letters I, O or Q (found %(c)s).") % {"c": ", ".join(bad)},
            field,
        )
    if not all(ch in VIN_TRANSLITERATION for ch in vin):
        raise ValidationFailed("vin_characters", _("VIN may contain only digits and Latin letters."), field)
    expected = vin_check_digit(vin)
    if vin[8] != expected:
        raise ValidationFailed(
            "vin_check_digit",
            _("VIN check digit (9th character) should be %(e)s, not %(g)s: please check the VIN for a typo.")
            % {"e": expected, "g": vin[8]},
            field,
        )
    return vin


# ---- Mainland China plates (GA 36), incl. 8-character new-energy plates --------------------------------
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # letters used on plates (no I, no O)
_NEV_ENERGY = "ABCDEFGHJK"  # energy-type letters on new-energy plates (D = BEV, F = non-BEV, ...)
PLATE_PATTERNS = (
    # ordinary 7-character plate; last char may be a special suffix (trailer, learner, police, HK/Macau)
    re.compile(rf"^[{PROVINCES}][{_L}][{_L}0-9]{{4}}[{_L}0-9挂学警港澳]$"),
    # small new-energy vehicle: energy letter first, then one letter/digit and four digits
    re.compile(rf"^[{PROVINCES}][{_L}][{_NEV_ENERGY}][{_L}0-9][0-9]{{4}}$"),
    # large new-energy vehicle: five digits then energy letter
    re.compile(rf"^[{PROVINCES}][{_L}][0-9]{{5}}[{_NEV_ENERGY}]$"),
)


def normalize_plate(value: str, field: str = "plate") -> str:
    plate = re.sub(r"[\s·.\-•]", "", value or "").upper()
    if not plate:
        raise ValidationFailed("plate_required", _("Plate number is required."), field)
    if not any(p.match(plate) for p in PLATE_PATTERNS):
        raise ValidationFailed(
            "plate_format",
            _("“%(p)s” is not a valid mainland plate (e.g. 粤B12345, or new-energy 粤BD12345).") % {"p": plate},
            field,
        )
    return plate


def is_new_energy_plate(plate: str) -> bool:
    return len(plate) == 8


# ---- Phones -------------------------------------------------------------------------------------------
MOBILE_CHARACTERS = re.compile(r"[\d\s+\-().]+")  # digits (full-width too), spaces, + - ( ) .


def normalize_mobile(value: str, field: str = "mobile", region: str = "CN") -> str:
    """Return the number in E.164. Mainland numbers must be 11-digit mobiles; others need +country code."""
    raw = (value or "").strip()
    if not raw:
        raise ValidationFailed("mobile_required", _("Mobile number is required."), field)
    if not MOBILE_CHARACTERS.fullmatch(raw):
        # phonenumbers reads letters as keypad digits (13800abc000 → 13800222000): a typo, never a number
        raise ValidationFailed("mobile_format", _("“%(v)s” is not a phone number.") % {"v": raw}, field)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed("mobile_format", _("“%(v)s” is not a phone number.") % {"v": raw}, field) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(
            "mobile_invalid",
            _("“%(v)s” is not a valid mobile number (mainland: 11 digits such as 13812345678; "
              "other countries: +country code).") % {"v": raw},
            field,
        )
    kind = phonenumbers.number_type(number)
    if number.country_code == 86 and kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationFailed(
            "mobile_not_mobile", _("“%(v)s” is a landline; a mobile number is required.") % {"v": raw}, field
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mobile_digits(e164: str) -> str:
    """Digits used for searching: the national number for mainland numbers, all digits otherwise."""
    return e164[3:] if e164.startswith("+86") else e164.lstrip("+")


def mask_mobile(e164: str) -> str:
    """138****1234 for mainland numbers; +44 ******0123 style for others."""
    if not e164:
        return ""
    if e164.startswith("+86") and len(e164) == 14:
        national = e164[3:]
        return f"{national[:3]}****{national[-4:]}"
    digits = e164.lstrip("+")
    return "+" + digits[:2] + "*" * max(len(digits) - 6, 0) + digits[-4:]


def display_mobile(e164: str) -> str:
    return e164[3:] if e164.startswith("+86") and len(e164) == 14 else e164


def normalize_email(value: str, field: str = "email") -> str:
    email = (value or "").strip()
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationFailed("email_invalid", _("“%(v)s” is not a valid e-mail address.") % {"v": email}, field) from exc
    local, _sep, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def not_in_future(value: dt.date | None, field: str, label: str) -> dt.date | None:
    if value is None:
        return None
    if value > timezone.localdate():
        raise ValidationFailed("date_in_future", _("%(label)s cannot be in the future.") % {"label": label}, field)
    return value


def parse_date(value: str | dt.date | None, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationFailed("date_format", _("Enter a date as YYYY-MM-DD."), field) from exc


# ---- form values collected with common.errors.Problems (every bad field at once) ------------------------------------
def choice_value(value: Any, choices: Any, field: str, problems: Problems, *, blank: bool = False) -> str:
    """``value`` as one of ``choices`` (a TextChoices class); otherwise "" and an ``invalid_choice`` problem on
    ``field``. ``blank=True`` lets an empty value through as ""."""
    text = "" if value is None else str(value)
    if text == "" and blank:
        return ""
    if text not in choices.values:
        problems.add("invalid_choice", _("Pick one of the offered choices."), field)
        return ""
    return text


def text_value(value: Any, field: str, limit: int, problems: Problems) -> str:
    """Stripped text of at most ``limit`` characters; otherwise "" and a ``too_long`` problem on ``field``."""
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        problems.add("too_long", _("At most %(n)s characters.") % {"n": limit}, field)
        return ""
    return text


def decimal_value(value: Any, field: str, problems: Problems, *, lo: Decimal, hi: Decimal,
                  places: Decimal = Decimal("0.01")) -> Decimal | None:
    """A number in [lo, hi] rounded to ``places`` ("1,200.5" reads as 1200.50); None when empty; otherwise None and
    a ``number_range`` problem on ``field``."""
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if not number.is_finite() or not lo <= number <= hi:
        problems.add("number_range", _("Enter a number between %(lo)s and %(hi)s.") % {"lo": lo, "hi": hi}, field)
        return None
    return number.quantize(places)
