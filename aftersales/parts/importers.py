"""Excel (.xlsx) export and import of the parts catalogue (openpyxl).

The workbook has a ``parts`` sheet (one row per part; a column ``price:<code>`` per price list) and an
``aliases`` sheet (part_number, number, brand, is_oem, remove). Import is two passes: :func:`preview` validates every
row and reports each error with its row and column; :func:`apply` writes the valid rows through the catalogue
services. Re-importing the same file changes nothing (rows equal to the catalogue are skipped).

An import never deletes what the file does not say to delete: a row of the aliases sheet adds an interchange number
to its part (or changes its OEM flag); only a row marked ``remove`` takes one away, and the preview lists each
addition and removal. A part the file does not mention keeps its numbers.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common.errors import DomainError, ValidationFailed
from aftersales.common.readtime import coded
from aftersales.common.spreadsheets import keep_text

from . import catalogue
from .models import Part, PartAlias, PriceList, PriceListItem

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
XLSX_SIGNATURE = b"PK\x03\x04"
PART_COLUMNS = [
    "number", "oem_number", "name_zh", "name_en", "category", "unit", "is_oem", "cost_price", "sale_price",
    "tax_rate", "warranty_months", "warranty_km", "tracking", "is_active",
]
ALIAS_COLUMNS = ["part_number", "number", "brand", "is_oem", "remove"]
_MONEY = {"cost_price", "sale_price"}


# ---- export --------------------------------------------------------------------------------------------------------
def export_catalogue(group: Any) -> bytes:
    """The group's catalogue as an .xlsx workbook (parts with prices per price list, and interchangeable numbers)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    price_lists = list(PriceList.objects.filter(group_id=group.pk).order_by("code"))
    prices: dict[int, dict[str, Decimal]] = {}
    for part_id, code, price in PriceListItem.objects.filter(price_list__group_id=group.pk).values_list(
        "part_id", "price_list__code", "price"
    ):
        prices.setdefault(part_id, {})[code] = price
    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = "parts"
    headers = PART_COLUMNS + [f"price:{pl.code}" for pl in price_lists]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    parts = Part.objects.filter(group_id=group.pk).order_by("number")
    for part in parts.iterator(chunk_size=2000):
        row: list[Any] = []
        for name in PART_COLUMNS:
            value = getattr(part, name)
            if isinstance(value, bool):
                value = "yes" if value else "no"
            row.append(value if value is not None else "")
        row += [prices[part.pk][pl.code] if pl.code in prices.get(part.pk, {}) else "" for pl in price_lists]
        ws.append(row)  # numbers as numbers (the import reads them back exactly); text never as a formula
        keep_text(ws, ws.max_row)
    aliases = wb.create_sheet("aliases")
    aliases.append(ALIAS_COLUMNS)
    for cell in aliases[1]:
        cell.font = Font(bold=True)
    for number, alias, brand, is_oem in (
        PartAlias.objects.filter(part__group_id=group.pk).order_by("part__number", "brand", "number")
        .values_list("part__number", "number", "brand", "is_oem")
    ):
        aliases.append([number, alias, brand, "yes" if is_oem else "no", ""])
        keep_text(aliases, aliases.max_row)
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---- reading -------------------------------------------------------------------------------------------------------
@dataclass
class RowError:
    sheet: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return _("%(sheet)s row %(row)s, %(field)s: %(message)s") % {
            "sheet": self.sheet, "row": self.row, "field": self.field or "—", "message": self.message,
        }


@dataclass
class RowPlan:
    row: int
    number: str
    action: str  # "create", "update" or "unchanged"
    data: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    #: what the preview shows for this row, in words (field names, interchange numbers added and removed)
    details: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    plans: list[RowPlan] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    applied: bool = False

    def count(self, action: str) -> int:
        return sum(1 for p in self.plans if p.action == action)

    @property
    def created(self) -> int:
        return self.count("create")

    @property
    def updated(self) -> int:
        return self.count("update")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def error_rows(self) -> int:
        return len({(e.sheet, e.row) for e in self.errors})


def check_upload(name: str, size: int, head: bytes) -> None:
    """Refuse anything that is not a reasonably sized .xlsx file (by its signature, not only its name)."""
    if size > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            "file_too_large", _("The file is too large: at most %(mb)s MB.") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}, "file"
        )
    if not str(name or "").lower().endswith(".xlsx") or not head.startswith(XLSX_SIGNATURE):
        raise ValidationFailed("file_type", _("Upload an Excel workbook (.xlsx)."), "file")


def _open(data: bytes) -> Any:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                raise ValidationFailed("file_type", _("Upload an Excel workbook (.xlsx)."), "file")
            if sum(info.file_size for info in archive.infolist()) > 40 * MAX_UPLOAD_BYTES:
                raise ValidationFailed("file_too_large", _("The workbook is too large once unpacked."), "file")
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except DomainError:
        raise
    except Exception as exc:  # any parser failure is the same user-facing answer
        raise ValidationFailed("file_unreadable", _("The workbook could not be read: is it a valid .xlsx file?"), "file") from exc


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float):
        return repr(value)
    return value


