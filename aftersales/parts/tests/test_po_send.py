"""Issue 14, item 6: "Send to supplier" e-mails the purchase order's PDF (the embedded CJK font) through the outbox,
over real SMTP, and records it; a supplier without an address is refused with the reason, nothing changed."""

from __future__ import annotations

import email
import email.policy

import pytest
from django.test import Client

from aftersales.common.errors import ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.pdf_fonts import assert_fonts_embedded
from aftersales.messaging import dispatch
from aftersales.messaging.models import Message
from aftersales.messaging.tests.local_servers import SmtpSink
from aftersales.parts.choices import PurchaseOrderStatus
from aftersales.parts.purchasing import purchase_order_create, purchase_order_mail, purchase_order_send

from .helpers_purchasing import make_part, make_supplier

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    sink = SmtpSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    yield sink
    sink.close()


@pytest.fixture
def order(world):
    supplier = make_supplier(world.group, "广州汽配有限公司", email="orders@gz-parts.example.cn", contact="陈经理",
                             lead_time_days=2)
    pad = make_part(world.group, "BP-100", name_zh="前刹车片·陶瓷", oem_number="04465-33450", cost_price="120.00")
    oil = make_part(world.group, "OIL-5W30", name_zh="全合成机油 5W-30", cost_price="68.00", unit="litre")
    return purchase_order_create(actor=world.staff["parts_clerk"], store=world.a, supplier=supplier,
                                 lines=[{"part": pad, "quantity": 4}, {"part": oil, "quantity": "8.5"}])


def test_send_mails_the_pdf_to_the_supplier_and_records_it(world, order, smtp):
    sent = purchase_order_send(actor=world.staff["parts_clerk"], order=order)
    assert sent.status == PurchaseOrderStatus.SENT and sent.expected_on is not None
    message = purchase_order_mail(sent)
    assert message.channel == "email" and message.recipient == "orders@gz-parts.example.cn"
    assert order.number in message.body and "广州汽配有限公司" in message.body and "1,058.00" in message.body
    audit = AuditEvent.objects.get(action="parts.purchase_order_sent", object_id=str(order.pk))
    assert audit.changes["sent_to"] == [None, "orders@gz-parts.example.cn"]
    dispatch.dispatch_due()
    message.refresh_from_db()
    assert message.status == "sent", message.last_error
    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == ["orders@gz-parts.example.cn"]
    parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert parsed["Subject"] == "采购订单"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == f"{order.number}.pdf" and attachment.get_content_type() == "application/pdf"
    assert_fonts_embedded(attachment.get_content(), expect=(order.number, "前刹车片·陶瓷", "04465-33450", "广州汽配有限公司",
                                                            "1,058.00"))
    assert Message.objects.filter(kind="parts.purchase_order").count() == 1


def test_a_supplier_without_an_address_is_refused_and_nothing_changes(world, order):
    order.supplier.email = ""
    order.supplier.save(update_fields=["email"])
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_send(actor=world.staff["parts_clerk"], order=order)
    assert exc.value.code == "supplier_email_missing" and "广州汽配有限公司" in str(exc.value.message)
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.DRAFT and not Message.objects.filter(kind="parts.purchase_order").exists()


def test_the_po_page_sends_shows_the_mail_and_serves_the_pdf(world, order):
    client = Client()
    client.force_login(world.staff["parts_clerk"])
    response = client.post(f"/parts/purchase-orders/{order.pk}/send/", follow=True)
    page = response.content.decode()
    assert 'data-testid="po-mail"' in page and "orders@gz-parts.example.cn" in page
    pdf = client.get(f"/parts/purchase-orders/{order.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert_fonts_embedded(pdf.content, expect=(order.number,))
    other = Client()
    other.force_login(world.manager_b)
    assert other.get(f"/parts/purchase-orders/{order.pk}/pdf/").status_code == 404
    tech = Client()
    tech.force_login(world.technician)
    assert tech.get(f"/parts/purchase-orders/{order.pk}/pdf/").status_code == 403
