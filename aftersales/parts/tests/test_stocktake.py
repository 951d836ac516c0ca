"""Stock-take (盘点): start with a snapshot, count, post the differences as STOCKTAKE movements, cancel; the screens."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersales.common.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.factories import make_staff
from aftersales.parts.choices import MovementKind, StockTakeStatus
from aftersales.parts.models import PartsEvent, StockItem, StockMovement, StockTake, StockTakeLine
from aftersales.parts.services import reserve, stock_issue, stock_receive
from aftersales.parts.stocktake import (
    sheet,
    sheet_lines,
    stocktake_cancel,
    stocktake_get,
    stocktake_post,
    stocktake_record_counts,
    stocktake_start,
    stocktakes_for,
)

from .helpers_purchasing import make_job, make_part
from .test_ledger import assert_ledger_consistent

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(world):
    return world.staff["parts_clerk"]


@pytest.fixture
def clerk_b(world):
    return make_staff("parts_clerk", world.b)


@pytest.fixture
def stock(world, clerk):
    """Three items at store A: a filter (pieces, bin A-01-01), oil (litres, A-02-01), pads (pieces, B-01-01)."""
    filt = make_part(world.group, "FLT-1", name_zh="机油滤清器", category="filter", cost_price="20.00")
    oil = make_part(world.group, "OIL-1", name_zh="机油", category="oil", unit="litre", cost_price="40.00")
    pads = make_part(world.group, "BRK-1", name_zh="刹车片", category="brake", cost_price="300.00")
    for part, qty, cost, bin_ in ((filt, 10, "20.00", "A-01-01"), (oil, "20.5", "40.00", "A-02-01"), (pads, 4, "300.00", "B-01-01")):
        stock_receive(actor=clerk, store=world.a, part=part, quantity=qty, unit_cost=cost)
        StockItem.objects.filter(store=world.a, part=part).update(bin_location=bin_)
    return {"filter": filt, "oil": oil, "pads": pads}


def counts(take, **by_number):
    """{part number (with _ for -): counted} → the ``lines`` argument in sheet order."""
    wanted = {k.replace("_", "-"): v for k, v in by_number.items()}
    return [{"line": ln.pk, "counted_qty": wanted.get(ln.stock_item.part.number, "")} for ln in sheet_lines(take)]


def on_hand(store, part):
    return StockItem.objects.get(store=store, part=part).on_hand


def test_happy_path_posts_differences_as_movements(world, clerk, stock):
    take = stocktake_start(actor=clerk, store=world.a, note="月末盘点")
    assert take.status == StockTakeStatus.OPEN and take.lines.count() == 3
    assert {ln.stock_item.part.number: ln.system_qty for ln in sheet_lines(take)} == {
        "FLT-1": Decimal("10"), "OIL-1": Decimal("20.5"), "BRK-1": Decimal("4")}
    stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take, FLT_1="8", OIL_1="21.25", BRK_1=""))
    take = stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take, FLT_1="8", OIL_1="21.25"), finish=True)
    assert take.status == StockTakeStatus.COUNTED
    figures = sheet(take)
    assert figures.counted == 2 and figures.differences == 2
    assert figures.value == Decimal("70.00")  # 2 × 20 + 0.75 × 40
    before = StockMovement.objects.count()
    take = stocktake_post(actor=clerk, stock_take=take)
    assert take.status == StockTakeStatus.POSTED and take.posted_by == clerk and take.posted_at
    assert on_hand(world.a, stock["filter"]) == 8
    assert on_hand(world.a, stock["oil"]) == Decimal("21.25")
    assert on_hand(world.a, stock["pads"]) == 4  # not counted: left alone
    moves = StockMovement.objects.filter(kind=MovementKind.STOCKTAKE).order_by("quantity")
    assert StockMovement.objects.count() == before + 2
    assert [m.quantity for m in moves] == [Decimal("-2"), Decimal("0.75")]
    assert all(m.actor == clerk and f"#{take.pk}" in m.reason for m in moves)
    assert set(StockTakeLine.objects.filter(movement__isnull=False).values_list("movement_id", flat=True)) == {m.pk for m in moves}
    assert_ledger_consistent()
    assert [e.to_state for e in PartsEvent.objects.filter(stocktake=take)] == ["open", "counted", "posted"]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"parts.stocktake_started", "parts.stocktake_counted", "parts.stocktake_posted", "stock.stocktake_difference"} <= actions
    with pytest.raises(ValidationFailed):  # posted: closed for counts and for a second post
        stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take, FLT_1="1"))
    with pytest.raises(ValidationFailed):
        stocktake_post(actor=clerk, stock_take=take)
    assert on_hand(world.a, stock["filter"]) == 8


def test_movements_during_the_count_are_kept(world, clerk, stock):
    take = stocktake_start(actor=clerk, store=world.a)
    job = make_job(world.a)
    stock_issue(actor=clerk, store=world.a, part=stock["filter"], quantity=3, job=job)  # 10 → 7 while counting
    stock_receive(actor=clerk, store=world.a, part=stock["pads"], quantity=2, unit_cost="300.00")  # 4 → 6
    # the shelf was counted before the issue (10 there, 1 missing) and before the receipt (4 there)
    stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take, FLT_1="9", BRK_1="4"), finish=True)
    stocktake_post(actor=clerk, stock_take=take)
    assert on_hand(world.a, stock["filter"]) == 6  # 7 now − 1 missing, not 9
    assert on_hand(world.a, stock["pads"]) == 6  # no difference: nothing booked, the receipt stays
    assert StockMovement.objects.filter(kind=MovementKind.STOCKTAKE).count() == 1
    assert_ledger_consistent()


def test_reserved_stock_may_be_counted_down(world, clerk, stock):
    reserve(actor=clerk, store=world.a, part=stock["filter"], quantity=9, source="manual", reference="x:1")
    take = stocktake_start(actor=clerk, store=world.a)
    stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take, FLT_1="0"), finish=True)
    stocktake_post(actor=clerk, stock_take=take)
    item = StockItem.objects.get(store=world.a, part=stock["filter"])
    assert item.on_hand == 0 and item.reserved == 9  # the shortage is visible, the reservation is the advisor's call
    assert_ledger_consistent()


def test_one_open_stocktake_per_store(world, clerk, clerk_b, stock):
    first = stocktake_start(actor=clerk, store=world.a)
    with pytest.raises(Conflict) as exc:
        stocktake_start(actor=clerk, store=world.a, category="oil")
    assert exc.value.code == "stocktake_open" and exc.value.field == "store" and exc.value.extra["existing_id"] == first.pk
    assert f"#{first.pk}" in str(exc.value.message)
    stocktake_record_counts(actor=clerk, stock_take=first, lines=counts(first, FLT_1="10"), finish=True)
    with pytest.raises(Conflict):  # counted is still running
        stocktake_start(actor=clerk, store=world.a)
    part_b = make_part(world.group, "B-ONLY")
    stock_receive(actor=clerk_b, store=world.b, part=part_b, quantity=1, unit_cost="1")
    stocktake_start(actor=clerk_b, store=world.b)  # another store: fine
    stocktake_cancel(actor=clerk, stock_take=first, reason="restart")
    assert StockTake.objects.get(pk=first.pk).status == StockTakeStatus.CANCELLED
    second = stocktake_start(actor=clerk, store=world.a)
    assert second.pk != first.pk
    with pytest.raises(IllegalTransition):
        stocktake_cancel(actor=clerk, stock_take=first)
    assert StockMovement.objects.filter(kind=MovementKind.STOCKTAKE).count() == 0


def test_scope_by_category_and_bin_prefix(world, clerk, stock):
    take = stocktake_start(actor=clerk, store=world.a, bin_prefix=" a-0 ")
    assert take.bin_prefix == "A-0"
    assert sorted(ln.stock_item.part.number for ln in take.lines.all()) == ["FLT-1", "OIL-1"]
    stocktake_cancel(actor=clerk, stock_take=take)
    take = stocktake_start(actor=clerk, store=world.a, category="brake")
    assert [ln.stock_item.part.number for ln in take.lines.all()] == ["BRK-1"]
    stocktake_cancel(actor=clerk, stock_take=take)
    with pytest.raises(ValidationFailed) as exc:
        stocktake_start(actor=clerk, store=world.a, bin_prefix="Z-9")
    assert exc.value.code == "nothing_to_count" and exc.value.field == "bin_prefix"
    with pytest.raises(ValidationFailed) as exc:
        stocktake_start(actor=clerk, store=world.a, category="nonsense")
    assert exc.value.field == "category"


def test_negative_result_refused_naming_the_line_nothing_written(world, clerk, stock):
    take = stocktake_start(actor=clerk, store=world.a)
    job = make_job(world.a)
    stock_issue(actor=clerk, store=world.a, part=stock["pads"], quantity=4, job=job)  # all 4 pads went out
    # the pads were counted at 1 (3 missing) although 4 were on the snapshot: 0 + (1 − 4) < 0
    stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take, FLT_1="7", BRK_1="1"), finish=True)
    before = (StockMovement.objects.count(), list(StockItem.objects.order_by("pk").values_list("on_hand", flat=True)))
    with pytest.raises(ValidationFailed) as exc:
        stocktake_post(actor=clerk, stock_take=take)
    row = next(n for n, ln in enumerate(sheet_lines(take), start=1) if ln.stock_item.part.number == "BRK-1")
    assert exc.value.code == "stocktake_negative" and exc.value.field == f"lines[{row}].counted_qty"
    assert "BRK-1" in str(exc.value.message)
    assert (StockMovement.objects.count(), list(StockItem.objects.order_by("pk").values_list("on_hand", flat=True))) == before
    assert StockTake.objects.get(pk=take.pk).status == StockTakeStatus.COUNTED


@pytest.mark.parametrize(
    ("value", "code"),
    [("1.5", "quantity_not_whole"), ("-1", "count_negative"), ("abc", "quantity_format"), ("1.001", "quantity_precision")],
)
def test_bad_counts_name_the_line_field_and_write_nothing(world, clerk, stock, value, code):
    take = stocktake_start(actor=clerk, store=world.a)
    lines = counts(take, FLT_1="9", OIL_1="20", BRK_1="3")
    row = next(n for n, ln in enumerate(sheet_lines(take), start=1) if ln.stock_item.part.number == "BRK-1")
    lines[row - 1]["counted_qty"] = value
    with pytest.raises(ValidationFailed) as exc:
        stocktake_record_counts(actor=clerk, stock_take=take, lines=lines)
    assert exc.value.code == code and exc.value.field == f"lines[{row}].counted_qty"
    assert not StockTakeLine.objects.filter(counted_qty__isnull=False).exists()


def test_fractional_litres_and_zero_are_fine(world, clerk, stock):
    take = stocktake_start(actor=clerk, store=world.a)
    stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take, OIL_1="19.75", BRK_1="0"))
    got = {ln.stock_item.part.number: ln.counted_qty for ln in take.lines.all()}
    assert got == {"FLT-1": None, "OIL-1": Decimal("19.75"), "BRK-1": Decimal("0")}
    with pytest.raises(ValidationFailed) as exc:
        stocktake_record_counts(actor=clerk, stock_take=take, lines=[{"line": 999999, "counted_qty": "1"}])
    assert exc.value.field == "lines[1].line"


def test_big_differences_need_the_approver(world, clerk, stock):
    take = stocktake_start(actor=clerk, store=world.a)
    stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take, BRK_1="2"), finish=True)  # 2 × 300 > 500
    with pytest.raises(Forbidden) as exc:
        stocktake_post(actor=clerk, stock_take=take)
    assert exc.value.code == "approval_required" and "600.00" in str(exc.value.message)
    assert on_hand(world.a, stock["pads"]) == 4 and not StockMovement.objects.filter(kind="stocktake").exists()
    stocktake_post(actor=world.manager, stock_take=take)  # holds parts.approve_adjustment
    assert on_hand(world.a, stock["pads"]) == 2


def test_summed_value_counts_towards_the_threshold(world, clerk, stock):
    take = stocktake_start(actor=clerk, store=world.a)
    # −1 pad (300) and +6 filters (120) and −2 litres (80): 500 is not above the limit ...
    stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take, BRK_1="3", FLT_1="16", OIL_1="18.5"), finish=True)
    assert sheet(take).value == Decimal("500.00")
    stocktake_post(actor=clerk, stock_take=take)
    # ... a litre more missing is (−1 pad, +6 filters, −3 litres: 540)
    take = stocktake_start(actor=clerk, store=world.a)
    stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take, BRK_1="2", FLT_1="22", OIL_1="15.5"), finish=True)
    with pytest.raises(Forbidden):
        stocktake_post(actor=clerk, stock_take=take)


def test_permissions_and_other_store(world, clerk, clerk_b, stock):
    with pytest.raises(Forbidden):
        stocktake_start(actor=world.advisor, store=world.a)
    with pytest.raises(Forbidden):
        stocktake_start(actor=clerk, store=world.b)
    take = stocktake_start(actor=clerk, store=world.a)
    with pytest.raises(Forbidden):
        stocktake_record_counts(actor=clerk_b, stock_take=take, lines=counts(take, FLT_1="1"))
    with pytest.raises(Forbidden):
        stocktake_post(actor=clerk_b, stock_take=take)
    with pytest.raises(Forbidden):
        stocktake_cancel(actor=world.manager_b, stock_take=take)
    assert list(stocktakes_for(clerk_b)) == []
    from aftersales.common.errors import NotFound

    with pytest.raises(NotFound):
        stocktake_get(clerk_b, take.pk)
    assert stocktake_get(world.admin, take.pk) == take  # the group admin sees every store


def test_post_needs_the_count_finished(world, clerk, stock):
    take = stocktake_start(actor=clerk, store=world.a)
    with pytest.raises(ValidationFailed) as exc:
        stocktake_post(actor=clerk, stock_take=take)
    assert exc.value.code == "stocktake_not_counted"
    with pytest.raises(ValidationFailed) as exc:
        stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take), finish=True)
    assert exc.value.code == "nothing_counted"


# ---- screens -----------------------------------------------------------------------------------------------------
def _urls(take):
    return ["/parts/stocktakes/", "/parts/stocktakes/new/", f"/parts/stocktakes/{take.pk}/"]


def test_views_login_and_permissions(client, world, clerk, stock):
    take = stocktake_start(actor=clerk, store=world.a)
    for url in _urls(take):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    assert client.post(f"/parts/stocktakes/{take.pk}/post/").status_code == 302
    for user in (world.advisor, world.staff["cashier"], world.technician):
        client.force_login(user)
        for url in _urls(take):
            assert client.get(url).status_code == 403, (user, url)
        assert client.post(f"/parts/stocktakes/{take.pk}/", {}).status_code == 403
        assert client.post(f"/parts/stocktakes/{take.pk}/cancel/").status_code == 403
    client.force_login(clerk)
    for url in _urls(take):
        assert client.get(url).status_code == 200, url
    assert "/parts/stocktakes/" in client.get("/parts/").content.decode()  # linked from the parts search page
    assert StockTake.objects.get(pk=take.pk).status == StockTakeStatus.OPEN


def test_other_stores_stocktake_is_404(client, world, clerk, clerk_b, stock):
    part_b = make_part(world.group, "B-ONLY")
    stock_receive(actor=clerk_b, store=world.b, part=part_b, quantity=1, unit_cost="1")
    take_b = stocktake_start(actor=clerk_b, store=world.b)
    client.force_login(clerk)
    assert client.get(f"/parts/stocktakes/{take_b.pk}/").status_code == 404
    assert client.post(f"/parts/stocktakes/{take_b.pk}/", {f"count_{take_b.lines.get().pk}": "0"}).status_code == 404
    assert client.post(f"/parts/stocktakes/{take_b.pk}/cancel/").status_code == 404
    assert client.post(f"/parts/stocktakes/{take_b.pk}/post/").status_code == 404
    assert client.get(f"/parts/stocktakes/?store={world.b.pk}").status_code == 404
    assert StockTake.objects.get(pk=take_b.pk).status == StockTakeStatus.OPEN


def test_screens_start_count_and_post(client, world, clerk, stock):
    client.force_login(clerk)
    response = client.post("/parts/stocktakes/new/", {"store": world.a.pk, "category": "", "bin_prefix": "", "note": ""})
    take = StockTake.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/parts/stocktakes/{take.pk}/"
    again = client.post("/parts/stocktakes/new/", {"store": world.a.pk})
    assert again.status_code == 200 and f"#{take.pk}" in again.content.decode()
    lines = list(sheet_lines(take))
    data = {f"count_{ln.pk}": "" for ln in lines}
    pads = next(ln for ln in lines if ln.stock_item.part.number == "BRK-1")
    filt = next(ln for ln in lines if ln.stock_item.part.number == "FLT-1")
    data[f"count_{pads.pk}"] = "2.5"
    data[f"count_{filt.pk}"] = "9"
    page = client.post(f"/parts/stocktakes/{take.pk}/", data)
    assert page.status_code == 422
    html = page.content.decode()
    row = lines.index(pads) + 1
    assert f'data-field="lines[{row}].counted_qty"' in html and "whole units" in html and 'value="2.5"' in html
    assert not StockTakeLine.objects.filter(counted_qty__isnull=False).exists()
    data[f"count_{pads.pk}"] = "3"
    assert client.post(f"/parts/stocktakes/{take.pk}/", {**data, "finish": "1"}).status_code == 302
    html = client.get(f"/parts/stocktakes/{take.pk}/").content.decode()
    assert 'data-testid="stocktake-post"' in html and "320.00" in html  # 1 × 300 + 1 × 20
    assert client.post(f"/parts/stocktakes/{take.pk}/post/").status_code == 302
    assert on_hand(world.a, stock["pads"]) == 3 and on_hand(world.a, stock["filter"]) == 9
    assert StockTake.objects.get().status == StockTakeStatus.POSTED


def test_screen_post_above_threshold_is_403_with_the_reason(client, world, clerk, stock):
    take = stocktake_start(actor=clerk, store=world.a)
    stocktake_record_counts(actor=clerk, stock_take=take, lines=counts(take, BRK_1="0"), finish=True)
    client.force_login(clerk)
    response = client.post(f"/parts/stocktakes/{take.pk}/post/")
    assert response.status_code == 403 and "manager" in response.content.decode()
    assert on_hand(world.a, stock["pads"]) == 4
    client.force_login(world.manager)
    assert client.post(f"/parts/stocktakes/{take.pk}/post/").status_code == 302
    assert on_hand(world.a, stock["pads"]) == 0
    assert client.post(f"/parts/stocktakes/{take.pk}/cancel/").status_code == 302  # refused inline, still posted
    assert StockTake.objects.get(pk=take.pk).status == StockTakeStatus.POSTED
