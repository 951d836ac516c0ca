"""The demo's billing data: made through the services, numbered without gaps, documents render for it."""

from __future__ import annotations

import io
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min
from pypdf import PdfReader

from aftersales.billing.documents import render_document
from aftersales.billing.models import CreditNote, Delivery, DeliveryCredit, Invoice, Payment, Refund
from aftersales.billing.selectors import archive_completeness, cashier_queue
from aftersales.staff.models import User
from aftersales.stores.models import Store

pytestmark = pytest.mark.django_db


def test_demo_billing(db):
    call_command("load_demo", stdout=StringIO())
    # gapless per store and year, whatever order the history was loaded in
    for row in Invoice.objects.values("store", "year").annotate(n=Count("id"), lo=Min("seq"), hi=Max("seq")):
        assert (row["lo"], row["hi"]) == (1, row["n"]), row
    assert Refund.objects.count() == 2 and CreditNote.objects.count() == 2
    assert all(cn.total < 0 and cn.number.startswith("CN-GZ-") for cn in CreditNote.objects.all())
    credited = Invoice.objects.filter(credited_amount__gt=0)
    assert all(inv.balance == 0 for inv in credited)
    assert DeliveryCredit.objects.count() == 1
    split = Invoice.objects.annotate(n=Count("payments")).filter(n=2, order__delivery__delivered_by__username="advisor")
    assert split.exists()
    assert set(Payment.objects.filter(invoice__in=split).values_list("method", flat=True)) == {"card", "wechat_pay"}

    manager = User.objects.get(username="manager")
    gz = Store.objects.get(code="gz")
    queue = cashier_queue(manager, gz)
    assert len(queue.to_invoice) >= 1 and len(queue.to_collect) >= 1
    completeness = archive_completeness(manager, gz)
    assert completeness.delivered > 100 and 90 <= completeness.share < 100  # the unpaid history is incomplete

    order = Delivery.objects.filter(order__store=gz).order_by("-delivered_at").first().order
    for language, word in (("zh-hans", "维修清单"), ("en", "Repair list")):
        pdf = render_document(order=order, kind="repair_list", language=language)
        assert word in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
