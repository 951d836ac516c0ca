"""Money: Decimal with two places, never float drift; totals computed in one place."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from aftersales.common.errors import ValidationFailed
from aftersales.common.money import CENT, DEFAULT_VAT_RATE, LineAmount, line_amount, parse_money, q, totals

MAX = Decimal("9999999999.99")
amounts = st.decimals(min_value=Decimal("0"), max_value=MAX, places=2, allow_nan=False, allow_infinity=False)
small_amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2)
quantities = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)


def is_cents(value: Decimal) -> bool:
    return value.as_tuple().exponent == -2


@given(amounts)
def test_parse_money_round_trips_strings(amount):
    parsed = parse_money(str(amount), "amount")
    assert parsed == amount
    assert is_cents(parsed)


@given(amounts)
def test_parse_money_from_float_has_no_drift(amount):
    parsed = parse_money(float(amount), "amount")
    assert parsed == amount  # e.g. 0.1 + 0.2 style drift would show here
    assert isinstance(parsed, Decimal) and is_cents(parsed)


def test_parse_money_known_float_values():
    assert parse_money(0.1, "a") == Decimal("0.10")
    assert parse_money(19.99, "a") == Decimal("19.99")
    assert parse_money("1,234.50", "a") == Decimal("1234.50")
    assert parse_money(7, "a") == Decimal("7.00")


def test_float_with_three_places_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        parse_money(1.005, "price")
    assert exc.value.code == "money_precision"
    assert exc.value.field == "price"


@given(st.decimals(min_value=Decimal("-99999"), max_value=Decimal("99999"), places=3))
def test_parse_money_refuses_more_than_two_decimals(amount):
    assume(amount != amount.quantize(CENT))
    with pytest.raises(ValidationFailed) as exc:
        parse_money(str(amount), "unit_price", allow_negative=True)
    assert exc.value.code == "money_precision"
    assert exc.value.field == "unit_price"


@given(st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("-0.01"), places=2))
def test_parse_money_refuses_negative_unless_allowed(amount):
    with pytest.raises(ValidationFailed) as exc:
        parse_money(str(amount), "amount")
    assert exc.value.code == "money_negative"
    assert exc.value.field == "amount"
    assert parse_money(str(amount), "amount", allow_negative=True) == amount


@pytest.mark.parametrize("raw", ["abc", "", "1.2.3", "NaN", "Infinity", float("nan"), float("inf"), None])
def test_parse_money_refuses_non_numbers(raw):
    with pytest.raises(ValidationFailed) as exc:
        parse_money(raw, "amount")
    assert exc.value.code == "money_format"
    assert exc.value.field == "amount"


def test_parse_money_refuses_too_large():
    with pytest.raises(ValidationFailed) as exc:
        parse_money("10000000000", "amount")
    assert exc.value.code == "money_too_large"


@st.composite
def lines(draw):
    quantity = draw(quantities)
    unit_price = draw(small_amounts)
    gross = q(quantity * unit_price)
    discount = draw(st.decimals(min_value=Decimal("0"), max_value=gross, places=2))
    return LineAmount(quantity=quantity, unit_price=unit_price, discount=discount)


@given(st.lists(lines(), max_size=20))
def test_totals_total_is_subtotal_minus_discount(items):
    t = totals(items)
    assert t.total == t.subtotal - t.discount
    assert t.subtotal == sum((q(i.quantity * i.unit_price) for i in items), Decimal("0.00"))
    assert t.discount == sum((i.discount for i in items), Decimal("0.00"))
    assert t.total == sum((line_amount(i) for i in items), Decimal("0.00"))
    for value in (t.subtotal, t.discount, t.total, t.tax):
        assert is_cents(value)


@given(st.lists(lines(), min_size=1, max_size=20))
def test_totals_tax_is_included_at_13_percent(items):
    t = totals(items)
    assert Decimal("0.13") == DEFAULT_VAT_RATE
    net = t.total - t.tax
    # The tax is the VAT contained in the tax-inclusive total: net × 1.13 ≈ total, to the cent.
    assert abs(net * Decimal("1.13") - t.total) <= CENT
    assert abs(t.tax - t.total * Decimal("0.13") / Decimal("1.13")) <= Decimal("0.005")
    assert Decimal("0") <= t.tax <= t.total


def test_totals_known_example():
    t = totals(
        [
            LineAmount(quantity=Decimal("2"), unit_price=Decimal("150.00"), discount=Decimal("10.00")),
            LineAmount(quantity=Decimal("1"), unit_price=Decimal("113.00")),
        ]
    )
    assert (t.subtotal, t.discount, t.total, t.tax) == (
        Decimal("413.00"), Decimal("10.00"), Decimal("403.00"), Decimal("46.36"),
    )
    assert totals([LineAmount(quantity=Decimal("1"), unit_price=Decimal("113.00"))]).tax == Decimal("13.00")


def test_line_amount_rounds_half_up():
    assert line_amount(LineAmount(quantity=Decimal("1.5"), unit_price=Decimal("99.99"))) == Decimal("149.99")
    assert line_amount(LineAmount(quantity=Decimal("0.5"), unit_price=Decimal("0.01"))) == Decimal("0.01")


def test_empty_totals_are_zero():
    t = totals([])
    assert (t.subtotal, t.discount, t.total, t.tax) == (Decimal("0.00"),) * 4
