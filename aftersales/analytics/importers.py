"""Reading the manager's monthly gross-profit file (Excel .xlsx or CSV): one row per store and month with the
new-car and other gross profit. Every bad cell is reported with its row and column; nothing is written here."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

#: accepted column headings (Chinese or English) → field
HEADINGS = {
    "store": "store", "门店": "store", "门店代码": "store",
    "month": "month", "月份": "month",
    "new_car": "new_car", "new-car gross profit": "new_car", "新车毛利": "new_car",
    "other": "other", "other gross profit": "other", "其他毛利": "other",
}
MAX_ROWS = 5000
MONTH = re.compile(r"^\s*(\d{4})[-/.年](\d{1,2})月?\s*$")


@dataclass
class Row:
    line: int
    store_code: str
    month: dt.date | None
    new_car: Decimal | None
    other: Decimal | None


def _cells(upload: Any, name: str) -> list[list[Any]]:
    data = upload.read() if hasattr(upload, "read") else upload
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = [list(r) for r, _i in zip(sheet.iter_rows(values_only=True), range(MAX_ROWS + 2), strict=False)]
        book.close()
        return rows
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else str(data)
    return [r for _i, r in zip(range(MAX_ROWS + 2), csv.reader(io.StringIO(text)), strict=False)]


def _month(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date().replace(day=1)
    if isinstance(value, dt.date):
        return value.replace(day=1)
    m = MONTH.match(str(value or ""))
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def _money(value: Any) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        amount = Decimal(str(value).replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        return None
    return amount.quantize(Decimal("0.01"))


def parse(upload: Any, name: str) -> tuple[list[Row], list[dict[str, Any]]]:
    """The rows and every error (``{"line", "field", "message"}``) of the file."""
    errors: list[dict[str, Any]] = []
    try:
        cells = _cells(upload, name)
    except Exception:  # a broken workbook or an undecodable text file: one error for the file
        return [], [{"line": 0, "field": "file", "message": _("The file could not be read: save it as .xlsx or UTF-8 CSV.")}]
    if not cells:
        return [], [{"line": 0, "field": "file", "message": _("The file is empty.")}]
    heading = [HEADINGS.get(str(c or "").strip().lower(), HEADINGS.get(str(c or "").strip(), "")) for c in cells[0]]
    missing = [f for f in ("store", "month", "new_car") if f not in heading]
    if missing:
        return [], [{"line": 1, "field": f, "message": _("Column missing: %(name)s") % {"name": f}} for f in missing]
    if len(cells) > MAX_ROWS + 1:
        return [], [{"line": 0, "field": "file", "message": _("At most %(n)s rows per file.") % {"n": MAX_ROWS}}]
    rows: list[Row] = []
    for number, raw in enumerate(cells[1:], start=2):
        values = {heading[i]: v for i, v in enumerate(raw) if i < len(heading) and heading[i]}
        if all(v is None or str(v).strip() == "" for v in values.values()):
            continue
        row = Row(number, str(values.get("store") or "").strip(), _month(values.get("month")), _money(values.get("new_car")),
                  _money(values.get("other")) if str(values.get("other") or "").strip() else Decimal("0.00"))
        errors += row_errors(row)
        rows.append(row)
    return rows, errors


def row_errors(row: Row) -> list[dict[str, Any]]:
    """The row's own bad cells (the file and the DMS API alike)."""
    errors: list[dict[str, Any]] = []
    if not row.store_code:
        errors.append({"line": row.line, "field": "store", "message": _("Give the store's code.")})
    if row.month is None:
        errors.append({"line": row.line, "field": "month", "message": _("A month is written like 2026-11.")})
    if row.new_car is None:
        errors.append({"line": row.line, "field": "new_car", "message": _("An amount in yuan, e.g. 125000.00.")})
    if row.other is None:
        errors.append({"line": row.line, "field": "other", "message": _("An amount in yuan, e.g. 125000.00.")})
    return errors


def to_csv(rows: list[Row]) -> str:
    """The parsed rows as a clean CSV (what the preview posts back to confirm)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["store", "month", "new_car", "other"])
    for r in rows:
        writer.writerow([r.store_code, f"{r.month:%Y-%m}" if r.month else "", r.new_car, r.other])
    return out.getvalue()
