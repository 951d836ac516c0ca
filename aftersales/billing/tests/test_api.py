"""Billing API: 401 for every endpoint, another store → 404, roles → 403, bad input → 4xx naming the field with
nothing written, and the happy path from invoice to delivery."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from aftersales.billing.models import CreditNote, Delivery, DeliveryCredit, Invoice, Payment, Refund
from aftersales.billing.services import invoice_issue, payment_record
from aftersales.common.tests.api_helpers import ENDPOINTS, Api, assert_error, fill

from .helpers import ready_order, recorded_visit

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("method", "path"), ENDPOINTS["billing"], ids=lambda v: str(v))
def test_unauthenticated_is_401(method, path):
    response = Api.anonymous().request(method, fill(path).replace("/documents/1", "/documents/invoice"), {})
    assert_error(response, 401, "unauthenticated")


def test_lifecycle_over_the_api(world):
    order = ready_order(world)
    advisor, cashier, manager = Api.session(world.advisor), Api.session(world.staff["cashier"]), Api.session(world.manager)
    response = cashier.post(f"/api/billing/orders/{order.pk}/invoice")
    assert response.status_code == 201, response.content
    inv = response.json()
    assert inv["total"] == "403.00" and inv["balance"] == "403.00" and len(inv["lines"]) == 2
    assert inv["number"].startswith("INV-A-")
    assert_error(advisor.post(f"/api/billing/orders/{order.pk}/deliver", {}), 409, "unpaid", "order")
    body = {"method": "wechat_pay", "amount": "300.00", "reference": "4200001", "idempotency_key": "api-1"}
    first = cashier.post(f"/api/billing/invoices/{inv['id']}/payments", body)
    retry = cashier.post(f"/api/billing/invoices/{inv['id']}/payments", body)
    assert first.status_code == retry.status_code == 201 and first.json()["id"] == retry.json()["id"]
    second = cashier.post(f"/api/billing/invoices/{inv['id']}/payments",
                          {"method": "cash", "amount": "103.00", "idempotency_key": "api-2"})
    assert second.status_code == 201
    refund = cashier.post(f"/api/billing/payments/{second.json()['id']}/refunds",
                          {"amount": "3.00", "reason": "rounding", "idempotency_key": "api-r"})
    assert refund.status_code == 201 and refund.json()["amount"] == "3.00"
    note = manager.post(f"/api/billing/invoices/{inv['id']}/credit-notes", {"amount": "3.00", "reason": "goodwill"})
    assert note.status_code == 201 and note.json()["total"] == "-3.00"
    got = cashier.get(f"/api/billing/invoices/{inv['id']}").json()
    assert (got["status"], got["balance"], len(got["payments"]), len(got["credit_notes"])) == ("paid", "0.00", 2, 1)
    delivered = advisor.post(f"/api/billing/orders/{order.pk}/deliver", {"old_parts_handed_over": True, "car_state": "ok"})
    assert delivered.status_code == 200, delivered.content
    assert delivered.json()["next_service_km"] == 25000
    pdf = advisor.get(f"/api/billing/orders/{order.pk}/documents/invoice", {"language": "en"})
    assert pdf.status_code == 200 and inv["number"] in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()


def test_another_stores_objects_are_404(world):
    other = recorded_visit(world, store=world.b)
    inv = invoice_issue(actor=world.advisor_b, order=other)
    pay = payment_record(actor=world.manager_b, invoice=inv, method="cash", amount="10", idempotency_key="b")
    api = Api.session(world.manager)
    for method, path, data in [
        ("post", f"/api/billing/orders/{other.pk}/invoice", None),
        ("get", f"/api/billing/invoices/{inv.pk}", None),
        ("post", f"/api/billing/invoices/{inv.pk}/payments", {"method": "cash", "amount": "1", "idempotency_key": "x"}),
        ("post", f"/api/billing/payments/{pay.pk}/refunds", {"amount": "1", "reason": "x", "idempotency_key": "y"}),
        ("post", f"/api/billing/invoices/{inv.pk}/credit-notes", {"amount": "1", "reason": "x"}),
        ("post", f"/api/billing/orders/{other.pk}/credit", {"reason": "x"}),
        ("post", f"/api/billing/orders/{other.pk}/deliver", {}),
        ("get", f"/api/billing/orders/{other.pk}/documents/invoice", None),
    ]:
        assert_error(api.request(method, path, data), 404, "not_found")
    assert Payment.objects.count() == 1 and not Refund.objects.exists() and not CreditNote.objects.exists()


def test_roles_are_403(world):
    order = ready_order(world)
    inv = invoice_issue(actor=world.manager, order=order)
    pay = payment_record(actor=world.manager, invoice=inv, method="cash", amount="10", idempotency_key="p")
    tech = Api.session(world.technician)
    cashier = Api.session(world.staff["cashier"])
    assert_error(tech.get(f"/api/billing/invoices/{inv.pk}"), 403)
    assert_error(tech.post(f"/api/billing/invoices/{inv.pk}/payments", {"method": "cash", "amount": "1", "idempotency_key": "t"}), 403)
    assert_error(Api.session(world.advisor).post(f"/api/billing/payments/{pay.pk}/refunds",
                                                 {"amount": "1", "reason": "x", "idempotency_key": "r"}), 403)
    assert_error(cashier.post(f"/api/billing/invoices/{inv.pk}/credit-notes", {"amount": "1", "reason": "x"}), 403)
    assert_error(cashier.post(f"/api/billing/orders/{order.pk}/credit", {"reason": "x"}), 403)
    assert_error(cashier.post(f"/api/billing/orders/{order.pk}/deliver", {}), 403)
    assert_error(tech.post(f"/api/billing/orders/{ready_order(world).pk}/invoice"), 403)
    assert Payment.objects.count() == 1 and not DeliveryCredit.objects.exists() and not Delivery.objects.exists()


def test_bad_input_names_the_field_and_writes_nothing(world):
    order = ready_order(world)
    inv = invoice_issue(actor=world.manager, order=order)
    cashier = Api.session(world.staff["cashier"])
    url = f"/api/billing/invoices/{inv.pk}/payments"
    assert_error(cashier.post(url, {"method": "alipay", "amount": "1", "idempotency_key": "a"}), 422, "reference_required", "reference")
    assert_error(cashier.post(url, {"method": "cash", "amount": "1.234", "idempotency_key": "a"}), 422, None, "amount")
    assert_error(cashier.post(url, {"method": "cash", "amount": "1"}), 422, "invalid", "idempotency_key")
    assert_error(cashier.post(url, {"method": "cash", "amount": "500", "idempotency_key": "a"}), 422, "amount_exceeds_balance", "amount")
    assert_error(Api.session(world.manager).post(f"/api/billing/invoices/{inv.pk}/credit-notes", {"amount": "1", "reason": ""}),
                 422, "required", "reason")
    assert_error(cashier.get(f"/api/billing/orders/{order.pk}/documents/passport"), 404)
    assert not Payment.objects.exists() and not CreditNote.objects.exists()
    assert Invoice.objects.get().paid_amount == 0
