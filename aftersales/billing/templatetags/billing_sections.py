"""Billing's section for other pages (the order page):

    {% load billing_sections %}
    {% billing_section order %}   invoice and payment (issue, balance, credit), delivery checklist, documents (PDF)
"""

from __future__ import annotations

from typing import Any

from django import template

from ..documents import LANGUAGES, documents_for
from ..forms import CreditForm, DeliveryForm
from ..selectors import order_billing

register = template.Library()


@register.inclusion_tag("billing/_order_section.html", takes_context=True)
def billing_section(context: Any, order: Any) -> dict[str, Any]:
    return {
        "order": order, "billing": order_billing(context["request"].user, order), "request": context.get("request"),
        "perms": context.get("perms"), "csrf_token": context.get("csrf_token"), "user": context.get("user"),
        "credit_form": CreditForm(), "delivery_form": DeliveryForm(), "documents": documents_for(context["request"].user),
        "languages": LANGUAGES,
    }
