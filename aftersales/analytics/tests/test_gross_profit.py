"""The manager's monthly import of new-car and other gross profit: preview, row errors, all or nothing, scope."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from aftersales.analytics.models import GrossProfitMonth
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import make_staff
from aftersales.staff.roles import Role, sync_roles

from . import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    sync_roles()
    gz = f.store(code="gz", name="广州店")
    other = f.store(code="sh", name="上海店")  # another group's store
    return {"gz": gz, "other": other, "manager": make_staff(Role.STORE_MANAGER, gz), "advisor": make_staff(Role.SERVICE_ADVISOR, gz)}


def _post(client, user, name, content):
    client.force_login(user)
    return client.post("/cockpit/gross-profit/", {"file": SimpleUploadedFile(name, content)})


def test_every_bad_cell_is_named_and_nothing_is_written(client, world):
    csv = "门店,月份,新车毛利,其他毛利\ngz,2026-13,abc,\nsh,2026-10,1000,20\n,2026-09,5,x\ngz,2026-11,100,0\ngz,2026-11,200,0\n"
    r = _post(client, world["manager"], "profit.csv", csv.encode())
    assert r.status_code == 422
    errors = {(e["line"], e["field"]) for e in r.context["errors"]}
    assert errors == {(2, "month"), (2, "new_car"), (3, "store"), (4, "store"), (4, "other"), (6, "month")}
    assert 'data-testid="confirm-form"' not in r.content.decode()
    assert not GrossProfitMonth.objects.exists()


def test_xlsx_preview_then_confirm_imports_and_replaces(client, world):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["store", "month", "new_car", "other"])
    sheet.append(["gz", "2026-10", 120000, 30000.5])
    sheet.append(["gz", "2026年11月", "98,000.00", None])
    buf = io.BytesIO()
    book.save(buf)
    r = _post(client, world["manager"], "dms.xlsx", buf.getvalue())
    assert r.status_code == 200 and not r.context["errors"]
    assert not GrossProfitMonth.objects.exists()  # a preview writes nothing
    r = client.post("/cockpit/gross-profit/", {"confirm": "1", "csv": r.context["csv"], "source": "dms.xlsx"})
    assert r.status_code == 302
    rows = {(m.month.isoformat(), m.new_car, m.other) for m in GrossProfitMonth.objects.all()}
    assert rows == {("2026-10-01", Decimal("120000.00"), Decimal("30000.50")), ("2026-11-01", Decimal("98000.00"), Decimal("0.00"))}
    assert AuditEvent.objects.filter(action="analytics.gross_profit_imported").count() == 2
    client.post("/cockpit/gross-profit/", {"confirm": "1", "csv": "store,month,new_car,other\ngz,2026-11,5,1\n"})
    assert GrossProfitMonth.objects.get(month="2026-11-01").new_car == Decimal("5.00")  # imported again: replaced


def test_a_forged_confirm_for_another_store_is_refused(client, world):
    client.force_login(world["manager"])
    r = client.post("/cockpit/gross-profit/", {"confirm": "1", "csv": "store,month,new_car,other\nsh,2026-11,5,1\n"})
    assert r.status_code == 422 and not GrossProfitMonth.objects.exists()


def test_only_managers_import(client, world):
    client.force_login(world["advisor"])
    assert client.get("/cockpit/gross-profit/").status_code == 403
    assert _post(client, world["advisor"], "p.csv", b"store,month,new_car\ngz,2026-11,1\n").status_code == 403
    assert not GrossProfitMonth.objects.exists()


def test_a_broken_file_is_one_error(client, world):
    r = _post(client, world["manager"], "p.xlsx", b"not a workbook")
    assert r.status_code == 422 and [e["field"] for e in r.context["errors"]] == ["file"]
    r = _post(client, world["manager"], "p.csv", b"month,new_car\n2026-11,1\n")
    assert r.status_code == 422 and [e["field"] for e in r.context["errors"]] == ["store"]
