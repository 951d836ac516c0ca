"""The parts catalogue: creating and changing parts, their interchangeable numbers and their prices per price list.

Writes go through these services (ARCHITECTURE habit 1): keyword-only, one transaction, an audit row per change.
Validation errors name the field; a part number already used in the dealer group is a 409 Conflict on ``number``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import Conflict, Forbidden, Problems, ValidationFailed
from aftersales.common.money import parse_money
from aftersales.common.permissions import require

from .choices import Category, Tracking, Unit
from .models import Part, PartAlias, PriceList, PriceListItem, Supplier

PART_FIELDS = (
    "number", "oem_number", "name_zh", "name_en", "category", "unit", "is_oem", "cost_price", "sale_price",
    "tax_rate", "warranty_months", "warranty_km", "tracking", "default_supplier", "is_active",
)
_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9\-./_ ]*$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_TRUE = {"1", "true", "yes", "y", "x", "是", "✓"}
_FALSE = {"0", "false", "no", "n", "", "否"}


# ---- field parsers ---------------------------------------------------------------------------------------------
def normalize_number(value: Any, field: str = "number", *, required: bool = True) -> str:
    """A part (or interchangeable) number: upper case, inner spaces collapsed, letters, digits and - . / _ ."""
    text = " ".join(str(value or "").split()).upper()
    if not text:
        if required:
            raise ValidationFailed("required", _("This field is required."), field)
        return ""
    if len(text) > 40:
        raise ValidationFailed("too_long", _("At most %(n)s characters.") % {"n": 40}, field)
    if not _NUMBER.match(text):
        raise ValidationFailed(
            "number_format", _("Use letters, digits and - . / _ only (e.g. 04152-YZZA1)."), field
        )
    return text


def _text(value: Any, field: str, max_length: int, *, required: bool = False) -> str:
    text = " ".join(str(value if value is not None else "").split())
    if required and not text:
        raise ValidationFailed("required", _("This field is required."), field)
    if len(text) > max_length:
        raise ValidationFailed("too_long", _("At most %(n)s characters.") % {"n": max_length}, field)
    return text


def _choice(value: Any, choices: Any, field: str) -> str:
    text = str(value if value is not None else "").strip()
    if text in choices.values:
        return text
    lowered = text.lower()
    for key, label in choices.choices:  # also accept the label, in either language
        if lowered in (str(key).lower(), str(label).lower()):
            return str(key)
    allowed = ", ".join(str(v) for v in choices.values)
    raise ValidationFailed(
        "invalid_choice", _("“%(v)s” is not a valid choice (one of: %(allowed)s).") % {"v": text, "allowed": allowed}, field
    )


def parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationFailed("invalid_bool", _("Enter yes or no."), field)


def _whole(value: Any, field: str, maximum: int) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("not_whole", _("Enter a whole number."), field) from exc
    if not number.is_finite() or number != number.to_integral_value():
        raise ValidationFailed("not_whole", _("Enter a whole number."), field)
    if number < 0:
        raise ValidationFailed("negative", _("This cannot be negative."), field)
    if number > maximum:
        raise ValidationFailed("too_large", _("At most %(n)s.") % {"n": maximum}, field)
    return int(number)


def parse_tax_rate(value: Any, field: str = "tax_rate") -> Decimal:
    """A VAT rate between 0 and 1 (0.13); ``13%`` is accepted too."""
    text = str(value if value is not None else "").strip()
    percent = text.endswith("%")
    try:
        rate = Decimal(text.rstrip("%").strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("tax_rate_format", _("Enter the VAT rate as a fraction such as 0.13."), field) from exc
    if not rate.is_finite():
        raise ValidationFailed("tax_rate_format", _("Enter the VAT rate as a fraction such as 0.13."), field)
    if percent:
        rate = rate / 100
    if rate < 0 or rate > 1:
        raise ValidationFailed("tax_rate_range", _("The VAT rate is between 0 and 1 (e.g. 0.13)."), field)
    if rate != rate.quantize(Decimal("0.001")):
        raise ValidationFailed("tax_rate_precision", _("The VAT rate has at most three decimal places."), field)
    return rate.quantize(Decimal("0.001"))


def parse_aliases(value: Any, field: str = "aliases") -> list[dict[str, Any]]:
    """Interchangeable numbers: dicts {number, brand, is_oem}; duplicates (same number and brand) are merged."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in value or []:
        if isinstance(entry, str):
            entry = {"number": entry}
        number = normalize_number(entry.get("number"), field)
        brand = _text(entry.get("brand"), field, 60)
        is_oem = parse_bool(entry.get("is_oem", False), field)
        out[(number, brand)] = {"number": number, "brand": brand, "is_oem": is_oem}
    return list(out.values())


