"""Formatting of cockpit figures: units, changes against the previous period, red/amber/green labels."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def kpi(value: Decimal | None, k: Any) -> str:
    if value is None:
        return "—"
    unit = getattr(k, "unit", "")
    if unit == "%":
        return f"{value}%"
    if unit == "min":
        return _("%(n)s min") % {"n": value}
    if unit == "CNY/h":
        return _("¥%(n)s/h") % {"n": value}
    if unit == "h":
        return _("%(n)s h") % {"n": value}
    if unit == "x":
        return f"{value}×"
    return str(value)


@register.filter
def delta(value: Decimal | None, previous: Decimal | None) -> str:
    if value is None or previous is None:
        return ""
    diff = value - previous
    if diff == 0:
        return "±0"
    return f"+{diff}" if diff > 0 else f"−{-diff}"


@register.filter
def rag_label(value: str) -> str:
    return {"green": _("on target"), "amber": _("close to target"), "red": _("off target")}.get(value, "")


@register.filter
def rag_chip(value: str) -> str:
    return {"green": "ok", "amber": "warn", "red": "bad"}.get(value, "muted")


@register.filter
def add_days(value: dt.date, days: int) -> dt.date:
    return value + dt.timedelta(days=int(days))


@register.filter
def unit_label(unit: str) -> str:
    return {"%": "%", "min": _("minutes"), "CNY/h": _("CNY per hour"), "h": _("hours"), "x": _("times a year")}.get(unit, unit)


@register.filter
def pct(weight: Decimal) -> str:
    return f"{(weight * 100).quantize(Decimal('1'))}%"


@register.filter
def day_kind_label(kind: str) -> str:
    """The national calendar's kind of a forecast day, in words."""
    return {"holiday": _("public holiday"), "makeup": _("make-up working day"), "weekend": _("weekend"),
            "workday": "", "unknown": _("calendar not yet published")}.get(kind, "")


@register.filter
def method_label(method: str) -> str:
    return {"ets": _("Holt-Winters (exponential smoothing)"), "naive": _("Seasonal naive (same weekday last week)")}.get(method, method)


@register.filter
def one_decimal(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


@register.filter
def method_short(method: str) -> str:
    return {"ets": _("Holt-Winters"), "naive": _("Seasonal naive")}.get(method, method)
