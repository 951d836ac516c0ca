"""History import: customers, vehicles and past paid visits from another system's CSV or Excel export.

One row per visit. Columns (the header row names them; English or Chinese names, any order):
date 日期 · store 门店 (code; default: the store chosen for the import) · mobile 手机 · name 姓名 · vin 车架号 ·
plate 车牌 · make 品牌 · model 车型 · mileage 里程 · amount 实收金额 · refunded 退款 · items 项目 · visit_id 单号.

:func:`preview` validates every row (nothing written) and reports each error with its row number and field;
:func:`apply_rows` writes rows through the customers/vehicles services. Each visit gets an ``external_key``
(the source system's visit id if given, else a hash of the row's content), unique per dealer group: importing the
same file twice changes nothing. Customers are matched by mobile, vehicles by VIN (then plate), never updated.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.common.errors import DomainError, ValidationFailed
from aftersales.common.money import parse_money
from aftersales.common.readtime import coded
from aftersales.common.validators import normalize_mobile, normalize_plate, normalize_vin

from .models import ImportedVisit

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
PREVIEW_ROWS = 50
XLSX_SIGNATURE = b"PK\x03\x04"
COLUMNS = ["date", "store", "mobile", "name", "vin", "plate", "make", "model", "mileage", "amount", "refunded",
           "items", "visit_id"]
ALIASES = {
    "date": "date", "visit_date": "date", "日期": "date", "到店日期": "date", "结算日期": "date",
    "store": "store", "门店": "store", "门店代码": "store",
    "mobile": "mobile", "phone": "mobile", "手机": "mobile", "手机号": "mobile", "电话": "mobile",
    "name": "name", "customer": "name", "姓名": "name", "客户": "name", "客户姓名": "name",
    "vin": "vin", "车架号": "vin", "VIN": "vin",
    "plate": "plate", "车牌": "plate", "车牌号": "plate",
    "make": "make", "品牌": "make", "model": "model", "车型": "model",
    "mileage": "mileage", "km": "mileage", "里程": "mileage",
    "amount": "amount", "amount_paid": "amount", "paid": "amount", "实收金额": "amount", "金额": "amount",
    "refunded": "refunded", "refund": "refunded", "退款": "refunded", "退款金额": "refunded",
    "items": "items", "项目": "items", "维修项目": "items",
    "visit_id": "visit_id", "order": "visit_id", "ro_number": "visit_id", "单号": "visit_id", "工单号": "visit_id",
}
REQUIRED = ["date", "mobile", "amount"]


@dataclass
class RowError:
    row: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "code": self.code, "message": self.message}

    def __str__(self) -> str:
        return _("Row %(row)s, %(field)s: %(message)s") % {"row": self.row, "field": self.field or "—",
                                                             "message": self.message}


@dataclass
class RowPlan:
    row: int
    key: str
    action: str  # "create" or "unchanged"
    data: dict[str, Any]


@dataclass
class Preview:
    total_rows: int = 0
    plans: list[RowPlan] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(1 for p in self.plans if p.action == "create")

    @property
    def unchanged(self) -> int:
        return sum(1 for p in self.plans if p.action == "unchanged")

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})


# ---- reading -------------------------------------------------------------------------------------------------------
def check_upload(name: str, size: int) -> str:
    """The file's kind ("csv" or "xlsx"), or a refusal naming the field."""
    if size > MAX_UPLOAD_BYTES:
        raise ValidationFailed("file_too_large", _("The file is too large: at most %(mb)s MB.")
                               % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}, "file")
    lower = str(name or "").lower()
    if lower.endswith(".xlsx"):
        return "xlsx"
    if lower.endswith(".csv"):
        return "csv"
    raise ValidationFailed("file_type", _("Upload a CSV file or an Excel workbook (.xlsx)."), "file")


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value.strip()
    return value


