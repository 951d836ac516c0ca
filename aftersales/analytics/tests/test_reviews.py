"""Monthly, quarterly and yearly reviews as Excel and PDF, scoped like the dashboard."""

from __future__ import annotations

import io

import pytest

from aftersales.common.tests.factories import make_staff
from aftersales.staff.roles import Role, sync_roles

from . import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    sync_roles()
    gz = f.store(name="广州店")
    sz = f.store(group=gz.group, name="深圳店")
    for s, score in ((gz, 9), (sz, 4)):
        o = f.order(s, opened=f.at("2026-11-10"), delivered=f.at("2026-11-10", "15:00"))
        f.followup(o, answered=f.at("2026-11-11"), overall=score, recommend=score)
    return {"gz": gz, "sz": sz, "manager": make_staff(Role.STORE_MANAGER, gz, language="zh-hans"),
            "admin": make_staff(Role.GROUP_ADMIN, gz), "advisor": make_staff(Role.SERVICE_ADVISOR, gz)}


def test_quarterly_review_excel_has_the_figures(client, world):
    from openpyxl import load_workbook

    client.force_login(world["admin"])
    r = client.get("/cockpit/reviews/quarterly.xlsx?store=group&date=2026-11-15")
    assert r.status_code == 200 and r["Content-Disposition"].endswith('review-quarterly-2026-Q4.xlsx"')
    sheet = load_workbook(io.BytesIO(r.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = values[2]
    assert header[1] == "2026-Q4" and "广州店" in header and "深圳店" in header
    csat = next(row for row in values if row[0] and "CSAT" in str(row[0]))
    assert csat[1] == "50.0%" and csat[header.index("广州店")] == "100.0%" and csat[header.index("深圳店")] == "0.0%"


def test_monthly_review_pdf_in_chinese(client, world):
    from pypdf import PdfReader

    client.force_login(world["manager"])
    r = client.get("/cockpit/reviews/monthly.pdf?date=2026-11-15")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    from aftersales.common.tests.pdf_fonts import assert_fonts_embedded

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert_fonts_embedded(r.content, expect=("投诉率",))
    assert "2026-11" in text and "投诉率" in text and "深圳店" not in text


def test_reviews_are_scoped_and_refused_to_other_roles(client, world):
    client.force_login(world["manager"])
    assert client.get(f"/cockpit/reviews/yearly.xlsx?store={world['sz'].pk}").status_code == 404
    assert client.get("/cockpit/reviews/weekly.xlsx").status_code == 404
    assert client.get("/cockpit/reviews/yearly.doc").status_code == 404
    client.force_login(world["advisor"])
    assert client.get("/cockpit/reviews/yearly.pdf").status_code == 403
