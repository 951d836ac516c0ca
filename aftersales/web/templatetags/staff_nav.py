from __future__ import annotations

from typing import Any

from django import template

from aftersales.web.nav import NAV_LABEL, menus_for

register = template.Library()


@register.simple_tag(takes_context=True)
def staff_nav(context: Any) -> dict[str, Any]:
    """{"label": the navigation's name, "menus": the areas this user may open}."""
    request = context.get("request")
    user = context.get("user")
    if request is None or user is None or not user.is_authenticated:
        return {"label": NAV_LABEL, "menus": []}
    return {"label": NAV_LABEL, "menus": menus_for(user, request.path)}
