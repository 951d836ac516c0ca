"""The customer's report: the signed link (tampering, expiry), the phone page and the PDF in both languages,
with its text extracted by pypdf and checked."""

from __future__ import annotations

import io
import time
from unittest import mock

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pypdf import PdfReader

from aftersales.common.tests.pdf_fonts import assert_fonts_embedded
from aftersales.inspections import services
from aftersales.inspections.models import InspectionItem
from aftersales.inspections.photos import tiny_png
from aftersales.inspections.report import REPORT_SALT, inspection_id_from_token, render_pdf, report_token

from .conftest import check_in

pytestmark = pytest.mark.django_db


def completed(shop, order=None):
    inspection = services.inspection_start(actor=shop.advisor, order=order or shop.order, technician=shop.technician)
    items = {i.name_en: i for i in InspectionItem.objects.filter(inspection=inspection)}
    services.inspection_item_record(actor=shop.technician, item=items["Front brake pad thickness"], value="2.2", notes="刹车片磨损严重")
    services.inspection_item_record(actor=shop.technician, item=items["Tread depth, front left"], value="2.8")
    services.inspection_photo_add(actor=shop.technician, item=items["Front brake pad thickness"],
                                  upload=SimpleUploadedFile("p.png", tiny_png(size=(400, 300))))
    for item in InspectionItem.objects.filter(inspection=inspection, rating=""):
        services.inspection_item_record(actor=shop.technician, item=item, rating="green")
    services.inspection_diagnosis_save(actor=shop.technician, inspection=inspection, findings="前刹车片仅剩 2.2 mm",
                                       recommended_work="更换前刹车片")
    return services.inspection_complete(actor=shop.technician, inspection=inspection)


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_in_chinese_has_extractable_chinese_text(shop):
    inspection = completed(shop)
    data = render_pdf(inspection, "zh-hans")
    text = assert_fonts_embedded(data, expect=("车辆检测报告", "刹车片磨损严重", str(shop.technician)))
    for expected in ("车辆检测报告", "前刹车片厚度", "紧急", "2.2 mm", "刹车片磨损严重", "更换前刹车片", "粤A12345", shop.order.number,
                     "照片"):
        assert expected in text, (expected, text[:800])
    assert b"/Subtype /Image" in data  # the photo is embedded


def test_pdf_in_english(shop, world):
    order = check_in(world, world.a, world.advisor, language="en")
    inspection = completed(shop, order)
    text = assert_fonts_embedded(render_pdf(inspection, "en"), expect=("刹车片磨损严重",))
    for expected in ("Vehicle inspection report", "Front brake pad thickness", "Urgent", "Attention", "Tread depth, front left",
                     "2.8 mm", "Recommended work", "Summary: 1 urgent, 1 attention", "刹车片磨损严重"):
        assert expected in text, (expected, text[:800])
    assert "车辆检测报告" not in text


