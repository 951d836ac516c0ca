"""Damage assessment's section for the order page:

    {% load assessment_sections %}
    {% assessment_section order %}   the assessment the order came from: insurer's part, the owner's share and their
                                     decision (approved / declined, when, by whom), the report
"""

from __future__ import annotations

from typing import Any

from django import template

from ..selectors import assessment_of_order

register = template.Library()


@register.inclusion_tag("assessments/_order_section.html", takes_context=True)
def assessment_section(context: Any, order: Any) -> dict[str, Any]:
    user = context["request"].user
    return {"order": order, "a": assessment_of_order(user, order), "perms": context.get("perms")}


@register.inclusion_tag("assessments/_owner_card.html")
def owner_assessment_card(customer: Any, vehicle: Any = None, rescue_case: Any = None) -> dict[str, Any]:
    """The owner app's card (car page, rescue case page): the owner's assessments with their signed links."""
    from ..selectors import owner_assessments

    return {"rows": owner_assessments(customer, vehicle=vehicle, rescue_case=rescue_case)}
