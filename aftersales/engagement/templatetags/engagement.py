"""``{% load engagement %}{% tier_panel customer %}``: tier, R/F/M and why on the customer 360 page."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("engagement/_tier_panel.html", takes_context=True)
def tier_panel(context: Any, customer: Any) -> dict[str, Any]:
    from ..choices import AutoTag, Tier
    from ..models import ImportedVisit
    from ..selectors import customer_tier_summary, suggested_advisor

    request = context.get("request")
    user = getattr(request, "user", None)
    summary = customer_tier_summary(customer)
    can_assign = bool(user and user.has_perm("engagement.change_dedicatedadvisor"))
    advisors: list[Any] = []
    if can_assign and summary["tier"] == Tier.A:
        from aftersales.staff.roles import Role
        from aftersales.staff.selectors import staff_with_role

        advisors = list(staff_with_role(user, Role.SERVICE_ADVISOR))
    auto = [t.name for t in customer.tags.all() if t.name in AutoTag.values]  # prefetched by the 360 selector
    return {
        "t": summary, "customer": customer, "csrf_token": context.get("csrf_token"), "can_assign": can_assign,
        "advisors": advisors,
        "suggested": suggested_advisor(customer) if summary["tier"] == Tier.A and not summary["dedicated_advisor"] else None,
        "imported": ImportedVisit.objects.filter(customer=customer).count(),
        "auto_tags": [AutoTag(n).label for n in auto],
    }
