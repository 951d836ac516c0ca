"""Billing screens: scoping (anonymous → login, another store → 404, wrong role → 403), inline errors, the flow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from aftersales.billing.models import CreditNote, Delivery, DeliveryCredit, Invoice, Payment, Refund
from aftersales.billing.services import invoice_issue, payment_record
from aftersales.common.tests.api_helpers import count_queries
from aftersales.workshop.choices import OrderStatus
from aftersales.workshop.services import repair_order_record_visit

from .helpers import ready_order, recorded_visit

pytestmark = pytest.mark.django_db


def login(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def setup(world):
    order = ready_order(world)
    invoice = invoice_issue(actor=world.manager, order=order)
    paid = payment_record(actor=world.manager, invoice=invoice, method="cash", amount="100.00", idempotency_key="p0")
    other = recorded_visit(world, store=world.b)
    other_invoice = invoice_issue(actor=world.advisor_b, order=other)
    return order, invoice, paid, other, other_invoice


def urls(order, invoice):
    return {
        "get": [
            "/billing/cashier/", f"/billing/invoices/{invoice.pk}/", f"/billing/orders/{order.pk}/",
            f"/billing/orders/{order.pk}/documents/invoice/en.pdf", f"/billing/vehicles/{order.vehicle_id}/archive/",
        ],
        "post": [
            f"/billing/invoices/{invoice.pk}/pay/", f"/billing/invoices/{invoice.pk}/refund/",
            f"/billing/invoices/{invoice.pk}/credit-note/", f"/billing/orders/{order.pk}/invoice/",
            f"/billing/orders/{order.pk}/credit/", f"/billing/orders/{order.pk}/deliver/",
        ],
    }


def test_anonymous_is_sent_to_login(world, setup):
    order, invoice, *_ = setup
    client = Client()
    for method, paths in urls(order, invoice).items():
        for path in paths:
            response = getattr(client, method)(path)
            assert response.status_code == 302 and "/login/" in response["Location"], path


def test_another_stores_objects_are_404(world, setup):
    _order, _invoice, _paid, other, other_invoice = setup
    client = login(world.manager)
    for method, paths in urls(other, other_invoice).items():
        for path in paths:
            if path == "/billing/cashier/":
                continue
            assert getattr(client, method)(path).status_code == 404, path
    assert not Payment.objects.filter(invoice=other_invoice).exists()


def test_wrong_role_is_403(world, setup):
    order, invoice, _paid, *_ = setup
    tech = login(world.technician)  # sees orders, not invoices, takes no money
    for path in ("/billing/cashier/", f"/billing/invoices/{invoice.pk}/"):
        assert tech.get(path).status_code == 403, path
    for path in (f"/billing/invoices/{invoice.pk}/pay/", f"/billing/invoices/{invoice.pk}/refund/",
                 f"/billing/invoices/{invoice.pk}/credit-note/", f"/billing/orders/{order.pk}/credit/",
                 f"/billing/orders/{order.pk}/deliver/", f"/billing/orders/{order.pk}/invoice/"):
        assert tech.post(path).status_code == 403, path
    cashier = login(world.staff["cashier"])
    assert cashier.post(f"/billing/orders/{order.pk}/credit/", {"reason": "x"}).status_code == 403
    assert cashier.post(f"/billing/invoices/{invoice.pk}/credit-note/", {"amount": "1", "reason": "x"}).status_code == 403
    assert cashier.post(f"/billing/orders/{order.pk}/deliver/").status_code == 403
    assert not DeliveryCredit.objects.exists() and not CreditNote.objects.exists()


def test_cashier_takes_a_split_payment(world, setup):
    _order, invoice, *_ = setup
    client = login(world.staff["cashier"])
    page = client.get("/billing/cashier/").content.decode()
    assert invoice.number in page
    response = client.post(f"/billing/invoices/{invoice.pk}/pay/", {
        "method": "wechat_pay", "amount": "200.00", "reference": "4200009999", "idempotency_key": "form-1",
    })
    assert response.status_code == 302
    # the same form submitted twice records once
    client.post(f"/billing/invoices/{invoice.pk}/pay/", {
        "method": "wechat_pay", "amount": "200.00", "reference": "4200009999", "idempotency_key": "form-1",
    })
    response = client.post(f"/billing/invoices/{invoice.pk}/pay/", {
        "method": "card", "amount": "103.00", "reference": "POS 6222", "idempotency_key": "form-2",
    })
    invoice.refresh_from_db()
    assert invoice.paid_amount == Decimal("403.00") and invoice.status == "paid"
    assert Payment.objects.filter(invoice=invoice).count() == 3
    assert invoice.number not in client.get("/billing/cashier/").content.decode()


def test_payment_errors_land_on_the_field(world, setup):
    _order, invoice, *_ = setup
    cashier = world.staff["cashier"]
    cashier.language = "zh-hans"
    cashier.save(update_fields=["language"])
    client = login(cashier)
    response = client.post(f"/billing/invoices/{invoice.pk}/pay/", {
        "method": "alipay", "amount": "50.00", "reference": "", "idempotency_key": "form-x",
    })
    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-field="reference"' in body and "交易单号" in body
    response = client.post(f"/billing/invoices/{invoice.pk}/pay/", {
        "method": "cash", "amount": "999.00", "idempotency_key": "form-y",
    })
    assert response.status_code == 422 and 'data-field="amount"' in response.content.decode()
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_refund_and_credit_note_from_the_invoice_page(world, setup):
    _order, invoice, paid, *_ = setup
    manager = login(world.manager)
    response = manager.post(f"/billing/invoices/{invoice.pk}/refund/", {
        "payment": paid.pk, "amount": "30.00", "reason": "客户取消洗车", "idempotency_key": "rf-1",
    })
    assert response.status_code == 302
    assert Refund.objects.get().reason == "客户取消洗车"
    response = manager.post(f"/billing/invoices/{invoice.pk}/refund/", {
        "payment": paid.pk, "amount": "80.00", "reason": "too much", "idempotency_key": "rf-2",
    })
    assert response.status_code == 422 and 'data-field="amount"' in response.content.decode()
    response = manager.post(f"/billing/invoices/{invoice.pk}/credit-note/", {"amount": "20.00", "reason": "工时多算"})
    assert response.status_code == 302
    page = manager.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert CreditNote.objects.get().number in page and "工时多算" in page
    assert 'data-testid="pay-link"' in page and "/billing/pay/" in page  # the customer's online pay link


def test_delivery_checklist_refuses_unpaid_then_delivers_on_credit(world, setup):
    order, _invoice, *_ = setup
    advisor = login(world.advisor)
    page = advisor.get(f"/billing/orders/{order.pk}/").content.decode()
    assert 'data-testid="unpaid"' in page and "Oil service" in page
    checklist = {"jobs_explained": "on", "parts_shown": "on", "warranty_explained": "on", "car_state": "clean"}
    response = advisor.post(f"/billing/orders/{order.pk}/deliver/", checklist)
    assert response.status_code == 422 and not Delivery.objects.exists()
    response = advisor.post(f"/billing/orders/{order.pk}/deliver/", {"car_state": "clean"})  # walk-through not done
    assert response.status_code == 422 and 'data-field="jobs_explained"' in response.content.decode()
    manager = login(world.manager)
    response = manager.post(f"/billing/orders/{order.pk}/credit/", {"reason": ""})
    assert response.status_code == 422 and 'data-field="reason"' in response.content.decode()
    assert manager.post(f"/billing/orders/{order.pk}/credit/", {"reason": "月结客户"}).status_code == 302
    response = advisor.post(f"/billing/orders/{order.pk}/deliver/", checklist)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    page = advisor.get(f"/billing/orders/{order.pk}/").content.decode()
    assert 'data-testid="next-service"' in page and "月结客户" in page


def test_documents_download(world, setup):
    order, *_ = setup
    client = login(world.advisor)
    for kind in ("repair_list", "qc_report", "warranty", "invoice", "reminder"):
        for lang in ("zh-hans", "en"):
            response = client.get(f"/billing/orders/{order.pk}/documents/{kind}/{lang}.pdf")
            assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
            assert response.content.startswith(b"%PDF")
    assert client.get(f"/billing/orders/{order.pk}/documents/passport/en.pdf").status_code == 404
    assert client.get(f"/billing/orders/{order.pk}/documents/invoice/fr.pdf").status_code == 404


def test_vehicle_archive_shows_everything_in_fixed_queries(world, setup):
    order, invoice, _paid, *_ = setup
    for n in range(3):  # more history on the same car: the page's queries do not grow with it
        past = repair_order_record_visit(
            actor=world.advisor, store=world.a, customer=order.customer, vehicle=order.vehicle,
            opened_at=order.opened_at - dt.timedelta(days=100 * (n + 1)),
            delivered_at=order.opened_at - dt.timedelta(days=100 * (n + 1), hours=-2),
            jobs=[{"title": f"保养 {n}", "technician": world.technician, "lines": [{"kind": "labour", "description": "工时", "unit_price": "200"}]}],
        )
        past_invoice = invoice_issue(actor=world.advisor, order=past, at=past.delivered_at)
        payment_record(actor=world.manager, invoice=past_invoice, method="cash", amount="200", idempotency_key=f"h{n}")
    client = login(world.advisor)
    url = f"/billing/vehicles/{order.vehicle_id}/archive/"
    queries, response = count_queries(lambda: client.get(url))
    body = response.content.decode()
    assert response.status_code == 200
    assert order.number in body and invoice.number in body and "Oil service" in body
    assert str(world.manager) in body and str(world.technician) in body  # the people
    assert body.count('data-testid="archive-order"') == 4
    assert queries <= 16, queries


def test_customer_360_links_to_the_archive(world, setup):
    order, *_ = setup
    body = login(world.advisor).get(f"/customers/{order.customer_id}/").content.decode()
    assert f"/billing/vehicles/{order.vehicle_id}/archive/" in body
    assert f"/billing/orders/{order.pk}/" in body


def test_invoice_issue_from_the_order_page(world):
    order = ready_order(world)
    client = login(world.staff["cashier"])
    response = client.post(f"/billing/orders/{order.pk}/invoice/")
    invoice = Invoice.objects.get(order=order)
    assert response.status_code == 302 and response["Location"] == f"/billing/invoices/{invoice.pk}/"
    response = client.post(f"/billing/orders/{order.pk}/invoice/")  # twice: refused, nothing new
    assert response.status_code == 302 and Invoice.objects.count() == 1


def test_billing_section_tag_renders_on_another_page(world, setup, rf):
    from django.contrib.auth.context_processors import PermWrapper
    from django.template import Context, Template

    order, invoice, *_ = setup
    request = rf.get("/")
    request.user = world.advisor
    html = Template("{% load billing_sections %}{% billing_section order %}").render(
        Context({"order": order, "request": request, "perms": PermWrapper(world.advisor), "user": world.advisor})
    )
    assert 'data-testid="billing-section"' in html and invoice.number in html and 'data-testid="delivery-form"' in html


def test_order_page_shows_the_billing_section(client, world):
    """The repair order's page (estimates' /orders/<id>/) carries billing's section: invoice, payments, delivery."""
    from django.utils import timezone

    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
    from aftersales.workshop.services import repair_order_check_in

    customer = CustomerFactory(home_store=world.a)
    order = repair_order_check_in(actor=world.advisor, store=world.a, customer=customer,
                                  vehicle=VehicleFactory(owner=customer), at=timezone.now())
    client.force_login(world.advisor)
    page = client.get(f"/orders/{order.pk}/")
    assert page.status_code == 200
    assert 'data-testid="billing-section"' in page.content.decode()
