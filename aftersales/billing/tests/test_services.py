"""Invoices, credit notes, payments, refunds, delivery on credit and delivery: the rules of SPEC §8."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from aftersales.billing.choices import InvoiceStatus
from aftersales.billing.models import (
    CreditNote,
    Delivery,
    DeliveryCredit,
    Invoice,
    InvoiceEvent,
    NumberSequence,
    Payment,
    Refund,
)
from aftersales.billing.services import (
    credit_note_issue,
    delivery_credit_allow,
    invoice_issue,
    next_maintenance,
    order_deliver,
    payment_record,
    refund_record,
)
from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.workshop.choices import JobType, OrderStatus
from aftersales.workshop.models import RepairOrder, RepairOrderEvent

from .helpers import SERVICE_LINES, ready_order, recorded_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(world):
    return recorded_visit(world)


@pytest.fixture
def invoice(world, order):
    return invoice_issue(actor=world.advisor, order=order)


def pay(world, invoice, amount, key, actor=None, method="wechat_pay", reference="4200001234"):
    return payment_record(
        actor=actor or world.staff["cashier"], invoice=invoice, method=method, amount=amount, idempotency_key=key,
        reference=reference,
    )


# ---- invoices --------------------------------------------------------------------------------------------------
def test_invoice_totals_lines_and_number(world, order, invoice):
    invoice.refresh_from_db()
    assert (invoice.subtotal, invoice.discount, invoice.total, invoice.tax) == (
        Decimal("413.00"), Decimal("10.00"), Decimal("403.00"), Decimal("46.36"),
    )
    assert invoice.total == order.total == invoice.authorized_total
    assert invoice.status == InvoiceStatus.ISSUED
    year = timezone.localtime(invoice.issued_at, world.a.zone).year
    assert invoice.number == f"INV-A-{year}-000001"
    assert (invoice.year, invoice.seq) == (year, 1)
    assert [(li.description, li.amount) for li in invoice.lines.all()] == [
        ("Labour", Decimal("290.00")), ("Filter", Decimal("113.00")),
    ]
    assert AuditEvent.objects.get(action="invoice.issued").changes == {"total": [None, "403.00"]}
    assert InvoiceEvent.objects.filter(invoice=invoice, to_state="issued").count() == 1


def test_invoice_lists_only_approved_jobs_and_warranty_at_zero(world):
    order = ready_order(world, jobs=[
        ("Brakes", JobType.REPAIR, [{"kind": "part", "description": "Pads", "unit_price": "480"}]),
        ("Recall fix", JobType.WARRANTY, [{"kind": "labour", "description": "Recall labour", "unit_price": "300"}]),
        ("Wipers", JobType.REPAIR, [{"kind": "part", "description": "Wiper blades", "unit_price": "90"}]),
    ], decline=(2,))
    invoice = invoice_issue(actor=world.staff["cashier"], order=order)
    lines = {li.description: li for li in invoice.lines.all()}
    assert set(lines) == {"Pads", "Recall labour"}  # the declined wipers are not invoiced
    assert lines["Recall labour"].no_charge and lines["Recall labour"].amount == Decimal("0.00")
    assert invoice.total == Decimal("480.00") == order.authorized_total


def test_second_invoice_for_the_same_order_is_refused(world, order, invoice):
    with pytest.raises(Conflict) as exc:
        invoice_issue(actor=world.advisor, order=order)
    assert exc.value.code == "invoice_exists"
    assert Invoice.objects.count() == 1


def test_invoice_needs_permission_and_store(world, order):
    with pytest.raises(Forbidden):
        invoice_issue(actor=world.technician, order=order)
    with pytest.raises(Forbidden):
        invoice_issue(actor=world.advisor_b, order=order)
    assert not Invoice.objects.exists()


def test_unfinished_order_cannot_be_invoiced(world):
    order = ready_order(world)
    RepairOrder.objects.filter(pk=order.pk).update(status=OrderStatus.IN_PROGRESS)
    with pytest.raises(Conflict) as exc:
        invoice_issue(actor=world.manager, order=order)
    assert exc.value.code == "order_not_finished"
    assert not Invoice.objects.exists() and not NumberSequence.objects.exists()


def test_invoice_above_the_authorized_total_is_refused(world):
    order = ready_order(world)
    # The customer authorized less than the lines now add up to (e.g. a price raised after the approval snapshot).
    RepairOrder.objects.filter(pk=order.pk).update(authorized_total=Decimal("400.00"))
    with pytest.raises(Conflict) as exc:
        invoice_issue(actor=world.manager, order=order)
    # the estimates app's check (the authorization snapshot) answers first when installed; billing's own otherwise
    assert exc.value.code in ("above_authorized", "exceeds_authorization")
    assert not Invoice.objects.exists()
    # the refused attempt took no number: the next invoice is still number 1
    RepairOrder.objects.filter(pk=order.pk).update(authorized_total=Decimal("403.00"))
    assert invoice_issue(actor=world.manager, order=order).seq == 1


def test_numbers_are_consecutive_per_store_and_year(world):
    first = invoice_issue(actor=world.advisor, order=recorded_visit(world))
    second = invoice_issue(actor=world.advisor, order=recorded_visit(world))
    other_store = invoice_issue(actor=world.advisor_b, order=recorded_visit(world, store=world.b))
    # mid-June of the next local year (now + 366 days, run on 31 December, is two years on: the clock found it)
    local = timezone.localtime()
    next_year = invoice_issue(
        actor=world.advisor, order=recorded_visit(world), at=local.replace(year=local.year + 1, month=6, day=15)
    )
    assert (first.seq, second.seq, other_store.seq, next_year.seq) == (1, 2, 1, 1)
    assert other_store.number.startswith("INV-B-")
    assert next_year.year == first.year + 1


# ---- credit notes ----------------------------------------------------------------------------------------------
def test_credit_note_is_a_negative_document_with_its_own_sequence(world, invoice):
    note = credit_note_issue(actor=world.manager, invoice=invoice, amount="100.00", reason="Labour overcharged")
    invoice.refresh_from_db()
    assert note.total == Decimal("-100.00") and note.tax == Decimal("-11.50")
    assert note.number == f"CN-A-{invoice.year}-000001"
    assert invoice.credited_amount == Decimal("100.00") and invoice.balance == Decimal("303.00")
    assert invoice.total == Decimal("403.00")  # the posted invoice itself is never edited
    second = credit_note_issue(actor=world.manager, invoice=invoice, amount="303.00", reason="Goodwill")
    invoice.refresh_from_db()
    assert second.seq == 2
    assert invoice.status == InvoiceStatus.CREDITED
    with pytest.raises(ValidationFailed) as exc:
        credit_note_issue(actor=world.manager, invoice=invoice, amount="0.01", reason="more")
    assert exc.value.code == "amount_exceeds_invoice"


def test_credit_note_rules(world, invoice):
    with pytest.raises(Forbidden):
        credit_note_issue(actor=world.staff["cashier"], invoice=invoice, amount="10", reason="x")
    with pytest.raises(ValidationFailed) as exc:
        credit_note_issue(actor=world.manager, invoice=invoice, amount="10", reason="  ")
    assert exc.value.field == "reason"
    with pytest.raises(ValidationFailed) as exc:
        credit_note_issue(actor=world.manager, invoice=invoice, amount="403.01", reason="too much")
    assert exc.value.field == "amount"
    assert not CreditNote.objects.exists()


def test_credit_note_on_a_paid_invoice_leaves_money_to_give_back(world, invoice):
    payment = pay(world, invoice, "403.00", "k1")
    credit_note_issue(actor=world.manager, invoice=invoice, amount="50.00", reason="Discount forgotten")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == Decimal("-50.00")
    refund_record(actor=world.staff["cashier"], payment=payment, amount="50.00", reason="Discount forgotten", idempotency_key="r1")
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("0.00") and invoice.status == InvoiceStatus.PAID


# ---- payments --------------------------------------------------------------------------------------------------
def test_payment_is_idempotent(world, invoice):
    first = pay(world, invoice, "100.00", "pos-1")
    again = pay(world, invoice, "100.00", "pos-1")
    assert again.pk == first.pk
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.paid_amount == Decimal("100.00")
    assert AuditEvent.objects.filter(action="invoice.payment").count() == 1


def test_reusing_a_key_for_another_payment_is_refused(world, invoice):
    pay(world, invoice, "100.00", "pos-1")
    with pytest.raises(Conflict) as exc:
        pay(world, invoice, "120.00", "pos-1")
    assert (exc.value.code, exc.value.field) == ("idempotency_key_reused", "idempotency_key")
    assert Payment.objects.count() == 1


def test_split_payment_then_paid(world, invoice):
    pay(world, invoice, "100.00", "k1", method="cash", reference="")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_amount, invoice.paid_at) == (InvoiceStatus.ISSUED, Decimal("100.00"), None)
    pay(world, invoice, "203", "k2", method="card", actor=world.manager, reference="POS 6222****1234")
    pay(world, invoice, "100", "k3", method="alipay", reference="2026120122001")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.paid_amount == invoice.total == Decimal("403.00")
    assert invoice.paid_at is not None
    assert sorted(Payment.objects.values_list("method", flat=True)) == ["alipay", "card", "cash"]
    changes = [e.changes for e in AuditEvent.objects.filter(action="invoice.payment").order_by("id")]
    assert changes[0] == {"paid_amount": ["0.00", "100.00"]} and changes[-1] == {"paid_amount": ["303.00", "403.00"]}


def test_overpayment_is_refused(world, invoice):
    pay(world, invoice, "400.00", "k1")
    with pytest.raises(ValidationFailed) as exc:
        pay(world, invoice, "3.01", "k2")
    assert (exc.value.code, exc.value.field) == ("amount_exceeds_balance", "amount")
    assert Payment.objects.count() == 1


def test_payment_after_full_payment_is_refused(world, invoice):
    pay(world, invoice, "403.00", "k1")
    with pytest.raises(Conflict) as exc:
        pay(world, invoice, "0.01", "k2")
    assert (exc.value.code, exc.value.field) == ("invoice_not_open", "invoice")
    assert pay(world, invoice, "403.00", "k1").amount == Decimal("403.00")  # the retry still answers


@pytest.mark.parametrize(
    ("amount", "method", "key", "reference", "field"),
    [("0", "cash", "k", "", "amount"), ("-5", "cash", "k", "", "amount"), ("1.001", "cash", "k", "", "amount"),
     ("abc", "cash", "k", "", "amount"), ("10", "bitcoin", "k", "", "method"), ("10", "cash", "", "", "idempotency_key"),
     ("10", "wechat_pay", "k", "", "reference"), ("10", "alipay", "k", " ", "reference")],
)
def test_payment_refusals_name_the_field(world, invoice, amount, method, key, reference, field):
    with pytest.raises(ValidationFailed) as exc:
        pay(world, invoice, amount, key, method=method, reference=reference)
    assert exc.value.field == field
    assert not Payment.objects.exists()


def test_payment_needs_permission(world, invoice):
    for role in ("service_advisor", "technician", "call_centre_agent"):
        with pytest.raises(Forbidden):
            pay(world, invoice, "10", f"k-{role}", actor=world.staff[role])
    with pytest.raises(Forbidden):
        pay(world, invoice, "10", "k-b", actor=world.manager_b)
    assert not Payment.objects.exists()


# ---- refunds ---------------------------------------------------------------------------------------------------
def test_refund_against_a_payment_reopens_the_balance(world, invoice):
    cashier = world.staff["cashier"]
    payment = pay(world, invoice, "403.00", "k1")
    refund = refund_record(actor=cashier, payment=payment, amount="80.00", reason="Part not fitted", idempotency_key="r1")
    again = refund_record(actor=cashier, payment=payment, amount="80.00", reason="Part not fitted", idempotency_key="r1")
    assert again.pk == refund.pk and Refund.objects.count() == 1
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert (payment.refunded_amount, invoice.refunded_amount, invoice.balance) == (
        Decimal("80.00"), Decimal("80.00"), Decimal("80.00"),
    )
    assert invoice.status == InvoiceStatus.ISSUED and invoice.paid_at is None
    assert list(InvoiceEvent.objects.filter(invoice=invoice).values_list("to_state", flat=True)) == ["issued", "paid", "issued"]


def test_refund_never_more_than_paid_and_needs_a_reason(world, invoice):
    cashier = world.staff["cashier"]
    first = pay(world, invoice, "300.00", "k1", method="cash", reference="")
    pay(world, invoice, "103.00", "k2")
    with pytest.raises(ValidationFailed) as exc:
        refund_record(actor=world.manager, payment=first, amount="300.01", reason="x", idempotency_key="r1")
    assert (exc.value.code, exc.value.field) == ("amount_exceeds_payment", "amount")
    with pytest.raises(ValidationFailed) as exc:
        refund_record(actor=cashier, payment=first, amount="10", reason="", idempotency_key="r2")
    assert exc.value.field == "reason"
    refund_record(actor=world.manager, payment=first, amount="300.00", reason="Cancelled job", idempotency_key="r3")
    with pytest.raises(ValidationFailed):
        refund_record(actor=world.manager, payment=first, amount="0.01", reason="again", idempotency_key="r4")
    assert Refund.objects.count() == 1


def test_refund_above_threshold_needs_a_manager(world, invoice):
    payment = pay(world, invoice, "403.00", "k1")
    # (the threshold is ¥500; this invoice is smaller, so use a bigger one)
    big = ready_order(world, jobs=[("Gearbox", JobType.REPAIR, [{"kind": "part", "description": "Gearbox", "unit_price": "2000"}])])
    big_invoice = invoice_issue(actor=world.manager, order=big)
    big_payment = pay(world, big_invoice, "2000.00", "kb")
    with pytest.raises(Forbidden) as exc:
        refund_record(actor=world.staff["cashier"], payment=big_payment, amount="500.01", reason="x", idempotency_key="r1")
    assert (exc.value.code, exc.value.field) == ("refund_needs_manager", "amount")
    refund_record(actor=world.staff["cashier"], payment=big_payment, amount="500.00", reason="ok", idempotency_key="r2")
    refund_record(actor=world.manager, payment=big_payment, amount="1500.00", reason="ok", idempotency_key="r3")
    with pytest.raises(Forbidden):
        refund_record(actor=world.advisor, payment=payment, amount="1", reason="x", idempotency_key="r4")
    assert Refund.objects.count() == 2


# ---- delivery --------------------------------------------------------------------------------------------------
def test_no_delivery_while_unpaid(world):
    order = ready_order(world)
    with pytest.raises(Conflict) as exc:
        order_deliver(actor=world.advisor, order=order)
    assert exc.value.code == "invoice_missing"
    invoice = invoice_issue(actor=world.advisor, order=order)
    pay(world, invoice, "100.00", "k1")
    with pytest.raises(Conflict) as exc:
        order_deliver(actor=world.advisor, order=order)
    assert (exc.value.code, exc.value.field) == ("unpaid", "order")
    order.refresh_from_db()
    assert order.status == OrderStatus.READY and not Delivery.objects.exists()


def test_credit_is_a_managers_decision_with_a_reason(world):
    order = ready_order(world)
    invoice_issue(actor=world.advisor, order=order)
    for who in (world.advisor, world.staff["cashier"], world.manager_b):
        with pytest.raises(Forbidden):
            delivery_credit_allow(actor=who, order=order, reason="company account")
    with pytest.raises(ValidationFailed) as exc:
        delivery_credit_allow(actor=world.manager, order=order, reason=" ")
    assert exc.value.field == "reason"
    credit = delivery_credit_allow(actor=world.manager, order=order, reason="Fleet customer, pays monthly")
    assert credit.amount == Decimal("403.00") and credit.granted_by == world.manager
    delivery = order_deliver(actor=world.advisor, order=order, car_state="clean, no new damage")
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED and delivery.car_state == "clean, no new damage"
    pay(world, Invoice.objects.get(order=order), "403.00", "k-credit")  # settled later: the order closes
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED
    assert AuditEvent.objects.filter(action="invoice.credit_allowed", reason="Fleet customer, pays monthly").exists()


def test_credit_not_needed_when_paid(world):
    order = ready_order(world)
    invoice = invoice_issue(actor=world.advisor, order=order)
    pay(world, invoice, "403.00", "k1")
    with pytest.raises(Conflict) as exc:
        delivery_credit_allow(actor=world.manager, order=order, reason="x")
    assert exc.value.code == "nothing_owed"
    assert not DeliveryCredit.objects.exists()


def test_paid_delivery_records_the_walkthrough_and_next_maintenance(world, django_capture_on_commit_callbacks):
    order = ready_order(world, mileage=20000)
    invoice = invoice_issue(actor=world.advisor, order=order)
    pay(world, invoice, "403.00", "k1")
    at = dt.datetime(2027, 8, 31, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
    with django_capture_on_commit_callbacks(execute=True):
        delivery = order_deliver(actor=world.advisor, order=order, old_parts_handed_over=True, at=at)
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED and order.delivered_at == at  # delivered and paid: closed
    assert (delivery.next_service_date, delivery.next_service_km) == (dt.date(2028, 2, 29), 25000)
    assert delivery.old_parts_handed_over and delivery.delivered_by == world.advisor
    assert RepairOrderEvent.objects.filter(order=order, to_state=OrderStatus.DELIVERED, actor=world.advisor).exists()
    with pytest.raises((Conflict, IllegalTransition)):
        order_deliver(actor=world.advisor, order=order)
    assert Delivery.objects.count() == 1


def test_delivery_needs_permission_and_store(world):
    order = ready_order(world)
    invoice = invoice_issue(actor=world.advisor, order=order)
    pay(world, invoice, "403.00", "k1")
    for who in (world.staff["cashier"], world.technician, world.advisor_b):
        with pytest.raises(Forbidden):
            order_deliver(actor=who, order=order)
    assert not Delivery.objects.exists()


def test_next_maintenance_default_interval(world):
    order = recorded_visit(world)
    assert next_maintenance(order, dt.date(2026, 3, 15)) == (dt.date(2026, 9, 15), 17000)
    order.mileage_in = None
    assert next_maintenance(order, dt.date(2026, 12, 31)) == (dt.date(2027, 6, 30), None)


def test_paid_delivered_visit_recomputes_the_customers_tier(world, django_capture_on_commit_callbacks):
    from aftersales.engagement.models import CustomerTier

    order = ready_order(world)
    invoice = invoice_issue(actor=world.advisor, order=order)
    with django_capture_on_commit_callbacks(execute=True):
        pay(world, invoice, "403.00", "k1")
    with django_capture_on_commit_callbacks(execute=True):
        order_deliver(actor=world.advisor, order=order)
    tier = CustomerTier.objects.get(customer_id=order.customer_id)
    assert (tier.f, tier.m, tier.tier) == (1, Decimal("403.00"), "C")  # one paid visit this month: new customer


def test_zero_invoice_for_warranty_only_visit_is_settled(world):
    order = ready_order(world, jobs=[("Recall", JobType.WARRANTY, SERVICE_LINES)])
    invoice = invoice_issue(actor=world.advisor, order=order)
    assert invoice.total == Decimal("0.00") and invoice.status == InvoiceStatus.PAID
    order_deliver(actor=world.advisor, order=order)


def test_next_maintenance_follows_the_vehicles_plan(world):
    from aftersales.care.models import MaintenancePlan

    order = recorded_visit(world)
    vehicle = order.vehicle
    MaintenancePlan.objects.create(group=world.group, interval_months=12, interval_km=10000)  # the group's default
    assert next_maintenance(order, dt.date(2026, 3, 15)) == (dt.date(2027, 3, 15), 22000)
    MaintenancePlan.objects.create(group=world.group, store=world.a, make=vehicle.make, interval_months=4, interval_km=7500)
    assert next_maintenance(order, dt.date(2026, 3, 15)) == (dt.date(2026, 7, 15), 19500)
    MaintenancePlan.objects.create(group=world.group, make=vehicle.make, model=vehicle.model, interval_months=9, interval_km=15000)
    assert next_maintenance(order, dt.date(2026, 3, 15)) == (dt.date(2026, 12, 15), 27000)


def test_a_paid_invoice_earns_loyalty_points_once(world, django_capture_on_commit_callbacks):
    from aftersales.loyalty.models import PointsEntry

    invoice = invoice_issue(actor=world.advisor, order=recorded_visit(world))
    with django_capture_on_commit_callbacks(execute=True):
        pay(world, invoice, "200.00", "k1")
    assert not PointsEntry.objects.filter(invoice=invoice).exists()  # not paid in full yet
    with django_capture_on_commit_callbacks(execute=True):
        pay(world, invoice, "203.00", "k2")
        pay(world, invoice, "203.00", "k2")  # a retry earns nothing more
    assert PointsEntry.objects.filter(invoice=invoice).count() == 1
