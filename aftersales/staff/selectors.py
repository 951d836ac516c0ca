from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from aftersales.common.scoping import get_or_404, visible_store_ids

from .models import ApiToken, StoreMembership, User


def staff_visible_to(user: Any) -> QuerySet[User]:
    """Staff who work at one of the user's stores."""
    works_here = StoreMembership.objects.filter(user_id=OuterRef("pk"), store_id__in=visible_store_ids(user))
    return User.objects.filter(Exists(works_here), is_active=True).prefetch_related("groups", "memberships")


def staff_get(user: Any, staff_id: int) -> User:
    return get_or_404(staff_visible_to(user), pk=staff_id)


def staff_with_role(user: Any, role: str, store_id: int | None = None) -> QuerySet[User]:
    qs = staff_visible_to(user).filter(groups__name=role)
    if store_id:
        qs = qs.filter(memberships__store_id=store_id)
    return qs.distinct().order_by("display_name", "username")


def tokens_visible_to(user: Any) -> QuerySet[ApiToken]:
    """Own tokens; a token manager also sees the tokens of staff at their stores."""
    if user.has_perm("staff.manage_api_tokens"):
        return ApiToken.objects.filter(user__in=staff_visible_to(user).values("pk")).select_related("user")
    return ApiToken.objects.filter(user=user).select_related("user")


def token_get(user: Any, token_id: int) -> ApiToken:
    return get_or_404(tokens_visible_to(user), pk=token_id)
