"""``{% declined_recommendations customer %}``: the customer's declined recommendations, for the reception
screen and the customer 360 page (a fixed number of queries; nothing shown when there are none)."""

from __future__ import annotations

from typing import Any

from django import template

from aftersales.estimates.selectors import declined_for_customer

register = template.Library()


@register.inclusion_tag("estimates/_declined_card.html", takes_context=True)
def declined_recommendations(context: Any, customer: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    blocks = declined_for_customer(user=user, customer=customer) if user is not None else []
    return {"blocks": blocks, "perms": context.get("perms"), "csrf_token": context.get("csrf_token"), "request": request}
