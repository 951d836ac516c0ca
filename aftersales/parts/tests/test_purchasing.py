"""Reorder sweep → requisitions → purchase orders → receipts; suppliers; and the purchasing screens."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.parts.choices import MovementKind, PurchaseOrderStatus, RequisitionStatus
from aftersales.parts.models import (
    Batch,
    PartsEvent,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequisition,
    StockItem,
    StockMovement,
    Supplier,
)
from aftersales.parts.purchasing import (
    items_below_minimum,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_create_from_requisitions,
    purchase_order_receive,
    purchase_order_send,
    reorder_run_now,
    reorder_sweep,
    requisition_cancel,
    supplier_create,
    supplier_update,
)
from aftersales.parts.services import reserve, stock_receive

from .helpers_purchasing import make_part, make_supplier, stock_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(world):
    return world.staff["parts_clerk"]


@pytest.fixture
def supplier(world):
    return make_supplier(world.group, "Bosch 博世", lead_time_days=2)


@pytest.fixture
def pad(world, supplier):
    return make_part(world.group, "BP-100", name_zh="刹车片", cost_price="120.00", default_supplier=supplier)


def open_reqs(**kw):
    return PurchaseRequisition.objects.filter(status=RequisitionStatus.OPEN, **kw)


# ---- reorder sweep -----------------------------------------------------------------------------------------------
def test_sweep_creates_one_requisition_per_item_below_minimum(world, clerk, pad):
    other = make_part(world.group, "OF-1")
    stock_rule(world.a, pad, 4, 10)
    stock_rule(world.b, pad, 4, 10)
    stock_rule(world.a, other, 2, 6)
    stock_receive(actor=clerk, store=world.a, part=other, quantity=5, unit_cost="8.00")  # above minimum
    stock_receive(actor=clerk, store=world.a, part=pad, quantity=3, unit_cost="100.00")  # 3 < 4
    result = reorder_sweep()
    assert result == {"below_minimum": 2, "requisitions_created": 2}
    req_a = open_reqs().get(store=world.a)
    assert req_a.part == pad and req_a.quantity == Decimal("7") and req_a.is_automatic  # up to max: 10 − 3
    assert open_reqs().get(store=world.b).quantity == Decimal("10")
    assert not open_reqs(part=other).exists()


def test_sweep_is_idempotent(world, pad):
    stock_rule(world.a, pad, 4, 10)
    reorder_sweep()
    again = reorder_sweep()
    assert again["requisitions_created"] == 0
    assert open_reqs().count() == 1


def test_sweep_counts_reservations_and_incoming_orders(world, clerk, pad, supplier):
    stock_rule(world.a, pad, 4, 10)
    stock_receive(actor=clerk, store=world.a, part=pad, quantity=6, unit_cost="100.00")
    reserve(actor=clerk, store=world.a, part=pad, quantity=3, source="job", reference="job:1")
    # available 3 < 4, but an open order brings 5 more: covered
    order = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": 5}])
    assert reorder_sweep(store=world.a)["requisitions_created"] == 0
    # the order is cancelled: not coming any more
    purchase_order_cancel(actor=clerk, order=order)
    assert reorder_sweep(store=world.a)["requisitions_created"] == 1
    assert open_reqs().get().quantity == Decimal("7")  # 10 − 3 available


def test_sweep_tops_up_partial_orders_only_by_what_is_missing(world, clerk, pad, supplier):
    stock_rule(world.a, pad, 5, 10)
    order = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": 4}])
    purchase_order_send(actor=clerk, order=order)
    line = order.lines.get()
    purchase_order_receive(actor=clerk, order=order, lines=[{"line_id": line.pk, "quantity": 1}])
    # on hand 1 + 3 still to come = 4 < 5 → requisition of 10 − 4
    reorder_sweep()
    assert open_reqs().get().quantity == Decimal("6")


def test_sweep_skips_inactive_parts_and_items_without_rule(world, pad):
    stock_rule(world.a, pad, 0, 0)
    inactive = make_part(world.group, is_active=False)
    stock_rule(world.a, inactive, 2, 5)
    assert reorder_sweep()["requisitions_created"] == 0


def test_sweep_of_one_store_leaves_the_other(world, pad):
    stock_rule(world.a, pad, 1, 2)
    stock_rule(world.b, pad, 1, 2)
    reorder_sweep(store=world.b)
    assert list(open_reqs().values_list("store_id", flat=True)) == [world.b.pk]


def test_sweep_query_count_does_not_grow_with_items(world, django_assert_max_num_queries):
    for _ in range(30):
        stock_rule(world.a, make_part(world.group), 2, 5)
    with django_assert_max_num_queries(4):
        assert reorder_sweep()["requisitions_created"] == 30


def test_run_now_needs_permission_and_store(world, clerk, pad):
    stock_rule(world.a, pad, 1, 3)
    with pytest.raises(Forbidden):
        reorder_run_now(actor=world.advisor, store=world.a)
    with pytest.raises(Forbidden):
        reorder_run_now(actor=clerk, store=world.b)
    assert reorder_run_now(actor=clerk, store=world.a)["requisitions_created"] == 1


def test_alert_list_shows_items_below_minimum_in_scope(world, clerk, pad):
    stock_rule(world.a, pad, 2, 4)
    stock_rule(world.b, pad, 2, 4)
    reorder_sweep()
    rows = list(items_below_minimum(clerk))
    assert [r.store_id for r in rows] == [world.a.pk]
    assert rows[0].requisitioned == Decimal("4") and rows[0].position == Decimal("4")
    assert len(items_below_minimum(world.admin)) == 2


def test_requisition_cancel(world, clerk, pad):
    stock_rule(world.a, pad, 1, 3)
    reorder_sweep()
    req = open_reqs().get()
    requisition_cancel(actor=clerk, requisition=req)
    with pytest.raises(ValidationFailed):
        requisition_cancel(actor=clerk, requisition=req)
    assert reorder_sweep()["requisitions_created"] == 1  # needed again


# ---- requisitions → purchase orders → receipts ------------------------------------------------------------------
def test_requisitions_to_orders_per_supplier_then_partial_and_full_receipt(world, clerk, pad, supplier):
    other_supplier = make_supplier(world.group, "Mann 曼牌")
    filt = make_part(world.group, "OF-2", cost_price="15.50", default_supplier=other_supplier)
    wiper = make_part(world.group, "WB-1", cost_price="30.00", default_supplier=supplier)
    for part in (pad, filt, wiper):
        stock_rule(world.a, part, 2, 6)
    reorder_sweep()
    ids = list(open_reqs().values_list("id", flat=True))
    orders = purchase_order_create_from_requisitions(actor=clerk, store=world.a, requisition_ids=ids)
    assert len(orders) == 2
    by_supplier = {o.supplier_id: o for o in orders}
    bosch = by_supplier[supplier.pk]
    assert bosch.number.startswith("POA") and len(bosch.number) == len("POA") + 8 + 3
    assert {o.number[-3:] for o in orders} == {"001", "002"}
    assert sorted(ln.part.number for ln in bosch.lines.all()) == ["BP-100", "WB-1"]
    assert bosch.lines.get(part=pad).unit_cost == Decimal("120.00")
    assert not open_reqs().exists()
    req = PurchaseRequisition.objects.get(part=pad)
    assert req.status == RequisitionStatus.ORDERED and req.po_line.order == bosch
    assert PartsEvent.objects.filter(purchase_order=bosch, to_state="draft").exists()

    purchase_order_send(actor=clerk, order=bosch)
    bosch.refresh_from_db()
    assert bosch.status == PurchaseOrderStatus.SENT and bosch.expected_on is not None
    pad_line = bosch.lines.get(part=pad)
    wiper_line = bosch.lines.get(part=wiper)
    purchase_order_receive(actor=clerk, order=bosch, lines=[{"line_id": pad_line.pk, "quantity": 2, "unit_cost": "110.00"}])
    bosch.refresh_from_db()
    pad_line.refresh_from_db()
    assert bosch.status == PurchaseOrderStatus.PARTIAL and pad_line.received == 2
    item = StockItem.objects.get(store=world.a, part=pad)
    assert item.on_hand == 2 and item.avg_cost == Decimal("110.0000")
    assert StockMovement.objects.filter(po_line=pad_line, kind=MovementKind.RECEIPT).count() == 1

    purchase_order_receive(actor=clerk, order=bosch, lines=[
        {"line_id": pad_line.pk, "quantity": 4, "unit_cost": "125.00"},
        {"line_id": wiper_line.pk, "quantity": 6},
    ])
    bosch.refresh_from_db()
    assert bosch.status == PurchaseOrderStatus.RECEIVED
    item.refresh_from_db()
    # moving average: (2 × 110 + 4 × 125) / 6 = 120
    assert item.on_hand == 6 and item.avg_cost == Decimal("120.0000")
    assert [e.to_state for e in bosch.events.all()] == ["draft", "sent", "partial", "received"]
    # nothing more to receive
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_receive(actor=clerk, order=bosch, lines=[{"line_id": pad_line.pk, "quantity": 1}])
    assert exc.value.code == "order_not_receivable"


def test_over_receipt_names_the_line_and_writes_nothing(world, clerk, pad, supplier):
    filt = make_part(world.group, "OF-3")
    order = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[
        {"part": pad, "quantity": 5, "unit_cost": "100"}, {"part": filt, "quantity": 2, "unit_cost": "9.90"},
    ])
    purchase_order_send(actor=clerk, order=order)
    first, second = order.lines.order_by("id")
    movements = StockMovement.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_receive(actor=clerk, order=order, lines=[
            {"line_id": first.pk, "quantity": 5}, {"line_id": second.pk, "quantity": 3},
        ])
    assert exc.value.code == "over_receipt" and exc.value.field == "lines[2].quantity"
    assert exc.value.status == 422
    assert StockMovement.objects.count() == movements
    assert set(PurchaseOrderLine.objects.values_list("received", flat=True)) == {Decimal("0")}
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.SENT
    # the same line twice in one receipt also counts
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_receive(actor=clerk, order=order, lines=[
            {"line_id": second.pk, "quantity": 1}, {"line_id": second.pk, "quantity": 2},
        ])
    assert exc.value.field == "lines[2].quantity"


@pytest.mark.parametrize(
    ("quantity", "code"),
    [("1.5", "quantity_not_whole"), ("-1", "quantity_not_positive"), ("0", "quantity_not_positive"), ("abc", "quantity_format")],
)
def test_receipt_refuses_bad_quantities(world, clerk, pad, supplier, quantity, code):
    order = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": 5}])
    purchase_order_send(actor=clerk, order=order)
    line = order.lines.get()
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_receive(actor=clerk, order=order, lines=[{"line_id": line.pk, "quantity": quantity}])
    assert exc.value.code == code and exc.value.field == "lines[1].quantity"
    assert not StockMovement.objects.exists()


def test_receipt_of_tracked_part_needs_batch_and_records_it(world, clerk, supplier):
    part = make_part(world.group, "AIRBAG-1", tracking="batch", warranty_months=24)
    good = make_part(world.group, "CLIP-1")
    order = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[
        {"part": good, "quantity": 2}, {"part": part, "quantity": 2},
    ])
    purchase_order_send(actor=clerk, order=order)
    l1, l2 = order.lines.order_by("id")
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_receive(actor=clerk, order=order, lines=[
            {"line_id": l1.pk, "quantity": 2}, {"line_id": l2.pk, "quantity": 2},
        ])
    assert exc.value.code == "batch_required" and exc.value.field == "lines[2].batch_number"
    assert not StockMovement.objects.exists()  # the first line was rolled back too
    purchase_order_receive(actor=clerk, order=order, lines=[
        {"line_id": l2.pk, "quantity": 2, "batch_number": "B2024-07", "origin": "Germany", "production_date": "2024-07-01"},
    ])
    batch = Batch.objects.get(part=part, number="B2024-07")
    assert batch.supplier == supplier and batch.origin == "Germany" and str(batch.warranty_until) == "2026-07-01"
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_receive(actor=clerk, order=order, lines=[{"line_id": l1.pk, "quantity": 1, "production_date": "July"}])
    assert exc.value.field == "lines[1].production_date"


def test_receipt_refuses_unknown_line_and_draft_order(world, clerk, pad, supplier):
    order = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": 5}])
    line = order.lines.get()
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_receive(actor=clerk, order=order, lines=[{"line_id": line.pk, "quantity": 1}])
    assert exc.value.code == "order_not_receivable"
    purchase_order_send(actor=clerk, order=order)
    other = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": 1}])
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_receive(actor=clerk, order=order, lines=[{"line_id": other.lines.get().pk, "quantity": 1}])
    assert exc.value.field == "lines[1].line_id"
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_receive(actor=clerk, order=order, lines=[])
    assert exc.value.field == "lines"


def test_purchase_order_create_refusals(world, clerk, pad, supplier):
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": "NOPE-1", "quantity": 1}])
    assert exc.value.code == "part_unknown" and exc.value.field == "lines[1].part"
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_create(actor=clerk, store=world.a, supplier=supplier,
                              lines=[{"part": "bp-100", "quantity": 1}, {"part": pad, "quantity": 2}])
    assert exc.value.code == "duplicate_part" and exc.value.field == "lines[2].part"
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": "2.5"}])
    assert exc.value.field == "lines[1].quantity"
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": 1, "unit_cost": "-3"}])
    assert exc.value.field == "lines[1].unit_cost"
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[])
    assert exc.value.field == "lines"
    from aftersales.common.tests.factories import DealerGroupFactory

    foreign = make_supplier(DealerGroupFactory(name="Elsewhere"))
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_create(actor=clerk, store=world.a, supplier=foreign, lines=[{"part": pad, "quantity": 1}])
    assert exc.value.field == "supplier"
    with pytest.raises(Forbidden):
        purchase_order_create(actor=clerk, store=world.b, supplier=supplier, lines=[{"part": pad, "quantity": 1}])
    with pytest.raises(Forbidden):
        purchase_order_create(actor=world.advisor, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": 1}])
    assert not PurchaseOrder.objects.exists()


def test_order_numbers_count_up_per_store_and_day(world, clerk, pad, supplier):
    first = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": 1}])
    second = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": "BP-100", "quantity": 1}])
    assert first.number[:-3] == second.number[:-3]
    assert (first.number[-3:], second.number[-3:]) == ("001", "002")


def test_from_requisitions_refusals(world, clerk, pad):
    nosupplier = make_part(world.group, "X-1")
    stock_rule(world.a, nosupplier, 1, 2)
    stock_rule(world.b, pad, 1, 2)
    reorder_sweep()
    req_a = open_reqs().get(store=world.a)
    req_b = open_reqs().get(store=world.b)
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_create_from_requisitions(actor=clerk, store=world.a, requisition_ids=[req_a.pk])
    assert exc.value.code == "supplier_required" and exc.value.field == "supplier"
    with pytest.raises(ValidationFailed) as exc:
        purchase_order_create_from_requisitions(actor=clerk, store=world.a, requisition_ids=[req_a.pk, req_b.pk])
    assert exc.value.field == "requisition_ids"
    with pytest.raises(ValidationFailed):
        purchase_order_create_from_requisitions(actor=clerk, store=world.a, requisition_ids=[])
    assert not PurchaseOrder.objects.exists()
    chosen = make_supplier(world.group)
    (order,) = purchase_order_create_from_requisitions(actor=clerk, store=world.a, requisition_ids=[req_a.pk], supplier=chosen)
    assert order.supplier == chosen


def test_po_transitions(world, clerk, pad, supplier):
    order = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": 3}])
    purchase_order_send(actor=clerk, order=order)
    with pytest.raises(IllegalTransition):
        purchase_order_send(actor=clerk, order=order)
    purchase_order_receive(actor=clerk, order=order, lines=[{"line_id": order.lines.get().pk, "quantity": 1}])
    with pytest.raises(IllegalTransition):
        purchase_order_cancel(actor=clerk, order=order)  # partly received: cannot be cancelled
    draft = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[{"part": pad, "quantity": 3}])
    purchase_order_cancel(actor=clerk, order=draft, reason="duplicate")
    with pytest.raises(IllegalTransition):
        purchase_order_send(actor=clerk, order=draft)
    assert draft.events.last().reason == "duplicate"
    with pytest.raises(Forbidden):
        purchase_order_send(actor=world.manager_b, order=order)


def test_cancelled_order_cancels_its_requisitions(world, clerk, pad):
    stock_rule(world.a, pad, 1, 4)
    reorder_sweep()
    (order,) = purchase_order_create_from_requisitions(actor=clerk, store=world.a, requisition_ids=[open_reqs().get().pk])
    purchase_order_cancel(actor=clerk, order=order)
    assert PurchaseRequisition.objects.get().status == RequisitionStatus.CANCELLED


# ---- suppliers ---------------------------------------------------------------------------------------------------
def test_supplier_create_and_update(world, clerk):
    s = supplier_create(actor=clerk, name="  Denso  电装 ", phone="021-1234", email="sales@denso.example", lead_time_days="5")
    assert s.name == "Denso 电装" and s.group == world.group and s.lead_time_days == 5
    with pytest.raises(Conflict) as exc:
        supplier_create(actor=clerk, name="Denso 电装")
    assert exc.value.field == "name"
    with pytest.raises(ValidationFailed) as exc:
        supplier_create(actor=clerk, name="")
    assert exc.value.field == "name"
    with pytest.raises(ValidationFailed) as exc:
        supplier_create(actor=clerk, name="X", email="not-an-email")
    assert exc.value.field == "email"
    with pytest.raises(ValidationFailed) as exc:
        supplier_update(actor=clerk, supplier=s, lead_time_days="-1")
    assert exc.value.field == "lead_time_days"
    supplier_update(actor=clerk, supplier=s, contact="王经理", is_active=False)
    s.refresh_from_db()
    assert s.contact == "王经理" and not s.is_active
    with pytest.raises(Forbidden):
        supplier_create(actor=world.advisor, name="Y")
    assert Supplier.objects.count() == 1


# ---- screens -----------------------------------------------------------------------------------------------------
@pytest.fixture
def sent_order(world, clerk, pad, supplier):
    filt = make_part(world.group, "OF-9", tracking="batch")
    order = purchase_order_create(actor=clerk, store=world.a, supplier=supplier, lines=[
        {"part": pad, "quantity": 5, "unit_cost": "100"}, {"part": filt, "quantity": 2, "unit_cost": "9.90"},
    ])
    return purchase_order_send(actor=clerk, order=order)


@pytest.mark.parametrize("name", ["reorder", "po_list", "po_create", "supplier_list", "supplier_create"])
def test_screens_need_login_and_permission(client, world, name):
    url = reverse(f"purchasing:{name}")
    assert client.get(url).status_code == 302
    client.force_login(world.technician)
    assert client.get(url).status_code == 403
    client.force_login(world.staff["parts_clerk"])
    assert client.get(url).status_code == 200


def test_reorder_screen_run_and_order(client, world, clerk, pad):
    stock_rule(world.a, pad, 2, 8)
    client.force_login(clerk)
    page = client.get(reverse("purchasing:reorder"))
    assert page.status_code == 200 and "BP-100" in page.text
    response = client.post(reverse("purchasing:reorder_run"), {"store": world.a.pk})
    assert response.status_code == 302
    req = open_reqs().get()
    assert "BP-100" in client.get(reverse("purchasing:reorder")).text
    response = client.post(reverse("purchasing:requisitions_order"), {"store": world.a.pk, "requisition_ids": [req.pk]})
    order = PurchaseOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("purchasing:po_detail", args=[order.pk])
    # another store's reorder list is not reachable
    assert client.get(reverse("purchasing:reorder"), {"store": world.b.pk}).status_code == 404
    assert client.post(reverse("purchasing:reorder_run"), {"store": world.b.pk}).status_code == 404


def test_po_screens_scope_to_the_store(client, world, clerk, sent_order, supplier, pad):
    manager_b = world.manager_b
    other = purchase_order_create(actor=manager_b, store=world.b, supplier=supplier, lines=[{"part": pad, "quantity": 1}])
    client.force_login(clerk)
    listing = client.get(reverse("purchasing:po_list"))
    assert sent_order.number in listing.text and other.number not in listing.text
    assert client.get(reverse("purchasing:po_detail", args=[other.pk])).status_code == 404
    assert client.post(reverse("purchasing:po_action", args=[other.pk, "send"])).status_code == 404
    assert client.post(reverse("purchasing:po_receive", args=[other.pk])).status_code == 404
    client.force_login(world.advisor)
    assert client.get(reverse("purchasing:po_detail", args=[sent_order.pk])).status_code == 403


def test_po_detail_query_budget(client, world, clerk, sent_order, django_assert_max_num_queries):
    client.force_login(clerk)
    client.get(reverse("purchasing:po_detail", args=[sent_order.pk]))
    with django_assert_max_num_queries(14):
        assert client.get(reverse("purchasing:po_detail", args=[sent_order.pk])).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("purchasing:po_list")).status_code == 200


def test_receive_form_errors_inline_and_nothing_written(client, world, clerk, sent_order):
    client.force_login(clerk)
    pad_line, filt_line = sent_order.lines.order_by("id")
    url = reverse("purchasing:po_receive", args=[sent_order.pk])
    response = client.post(url, {f"quantity_{pad_line.pk}": "5", f"quantity_{filt_line.pk}": "3", f"batch_number_{filt_line.pk}": "L1"})
    assert response.status_code == 422
    assert 'data-field="quantity"' in response.text and "OF-9" in response.text
    assert not StockMovement.objects.exists()
    response = client.post(url, {f"quantity_{pad_line.pk}": "2", f"unit_cost_{pad_line.pk}": "90"})
    assert response.status_code == 302
    sent_order.refresh_from_db()
    assert sent_order.status == PurchaseOrderStatus.PARTIAL
    assert StockItem.objects.get(store=world.a, part=pad_line.part).avg_cost == Decimal("90.0000")
    response = client.post(url, {f"quantity_{filt_line.pk}": "2"})
    assert response.status_code == 422 and 'data-field="batch_number"' in response.text


def test_po_create_and_actions_through_screens(client, world, clerk, supplier, pad):
    client.force_login(clerk)
    response = client.post(reverse("purchasing:po_create"), {
        "supplier": supplier.pk, "lines[1].part": "BP-100", "lines[1].quantity": "1.5",
    })
    assert response.status_code == 200 and "whole units" in response.text
    response = client.post(reverse("purchasing:po_create"), {
        "supplier": supplier.pk, "lines[1].part": "BP-100", "lines[1].quantity": "3", "lines[2].part": "NOPE",
        "lines[2].quantity": "1",
    })
    assert "NOPE" in response.text and not PurchaseOrder.objects.exists()
    response = client.post(reverse("purchasing:po_create"), {"supplier": supplier.pk, "lines[1].part": "bp-100", "lines[1].quantity": "3"})
    order = PurchaseOrder.objects.get()
    assert response.status_code == 302 and order.lines.get().unit_cost == Decimal("120.00")
    client.post(reverse("purchasing:po_action", args=[order.pk, "send"]))
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.SENT
    client.post(reverse("purchasing:po_action", args=[order.pk, "send"]))  # illegal: message, no change
    client.post(reverse("purchasing:po_action", args=[order.pk, "cancel"]), {"reason": "wrong supplier"})
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.CANCELLED
    assert client.post(reverse("purchasing:po_action", args=[order.pk, "explode"])).status_code == 404


def test_supplier_screens(client, world, clerk):
    client.force_login(clerk)
    response = client.post(reverse("purchasing:supplier_create"), {"name": "NGK", "lead_time_days": "4", "is_active": "on"})
    assert response.status_code == 302
    s = Supplier.objects.get()
    response = client.post(reverse("purchasing:supplier_create"), {"name": "NGK", "lead_time_days": "4"})
    assert response.status_code == 200 and "already exists" in response.text
    client.post(reverse("purchasing:supplier_edit", args=[s.pk]), {"name": "NGK 日本特殊陶业", "lead_time_days": "6"})
    s.refresh_from_db()
    assert s.name == "NGK 日本特殊陶业" and s.lead_time_days == 6 and not s.is_active
    assert "NGK" in client.get(reverse("purchasing:supplier_list"), {"q": "ngk"}).text
    from aftersales.common.tests.factories import DealerGroupFactory

    foreign = make_supplier(DealerGroupFactory(name="Elsewhere"))
    assert client.get(reverse("purchasing:supplier_edit", args=[foreign.pk])).status_code == 404
    client.force_login(world.advisor)
    assert client.get(reverse("purchasing:supplier_edit", args=[s.pk])).status_code == 403


def test_nightly_task_runs_the_sweep(world, pad):
    from aftersales.celery import app
    from aftersales.parts.tasks import reorder_sweep as task

    stock_rule(world.a, pad, 1, 3)
    assert task.apply().get() == {"below_minimum": 1, "requisitions_created": 1}
    assert task.apply().get()["requisitions_created"] == 0
    assert app.conf.beat_schedule["parts-reorder-sweep"]["task"] == task.name