def _rows(ws: Any) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    rows = ws.iter_rows(values_only=True)
    header_row = next(rows, None) or ()
    headers = [str(h).strip() if h is not None else "" for h in header_row]
    out = []
    for index, values in enumerate(rows, start=2):
        if index > MAX_ROWS + 1:
            raise ValidationFailed("too_many_rows", _("At most %(n)s rows per import.") % {"n": MAX_ROWS}, "file")
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        out.append((index, {h: _cell(v) for h, v in zip(headers, values, strict=False) if h}))
    return headers, out


def _as_text(value: Any) -> Any:
    return "" if value is None else value


def _field_label(name: str) -> str:
    if name.startswith("price:"):
        return _("price list %(code)s") % {"code": name[6:]}
    return str(Part._meta.get_field(name).verbose_name)


def _alias_text(number: str, brand: str) -> str:
    return f"{brand} {number}" if brand else number


def _alias_row(values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """One row of the aliases sheet, each column checked on its own so every bad cell is named by its own column."""
    entry: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    checks = (
        ("part_number", lambda v: catalogue.normalize_number(v, "part_number")),
        ("number", lambda v: catalogue.normalize_number(v, "number")),
        ("brand", lambda v: catalogue.parse_aliases([{"number": "X", "brand": _as_text(v)}], "brand")[0]["brand"]),
        ("is_oem", lambda v: catalogue.parse_bool(_as_text(v) or False, "is_oem")),
        ("remove", lambda v: catalogue.parse_bool(_as_text(v) or False, "remove")),
    )
    for column, check in checks:
        try:
            entry[column] = check(values.get(column))
        except DomainError as exc:
            errors.append((column, str(exc.message)))
    return entry, errors


def _merge_aliases(
    have: list[tuple[str, str, bool]], entries: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str], list[RowError]]:
    """The part's interchange numbers after the sheet's rows: added or changed by a row, removed only by a row marked
    ``remove``. Returns (the new list, the changes in words, errors)."""
    current = {(n, b): o for n, b, o in have}
    after = dict(current)
    details: list[str] = []
    errors: list[RowError] = []
    for entry in entries:
        key = (entry["number"], entry["brand"])
        if entry["remove"]:
            if key not in after:
                errors.append(RowError("aliases", entry["_row"], "remove", _(
                    "%(alias)s is not an interchange number of this part, so it cannot be removed."
                ) % {"alias": _alias_text(*key)}))
                continue
            del after[key]
        else:
            after[key] = entry["is_oem"]
    for key in sorted(set(current) | set(after)):
        text = _alias_text(*key)
        if key not in after:
            details.append(_("removes interchange number %(alias)s") % {"alias": text})
        elif key not in current:
            details.append(_("adds interchange number %(alias)s") % {"alias": text})
        elif current[key] != after[key]:
            details.append(_("marks %(alias)s as OEM") % {"alias": text} if after[key]
                           else _("marks %(alias)s as not OEM") % {"alias": text})
    merged = [{"number": n, "brand": b, "is_oem": o} for (n, b), o in sorted(after.items())]
    return merged, details, errors


