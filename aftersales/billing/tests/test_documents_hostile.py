"""Every document escapes what people typed (issue 13, item 4).

ReportLab reads paragraph text as markup: an unescaped ``Unclosed <b>`` or ``<font name="x">`` made every PDF of the
order a 500, ``<a href>`` put a clickable link into an official invoice and ``<img src>`` embedded a file from the
server's disk. Every interpolated value now goes through ``aftersales.common.pdf.escape`` (``para``), so the text
comes out literally: no error, no link annotation, no image.
"""

from __future__ import annotations

import io

import pytest
from django.test import Client
from pypdf import PdfReader

from aftersales.billing.choices import DocumentKind
from aftersales.billing.documents import LANGUAGES, render_document
from aftersales.billing.models import Delivery, InvoiceLine, Payment
from aftersales.parts.models import Batch, Part
from aftersales.staff.models import User
from aftersales.workshop.models import RepairJob, RepairJobEvent, RepairLine

from .test_documents import delivered  # noqa: F401  (the fixture: a delivered order with invoice, parts, payment)

pytestmark = pytest.mark.django_db

HOSTILE = [
    "Unclosed <b> bold",
    '<font name="x">font</font>',
    '<a href="https://evil.example/pay">pay here</a>',
    '<img src="/etc/passwd"/> picture',
    "Tom & Jerry </para> <br/ <unknown-tag>",
]


def pdf_facts(data: bytes) -> tuple[str, list[str]]:
    """The text of the document and what should never be there: link annotations and images."""
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    found = []
    for page in reader.pages:
        if "/Annots" in page:
            found.append("annotation")
        xobjects = page.get("/Resources", {}).get("/XObject", {}) or {}
        found += [f"xobject {name}" for name in xobjects]
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text, found


def _set(queryset, value: str, *fields: str) -> None:
    """Write ``value`` into ``fields``, cut to each column's length (PostgreSQL refuses what does not fit)."""
    meta = queryset.model._meta
    queryset.update(**{f: value[: getattr(meta.get_field(f), "max_length", None) or len(value)] for f in fields})


def make_hostile(order, value: str) -> None:
    customer, vehicle = order.customer, order.vehicle
    _set(type(customer).objects.filter(pk=customer.pk), value, "name")
    _set(type(vehicle).objects.filter(pk=vehicle.pk), value, "plate")
    _set(type(order.store).objects.filter(pk=order.store_id), value, "name")
    _set(User.objects.filter(pk__in=[order.advisor_id]), value, "display_name")
    _set(RepairJob.objects.filter(order=order), value, "title", "cause", "correction")
    _set(RepairLine.objects.filter(job__order=order), value, "description")
    _set(RepairJobEvent.objects.filter(job__order=order), value, "reason")
    _set(InvoiceLine.objects.filter(invoice__order=order), value, "description", "job_title")
    _set(Payment.objects.filter(invoice__order=order), value, "reference")
    _set(Delivery.objects.filter(order=order), value, "car_state", "notes")
    _set(Part.objects.filter(number="BP-9"), value, "name_zh", "name_en")
    _set(Batch.objects.filter(number="LOT-2026-07"), value, "origin")


@pytest.mark.parametrize("value", HOSTILE, ids=["unclosed-b", "font", "link", "image", "mixed"])
def test_every_document_prints_hostile_text_literally(world, delivered, value):  # noqa: F811
    order, _invoice = delivered
    make_hostile(order, value)
    order = type(order).objects.select_related("store", "customer", "vehicle", "advisor").get(pk=order.pk)
    for kind in DocumentKind.values:
        for language in LANGUAGES:
            text, found = pdf_facts(render_document(order=order, kind=kind, language=language))
            assert found == [], (kind, language, found)
            flat = "".join(text.split())
            if kind in ("repair_list", "invoice", "reminder"):
                # the customer's name comes out as typed, tags and all (table cells may wrap it)
                assert "".join(value.split())[:12] in flat, (kind, language, text[:400])


def test_hostile_documents_over_http_are_200(world, delivered):  # noqa: F811
    order, _invoice = delivered
    make_hostile(order, HOSTILE[0] + HOSTILE[2] + HOSTILE[3])
    client = Client()
    client.force_login(world.manager)
    for kind in DocumentKind.values:
        response = client.get(f"/api/billing/orders/{order.pk}/documents/{kind}", {"language": "en"})
        assert response.status_code == 200, (kind, response.content[:300])
        assert pdf_facts(response.content)[1] == []
