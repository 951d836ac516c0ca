from decimal import Decimal

import pytest

from aftersales.common.errors import ValidationFailed
from aftersales.parts.models import Part, StockItem
from aftersales.parts.services import reserve, stock_adjust, stock_receive


@pytest.fixture
def oil(world):
    return Part.objects.create(group=world.group, number="OIL-0W20", name_zh="全合成机油 0W-20", unit="litre", cost_price="60")


def test_receive_reserve_adjust(world, oil):
    clerk = world.staff["parts_clerk"]
    stock_receive(actor=clerk, store=world.a, part=oil, quantity="10", unit_cost="60.00")
    stock_receive(actor=clerk, store=world.a, part=oil, quantity="10", unit_cost="70.00")
    item = StockItem.objects.get(store=world.a, part=oil)
    assert item.on_hand == 20 and item.avg_cost == Decimal("65.0000")
    reserve(actor=clerk, store=world.a, part=oil, quantity="15", source="appointment", reference="appointment:1")
    with pytest.raises(ValidationFailed) as exc:
        reserve(actor=clerk, store=world.a, part=oil, quantity="6", source="appointment", reference="appointment:2")
    assert exc.value.code == "insufficient_available"
    result = stock_adjust(actor=clerk, store=world.a, part=oil, quantity="-10", reason="spilt")
    assert result.__class__.__name__ == "AdjustmentRequest"  # 650 CNY > 500: needs approval