def preview(group: Any, data: bytes) -> ImportResult:
    """Validate every row of the workbook against the catalogue; nothing is written."""
    wb = _open(data)
    result = ImportResult()
    sheet = wb["parts"] if "parts" in wb.sheetnames else wb[wb.sheetnames[0]]
    sheet_name = sheet.title
    headers, rows = _rows(sheet)
    if "number" not in headers:
        raise ValidationFailed("missing_column", _("The first row must name the columns; “number” is missing."), "file")
    codes = {h[6:]: h for h in headers if h.startswith("price:")}
    known_codes = set(PriceList.objects.filter(group_id=group.pk).values_list("code", flat=True))
    existing = {p.number: p for p in Part.objects.filter(group_id=group.pk)}
    current_aliases: dict[int, list[tuple[str, str, bool]]] = {}
    for alias in PartAlias.objects.filter(part__group_id=group.pk):
        current_aliases.setdefault(alias.part_id, []).append((alias.number, alias.brand, alias.is_oem))
    current_prices: dict[int, dict[str, Decimal]] = {}
    for part_id, code, price in PriceListItem.objects.filter(price_list__group_id=group.pk).values_list(
        "part_id", "price_list__code", "price"
    ):
        current_prices.setdefault(part_id, {})[code] = price

    alias_rows: dict[str, list[dict[str, Any]]] = {}
    has_alias_sheet = "aliases" in wb.sheetnames
    if has_alias_sheet:
        _alias_headers, raw_aliases = _rows(wb["aliases"])
        for row, values in raw_aliases:
            entry, row_errors = _alias_row(values)
            if row_errors:
                result.errors.extend(RowError("aliases", row, f, m) for f, m in row_errors)
                continue
            alias_rows.setdefault(entry["part_number"], []).append(entry | {"_row": row})

    seen: dict[str, int] = {}
    for row, values in rows:
        fields = {k: _as_text(values.get(k)) for k in PART_COLUMNS if k in headers}
        row_errors: list[RowError] = []
        for key, value in fields.items():  # every bad cell of the row is reported, not only the first
            try:
                catalogue.clean_part_data(group, {key: value}, partial=True)
            except DomainError as exc:
                row_errors.append(RowError(sheet_name, row, exc.field or key, str(exc.message)))
        clean = {} if row_errors else catalogue.clean_part_data(group, fields, partial=True)
        prices: dict[str, Decimal | None] = {}
        for code, header in codes.items():
            if code not in known_codes:
                if values.get(header) not in (None, ""):
                    row_errors.append(RowError(sheet_name, row, header, _("Unknown price list “%(c)s”.") % {"c": code}))
                continue
            try:
                prices |= catalogue.clean_prices(group, {code: values.get(header)})
            except DomainError as exc:
                row_errors.append(RowError(sheet_name, row, header, str(exc.message)))
        number = clean.get("number") or str(fields.get("number") or "").strip().upper()
        if number and number in seen:
            row_errors.append(RowError(
                sheet_name, row, "number", _("Part number %(n)s is already on row %(r)s.") % {"n": number, "r": seen[number]}
            ))
        if number:
            seen.setdefault(number, row)
        part = existing.get(number)
        if part is None and not row_errors and "name_zh" not in clean:
            row_errors.append(RowError(sheet_name, row, "name_zh", _("This field is required.")))
        if row_errors:
            result.errors.extend(row_errors)
            continue
        alias_details: list[str] = []
        if number in alias_rows:
            have = current_aliases.get(part.pk, []) if part is not None else []
            merged, alias_details, alias_errors = _merge_aliases(have, alias_rows[number])
            if alias_errors:
                result.errors.extend(alias_errors)
                alias_details = []
            elif alias_details:
                clean["aliases"] = merged
        if codes:
            clean["prices"] = dict(prices)
        if part is None:
            result.plans.append(RowPlan(row=row, number=number, action="create", data=clean, details=alias_details))
            continue
        changes = []
        for key, value in clean.items():
            if key == "aliases":
                changes.append(key)
            elif key == "prices":
                have = current_prices.get(part.pk, {})
                changes += [f"price:{c}" for c, p in value.items() if have.get(c) != p]
            elif key == "default_supplier":
                continue
            elif getattr(part, key) != value:
                changes.append(key)
        details = [_field_label(c) for c in changes if c != "aliases"] + alias_details
        result.plans.append(RowPlan(row=row, number=number, action="update" if changes else "unchanged",
                                    data=clean, changes=changes, details=details))
    for owner, entries in alias_rows.items():
        if owner in seen:
            continue
        if owner not in existing:
            for entry in entries:
                result.errors.append(RowError(
                    "aliases", entry["_row"], "part_number", _("Unknown part number “%(n)s”.") % {"n": owner}
                ))
            continue
        # a catalogue part the parts sheet does not list: its interchange numbers change all the same
        part = existing[owner]
        merged, alias_details, alias_errors = _merge_aliases(current_aliases.get(part.pk, []), entries)
        if alias_errors:
            result.errors.extend(alias_errors)
            continue
        result.plans.append(RowPlan(
            row=entries[0]["_row"], number=owner, action="update" if alias_details else "unchanged",
            data={"aliases": merged}, changes=["aliases"] if alias_details else [], details=alias_details,
        ))
    result.errors.sort(key=lambda e: (e.sheet != sheet_name, e.row))
    return result


def apply(*, actor: Any, group: Any, data: bytes) -> ImportResult:
    """Write every valid row (rows with errors are skipped and reported); unchanged rows are not touched."""
    result = preview(group, data)
    existing = {p.number: p for p in Part.objects.filter(group_id=group.pk)}
    with transaction.atomic():
        for plan in result.plans:
            if plan.action == "create":
                data_ = dict(plan.data)
                prices = {c: p for c, p in (data_.pop("prices", None) or {}).items() if p is not None}
                catalogue.part_create(actor=actor, group=group, prices=prices, **data_)
            elif plan.action == "update":
                data_ = {k: v for k, v in plan.data.items() if k in plan.changes or k in ("aliases", "prices")}
                if "prices" in data_:
                    data_["prices"] = {c: p for c, p in data_["prices"].items() if f"price:{c}" in plan.changes}
                if "aliases" in data_ and "aliases" not in plan.changes:
                    del data_["aliases"]
                catalogue.part_update(actor=actor, part=existing[plan.number], reason=coded(gettext_noop("Excel import")), **data_)
    result.applied = True
    return result
