"""Spreadsheets we hand to people: numbers as numbers, dates as dates, and text a user typed kept as text.

A cell that starts with ``=`` (or ``+``, ``-``, ``@``) is a formula to Excel and WPS: a customer who calls
themselves ``=HYPERLINK("http://…")`` must not become a live link in the manager's export. In .xlsx the text is
written as a string cell (never a formula); in CSV, which has no cell types, such text gets a leading apostrophe
(the OWASP advice), which the spreadsheet shows as text.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONEY_FORMAT = "#,##0.00"


def csv_value(value: Any) -> Any:
    """A value for a CSV cell: text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def csv_row(values: list[Any]) -> list[Any]:
    return [csv_value(v) for v in values]


def xlsx_cell(ws: Any, value: Any, number_format: str | None = None) -> Any:
    """An openpyxl cell for a write-only sheet: strings stay strings (never formulas); dates and decimals typed."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # Excel has no time zones: the caller gives local time
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and cell.data_type != "s":
        cell.data_type = "s"
    if number_format:
        cell.number_format = number_format
    elif isinstance(value, dt.datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, dt.date):
        cell.number_format = DATE_FORMAT
    elif isinstance(value, Decimal) and value == value.quantize(Decimal("0.01")) and value.as_tuple().exponent == -2:
        cell.number_format = MONEY_FORMAT
    return cell


def xlsx_row(ws: Any, values: list[Any], formats: dict[int, str] | None = None) -> list[Any]:
    return [xlsx_cell(ws, v, (formats or {}).get(i)) for i, v in enumerate(values)]


def keep_text(ws: Any, row: int) -> None:
    """For a normal (not write-only) openpyxl sheet: after ``ws.append``, turn any formula the row's text made back
    into text."""
    for cell in ws[row]:
        if cell.data_type == "f":
            cell.data_type = "s"


XLSXWRITER_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False}