def read_rows(name: str, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(row number as the user sees it, {column: value}) for every non-empty data row."""
    kind = check_upload(name, len(data))
    raw = _xlsx_rows(data) if kind == "xlsx" else _csv_rows(data)
    if not raw:
        raise ValidationFailed("file_empty", _("The file has no rows."), "file")
    headers = [ALIASES.get(str(h or "").strip(), ALIASES.get(str(h or "").strip().lower(), "")) for h in raw[0]]
    missing = [c for c in REQUIRED if c not in headers]
    if missing:
        raise ValidationFailed("missing_column", _("The first row must name the columns; missing: %(c)s.")
                               % {"c": ", ".join(missing)}, "file")
    if "vin" not in headers and "plate" not in headers:
        raise ValidationFailed("missing_column", _("The first row must name the columns; missing: %(c)s.")
                               % {"c": "vin / plate"}, "file")
    out = []
    for index, values in enumerate(raw[1:], start=2):
        if index > MAX_ROWS + 1:
            raise ValidationFailed("too_many_rows", _("At most %(n)s rows per import.") % {"n": MAX_ROWS}, "file")
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        out.append((index, {h: _cell(v) for h, v in zip(headers, values, strict=False) if h}))
    return out


def _csv_rows(data: bytes) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):  # Chinese Excel saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ValidationFailed("file_unreadable", _("The file could not be read."), "file")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    import zipfile

    from openpyxl import load_workbook

    if not data.startswith(XLSX_SIGNATURE):
        raise ValidationFailed("file_type", _("Upload a CSV file or an Excel workbook (.xlsx)."), "file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "xl/workbook.xml" not in set(archive.namelist()):
                raise ValidationFailed("file_type", _("Upload a CSV file or an Excel workbook (.xlsx)."), "file")
            if sum(info.file_size for info in archive.infolist()) > 20 * MAX_UPLOAD_BYTES:
                raise ValidationFailed("file_too_large", _("The workbook is too large once unpacked."), "file")
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = wb[wb.sheetnames[0]]
        return [list(r) for r in ws.iter_rows(values_only=True)]
    except DomainError:
        raise
    except Exception as exc:  # any parser failure is the same user-facing answer
        raise ValidationFailed("file_unreadable", _("The workbook could not be read: is it a valid .xlsx file?"),
                               "file") from exc


# ---- validating ----------------------------------------------------------------------------------------------------
def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    if not text:
        raise ValidationFailed("date_required", _("The visit date is required."), "date")
    try:
        return dt.date.fromisoformat("-".join(p.zfill(2) for p in text.split(" ")[0].split("-")))
    except ValueError as exc:
        raise ValidationFailed("date_format", _("Enter a date as YYYY-MM-DD."), "date") from exc


def _km(value: Any) -> int | None:
    if value in (None, ""):
        return None
    text = str(value).replace(",", "").strip()
    if not text.isdigit() or int(text) > 3_000_000:
        raise ValidationFailed("km_format", _("Mileage must be a whole number of kilometres."), "mileage")
    return int(text)


def clean_row(values: dict[str, Any], stores: dict[str, Any], default_store: Any) -> dict[str, Any]:
    """Validate one row; the first problem of each field is collected and raised together (see _row_errors)."""
    errors: list[DomainError] = []
    out: dict[str, Any] = {}

    def attempt(name: str, fn: Any) -> None:
        try:
            out[name] = fn()
        except DomainError as exc:
            exc.field = exc.field if exc.field in COLUMNS else name
            errors.append(exc)

    def visit_date() -> dt.date:
        day = _date(values.get("date"))
        if day > timezone.localdate():
            raise ValidationFailed("date_in_future", _("The visit date is in the future."), "date")
        if day < dt.date(1990, 1, 1):
            raise ValidationFailed("date_too_early", _("The visit date is implausibly early."), "date")
        return day

    def store() -> Any:
        code = str(values.get("store") or "").strip().lower()
        if not code:
            return default_store
        if code not in stores:
            raise ValidationFailed("store_unknown", _("Unknown store “%(c)s”.") % {"c": code}, "store")
        return stores[code]

    def name() -> str:
        text = " ".join(str(values.get("name") or "").split())
        if len(text) > 60:
            raise ValidationFailed("name_too_long", _("Name is at most 60 characters."), "name")
        return text

    attempt("date", visit_date)
    attempt("store", store)
    attempt("mobile", lambda: normalize_mobile(str(values.get("mobile") or ""), "mobile"))
    attempt("name", name)
    attempt("vin", lambda: normalize_vin(str(values["vin"]), "vin") if values.get("vin") not in (None, "") else "")
    attempt("plate", lambda: normalize_plate(str(values["plate"]), "plate") if values.get("plate") not in (None, "") else "")
    attempt("mileage", lambda: _km(values.get("mileage")))
    attempt("amount", lambda: parse_money(values.get("amount") if values.get("amount") not in (None, "") else "x", "amount"))
    attempt("refunded", lambda: parse_money(values.get("refunded") or "0", "refunded"))
    out["make"] = " ".join(str(values.get("make") or "").split())[:40]
    out["model"] = " ".join(str(values.get("model") or "").split())[:60]
    out["items"] = str(values.get("items") or "").strip()[:2000]
    out["visit_id"] = str(values.get("visit_id") or "").strip()[:64]
    if "vin" in out and "plate" in out and not out["vin"] and not out["plate"]:
        errors.append(ValidationFailed("vehicle_required", _("Give the VIN or the plate."), "vin"))
    if "amount" in out and "refunded" in out and out["refunded"] > out["amount"]:
        errors.append(ValidationFailed("refund_exceeds_paid", _("The refund exceeds the amount paid."), "refunded"))
    if errors:
        raise _RowInvalid(errors)
    return out


class _RowInvalid(Exception):
    def __init__(self, errors: list[DomainError]) -> None:
        super().__init__("row invalid")
        self.errors = errors


def external_key(group_id: int, row: dict[str, Any]) -> str:
    """The visit's identity: the source's visit id (per store) when given, else the row's content."""
    if row["visit_id"]:
        basis = ["id", row["store"].code, row["visit_id"]]
    else:
        basis = ["row", row["store"].code, row["date"].isoformat(), row["mobile"], row["vin"] or row["plate"],
                 f"{row['amount']:.2f}", str(row["mileage"] or ""), row["items"]]
    return hashlib.sha256("\x1f".join([str(group_id), *basis]).encode()).hexdigest()


def _stores_for(actor: Any, group: Any) -> dict[str, Any]:
    from aftersales.common.scoping import visible_store_ids
    from aftersales.stores.models import Store

    return {s.code.lower(): s for s in Store.objects.filter(group=group, pk__in=visible_store_ids(actor))}


def preview(*, actor: Any, group: Any, store: Any, name: str, data: bytes) -> Preview:
    """Validate every row against the group's data; nothing is written."""
    from aftersales.customers.models import Customer
    from aftersales.vehicles.models import Vehicle

    rows = read_rows(name, data)
    stores = _stores_for(actor, group)
    result = Preview(total_rows=len(rows))
    cleaned: list[tuple[int, dict[str, Any]]] = []
    for row, values in rows:
        try:
            cleaned.append((row, clean_row(values, stores, store)))
        except _RowInvalid as bad:
            result.errors += [RowError(row, e.field or "", e.code, str(e.message)) for e in bad.errors]
    keys = {row: external_key(group.pk, data_) for row, data_ in cleaned}
    existing: set[str] = set()
    key_list = list(keys.values())
    for start in range(0, len(key_list), 900):  # SQLite's parameter limit
        existing |= set(ImportedVisit.objects.filter(group=group, external_key__in=key_list[start:start + 900])
                        .values_list("external_key", flat=True))
    known_mobiles = _existing(Customer, group, "mobile", [d["mobile"] for _r, d in cleaned])
    known_vins = _existing(Vehicle, group, "vin", [d["vin"] for _r, d in cleaned if d["vin"]])
    known_plates = _existing(Vehicle, group, "plate", [d["plate"] for _r, d in cleaned if d["plate"]])
    seen: dict[str, int] = {}
    new_mobiles: set[str] = set()
    new_vins: set[str] = set()
    for row, values in cleaned:
        key = keys[row]
        if key in seen:
            result.errors.append(RowError(row, "date", "duplicate_row",
                                          _("The same visit is already on row %(r)s.") % {"r": seen[key]}))
            continue
        seen[key] = row
        if key in existing:
            result.plans.append(RowPlan(row=row, key=key, action="unchanged", data=values))
            continue
        problems = []
        if values["mobile"] not in known_mobiles and values["mobile"] not in new_mobiles and not values["name"]:
            problems.append(RowError(row, "name", "name_required", _("A new customer needs a name.")))
        vehicle_known = values["vin"] in known_vins or values["vin"] in new_vins or (
            not values["vin"] and values["plate"] in known_plates)
        if not vehicle_known:
            if not values["vin"]:
                problems.append(RowError(row, "vin", "vin_required", _("A new vehicle needs its VIN.")))
            for column, label in (("make", _("Make")), ("model", _("Model"))):
                if not values[column]:
                    problems.append(RowError(row, column, f"{column}_required", _("%(f)s is required.") % {"f": label}))
        if problems:
            result.errors += problems
            continue
        new_mobiles.add(values["mobile"])
        if values["vin"]:
            new_vins.add(values["vin"])
        result.plans.append(RowPlan(row=row, key=key, action="create", data=values))
    result.errors.sort(key=lambda e: (e.row, COLUMNS.index(e.field) if e.field in COLUMNS else 99))
    return result


def _existing(model: Any, group: Any, column: str, values: list[str]) -> set[str]:
    found: set[str] = set()
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), 900):
        found |= set(model.objects.filter(group=group, **{f"{column}__in": unique[start:start + 900]})
                     .values_list(column, flat=True))
    return found


