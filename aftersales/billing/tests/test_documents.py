"""Delivery documents as PDF in both languages: the text is extracted (pypdf) and checked."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from aftersales.billing.documents import render_document
from aftersales.billing.services import invoice_issue, order_deliver, payment_record
from aftersales.common.tests.pdf_fonts import assert_fonts_embedded
from aftersales.parts.models import Batch
from aftersales.parts.services import stock_issue, stock_receive
from aftersales.parts.tests.helpers_purchasing import make_part

from .helpers import ready_order

pytestmark = pytest.mark.django_db


def text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def delivered(world):
    clerk = world.staff["parts_clerk"]
    pads = make_part(world.group, "BP-9", name_zh="刹车片", name_en="Brake pads", tracking="batch", warranty_months=12)
    stock_receive(actor=clerk, store=world.a, part=pads, quantity=4, unit_cost="100", batch_number="LOT-2026-07",
                  origin="Wuhan", production_date=dt.date(2026, 7, 1))
    order = ready_order(world, mileage=30000)
    job = order.jobs.get()
    stock_issue(actor=clerk, store=world.a, part=pads, quantity=2, job=job, batch=Batch.objects.get(number="LOT-2026-07"))
    invoice = invoice_issue(actor=world.advisor, order=order)
    payment_record(actor=world.manager, invoice=invoice, method="wechat_pay", amount="403.00", idempotency_key="k",
                   reference="4200001234567")
    order_deliver(actor=world.advisor, order=order, old_parts_handed_over=True, car_state="洗车完成 clean")
    order.refresh_from_db()
    return order, invoice


EXPECTED = {
    "repair_list": (["维修清单", "刹车片", "LOT-2026-07", "¥290.00", "洗车完成"], ["Repair list", "Brake pads", "LOT-2026-07", "Labour"]),
    "qc_report": (["质检报告", "终检通过", "QC: function test ok"], ["Quality check report", "Final QC passed"]),
    "warranty": (["配件质保卡", "刹车片", "LOT-2026-07", "Wuhan", "2026-07-01", "2027-07-01"],
                 ["Parts warranty cards", "Brake pads", "LOT-2026-07", "2027-07-01"]),
    "invoice": (["发票", "¥403.00", "¥46.36", "4200001234567"], ["Invoice", "Total (VAT included)", "¥403.00", "WeChat Pay"]),
    "reminder": (["保养提醒卡", "下次保养", "35,000 公里", "电话：020-1234", "扫码预约"],
                 ["Maintenance reminder card", "35,000 km", "Phone: 020-1234", "Scan to book"]),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_documents_in_both_languages(world, delivered, kind):
    order, invoice = delivered
    zh_words, en_words = EXPECTED[kind]
    type(order.store).objects.filter(pk=order.store_id).update(phone="020-1234 5678")
    order.store.refresh_from_db()
    # every document embeds its font, and every character printed is in it (issue 14, item 5)
    zh = assert_fonts_embedded(render_document(order=order, kind=kind, language="zh-hans"), expect=(order.customer.name,))
    en = assert_fonts_embedded(render_document(order=order, kind=kind, language="en"))
    flat_zh, flat_en = "".join(zh.split()), "".join(en.split())  # a table cell may wrap anywhere
    for word in [*zh_words, order.number, order.customer.name]:
        assert "".join(word.split()) in flat_zh, (word, zh)
    for word in [*en_words, order.number]:
        assert "".join(word.split()) in flat_en, (word, en)
    assert "维修" not in en or kind == "repair_list"  # the English document's labels are English
    if kind == "reminder":
        next_date = order.delivery.next_service_date.isoformat()
        assert next_date in zh and next_date in en
    if kind == "invoice":
        assert invoice.number in zh and invoice.number in en


def test_unknown_document_is_refused(world, delivered):
    order, _invoice = delivered
    with pytest.raises(ValueError):
        render_document(order=order, kind="passport", language="en")
    with pytest.raises(ValueError):
        render_document(order=order, kind="invoice", language="fr")


def test_qc_report_lists_the_signed_quality_checks(world):
    from django.utils import translation

    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
    from aftersales.inspections import services as qc
    from aftersales.inspections.choices import ChecklistPurpose
    from aftersales.workshop.choices import JobStatus, OrderStatus
    from aftersales.workshop.models import RepairJob
    from aftersales.workshop.services import repair_job_add, repair_job_move, repair_order_check_in, repair_order_move

    qc.install_default_checklists(store=world.a)
    customer = CustomerFactory(home_store=world.a)
    order = repair_order_check_in(actor=world.advisor, store=world.a, customer=customer,
                                  vehicle=VehicleFactory(owner=customer), mileage=5000)
    job = repair_job_add(actor=world.advisor, order=order, title="更换前刹车片",
                         lines=[{"kind": "labour", "description": "工时", "unit_price": "300"}])
    repair_order_move(actor=world.advisor, order=order, to=OrderStatus.ESTIMATE_SENT)
    repair_job_move(actor=world.advisor, job=job, to=JobStatus.AUTHORIZED)
    repair_order_move(actor=world.advisor, order=order, to=OrderStatus.AUTHORIZED)
    repair_order_move(actor=world.advisor, order=order, to=OrderStatus.IN_PROGRESS)
    RepairJob.objects.filter(pk=job.pk).update(technician=world.technician)
    for to in (JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.DONE):
        repair_job_move(actor=world.technician, job=job, to=to)

    def answers(kind):
        items = qc.qc_checklist(world.a.pk, kind).items.all()
        return [{"item_id": i.pk, "result": "na" if i.optional else "pass"} for i in items]

    signers = {"self": world.technician, "peer": world.staff["foreman"], "final": world.staff["qc_inspector"],
               "cleaning": world.staff["qc_inspector"]}
    for kind in ("self", "peer", "final", "cleaning"):
        order.refresh_from_db()
        qc.qc_sign(actor=signers[kind], order=order, kind=kind, results=answers(kind), notes=f"note-{kind}")
    order.refresh_from_db()
    if order.status != OrderStatus.READY:
        repair_order_move(actor=world.manager, order=order, to=OrderStatus.READY)
    for language in ("zh-hans", "en"):
        pdf = text(render_document(order=order, kind="qc_report", language=language))
        with translation.override(language):
            labels = [str(ChecklistPurpose(k).label) for k in ("self", "peer", "final")]
        flat = "".join(pdf.split())  # table cells wrap long labels
        for word in [*labels, "note-final", str(world.staff["qc_inspector"])]:
            assert "".join(word.split()) in flat, (language, word, pdf)


def test_reminder_card_has_the_stores_phone_booking_link_and_qr_code(world, delivered):
    """Issue 14, item 5: the card says how to book: the store's phone, the booking link and a QR code of it."""
    from aftersales.billing.documents import booking_link

    order, _invoice = delivered
    type(order.store).objects.filter(pk=order.store_id).update(phone="020-8888 6666")
    order.store.refresh_from_db()
    link = booking_link(order)
    assert link.endswith(f"/book/{order.store.code}/?v={order.vehicle_id}")
    for language, words in (("zh-hans", ["电话：020-88886666", "扫码预约"]), ("en", ["Phone: 020-88886666", "Scan to book"])):
        data = render_document(order=order, kind="reminder", language=language)
        assert_fonts_embedded(data, expect=(*words, link))
        page = PdfReader(io.BytesIO(data)).pages[0]
        assert len(PdfReader(io.BytesIO(data)).pages) == 1  # one card
        assert page.get_contents().get_data().count(b" re") > 100  # the QR code's modules, drawn as vectors
