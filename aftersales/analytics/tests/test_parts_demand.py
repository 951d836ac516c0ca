"""Parts demand and suggested minimum levels: a small hand-computed set (fixed dates, whatever today is), accepting
(all or nothing, audited, what the reorder sweep uses), stale and other-store suggestions refused, the roles, the page
and the API."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

from aftersales.analytics import parts_demand as pd
from aftersales.analytics.models import MinLevelSuggestion
from aftersales.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.common.tests.api_helpers import Api, assert_error
from aftersales.common.tests.factories import make_staff
from aftersales.parts.models import PurchaseRequisition, StockItem, StockMovement
from aftersales.parts.purchasing import reorder_sweep
from aftersales.parts.tests.helpers_purchasing import make_part, make_supplier, stock_rule
from aftersales.staff.roles import Role, sync_roles
from aftersales.stores.models import Store

from . import factories as f

pytestmark = pytest.mark.django_db
NOW = f.at("2025-09-29", "10:00")  # a Monday: the history ends on Sunday 28 September, the forecast starts on Tuesday
PATTERN = [2, 0, 1, 0, 3, 0, 1]  # Monday … Sunday


def _move(item: StockItem, day: dt.date, qty: int, kind: str = "issue", hour: str = "23:30") -> None:
    # 23:30 Shanghai is 15:30 UTC the same day: the local day decides
    StockMovement.objects.create(store_id=item.store_id, part_id=item.part_id, stock_item=item, kind=kind,
                                 quantity=Decimal(qty), balance_after=0, at=f.at(day.isoformat(), hour))


@pytest.fixture
def world():
    sync_roles()
    gz = f.store(code="gz", name="广州店")
    sz = Store.objects.create(group=gz.group, code="sz", name="深圳店")
    other = f.store(code="sh", name="上海店")  # another group
    slow = make_supplier(gz.group, lead_time_days=6)
    a = make_part(gz.group, "A-1", name_en="Oil filter")
    b = make_part(gz.group, "B-1", default_supplier=slow)
    c = make_part(gz.group, "C-1")
    d = make_part(gz.group, "D-1")
    item_a = stock_rule(gz, a, 2, 5, lead_time_days=3, on_hand=3)
    item_c = stock_rule(gz, c, 1, 4)
    item_d = stock_rule(gz, d, 1, 4, lead_time_days=3)
    item_b = stock_rule(sz, b, 9, 12)
    # A at gz: two weeks of the same weekly pattern (15–28 September)
    for i in range(14):
        day = dt.date(2025, 9, 15) + dt.timedelta(days=i)
        if PATTERN[day.weekday()]:
            _move(item_a, day, -PATTERN[day.weekday()])
    # C at gz: 2 issued and 1 returned on Wednesday 24 September, 1 sold on the same day in the owner app
    _move(item_c, dt.date(2025, 9, 24), -2)
    _move(item_c, dt.date(2025, 9, 24), 1, kind="return")
    # D at gz: receipts only (no demand, no suggestion)
    _move(item_d, dt.date(2025, 9, 20), 5, kind="receipt")
    # B at sz: five weeks of one a day on weekdays (25 August – 28 September)
    for i in range(35):
        day = dt.date(2025, 8, 25) + dt.timedelta(days=i)
        if day.weekday() < 5:
            _move(item_b, day, -1)
    return {"gz": gz, "sz": sz, "other": other, "items": {"A": item_a, "B": item_b, "C": item_c, "D": item_d},
            "clerk": make_staff(Role.PARTS_CLERK, gz), "sz_clerk": make_staff(Role.PARTS_CLERK, sz),
            "manager": make_staff(Role.STORE_MANAGER, gz), "advisor": make_staff(Role.SERVICE_ADVISOR, gz),
            "technician": make_staff(Role.TECHNICIAN, gz)}


def _computed(world) -> dict[str, MinLevelSuggestion]:
    assert pd.compute_store(world["gz"], NOW) == 2
    assert pd.compute_store(world["sz"], NOW) == 1
    return {s.part.number[0]: s for s in MinLevelSuggestion.objects.select_related("part")}


def test_hand_computed_suggestions(world):
    s = _computed(world)
    assert set(s) == {"A", "B", "C"}  # D has receipts only
    a = s["A"]
    # two weeks: seasonal naive without a back-test; from Tuesday the last week repeats: 0 1 0 3 0 1 2 …
    assert (a.method, a.model_mae, a.baseline_mae, a.history_days) == ("naive", None, None, 14)
    assert a.weekly == [7.0] * 12 and a.computed_on == dt.date(2025, 9, 29)
    # lead time 3 (the item's) + 1 day of review: Tue 0 + Wed 1 + Thu 0 + Fri 3 = 4
    assert (a.lead_time_days, a.lead_time_source, a.lead_demand) == (3, "item", Decimal("4.00"))
    sigma = math.sqrt(8 / 7)  # the history's standard deviation: mean 1, squares 1+1+0+1+4+1+0 = 8 over 7
    assert a.safety_stock == Decimal("3.53") and 1.65 * sigma * 2 == pytest.approx(3.5278, abs=1e-4)
    assert a.suggested_min == Decimal("8") and a.current_min == Decimal("2")  # ⌈4 + 3.53⌉
    # order up to: + the demand of the review day after the 4 protected days (Saturday: 0)
    assert (a.review_demand, a.suggested_max, a.current_max) == (Decimal("0.00"), Decimal("8"), Decimal("5"))
    b = s["B"]
    # 35 days: the baseline is back-tested (perfect on a repeating week: MAE 0, no safety stock); the model needs 8 weeks
    assert (b.method, b.model_mae, b.baseline_mae, b.history_days) == ("naive", None, 0.0, 35)
    assert (b.lead_time_days, b.lead_time_source) == (6, "supplier")  # no lead time on the item: the supplier's
    assert b.weekly == [5.0] * 12 and b.lead_demand == Decimal("5.00") and b.safety_stock == 0  # 7 days: one week
    assert b.suggested_min == 5 and b.current_min == 9
    assert (b.review_demand, b.suggested_max, b.current_max) == (Decimal("1.00"), Decimal("6"), Decimal("12"))  # the 8th day: a Tuesday
    c = s["C"]
    # net demand 1 on one Wednesday (2 issued, 1 returned); no lead time anywhere: the default 7 days + 1 = 8 days
    assert (c.lead_time_days, c.lead_time_source) == (7, "default")
    assert c.weekly == [1.0] * 12 and c.lead_demand == Decimal("1.00")
    # σ of 13 zeros and a one = √13 / 14; safety = 1.65 × σ × √8 = 1.20; ⌈2.20⌉ = 3
    assert c.safety_stock == Decimal("1.20") and c.suggested_min == 3
    assert (c.review_demand, c.suggested_max) == (Decimal("1.00"), Decimal("4"))  # the 9th day is a Wednesday: 1


def test_pure_formula_uses_the_model_error_when_it_is_used():
    from aftersales.analytics.forecast import Backtest, SeriesForecast

    days = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(100)]
    r = SeriesForecast(days, [2.0] * 100, "ets", Backtest("ets", 0.8, None), Backtest("naive", 1.2, None), 400)
    out = pd.suggest(r, [2.0, 0.0], lead_days=3, z=2.0)
    assert out.lead_demand == Decimal("8.00")  # 4 days × 2
    assert out.safety_stock == Decimal("4.00")  # 2 × 1.25 × 0.8 × √4
    assert out.suggested_min == 12 and out.weekly[0] == 14.0
    assert (out.review_demand, out.suggested_max) == (Decimal("2.00"), Decimal("14"))  # + the 5th day's 2
    nothing = pd.suggest(r, [0.0, 0.0], lead_days=3)
    assert nothing.suggested_min == 0


def test_recompute_supersedes_the_open_suggestions(world):
    _computed(world)
    assert pd.compute_store(world["gz"], NOW + dt.timedelta(days=1)) == 2
    assert MinLevelSuggestion.objects.filter(store=world["gz"], status="open").count() == 2
    assert MinLevelSuggestion.objects.filter(store=world["gz"], status="superseded").count() == 2
    assert MinLevelSuggestion.objects.filter(store=world["sz"], status="open").count() == 1


def test_accepting_writes_the_minimum_the_sweep_uses_audited(world):
    s = _computed(world)
    item_a = world["items"]["A"]
    reorder_sweep(store=world["gz"])
    assert not PurchaseRequisition.objects.filter(part_id=item_a.part_id).exists()  # 3 on hand, minimum 2
    done = pd.suggestions_accept(actor=world["clerk"], ids=[s["A"].pk, s["C"].pk], now=NOW)
    assert [x.pk for x in done] == [s["A"].pk, s["C"].pk]
    item_a.refresh_from_db()
    assert (item_a.min_qty, item_a.max_qty) == (8, 8)  # the maximum raised to the new minimum
    assert StockItem.objects.get(pk=world["items"]["C"].pk).min_qty == 3
    s["A"].refresh_from_db()
    assert s["A"].status == "accepted" and s["A"].decided_by == world["clerk"]
    event = AuditEvent.objects.get(action="parts.min_level_set", object_id=str(item_a.pk))
    assert event.changes == {"min_qty": ["2.00", "8.00"], "max_qty": ["5.00", "8.00"]} and event.store_id == world["gz"].pk
    assert event.actor == world["clerk"] and "demand forecast" in str(event.reason)
    # the nightly sweep now orders A: 3 on hand is below 8
    reorder_sweep(store=world["gz"])
    assert PurchaseRequisition.objects.get(part_id=item_a.part_id, status="open").quantity == 5  # up to the maximum 8
    # accepted once: again is stale, nothing written
    with pytest.raises(Conflict) as exc:
        pd.suggestions_accept(actor=world["clerk"], ids=[s["A"].pk])
    assert exc.value.code == "suggestion_stale"


def test_a_changed_minimum_or_a_recomputed_suggestion_is_stale_and_nothing_is_written(world):
    s = _computed(world)
    StockItem.objects.filter(pk=world["items"]["C"].pk).update(min_qty=2)  # someone changed C's minimum since
    with pytest.raises(Conflict) as exc:
        pd.suggestions_accept(actor=world["clerk"], ids=[s["A"].pk, s["C"].pk])
    assert exc.value.code == "min_changed"
    assert StockItem.objects.get(pk=world["items"]["A"].pk).min_qty == 2  # A not written either
    assert not AuditEvent.objects.filter(action="parts.min_level_set").exists()
    assert MinLevelSuggestion.objects.get(pk=s["A"].pk).status == "open"
    pd.compute_store(world["gz"], NOW)
    with pytest.raises(Conflict) as exc:
        pd.suggestions_accept(actor=world["clerk"], ids=[s["A"].pk])  # superseded by the recompute
    assert exc.value.code == "suggestion_stale"


def test_another_stores_suggestion_is_404_and_roles_are_checked(world):
    s = _computed(world)
    with pytest.raises(NotFound):  # the gz clerk does not work at sz
        pd.suggestions_accept(actor=world["clerk"], ids=[s["A"].pk, s["B"].pk])
    assert StockItem.objects.get(pk=world["items"]["A"].pk).min_qty == 2
    with pytest.raises(Forbidden):
        pd.suggestions_accept(actor=world["advisor"], ids=[s["A"].pk])
    with pytest.raises(Forbidden):
        pd.suggestions_for(user=world["technician"], store=world["gz"])
    with pytest.raises(Forbidden):
        pd.suggestions_for(user=world["clerk"], store=world["sz"])
    with pytest.raises(ValidationFailed):
        pd.suggestions_accept(actor=world["clerk"], ids=[])
    # the manager of gz may accept too (parts.change_stockitem)
    pd.suggestions_accept(actor=world["manager"], ids=[s["A"].pk])


def test_page_lists_accepts_per_row_and_selected(client, world, clock):
    clock("2025-09-29 10:00")
    s = _computed(world)
    client.force_login(world["clerk"])
    url = f"/parts/minimums/?store={world['gz'].pk}"
    r = client.get(url)
    assert r.status_code == 200
    body = r.content.decode()
    assert 'data-testid="suggestion-A-1"' in body and 'data-testid="accept-C-1"' in body and "B-1" not in body
    assert 'data-testid="formula"' in body
    r = client.post(url, {"store": world["gz"].pk, "accept": str(s["A"].pk)})
    assert r.status_code == 302
    assert StockItem.objects.get(pk=world["items"]["A"].pk).min_qty == 8
    r = client.post(url, {"store": world["gz"].pk, "accept": "selected", "ids": [str(s["A"].pk), str(s["C"].pk)]}, follow=True)
    assert r.status_code == 200 and "no longer current" in r.content.decode()  # A already accepted: nothing written
    assert StockItem.objects.get(pk=world["items"]["C"].pk).min_qty == 1
    r = client.post(url, {"store": world["gz"].pk, "accept": "selected", "ids": [str(s["C"].pk)]})
    assert StockItem.objects.get(pk=world["items"]["C"].pk).min_qty == 3
    assert client.post(url, {"accept": str(s["B"].pk)}).status_code == 404  # the sz suggestion
    assert client.get(f"/parts/minimums/?store={world['sz'].pk}").status_code == 404  # not the clerk's store
    client.force_login(world["advisor"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"accept": str(s["C"].pk)}).status_code == 403


def test_api_lists_and_accepts(world):
    s = _computed(world)
    clerk = Api.session(world["clerk"])
    r = clerk.get("/api/analytics/min-suggestions", {"store": world["gz"].pk})
    assert r.status_code == 200
    items = {i["part_number"]: i for i in r.json()["items"]}
    assert set(items) == {"A-1", "C-1"} and items["A-1"]["suggested_min"] == "8.00" and items["A-1"]["weekly"] == [7.0] * 12
    assert_error(clerk.get("/api/analytics/min-suggestions", {"store": world["sz"].pk}), 404)
    assert_error(clerk.get("/api/analytics/min-suggestions", {"store": world["other"].pk}), 404)
    assert_error(clerk.post("/api/analytics/min-suggestions/accept", {"ids": [s["B"].pk]}), 404)
    assert_error(clerk.post("/api/analytics/min-suggestions/accept", {"ids": []}), 422, "nothing_selected", "ids")
    assert_error(clerk.post("/api/analytics/min-suggestions/accept", {"ids": ["x"]}), 422)
    r = clerk.post("/api/analytics/min-suggestions/accept", {"ids": [s["A"].pk]})
    assert r.status_code == 200 and r.json() == {"accepted": [s["A"].pk]}
    assert_error(clerk.post("/api/analytics/min-suggestions/accept", {"ids": [s["A"].pk]}), 409, "suggestion_stale")
    advisor = Api.session(world["advisor"])
    assert_error(advisor.get("/api/analytics/min-suggestions", {"store": world["gz"].pk}), 403)
    assert_error(advisor.post("/api/analytics/min-suggestions/accept", {"ids": [s["C"].pk]}), 403)
    assert Api.anonymous().get("/api/analytics/min-suggestions", {"store": world["gz"].pk}).status_code == 401


def test_accepting_sets_the_order_up_to_level_the_sweep_orders_up_to(world):
    s = _computed(world)
    item_b = world["items"]["B"]
    done = pd.suggestions_accept(actor=world["sz_clerk"], ids=[s["B"].pk], now=NOW)
    assert [x.pk for x in done] == [s["B"].pk]
    item_b.refresh_from_db()
    assert (item_b.min_qty, item_b.max_qty) == (5, 6)  # the maximum lowered from 12 to the suggested 6
    event = AuditEvent.objects.get(action="parts.min_level_set", object_id=str(item_b.pk))
    assert event.changes == {"min_qty": ["9.00", "5.00"], "max_qty": ["12.00", "6.00"]}
    reorder_sweep(store=world["sz"])
    assert PurchaseRequisition.objects.get(part_id=item_b.part_id, status="open").quantity == 6  # nothing on hand: up to 6


def test_a_changed_maximum_is_stale_and_nothing_is_written(world):
    s = _computed(world)
    StockItem.objects.filter(pk=world["items"]["A"].pk).update(max_qty=20)
    rows = {r.part.number: r for r in pd.suggestions_for(user=world["clerk"], store=world["gz"])}
    assert rows["A-1"].stale and rows["A-1"].live_max == 20 and not rows["C-1"].stale
    with pytest.raises(Conflict) as exc:
        pd.suggestions_accept(actor=world["clerk"], ids=[s["C"].pk, s["A"].pk])
    assert exc.value.code == "max_changed"
    assert StockItem.objects.get(pk=world["items"]["C"].pk).min_qty == 1  # C not written either


@pytest.mark.parametrize(("language", "heading", "note"), [("en", "Suggested max (order up to)", "over the review period"),
                                                            ("zh-hans", "建议上限（补货至）", "复核周期需求")])
def test_page_and_api_show_the_order_up_to_level(client, world, clock, language, heading, note):
    clock("2025-09-29 10:00")
    _computed(world)
    clerk = world["clerk"]
    clerk.language = language  # the page is in the user's own language
    clerk.save(update_fields=["language"])
    client.force_login(clerk)
    body = client.get(f"/parts/minimums/?store={world['gz'].pk}").content.decode()
    assert heading in body and note in body
    cell = body.split('data-testid="max-C-1">', 1)[1].split("</td>", 1)[0]
    assert "<strong>4</strong>" in cell
    r = Api.session(world["clerk"]).get("/api/analytics/min-suggestions", {"store": world["gz"].pk})
    items = {i["part_number"]: i for i in r.json()["items"]}
    assert (items["C-1"]["suggested_max"], items["C-1"]["review_demand"], items["C-1"]["current_max"]) == ("4.00", "1.00", "4.00")