# ---- writing -------------------------------------------------------------------------------------------------------
@dataclass
class ChunkResult:
    created: int = 0
    unchanged: int = 0
    customers_created: int = 0
    vehicles_created: int = 0
    customer_ids: set[int] = field(default_factory=set)
    errors: list[RowError] = field(default_factory=list)


def apply_rows(*, actor: Any, group: Any, job: Any, plans: list[RowPlan]) -> ChunkResult:
    """Write the planned rows, each in its own savepoint: a row refused by a service is reported, the rest kept."""
    out = ChunkResult()
    for plan in plans:
        if plan.action != "create":
            out.unchanged += 1
            continue
        try:
            with transaction.atomic():
                created = _apply_row(actor=actor, group=group, job=job, plan=plan, out=out)
        except DomainError as exc:
            out.errors.append(RowError(plan.row, exc.field or "", exc.code, str(exc.message)))
            continue
        if created:
            out.created += 1
        else:
            out.unchanged += 1
    return out


def _apply_row(*, actor: Any, group: Any, job: Any, plan: RowPlan, out: ChunkResult) -> bool:
    from aftersales.customers.models import Customer
    from aftersales.customers.services import customer_create, customer_link_store
    from aftersales.vehicles.choices import ReadingSource
    from aftersales.vehicles.models import MileageReading, Vehicle
    from aftersales.vehicles.services import mileage_record, vehicle_create

    row = plan.data
    store = row["store"]
    if ImportedVisit.objects.filter(group=group, external_key=plan.key).exists():
        return False
    customer = Customer.objects.filter(group=group, mobile=row["mobile"]).first()
    if customer is None:
        customer = customer_create(actor=actor, store=store, name=row["name"], mobile=row["mobile"],
                                   reason=coded(gettext_noop("History import")))
        out.customers_created += 1
    else:
        customer_link_store(customer=customer, store_id=store.pk)
    vehicle = None
    if row["vin"]:
        vehicle = Vehicle.objects.filter(group=group, vin=row["vin"]).first()
    elif row["plate"]:
        vehicle = Vehicle.objects.filter(group=group, plate=row["plate"]).order_by("-id").first()
    if vehicle is None:
        vehicle = vehicle_create(actor=actor, owner=customer, vin=row["vin"], plate=row["plate"], make=row["make"],
                                 model=row["model"], reason=coded(gettext_noop("History import")),
                                 confirm_plate=True)  # the file is the shop's record: pairs go to the data-quality page
        out.vehicles_created += 1
    if row["mileage"]:
        read_at = dt.datetime.combine(row["date"], dt.time(12), tzinfo=store.zone)
        if not MileageReading.objects.filter(vehicle=vehicle, km=row["mileage"], read_at=read_at).exists():
            mileage_record(actor=actor, vehicle=vehicle, km=row["mileage"], read_at=read_at, source=ReadingSource.IMPORT,
                           note=coded(gettext_noop("History import")))
    ImportedVisit.objects.create(
        group=group, store=store, customer=customer, vehicle=vehicle, external_key=plan.key, visit_date=row["date"],
        mileage=row["mileage"], amount_paid=row["amount"], amount_refunded=row["refunded"], items=row["items"],
        job=job, row=plan.row,
    )
    out.customer_ids.add(customer.pk)
    return True

