"""Transfers between stores: request, approve/reject, ship, receive, cancel; sides; elapsed time; the screens."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.common.errors import Forbidden, IllegalTransition, ValidationFailed
from aftersales.common.tests.factories import make_staff
from aftersales.parts.choices import MovementKind, TransferStatus
from aftersales.parts.models import PartsEvent, Reservation, StockItem, StockMovement, Transfer
from aftersales.parts.services import reserve, stock_issue, stock_receive
from aftersales.parts.transfers import (
    elapsed,
    transfer_approve,
    transfer_cancel,
    transfer_receive,
    transfer_reject,
    transfer_request,
    transfer_ship,
    transfer_stats,
    transfers_for,
    transfers_waited_on_by,
)

from .helpers_purchasing import make_job, make_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk_b(world):
    return make_staff("parts_clerk", world.b)


@pytest.fixture
def clerk(world):
    return world.staff["parts_clerk"]


@pytest.fixture
def turbo(world, clerk_b):
    part = make_part(world.group, "TURBO-9", name_zh="涡轮增压器", cost_price="3000.00")
    stock_receive(actor=clerk_b, store=world.b, part=part, quantity=2, unit_cost="3000.00")
    stock_receive(actor=clerk_b, store=world.b, part=part, quantity=2, unit_cost="3200.00")  # avg 3100 at B
    return part


def request(world, part, qty=1, actor=None, **kw):
    return transfer_request(actor=actor or world.advisor, from_store=world.b, to_store=world.a, part=part, quantity=qty, **kw)


def test_full_transfer_moves_stock_at_the_sending_average_cost(world, clerk, clerk_b, turbo):
    stock_receive(actor=clerk, store=world.a, part=turbo, quantity=1, unit_cost="2900.00")  # A holds 1 at 2900
    job = make_job(world.a, advisor=world.advisor)
    t = request(world, turbo, 2, for_job=job, note="customer waiting")
    assert t.status == TransferStatus.REQUESTED and t.requested_by == world.advisor
    transfer_approve(actor=clerk_b, transfer=t)
    transfer_ship(actor=clerk_b, transfer=t)
    b_item = StockItem.objects.get(store=world.b, part=turbo)
    assert b_item.on_hand == 2 and b_item.avg_cost == Decimal("3100.0000")
    out = StockMovement.objects.get(transfer=t, kind=MovementKind.TRANSFER_OUT)
    assert out.quantity == -2 and out.unit_cost == Decimal("3100.0000")
    transfer_receive(actor=clerk, transfer=t)
    t.refresh_from_db()
    assert t.status == TransferStatus.RECEIVED and t.received_at >= t.shipped_at >= t.approved_at >= t.requested_at
    a_item = StockItem.objects.get(store=world.a, part=turbo)
    # (1 × 2900 + 2 × 3100) / 3 = 3033.3333
    assert a_item.on_hand == 3 and a_item.avg_cost == Decimal("3033.3333")
    assert [e.to_state for e in PartsEvent.objects.filter(transfer=t)] == ["requested", "approved", "shipped", "received"]
    assert elapsed(t) == t.received_at - t.requested_at
    # what came for the waiting job is held for it at once: a walk-in cannot take it off the shelf
    held = Reservation.objects.get(stock_item=a_item, reference=f"job:{job.pk}", status="active")
    assert held.quantity == 2 and a_item.reserved == 2 and a_item.on_hand - a_item.reserved == 1


def test_a_transfer_tops_up_the_jobs_reservation_and_never_holds_more_than_is_free(world, clerk, clerk_b, turbo):
    stock_receive(actor=clerk, store=world.a, part=turbo, quantity=1, unit_cost="2900.00")
    job = make_job(world.a, advisor=world.advisor)
    reserve(actor=clerk, store=world.a, part=turbo, quantity=1, source="job", reference=f"job:{job.pk}")
    t = request(world, turbo, 2, for_job=job)
    transfer_approve(actor=clerk_b, transfer=t)
    transfer_ship(actor=clerk_b, transfer=t)
    transfer_receive(actor=clerk, transfer=t)
    item = StockItem.objects.get(store=world.a, part=turbo)
    assert Reservation.objects.get(reference=f"job:{job.pk}", status="active").quantity == 3
    assert (item.on_hand, item.reserved) == (3, 3)


def test_elapsed_time_of_a_transfer_received_at_once_shows_zero_not_a_dash(client, world, clerk, clerk_b, turbo):
    t = request(world, turbo, 1)
    transfer_approve(actor=clerk_b, transfer=t)
    transfer_ship(actor=clerk_b, transfer=t)
    transfer_receive(actor=clerk, transfer=t)
    Transfer.objects.filter(pk=t.pk).update(received_at=t.requested_at)
    client.force_login(clerk)
    page = client.get(reverse("purchasing:transfer_detail", args=[t.pk])).text
    assert "<dd>0.0</dd>" in page


def test_same_store_refused_naming_to_store_and_nothing_written(world, turbo):
    with pytest.raises(ValidationFailed) as exc:
        transfer_request(actor=world.advisor, from_store=world.a, to_store=world.a, part=turbo, quantity=1)
    assert exc.value.code == "same_store" and exc.value.field == "to_store"
    assert not Transfer.objects.exists() and not PartsEvent.objects.exists()


@pytest.mark.parametrize(("qty", "code"), [("0.5", "quantity_not_whole"), ("-2", "quantity_not_positive"), ("x", "quantity_format")])
def test_request_refuses_bad_quantities(world, turbo, qty, code):
    with pytest.raises(ValidationFailed) as exc:
        request(world, turbo, qty)
    assert exc.value.code == code and exc.value.field == "quantity"
    assert not Transfer.objects.exists()


def test_request_only_for_own_receiving_store_and_own_jobs(world, turbo):
    with pytest.raises(Forbidden) as exc:
        transfer_request(actor=world.advisor, from_store=world.a, to_store=world.b, part=turbo, quantity=1)
    assert exc.value.field == "to_store"
    job_b = make_job(world.b)
    with pytest.raises(ValidationFailed) as exc:
        request(world, turbo, 1, for_job=job_b)
    assert exc.value.field == "for_job"
    with pytest.raises(Forbidden):
        request(world, turbo, 1, actor=world.technician)
    assert not Transfer.objects.exists()


def test_only_the_sending_store_approves_and_ships(world, clerk, clerk_b, turbo):
    t = request(world, turbo)
    for actor in (clerk, world.manager, world.advisor_b):  # receiving side, or no permission
        with pytest.raises(Forbidden):
            transfer_approve(actor=actor, transfer=t)
    transfer_approve(actor=world.manager_b, transfer=t)
    with pytest.raises(Forbidden):
        transfer_ship(actor=clerk, transfer=t)
    transfer_ship(actor=clerk_b, transfer=t)
    with pytest.raises(Forbidden):
        transfer_receive(actor=clerk_b, transfer=t)  # the sender cannot book it in at the receiver
    with pytest.raises(Forbidden):
        transfer_receive(actor=world.advisor, transfer=t)  # advisors only request and watch
    transfer_receive(actor=world.manager, transfer=t)


def test_ship_more_than_available_refused_and_nothing_written(world, clerk_b, turbo):
    t = request(world, turbo, 3)
    transfer_approve(actor=clerk_b, transfer=t)
    reserve(actor=clerk_b, store=world.b, part=turbo, quantity=2, source="job", reference="job:99")  # 4 on hand, 2 free
    with pytest.raises(ValidationFailed) as exc:
        transfer_ship(actor=clerk_b, transfer=t)
    assert exc.value.code == "insufficient_available" and exc.value.field == "quantity"
    t.refresh_from_db()
    assert t.status == TransferStatus.APPROVED and t.shipped_at is None
    assert not StockMovement.objects.filter(transfer=t).exists()
    big = request(world, turbo, 9)
    transfer_approve(actor=clerk_b, transfer=big)
    with pytest.raises(ValidationFailed) as exc:
        transfer_ship(actor=clerk_b, transfer=big)
    assert exc.value.code == "insufficient_stock"


def test_illegal_transitions(world, clerk, clerk_b, turbo):
    t = request(world, turbo)
    with pytest.raises(IllegalTransition):
        transfer_ship(actor=clerk_b, transfer=t)  # not approved yet
    with pytest.raises(IllegalTransition):
        transfer_receive(actor=clerk, transfer=t)
    transfer_reject(actor=clerk_b, transfer=t, reason="needed here")
    with pytest.raises(IllegalTransition):
        transfer_approve(actor=clerk_b, transfer=t)
    with pytest.raises(ValidationFailed) as exc:
        transfer_reject(actor=clerk_b, transfer=request(world, turbo), reason=" ")
    assert exc.value.field == "reason"
    shipped = request(world, turbo)
    transfer_approve(actor=clerk_b, transfer=shipped)
    transfer_ship(actor=clerk_b, transfer=shipped)
    with pytest.raises(IllegalTransition):
        transfer_cancel(actor=world.advisor, transfer=shipped)
    t.refresh_from_db()
    assert elapsed(t) is None


def test_cancel_by_either_side(world, clerk_b, turbo):
    first = request(world, turbo)
    transfer_cancel(actor=world.advisor, transfer=first, reason="found one")
    second = request(world, turbo)
    transfer_approve(actor=clerk_b, transfer=second)
    transfer_cancel(actor=clerk_b, transfer=second)
    outsider = make_staff("parts_clerk", world.b)
    outsider.memberships.all().delete()
    with pytest.raises(Forbidden):
        transfer_cancel(actor=outsider, transfer=request(world, turbo))


def test_tracked_part_ships_its_batch_and_stays_traceable(world, clerk, clerk_b):
    part = make_part(world.group, "ECU-1", tracking="batch")
    stock_receive(actor=clerk_b, store=world.b, part=part, quantity=3, unit_cost="500", batch_number="LOT-7")
    from aftersales.parts.models import Batch

    batch = Batch.objects.get(number="LOT-7")
    t = request(world, part, 2)
    transfer_approve(actor=clerk_b, transfer=t)
    with pytest.raises(ValidationFailed) as exc:
        transfer_ship(actor=clerk_b, transfer=t)
    assert exc.value.field == "batch"
    transfer_ship(actor=clerk_b, transfer=t, batch=batch)
    transfer_receive(actor=clerk, transfer=t)
    job = make_job(world.a)
    stock_issue(actor=clerk, store=world.a, part=part, quantity=1, job=job, batch=batch)  # the batch is at A now


def test_visibility_and_the_advisor_view(world, clerk_b, turbo):
    mine = request(world, turbo)
    job = make_job(world.a, advisor=world.advisor)
    for_my_job = request(world, turbo, actor=world.staff["parts_clerk"], for_job=job)
    request(world, turbo, actor=world.staff["parts_clerk"])
    assert set(transfers_waited_on_by(world.advisor)) == {mine, for_my_job}
    assert transfers_for(clerk_b).count() == 3  # outgoing from B
    c = make_staff("parts_clerk", world.group.stores.create(code="c", name="Store C"))
    assert transfers_for(c).count() == 0


def test_transfer_stats_with_previous_period(world, clerk, clerk_b, turbo):
    now = timezone.now()

    def done(hours, days_ago):
        t = request(world, turbo)
        received = now - dt.timedelta(days=days_ago)
        Transfer.objects.filter(pk=t.pk).update(
            status=TransferStatus.RECEIVED, requested_at=received - dt.timedelta(hours=hours), received_at=received
        )

    for hours in (10, 20, 60):
        done(hours, 5)
    for hours in (40, 80):
        done(hours, 40)
    done(1, 100)  # before both periods
    stats = transfer_stats(clerk, since=now - dt.timedelta(days=30), until=now)
    (pair,) = stats.pairs
    assert (pair.from_store, pair.to_store) == (world.b, world.a)
    assert (pair.count, pair.avg_hours, pair.median_hours) == (3, 30.0, 20.0)
    assert (pair.previous_count, pair.previous_avg_hours, pair.previous_median_hours) == (2, 60.0, 60.0)
    assert pair.change == pytest.approx(-0.5)
    assert stats.overall.count == 3
    outsider = make_staff("parts_clerk", world.group.stores.create(code="c", name="Store C"))
    assert transfer_stats(outsider, since=now - dt.timedelta(days=30)).pairs == []


# ---- screens -----------------------------------------------------------------------------------------------------
def test_transfer_screens_need_login_and_permission(client, world):
    url = reverse("purchasing:transfer_list")
    assert client.get(url).status_code == 302
    client.force_login(world.staff["cashier"])
    assert client.get(url).status_code == 403
    assert client.get(reverse("purchasing:transfer_create")).status_code == 403
    client.force_login(world.advisor)
    assert client.get(url).status_code == 200
    assert client.get(reverse("purchasing:transfer_create")).status_code == 200


def test_advisor_requests_and_watches_a_transfer(client, world, clerk_b, turbo):
    job = make_job(world.a, advisor=world.advisor)
    client.force_login(world.advisor)
    form = client.get(reverse("purchasing:transfer_create"))
    assert job.order.number in form.text and "Store B" in form.text
    response = client.post(reverse("purchasing:transfer_create"), {"from_store": world.b.pk, "part": "TURBO-9", "quantity": "1.5"})
    assert response.status_code == 200 and "whole units" in response.text
    response = client.post(reverse("purchasing:transfer_create"), {"from_store": world.a.pk, "part": "TURBO-9", "quantity": "1"})
    assert response.status_code == 200 and not Transfer.objects.exists()  # own store is not a choice
    response = client.post(reverse("purchasing:transfer_create"), {"from_store": world.b.pk, "part": "NOPE", "quantity": "1"})
    assert "NOPE" in response.text and not Transfer.objects.exists()
    response = client.post(reverse("purchasing:transfer_create"), {
        "from_store": world.b.pk, "part": "turbo-9", "quantity": "1", "for_job": job.pk, "note": "car on the lift",
    })
    t = Transfer.objects.get()
    assert response.status_code == 302 and t.for_job == job and t.to_store == world.a
    mine = client.get(reverse("purchasing:transfer_list"))
    assert "TURBO-9" in mine.text and job.order.number in mine.text
    # the advisor cannot approve or receive
    assert client.post(reverse("purchasing:transfer_action", args=[t.pk, "approve"])).status_code == 403
    # the sending store approves and ships through the screen
    client.force_login(clerk_b)
    detail = client.get(reverse("purchasing:transfer_detail", args=[t.pk]))
    assert reverse("purchasing:transfer_action", args=[t.pk, "approve"]) in detail.text
    client.post(reverse("purchasing:transfer_action", args=[t.pk, "approve"]))
    client.post(reverse("purchasing:transfer_action", args=[t.pk, "ship"]))
    t.refresh_from_db()
    assert t.status == TransferStatus.SHIPPED
    assert "TURBO-9" in client.get(reverse("purchasing:transfer_list"), {"tab": "outgoing"}).text
    # the receiving store's clerk books it in
    client.force_login(world.staff["parts_clerk"])
    client.post(reverse("purchasing:transfer_action", args=[t.pk, "receive"]))
    t.refresh_from_db()
    assert t.status == TransferStatus.RECEIVED
    assert client.get(reverse("purchasing:transfer_list")).status_code == 200


def test_transfer_screens_scope_and_sides(client, world, clerk, clerk_b, turbo):
    t = request(world, turbo)
    client.force_login(clerk)
    assert client.post(reverse("purchasing:transfer_action", args=[t.pk, "approve"])).status_code == 403  # wrong side
    client.force_login(clerk_b)
    response = client.post(reverse("purchasing:transfer_action", args=[t.pk, "reject"]), {"reason": ""})
    assert response.status_code == 302
    t.refresh_from_db()
    assert t.status == TransferStatus.REQUESTED  # reason required: refused with a message
    assert client.post(reverse("purchasing:transfer_action", args=[t.pk, "frobnicate"])).status_code == 404
    outsider = make_staff("parts_clerk", world.group.stores.create(code="c", name="Store C"))
    client.force_login(outsider)
    assert client.get(reverse("purchasing:transfer_detail", args=[t.pk])).status_code == 404
    assert client.post(reverse("purchasing:transfer_action", args=[t.pk, "approve"])).status_code == 404
    assert "TURBO-9" not in client.get(reverse("purchasing:transfer_list"), {"tab": "outgoing"}).text


def test_transfer_list_query_budget(client, world, clerk, turbo, django_assert_max_num_queries):
    for _ in range(5):
        request(world, turbo, for_job=make_job(world.a))
    client.force_login(clerk)
    client.get(reverse("purchasing:transfer_list"))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("purchasing:transfer_list")).status_code == 200