def clean_part_data(group: Any, data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate the catalogue fields given in ``data`` (all of them unless ``partial``); returns model values.

    ``aliases`` (list) and ``prices`` ({price list code: amount or None}) are passed through cleaned.
    """
    unknown = set(data) - set(PART_FIELDS) - {"aliases", "prices"}
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationFailed("unknown_field", _("Unknown field %(f)s.") % {"f": field}, field)
    out: dict[str, Any] = {}
    problems = Problems()  # every bad field of the part named at once (issue 14, item 6)

    def given(name: str) -> bool:
        return name in data or not partial

    if given("number"):
        with problems.field():
            out["number"] = normalize_number(data.get("number"), "number")
    if given("oem_number"):
        with problems.field():
            out["oem_number"] = normalize_number(data.get("oem_number"), "oem_number", required=False)
    if given("name_zh"):
        with problems.field():
            out["name_zh"] = _text(data.get("name_zh"), "name_zh", 120, required=True)
    if given("name_en"):
        with problems.field():
            out["name_en"] = _text(data.get("name_en"), "name_en", 120)
    if given("category"):
        with problems.field():
            out["category"] = _choice(data.get("category") or Category.OTHER, Category, "category")
    if given("unit"):
        with problems.field():
            out["unit"] = _choice(data.get("unit") or Unit.PIECE, Unit, "unit")
    if given("tracking"):
        with problems.field():
            out["tracking"] = _choice(data.get("tracking") or Tracking.NONE, Tracking, "tracking")
    if given("is_oem"):
        with problems.field():
            out["is_oem"] = parse_bool(data.get("is_oem", True), "is_oem")
    if given("is_active"):
        with problems.field():
            out["is_active"] = parse_bool(data.get("is_active", True), "is_active")
    for name in ("cost_price", "sale_price"):
        if given(name):
            raw = data.get(name)
            with problems.field():
                out[name] = parse_money(0 if raw is None or str(raw).strip() == "" else raw, name)
    if given("tax_rate"):
        raw = data.get("tax_rate")
        with problems.field():
            out["tax_rate"] = parse_tax_rate("0.13" if raw is None or str(raw).strip() == "" else raw)
    if given("warranty_months"):
        with problems.field():
            out["warranty_months"] = _whole(data.get("warranty_months"), "warranty_months", 600)
    if given("warranty_km"):
        with problems.field():
            out["warranty_km"] = _whole(data.get("warranty_km"), "warranty_km", 2_000_000)
    if given("default_supplier"):
        given_supplier = data.get("default_supplier")
        supplier = given_supplier
        if supplier is not None and not isinstance(supplier, Supplier):
            supplier = Supplier.objects.filter(group_id=group.pk, pk=supplier).first()
        if given_supplier is not None and (supplier is None or supplier.group_id != group.pk):
            problems.add("supplier_unknown", _("Unknown supplier."), "default_supplier")
        else:
            out["default_supplier"] = supplier
    if "aliases" in data:
        with problems.field():
            out["aliases"] = parse_aliases(data.get("aliases"))
    if "prices" in data:
        with problems.field():
            out["prices"] = clean_prices(group, data.get("prices") or {})
    problems.raise_if_any()
    return out


def clean_prices(group: Any, prices: dict[str, Any]) -> dict[str, Decimal | None]:
    """{price list code: price, or None/'' to drop the part from that list}; every code must exist in the group."""
    known = set(PriceList.objects.filter(group_id=group.pk).values_list("code", flat=True))
    out: dict[str, Decimal | None] = {}
    problems = Problems()
    for code, value in prices.items():
        field = f"price:{code}"
        if code not in known:
            problems.add("price_list_unknown", _("Unknown price list “%(c)s”.") % {"c": code}, field)
            continue
        with problems.field():
            out[code] = None if value is None or str(value).strip() == "" else parse_money(value, field)
    problems.raise_if_any()
    return out


# ---- services ----------------------------------------------------------------------------------------------------
def _check_group(actor: Any, group: Any) -> None:
    if not getattr(actor, "is_superuser", False) and getattr(actor, "dealer_group_id", None) != group.pk:
        raise Forbidden("group_not_allowed", _("You do not work for this dealer group."), None)


def _raise_duplicate(group_id: int, number: str) -> None:
    existing = Part.objects.filter(group_id=group_id, number=number).values_list("pk", flat=True).first()
    if existing is not None:
        raise Conflict(
            "part_number_exists", _("Part number %(n)s already exists.") % {"n": number}, "number", existing_id=existing
        )


def _alias_set(part: Part) -> list[tuple[str, str, bool]]:
    return sorted((a.number, a.brand, a.is_oem) for a in PartAlias.objects.filter(part=part))


def _price_map(part: Part) -> dict[str, str]:
    return {
        code: str(price)
        for code, price in PriceListItem.objects.filter(part=part).values_list("price_list__code", "price")
    }


def _apply_aliases(part: Part, aliases: list[dict[str, Any]]) -> dict[str, list[Any]]:
    before = _alias_set(part)
    after = sorted((a["number"], a["brand"], a["is_oem"]) for a in aliases)
    if before == after:
        return {}
    PartAlias.objects.filter(part=part).delete()
    PartAlias.objects.bulk_create([PartAlias(part=part, number=n, brand=b, is_oem=o) for n, b, o in after])
    return {"aliases": [[" ".join(filter(None, (b, n))) for n, b, _o in before], [" ".join(filter(None, (b, n))) for n, b, _o in after]]}


def _apply_prices(part: Part, prices: dict[str, Decimal | None]) -> dict[str, list[Any]]:
    lists = {pl.code: pl for pl in PriceList.objects.filter(group_id=part.group_id, code__in=list(prices))}
    current = {item.price_list.code: item for item in PriceListItem.objects.filter(part=part).select_related("price_list")}
    changes: dict[str, list[Any]] = {}
    for code, price in prices.items():
        item = current.get(code)
        if price is None:
            if item is not None:
                item.delete()
                changes[f"price:{code}"] = [str(item.price), None]
        elif item is None:
            PriceListItem.objects.create(price_list=lists[code], part=part, price=price)
            changes[f"price:{code}"] = [None, str(price)]
        elif item.price != price:
            changes[f"price:{code}"] = [str(item.price), str(price)]
            item.price = price
            item.save(update_fields=["price"])
    return changes


def part_create(*, actor: Any, group: Any, **data: Any) -> Part:
    """A new catalogue part. ``aliases``: [{number, brand, is_oem}]; ``prices``: {price list code: price}."""
    require(actor, "parts.add_part")
    _check_group(actor, group)
    fields = clean_part_data(group, data)
    aliases = fields.pop("aliases", [])
    prices = fields.pop("prices", {})
    _raise_duplicate(group.pk, fields["number"])
    try:
        with transaction.atomic():
            part = Part.objects.create(group=group, **fields)
            _apply_aliases(part, aliases)
            _apply_prices(part, prices)
            audit.record(
                actor=actor, obj=part, action="part.created",
                changes={k: [None, v] for k, v in audit.snapshot(part, PART_FIELDS).items()}
                | ({"aliases": [[], [a["number"] for a in aliases]]} if aliases else {})
                | {f"price:{c}": [None, str(p)] for c, p in prices.items() if p is not None},
            )
    except IntegrityError:
        _raise_duplicate(group.pk, fields["number"])
        raise
    return part


PRICE_FIELDS = ("cost_price", "sale_price", "tax_rate")


def _require_group_role_for_prices(actor: Any, changes: dict[str, Any]) -> None:
    """Every store of the group shares the catalogue: only a group-level role changes its prices (issue 13, item 10).
    Called inside the update's transaction, so a refused change writes nothing."""
    from aftersales.common.scoping import spans_group

    changed = [k for k in changes if k in PRICE_FIELDS or k.startswith("price:")]
    if changed and not spans_group(actor):
        field = changed[0] if changed[0] in PRICE_FIELDS else "prices"
        raise Forbidden(
            "price_group_only",
            _("Only the dealer group's administrators can change catalogue prices, which every store shares."),
            field,
        )


def part_update(*, actor: Any, part: Part, reason: str = "", **data: Any) -> Part:
    """Change the fields given (others stay); ``aliases`` given replaces the part's list. No change, no write."""
    require(actor, "parts.change_part")
    _check_group(actor, part.group)
    fields = clean_part_data(part.group, data, partial=True)
    aliases = fields.pop("aliases", None)
    prices = fields.pop("prices", None)
    if "number" in fields and fields["number"] != part.number:
        _raise_duplicate(part.group_id, fields["number"])
    try:
        with transaction.atomic():
            locked = Part.objects.select_for_update().get(pk=part.pk)
            before = audit.snapshot(locked, PART_FIELDS)
            for key, value in fields.items():
                setattr(locked, key, value)
            changes = audit.diff(before, audit.snapshot(locked, PART_FIELDS))
            if changes:
                locked.save()
            if aliases is not None:
                changes |= _apply_aliases(locked, aliases)
            if prices is not None:
                changes |= _apply_prices(locked, prices)
            _require_group_role_for_prices(actor, changes)
            if changes:
                audit.record(actor=actor, obj=locked, action="part.updated", changes=changes, reason=reason)
    except IntegrityError:
        _raise_duplicate(part.group_id, fields.get("number", ""))
        raise
    return locked


def price_list_create(*, actor: Any, group: Any, code: str, name: str = "") -> PriceList:
    """A price list for a customer type (retail, fleet, insurance, internal...)."""
    require(actor, "parts.change_part")
    _check_group(actor, group)
    code = str(code or "").strip().lower()
    if not code or len(code) > 30 or not _CODE.match(code):
        raise ValidationFailed("code_format", _("Use lower-case letters, digits, - and _ (e.g. fleet)."), "code")
    name = _text(name or code, "name", 60, required=True)
    if PriceList.objects.filter(group_id=group.pk, code=code).exists():
        raise Conflict("price_list_exists", _("Price list %(c)s already exists.") % {"c": code}, "code")
    with transaction.atomic():
        price_list = PriceList.objects.create(group=group, code=code, name=name)
        audit.record(actor=actor, obj=price_list, action="price_list.created", changes={"code": [None, code]})
    return price_list


def part_set_price(*, actor: Any, part: Part, price_list_code: str, price: Any) -> Part:
    """Set (or, with ``price`` None, remove) the part's price on one price list."""
    return part_update(actor=actor, part=part, prices={price_list_code: price})


def price_for(part: Part, price_list_code: str | None = None) -> Decimal:
    """The sale price of ``part`` for a customer type: its price-list price when listed, else the part's price."""
    if price_list_code:
        price = (
            PriceListItem.objects.filter(part=part, price_list__group_id=part.group_id, price_list__code=price_list_code)
            .values_list("price", flat=True)
            .first()
        )
        if price is not None:
            return Decimal(price)
    return Decimal(part.sale_price)
