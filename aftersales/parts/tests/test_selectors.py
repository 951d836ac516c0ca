from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales.common.errors import NotFound
from aftersales.common.tests.factories import DealerGroupFactory, StoreFactory, make_staff
from aftersales.parts import selectors
from aftersales.parts.models import StockItem
from aftersales.parts.services import reserve

from .partsui_helpers import make_part, stocked


@pytest.fixture
def catalogue_parts(world):
    filt = make_part(world, "04152-YZZA1", oem_number="04152-31090", name_zh="机油滤清器", name_en="Oil Filter",
                     aliases=[{"number": "W712/75", "brand": "MANN"}, {"number": "0986AF0134", "brand": "Bosch"}])
    pads = make_part(world, "BP-2231", name_zh="前刹车片", name_en="Front brake pads", unit="set")
    return filt, pads


@pytest.mark.parametrize(
    ("q", "number"),
    [
        ("04152-yzza1", "04152-YZZA1"),  # part number, any case
        ("yzza", "04152-YZZA1"),  # substring of the number
        ("31090", "04152-YZZA1"),  # OEM number
        ("w712", "04152-YZZA1"),  # interchangeable (aftermarket) number
        ("0986AF", "04152-YZZA1"),
        ("机油", "04152-YZZA1"),  # Chinese, short: prefix
        ("刹车片", "BP-2231"),  # Chinese substring
        ("brake", "BP-2231"),  # English, case-insensitive
        ("OIL FIL", "04152-YZZA1"),
        ("BP", "BP-2231"),  # short: prefix of the number
    ],
)
def test_search_finds(world, catalogue_parts, q, number):
    rows = selectors.part_search(world.staff["parts_clerk"], q)
    assert [r.part.number for r in rows][:1] == [number]


def test_short_query_is_prefix_only(world, catalogue_parts):
    assert selectors.part_search(world.advisor, "P-") == []  # 2 Latin characters: a prefix of the number only
    assert selectors.part_search(world.advisor, "") == []


@pytest.mark.parametrize(("q", "name"), [
    ("刹车", "丰田前刹车片"), ("机油", "丰田原厂全合成机油 0W-20"), ("电池", "瓦尔塔免维护蓄电池"), ("滤芯", "丰田空调滤芯"),
    ("轮胎", "米其林浩悦轮胎 215/55R17"),
])
def test_two_chinese_characters_find_the_word_anywhere_in_the_name(world, q, name):
    """Issue 14: two characters are a word in Chinese, and it sits in the middle of the name (SQLite and PostgreSQL)."""
    make_part(world, "P-1", name_zh=name)
    make_part(world, "OTHER-1", name_zh="雨刮片")
    rows = selectors.part_search(world.staff["parts_clerk"], q)
    assert [r.part.name_zh for r in rows] == [name]


def test_search_is_scoped_to_the_group(world, catalogue_parts):
    other_group = DealerGroupFactory(name="Other Motors")
    stranger = make_staff("parts_clerk", StoreFactory(group=other_group))
    assert selectors.part_search(stranger, "04152") == []
    with pytest.raises(NotFound):
        selectors.part_get(stranger, catalogue_parts[0].pk)


def test_search_rows_carry_stock_at_my_stores(world, catalogue_parts):
    filt, _pads = catalogue_parts
    stocked(world, filt, "10")
    stocked(world, filt, "4", store=world.b)
    reserve(actor=world.manager, store=world.a, part=filt, quantity="3", source="manual", reference="x:1")
    StockItem.objects.filter(store=world.a, part=filt).update(bin_location="A-01-3")
    row = selectors.part_search(world.advisor, "04152")[0]
    assert (row.on_hand, row.reserved, row.available, row.bins) == (Decimal("10"), Decimal("3"), Decimal("7"), "A-01-3")


def _queries(user, q):
    user = type(user).objects.get(pk=user.pk)  # fresh: nothing cached
    with CaptureQueriesContext(connection) as ctx:
        rows = selectors.part_search(user, q)
    return len(ctx.captured_queries), rows


def test_search_query_count_is_fixed(world):
    clerk = world.staff["parts_clerk"]
    for i in range(3):
        p = make_part(world, f"FLT-{i:03d}", aliases=[{"number": f"ALT-{i}", "brand": "Bosch"}])
        stocked(world, p, "2")
    few, rows = _queries(clerk, "FLT")
    assert len(rows) == 3
    for i in range(3, 30):
        p = make_part(world, f"FLT-{i:03d}", aliases=[{"number": f"ALT-{i}", "brand": "Bosch"}])
        stocked(world, p, "2")
        stocked(world, p, "1", store=world.b)
    many, rows = _queries(clerk, "FLT")
    assert len(rows) == 20  # the box shows the best 20
    # 4 index-served id queries, the user's stores (3 with the permission check), parts, stock, aliases
    assert few == many <= 10


def test_stock_lookup_mine_and_elsewhere(world, catalogue_parts):
    filt, _pads = catalogue_parts
    stocked(world, filt, "5", store=world.b)
    stock = selectors.stock_for_part(world.advisor, filt)
    assert [(s.store, s.on_hand) for s in stock.mine] == [(world.a, 0)]
    assert [(s.store, s.available) for s in stock.elsewhere] == [(world.b, Decimal("5"))]
    assert stock.available_here == 0


def test_store_scoped_lookups_are_404_elsewhere(world, catalogue_parts):
    filt, _pads = catalogue_parts
    movement = stocked(world, filt, "5", store=world.b)
    item = StockItem.objects.get(store=world.b, part=filt)
    clerk = world.staff["parts_clerk"]
    for fn, arg in ((selectors.stock_item_get, item.pk), (selectors.movement_get, movement.pk)):
        with pytest.raises(NotFound):
            fn(clerk, arg)
    assert list(selectors.movements_for_item(world.manager_b, item)) == [movement]
    assert list(selectors.movements_for_item(clerk, item)) == []