def test_signed_link_page_and_pdf_in_the_customers_language(shop):
    inspection = completed(shop)
    token = report_token(inspection)
    client = Client()
    response = client.get(f"/inspections/r/{token}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "车辆检测报告" in html and "前刹车片厚度" in html and 'name="viewport"' in html
    assert "Vehicle inspection report" not in html
    english = client.get(f"/inspections/r/{token}/?lang=en").content.decode()
    assert "Vehicle inspection report" in english and "Front brake pad thickness" in english
    pdf = client.get(f"/inspections/r/{token}/report.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "车辆检测报告" in pdf_text(pdf.content)
    assert "Vehicle inspection report" in pdf_text(client.get(f"/inspections/r/{token}/report.pdf?lang=en").content)
    photo = inspection.photos.get()
    response = client.get(f"/inspections/r/{token}/photos/{photo.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_tampered_expired_or_unfinished_links_are_refused(shop, settings):
    inspection = completed(shop)
    token = report_token(inspection)
    client = Client()
    forged = signing.dumps(inspection.pk + 1, salt="another.purpose")
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged, "garbage"):
        response = client.get(f"/inspections/r/{bad}/")
        assert response.status_code == 404 and "链接无效或已过期" in response.content.decode()
        assert client.get(f"/inspections/r/{bad}/report.pdf").status_code == 404
    assert inspection_id_from_token(token) == inspection.pk
    # a link signed 31 days ago has expired (links live INSPECTIONS_REPORT_LINK_DAYS = 30 days)
    settings.INSPECTIONS_REPORT_LINK_DAYS = 30
    month_ago = time.time() - 31 * 24 * 3600
    with mock.patch("django.core.signing.time.time", return_value=month_ago):
        expired = signing.dumps(inspection.pk, salt=REPORT_SALT)
    with mock.patch("django.core.signing.time.time", return_value=month_ago + 29 * 24 * 3600):
        assert inspection_id_from_token(expired) == inspection.pk  # still fine after 29 days
    assert inspection_id_from_token(expired) is None
    assert client.get(f"/inspections/r/{expired}/").status_code == 404
    # another inspection's photo through this link
    other = completed(shop, check_in(shop.world, shop.world.a, shop.advisor))
    response = client.get(f"/inspections/r/{token}/photos/{other.photos.get().pk}/")
    assert response.status_code == 404
    # a reopened (unfinished) report is not shown
    services.inspection_reopen(actor=shop.technician, inspection=inspection, reason="补充")
    assert client.get(f"/inspections/r/{token}/").status_code == 404


def test_staff_pdf_is_scoped(shop):
    inspection = completed(shop)
    client = Client()
    client.force_login(shop.world.advisor_b)
    assert client.get(f"/inspections/{inspection.pk}/report.pdf").status_code == 404
    client.force_login(shop.cashier)
    assert client.get(f"/inspections/{inspection.pk}/report.pdf").status_code == 403
    client.force_login(shop.advisor)
    response = client.get(f"/inspections/{inspection.pk}/report.pdf?lang=en")
    assert response.status_code == 200 and "Vehicle inspection report" in pdf_text(response.content)


HOSTILE = ['Unclosed <b> bold', '<font name="x">f</font>', '<a href="https://evil.example/">link</a>',
           '<img src="/etc/passwd"/> pic']


def _annotations_and_images(data: bytes) -> tuple[int, int]:
    reader = PdfReader(io.BytesIO(data))
    annots = sum(1 for page in reader.pages if "/Annots" in page)
    images = sum(len(page.get("/Resources", {}).get("/XObject", {}) or {}) for page in reader.pages)
    return annots, images


@pytest.mark.parametrize("value", HOSTILE)
def test_report_prints_hostile_text_literally(shop, value):
    """Issue 13, item 4: names, notes and findings are escaped; no error, no link, no extra image."""
    from aftersales.inspections.models import Inspection, InspectionItem

    inspection = completed(shop)
    _annots, photos = _annotations_and_images(render_pdf(inspection, "en"))
    InspectionItem.objects.filter(inspection=inspection).update(notes=value, name_en=value[:80], name_zh=value[:80])
    Inspection.objects.filter(pk=inspection.pk).update(findings=value, recommended_work=value)
    type(shop.order.customer).objects.filter(pk=shop.order.customer_id).update(name=value)
    type(shop.order.vehicle).objects.filter(pk=shop.order.vehicle_id).update(plate=value[:10])  # the column holds 10 (PostgreSQL enforces it)
    inspection = Inspection.objects.get(pk=inspection.pk)
    for language in ("zh-hans", "en"):
        data = render_pdf(inspection, language)
        assert _annotations_and_images(data) == (0, photos)
        assert "".join(value.split())[:10] in "".join(pdf_text(data).split())


def test_report_names_the_technician_who_recorded_the_items(shop):
    """Issue 14, item 5: an inspection the advisor started without a technician printed "technician —"."""
    inspection = services.inspection_start(actor=shop.advisor, order=shop.order)
    assert inspection.technician is None
    for item in InspectionItem.objects.filter(inspection=inspection):
        services.inspection_item_record(actor=shop.technician, item=item, rating="green")
    inspection = services.inspection_complete(actor=shop.technician, inspection=inspection)
    inspection.refresh_from_db()
    assert inspection.technician == shop.technician
    for language in ("zh-hans", "en"):
        assert_fonts_embedded(render_pdf(inspection, language), expect=(str(shop.technician),))
    # an older inspection (no technician stored) names who recorded its items
    type(inspection).objects.filter(pk=inspection.pk).update(technician=None)
    inspection.refresh_from_db()
    assert_fonts_embedded(render_pdf(inspection, "en"), expect=(str(shop.technician),))
