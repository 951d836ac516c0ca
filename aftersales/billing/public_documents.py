"""The invoice behind a signed link on the customer's status page (no login, like the status page itself): the same
PDF the owner app serves, in the customer's language, for an order whose invoice has been issued."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from .choices import DocumentKind
from .models import Invoice

SALT = "billing.public-invoice"
MAX_AGE = 180 * 24 * 3600  # as long as the customer keeps the status link


def invoice_token(order: Any) -> str:
    return signing.dumps({"order": order.pk}, salt=SALT)


def status_page_links(order: Any, language: str) -> list[tuple[str, str]]:
    if not Invoice.objects.filter(order=order).exclude(status="void").exists():
        return []
    url = settings.AFTERSALES_PUBLIC_URL.rstrip("/") + reverse("billing:public_invoice", args=[invoice_token(order)])
    with override(language):
        return [(_("Invoice (PDF)"), url)]


def public_invoice(request: HttpRequest, token: str) -> HttpResponse:
    from aftersales.workshop.models import RepairOrder

    from .documents import render_document

    try:
        value = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        raise Http404 from None
    order = RepairOrder.objects.select_related("store", "customer", "vehicle").filter(pk=value.get("order")).first()
    if order is None or not Invoice.objects.filter(order=order).exclude(status="void").exists():
        raise Http404
    language = "en" if getattr(order.customer, "language", "") == "en" else "zh-hans"
    pdf = render_document(order=order, kind=DocumentKind.INVOICE, language=language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{order.number}-invoice.pdf"'
    return response
