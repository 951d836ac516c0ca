"""Template filters shared by the staff screens."""

from __future__ import annotations

from typing import Any

from django import template

from aftersales.common.validators import display_mobile, mask_mobile

register = template.Library()


@register.filter
def phone_for(e164: str, user: Any) -> str:
    """The number as this user may see it: in full with customers.view_full_mobile, else 138****1234."""
    if user is not None and user.has_perm("customers.view_full_mobile"):
        return display_mobile(e164 or "")
    return mask_mobile(e164 or "")
