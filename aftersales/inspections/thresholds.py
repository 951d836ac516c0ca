"""Colouring a measurement from its thresholds (e.g. tyre tread mm: red below 1.6, yellow below 3)."""

from __future__ import annotations

import itertools
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from aftersales.common.errors import ValidationFailed

from .choices import Rating

LIMIT_FIELDS = ("red_below", "yellow_below", "yellow_above", "red_above")
MAX_VALUE = Decimal("99999999.99")


def colour(value: Decimal, limits: dict[str, Decimal | None]) -> str:
    """Red outside the red limits, yellow outside the yellow ones, green otherwise. A value equal to a limit is on
    the better side (tread exactly 1.6 mm is yellow, not red; exactly 3 mm is green)."""
    red_below, red_above = limits.get("red_below"), limits.get("red_above")
    yellow_below, yellow_above = limits.get("yellow_below"), limits.get("yellow_above")
    if (red_below is not None and value < red_below) or (red_above is not None and value > red_above):
        return Rating.RED
    if (yellow_below is not None and value < yellow_below) or (yellow_above is not None and value > yellow_above):
        return Rating.YELLOW
    return Rating.GREEN


def parse_decimal(raw: Any, field: str) -> Decimal | None:
    """A measurement or limit: empty → None; otherwise a finite number with at most two decimals."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("number_format", _("Enter a number such as 1.6 or 12.4."), field) from exc
    if not value.is_finite() or abs(value) > MAX_VALUE:
        raise ValidationFailed("number_format", _("Enter a number such as 1.6 or 12.4."), field)
    if value != value.quantize(Decimal("0.01")):
        raise ValidationFailed("number_precision", _("Use at most two decimals."), field)
    return value


def check_limits(limits: dict[str, Decimal | None], where: str) -> None:
    """The limits must be in order: red below ≤ yellow below < yellow above ≤ red above."""
    ordered = [(name, limits.get(name)) for name in LIMIT_FIELDS]
    given = [(name, v) for name, v in ordered if v is not None]
    for (a, va), (b, vb) in itertools.pairwise(given):
        bad = vb < va if (a, b) in (("red_below", "yellow_below"), ("yellow_above", "red_above")) else vb <= va
        if bad:
            raise ValidationFailed(
                "thresholds_order",
                _("The limits must rise in this order: red below ≤ yellow below < yellow above ≤ red above."),
                f"{where}.{b}",
            )
