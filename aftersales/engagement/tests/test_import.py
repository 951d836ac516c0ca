"""History import: row-level errors (row number and field), idempotent re-import, chunked progress, tiers."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import translation

from aftersales.common.errors import Forbidden, ValidationFailed
from aftersales.common.tests.factories import CustomerFactory, make_vin
from aftersales.customers.models import Customer
from aftersales.engagement import importers
from aftersales.engagement.models import CustomerTier, ImportedVisit, ImportJob
from aftersales.engagement.services import import_job_create, import_job_process, import_job_start
from aftersales.vehicles.models import MileageReading, Vehicle

pytestmark = pytest.mark.django_db
HEADER = "date,store,mobile,name,vin,plate,make,model,mileage,amount,refunded,items,visit_id"


def csv_bytes(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode(encoding)


@pytest.fixture
def vins():
    return [make_vin() for _ in range(4)]


def good_file(vins):
    return csv_bytes(
        f"2026-03-02,a,13800138001,张三,{vins[0]},粤A12345,Toyota,Camry,12000,1500.00,,机油保养,",
        f"2026-06-10,a,13800138001,张三,{vins[0]},粤A12345,Toyota,Camry,18000,3200.50,,刹车片更换,",
        f"2026/9/1,b,13800138002,李四,{vins[1]},,Honda,Accord,,800,,,RO-77",
    )


def run(world, data, name="history.csv", actor=None):
    job, preview = import_job_create(actor=actor or world.admin, store=world.a, name=name, data=data)
    import_job_start(actor=actor or world.admin, job=job)
    return import_job_process(job_id=job.pk, chunk=2), preview


def test_import_creates_customers_vehicles_visits_and_tiers(world, vins):
    job, preview = run(world, good_file(vins))
    assert (preview.new, preview.unchanged, preview.error_rows) == (3, 0, 0)
    assert (job.status, job.total_rows, job.processed_rows, job.created_count, job.customers_created,
            job.vehicles_created, job.error_count) == ("done", 3, 3, 3, 2, 2, 0)
    zhang = Customer.objects.get(mobile="+8613800138001")
    assert zhang.name == "张三"
    assert list(zhang.imported_visits.order_by("visit_date").values_list("visit_date", "amount_paid", "mileage")) == [
        (dt.date(2026, 3, 2), Decimal("1500.00"), 12000), (dt.date(2026, 6, 10), Decimal("3200.50"), 18000),
    ]
    car = Vehicle.objects.get(vin=vins[0])
    assert (car.owner_id, car.plate, car.current_mileage) == (zhang.pk, "粤A12345", 18000)
    assert MileageReading.objects.filter(vehicle=car, source="import").count() == 2
    li = Customer.objects.get(mobile="+8613800138002")
    assert li.store_links.filter(store=world.b).exists()
    # imported visits are paid visits: tiers were recomputed for the customers touched
    tier = CustomerTier.objects.get(customer=zhang)
    assert (tier.visits_total, tier.last_visit) == (2, dt.date(2026, 6, 10))


def test_same_file_twice_changes_nothing(world, vins):
    data = good_file(vins)
    run(world, data)
    counts = (Customer.objects.count(), Vehicle.objects.count(), ImportedVisit.objects.count(),
              MileageReading.objects.count())
    job, preview = run(world, data)
    assert (preview.new, preview.unchanged) == (0, 3)
    assert (job.created_count, job.unchanged_count, job.customers_created, job.vehicles_created) == (0, 3, 0, 0)
    assert (Customer.objects.count(), Vehicle.objects.count(), ImportedVisit.objects.count(),
            MileageReading.objects.count()) == counts


def test_row_errors_name_row_and_field_and_write_nothing_for_those_rows(world, vins):
    data = csv_bytes(
        f"2026-03-02,a,13800138001,张三,{vins[0]},,Toyota,Camry,,1500,,,",  # row 2: fine
        f"2026-13-02,a,12345,王五,{vins[1]},,Toyota,Camry,,abc,,,",  # row 3: date, mobile, amount
        f"2026-03-02,zz,13800138003,赵六,{vins[2]},,Toyota,Camry,,100,200,,",  # row 4: store, refund > paid
        "2026-03-02,a,13800138004,钱七,,,Toyota,Camry,,100,,,",  # row 5: no VIN nor plate
        f"2026-03-02,a,13800138005,,{vins[3]},,,,,100,,,",  # row 6: new customer without name, new car without make
        f"2026-03-02,a,13800138001,张三,{vins[0]},,Toyota,Camry,,1500,,,",  # row 7: same visit as row 2
    )
    with translation.override("en"):
        job, preview = run(world, data)
    found = {(e.row, e.field) for e in preview.errors}
    assert {(3, "date"), (3, "mobile"), (3, "amount"), (4, "store"), (4, "refunded"), (5, "vin"), (6, "name"),
            (6, "make"), (6, "model"), (7, "date")} <= found
    assert all(e.row != 2 for e in preview.errors)
    assert (job.created_count, job.error_count) == (1, 5)
    assert {e["row"] for e in job.errors} == {3, 4, 5, 6, 7}
    assert ImportedVisit.objects.count() == 1
    assert not Customer.objects.filter(mobile__in=["+8613800138003", "+8613800138005"]).exists()
    message = next(e for e in preview.errors if (e.row, e.field) == (4, "refunded")).message
    assert message == "The refund exceeds the amount paid."
    with translation.override("zh-hans"):
        _job, preview_zh = import_job_create(actor=world.admin, store=world.a, name="h.csv", data=data)
    zh = next(e for e in preview_zh.errors if (e.row, e.field) == (4, "refunded")).message
    assert zh != message  # the same error in Chinese


def test_xlsx_with_chinese_headers(world, vins):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["日期", "手机", "姓名", "车架号", "品牌", "车型", "实收金额", "项目"])
    ws.append([dt.datetime(2026, 5, 4), "13900139000", "孙八", vins[0], "BYD", "汉", 2500, "保养"])
    out = io.BytesIO()
    wb.save(out)
    job, preview = run(world, out.getvalue(), name="历史.xlsx")
    assert (preview.new, job.created_count) == (1, 1)
    visit = ImportedVisit.objects.get()
    assert (visit.visit_date, visit.amount_paid, visit.store_id, visit.items) == (
        dt.date(2026, 5, 4), Decimal("2500.00"), world.a.pk, "保养")


def test_gbk_csv_and_existing_customer_matched_by_mobile(world, vins):
    existing = CustomerFactory(home_store=world.a, mobile="+8613800138009", name="老客户")
    data = csv_bytes(f"2026-04-01,a,13800138009,别的名字,{vins[0]},,Toyota,Camry,,300,,,", encoding="gb18030")
    job, _preview = run(world, data)
    assert job.created_count == 1
    existing.refresh_from_db()
    assert existing.name == "老客户"  # matched, never overwritten
    assert ImportedVisit.objects.get().customer_id == existing.pk


def test_bad_files_are_refused_with_the_field(world):
    with pytest.raises(ValidationFailed) as exc:
        import_job_create(actor=world.admin, store=world.a, name="x.pdf", data=b"%PDF")
    assert exc.value.field == "file"
    with pytest.raises(ValidationFailed) as exc:
        import_job_create(actor=world.admin, store=world.a, name="x.csv", data=b"foo,bar\n1,2\n")
    assert exc.value.code == "missing_column"
    with pytest.raises(ValidationFailed):
        import_job_create(actor=world.admin, store=world.a, name="x.xlsx", data=b"not a zip")
    assert ImportJob.objects.count() == 0


def test_permissions_and_store(world, vins):
    with pytest.raises(Forbidden):
        import_job_create(actor=world.advisor, store=world.a, name="h.csv", data=good_file(vins))
    with pytest.raises(Forbidden):
        import_job_create(actor=world.manager_b, store=world.a, name="h.csv", data=good_file(vins))


def test_store_column_limited_to_the_importers_stores(world, vins):
    data = csv_bytes(f"2026-03-02,b,13800138001,张三,{vins[0]},,Toyota,Camry,,1500,,,")
    _job, preview = import_job_create(actor=world.manager, store=world.a, name="h.csv", data=data)
    assert [(e.row, e.field) for e in preview.errors] == [(2, "store")]


def test_processing_resumes_and_is_safe_to_run_twice(world, vins):
    job, _preview = import_job_create(actor=world.admin, store=world.a, name="h.csv", data=good_file(vins))
    import_job_start(actor=world.admin, job=job)
    first = import_job_process(job_id=job.pk, chunk=1)
    again = import_job_process(job_id=job.pk, chunk=1)  # already done: nothing happens
    assert (first.status, again.created_count, ImportedVisit.objects.count()) == ("done", 3, 3)


def test_refunded_import_excluded_from_tier(world, vins):
    data = csv_bytes(
        f"{dt.date.today() - dt.timedelta(days=3)},a,13800138001,张三,{vins[0]},,Toyota,Camry,,1500,1500,,",
    )
    run(world, data)
    tier = CustomerTier.objects.get(customer__mobile="+8613800138001")
    assert (tier.tier, tier.reason, tier.visits_total) == ("C", "c_no_visit", 0)


def test_parse_helpers():
    assert importers._date("2026/3/2") == dt.date(2026, 3, 2)
    assert importers._date("2026.03.02 10:30") == dt.date(2026, 3, 2)
    with pytest.raises(ValidationFailed):
        importers._km("12.5")
