"""The customer 360 page's connected-car section: ``{% load telematics_tags %}{% customer_alerts customer %}``."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("telematics/_customer_section.html", takes_context=True)
def customer_alerts(context: Any, customer: Any) -> dict[str, Any]:
    from ..selectors import customer_alerts as read
    from ..views import alert_text

    request = context.get("request")
    user = getattr(request, "user", None)
    alerts = read(user, customer) if user is not None and user.is_authenticated else []
    for alert in alerts:
        alert.text = alert_text(alert)
    return {"alerts": alerts, "perms": context.get("perms")}
