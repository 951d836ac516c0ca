"""The customer 360 page's feedback section: ``{% load feedback_tags %}{% customer_feedback customer %}``."""

from __future__ import annotations

from typing import Any

from django import template

from ..choices import QUESTIONS

register = template.Library()


@register.inclusion_tag("feedback/_customer_section.html", takes_context=True)
def customer_feedback(context: Any, customer: Any) -> dict[str, Any]:
    from ..selectors import customer_feedback as read

    request = context.get("request")
    user = getattr(request, "user", None)
    fb: dict[str, Any] = {"followups": [], "cases": []}
    if user is not None and user.is_authenticated:
        fb = read(user=user, customer=customer)
        for f in fb["followups"]:
            f.score_rows = [(str(label), getattr(f, f"score_{code}")) for code, label, _c in QUESTIONS]
    return {"fb": fb, "perms": context.get("perms")}


@register.filter
def question_label(code: str) -> Any:
    """A survey question by its name on the report ("服务态度"), never its code ("attitude")."""
    return {key: label for key, label, _category in QUESTIONS}.get(code, code)
