"""The workshop floor's sections for other pages (the order page, delivery):

    {% load workshop_floor %}
    {% floor_jobs order %}       jobs with technician, bay, state, clocked vs standard hours, promised time and risk
    {% floor_parts order %}      parts fitted (batch, origin, production date, warranty) and the old-part ticks
    {% floor_old_parts order %}  the old parts to hand back at delivery
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from .. import floor_selectors as sel

register = template.Library()


def _base(context: Any, order: Any) -> dict[str, Any]:
    return {"order": order, "request": context.get("request"), "perms": context.get("perms"),
            "csrf_token": context.get("csrf_token"), "user": context.get("user")}


@register.inclusion_tag("workshop/_dispatch_section.html", takes_context=True)
def floor_jobs(context: Any, order: Any) -> dict[str, Any]:
    rows, risk, reason = sel.order_floor(context["request"].user, order)
    promised = timezone.localtime(order.promised_at, order.store.zone) if order.promised_at else None
    return {**_base(context, order), "rows": rows, "risk": risk, "risk_reason": reason, "promised": promised}


@register.inclusion_tag("workshop/_parts_section.html", takes_context=True)
def floor_parts(context: Any, order: Any) -> dict[str, Any]:
    user = context["request"].user
    return {**_base(context, order), "fitted": sel.parts_fitted(user, order), "lines": sel.part_lines(user, order)}


@register.inclusion_tag("workshop/_old_parts_section.html", takes_context=True)
def floor_old_parts(context: Any, order: Any) -> dict[str, Any]:
    return {**_base(context, order), "kept": sel.old_parts_kept(context["request"].user, order)}
