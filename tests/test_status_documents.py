"""Issue 14, item 4: the customer's status page (the signed link in their messages) links the inspection report and
the invoice once they exist; the invoice link serves the PDF in the customer's language, a forged one is a 404."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from aftersales.billing.services import invoice_issue
from aftersales.billing.tests.helpers import ready_order
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.common.tests.pdf_fonts import assert_fonts_embedded
from aftersales.estimates.services import status_url
from aftersales.inspections.services import (
    inspection_complete,
    inspection_item_record,
    inspection_start,
    install_default_checklists,
)
from aftersales.workshop.services import repair_order_check_in

pytestmark = pytest.mark.django_db
LINK = re.compile(r'href="([^"]+)"[^>]*data-testid="status-document"')


def _get(client, url):
    return client.get(url.replace("http://testserver", ""))


def test_the_report_link_appears_once_the_inspection_is_complete(world, settings):
    settings.AFTERSALES_PUBLIC_URL = "http://testserver"
    install_default_checklists(store=world.a)
    customer = CustomerFactory(home_store=world.a)
    order = repair_order_check_in(actor=world.advisor, store=world.a, customer=customer,
                                  vehicle=VehicleFactory(owner=customer), mileage=1000)
    client = Client()
    assert not LINK.findall(client.get(status_url(order)).content.decode())
    inspection = inspection_start(actor=world.advisor, order=order)
    for item in inspection.items.all():
        inspection_item_record(actor=world.technician, item=item, rating="green", value=None, override_note="ok")
    inspection_complete(actor=world.technician, inspection=inspection)
    [link] = LINK.findall(client.get(status_url(order)).content.decode())
    assert "/inspections/r/" in link and _get(client, link).status_code == 200


def test_the_invoice_link_appears_once_issued_and_serves_the_pdf(world, settings):
    settings.AFTERSALES_PUBLIC_URL = "http://testserver"
    order = ready_order(world)
    client = Client()
    assert not LINK.findall(client.get(status_url(order)).content.decode())
    invoice_issue(actor=world.manager, order=order)
    [link] = LINK.findall(client.get(status_url(order)).content.decode())
    invoice = _get(client, link)
    assert invoice.status_code == 200 and invoice["Content-Type"] == "application/pdf"
    assert_fonts_embedded(invoice.content, expect=(order.number,))
    assert _get(client, link.replace("/d/", "/d/x")).status_code == 404
