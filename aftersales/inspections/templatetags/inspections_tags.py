"""Template helpers for the inspection and QC screens (and the order page's section)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag(takes_context=True)
def item_error(context: template.Context) -> Any:
    """The error to show on the item being rendered (after a refused save), else None."""
    item = context.get("item")
    if item is None:
        return None
    if context.get("error_item_id") == item.pk:
        return context.get("error")
    return None


@register.simple_tag
def localized(obj: Any, attr: str, language: str) -> str:
    return str(getattr(obj, f"{attr}_in")(language))


@register.simple_tag
def localized_checklist(obj: Any, language: str) -> str:
    return str(obj.checklist_name_in(language))


@register.simple_tag
def limits_text(item: Any) -> str:
    """E.g. "red < 1.6 mm · yellow < 3 mm" (the colours a measurement gets)."""
    unit = f" {item.unit}" if item.unit else ""
    parts = []

    def fmt(value: Any) -> str:
        return f"{value.normalize():f}"

    if item.red_below is not None:
        parts.append(_("red < %(v)s") % {"v": fmt(item.red_below) + unit})
    if item.yellow_below is not None:
        parts.append(_("yellow < %(v)s") % {"v": fmt(item.yellow_below) + unit})
    if item.yellow_above is not None:
        parts.append(_("yellow > %(v)s") % {"v": fmt(item.yellow_above) + unit})
    if item.red_above is not None:
        parts.append(_("red > %(v)s") % {"v": fmt(item.red_above) + unit})
    return " · ".join(parts)


@register.filter
def getattr_(obj: Any, name: str) -> Any:
    return getattr(obj, name, "")


register.filter("getattr", getattr_)


@register.filter
def getitem(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.simple_tag
def order_inspection_summary(order: Any) -> dict[str, Any]:
    """For the order page: the order's inspection (not cancelled) with its colour counts, and its QC state."""
    from aftersales.inspections.choices import InspectionStatus
    from aftersales.inspections.selectors import qc_state

    inspection = (
        order.inspections.exclude(status=InspectionStatus.CANCELLED).select_related("technician").first()
        if order.pk else None
    )
    counts = {"green": 0, "yellow": 0, "red": 0, "unrated": 0}
    if inspection is not None:
        for rating in inspection.items.values_list("rating", flat=True):
            counts[rating or "unrated"] += 1
    return {"inspection": inspection, "counts": counts, "qc": qc_state(order) if order.pk else None}
