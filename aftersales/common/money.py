"""Money is Decimal with two places, CNY. Totals are computed here and nowhere else."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from .errors import ValidationFailed

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DEFAULT_VAT_RATE = Decimal("0.13")  # prices are shown tax-inclusive, as Chinese customers expect


def q(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(value: Any, field: str, *, allow_negative: bool = False) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("money_format", _("Enter an amount such as 123.45."), field) from exc
    if not amount.is_finite():
        raise ValidationFailed("money_format", _("Enter an amount such as 123.45."), field)
    # size first: quantizing 1e30 to the cent overflows Decimal's precision (InvalidOperation, a 500 before)
    if abs(amount) >= Decimal("10000000000"):
        raise ValidationFailed("money_too_large", _("The amount is too large."), field)
    if amount != amount.quantize(CENT):
        raise ValidationFailed("money_precision", _("Amounts have at most two decimal places."), field)
    if amount < 0 and not allow_negative:
        raise ValidationFailed("money_negative", _("The amount cannot be negative."), field)
    return q(amount)


@dataclass(frozen=True)
class LineAmount:
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = ZERO


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    tax: Decimal  # the VAT contained in the tax-inclusive total


def line_gross(line: LineAmount) -> Decimal:
    return q(line.quantity * line.unit_price)


def line_amount(line: LineAmount) -> Decimal:
    """Quantity × price rounded to the cent, less the discount: the same rounding the totals use."""
    return q(line_gross(line) - line.discount)


def totals(lines: Iterable[LineAmount], vat_rate: Decimal = DEFAULT_VAT_RATE) -> Totals:
    subtotal = ZERO
    discount = ZERO
    for line in lines:
        subtotal += line_gross(line)
        discount += q(line.discount)
    total = q(subtotal - discount)
    tax = q(total - total / (1 + vat_rate))
    return Totals(subtotal=q(subtotal), discount=q(discount), total=total, tax=tax)


def insurance_split(total: Decimal, insurer_amount: Decimal | None) -> tuple[Decimal, Decimal]:
    """(what the insurer pays, the customer's share) of ``total``: the insurer's approved amount, never more than the
    total nor less than nothing; the customer pays the rest (the whole without an insurer). Exact to the fen."""
    total = q(total)
    insurer = q(min(max(insurer_amount or Decimal("0"), Decimal("0")), total)) if total > 0 else Decimal("0.00")
    return insurer, q(total - insurer)
