"""Documents and archives check the permission of the data they show (issue 13, item 5).

The invoice (amounts, payments and their references) needs ``billing.view_invoice`` wherever it appears: the
invoice PDF on the page and in the API, the vehicle's archive, the order's billing section. The other documents
(repair list, QC report, warranty cards, reminder card) need only the repair order.
"""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.billing.services import invoice_issue, payment_record
from aftersales.common.tests.api_helpers import Api, assert_error

from .helpers import ready_order

pytestmark = pytest.mark.django_db

WITHOUT = ["technician", "qc_inspector", "call_centre_agent", "foreman", "parts_clerk"]
WITH = ["service_advisor", "cashier", "store_manager", "group_admin"]
REFERENCE = "4200009998887"


@pytest.fixture
def paid(world):
    order = ready_order(world)
    invoice = invoice_issue(actor=world.manager, order=order)
    payment_record(actor=world.manager, invoice=invoice, method="wechat_pay", amount="100.00", idempotency_key="r1",
                   reference=REFERENCE)
    return order, invoice


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", WITHOUT)
def test_roles_without_invoice_rights_see_no_invoice_data(world, paid, role):
    order, invoice = paid
    user = world.staff[role]
    client = _client(user)
    for language in ("zh-hans", "en"):
        assert client.get(f"/billing/orders/{order.pk}/documents/invoice/{language}.pdf").status_code == 403
    assert_error(Api.session(user).get(f"/api/billing/orders/{order.pk}/documents/invoice"), 403, "permission_denied")
    for kind in ("repair_list", "qc_report", "warranty", "reminder"):
        assert client.get(f"/billing/orders/{order.pk}/documents/{kind}/en.pdf").status_code == 200, kind
        assert Api.session(user).get(f"/api/billing/orders/{order.pk}/documents/{kind}").status_code == 200, kind
    archive = client.get(f"/billing/vehicles/{order.vehicle_id}/archive/")
    assert archive.status_code == 200
    body = archive.content.decode()
    assert order.number in body  # the repair history is theirs to see
    assert REFERENCE not in body and invoice.number not in body and "documents/invoice/" not in body
    page = client.get(f"/billing/orders/{order.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert REFERENCE not in body and invoice.number not in body and "documents/invoice/" not in body
    assert 'data-testid="billing-section"' not in body


@pytest.mark.parametrize("role", WITH)
def test_roles_with_invoice_rights_see_it_all(world, paid, role):
    order, invoice = paid
    user = world.staff[role]
    client = _client(user)
    assert client.get(f"/billing/orders/{order.pk}/documents/invoice/en.pdf").status_code == 200
    assert Api.session(user).get(f"/api/billing/orders/{order.pk}/documents/invoice").status_code == 200
    body = client.get(f"/billing/vehicles/{order.vehicle_id}/archive/").content.decode()
    assert REFERENCE in body and invoice.number in body and "documents/invoice/" in body
    body = client.get(f"/billing/orders/{order.pk}/").content.decode()
    assert invoice.number in body and "documents/invoice/" in body
