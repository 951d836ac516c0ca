"""Issue 14, item 4: the customer's status page (the signed link in their messages) links the inspection report and
the invoice once they exist; the invoice link serves the PDF in the customer's language, a forged one is a 404."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from aftersales.billing.services import invoice_issue
from aftersales.billing.tests.helpers import ready_order
from aftersales.common.tests.pdf_fonts import assert_fonts_embedded
from aftersales.estimates.services import status_url
from aftersales.inspections.services import (
    inspection_complete,
    inspection_item_record,
    inspection_start,
    install_default_checklists,
)

pytestmark = pytest.mark.django_db


def test_report_and_invoice_links_appear_once_they_exist(world, settings):
    settings.AFTERSALES_PUBLIC_URL = "http://testserver"
    install_default_checklists(store=world.a)
    order = ready_order(world)
    client = Client()
    page = client.get(status_url(order)).content.decode()
    assert 'data-testid="status-document"' not in page
    inspection = inspection_start(actor=world.advisor, order=order)
    for item in inspection.items.all():
        inspection_item_record(actor=world.technician, item=item, rating="green", value=None, override_note="ok")
    inspection_complete(actor=world.technician, inspection=inspection)
    invoice_issue(actor=world.manager, order=order)
    page = client.get(status_url(order)).content.decode()
    links = re.findall(r'href="([^"]+)"[^>]*data-testid="status-document"', page)
    assert len(links) == 2, page[:3000]
    for link in links:
        response = client.get(link.replace("http://testserver", ""))
        assert response.status_code == 200, link
    invoice = client.get(links[1].replace("http://testserver", ""))
    assert invoice["Content-Type"] == "application/pdf"
    assert_fonts_embedded(invoice.content, expect=(order.number,))
    forged = links[1].replace("http://testserver", "").replace("/d/", "/d/x")
    assert client.get(forged).status_code == 404
