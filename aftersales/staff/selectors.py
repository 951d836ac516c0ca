from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

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
    """Own tokens; a token manager also sees the tokens of the staff they may act for (``staff_actable_by``)."""
    if user.has_perm("staff.manage_api_tokens"):
        return ApiToken.objects.filter(user__in=staff_actable_by(user).values("pk")).select_related("user")
    return ApiToken.objects.filter(user=user).select_related("user")


def token_get(user: Any, token_id: int) -> ApiToken:
    return get_or_404(tokens_visible_to(user), pk=token_id)


def _permission_ids(user: Any) -> list[int]:
    """Ids of every permission ``user`` holds (directly or through a role)."""
    from django.contrib.auth.models import Permission

    if user.is_superuser:
        return list(Permission.objects.values_list("pk", flat=True))
    direct = Permission.objects.filter(user=user)
    via_role = Permission.objects.filter(group__user=user)
    return list((direct | via_role).values_list("pk", flat=True).distinct())


def staff_actable_by(actor: Any) -> QuerySet[User]:
    """Staff the actor may act for (issue, see and revoke their API tokens; change them in the admin).

    The rule: the actor themself, or a colleague who holds nothing the actor lacks: no permission (by role or
    directly), no store and no dealer group beyond the actor's, no admin-site access the actor lacks, and never a
    superuser (a superuser's tokens are theirs alone).
    """
    from django.contrib.auth.models import Permission

    if not getattr(actor, "is_authenticated", False):
        return User.objects.none()
    allowed = _permission_ids(actor)
    stores = visible_store_ids(actor)
    extra_perm = Permission.objects.filter(user=OuterRef("pk")).exclude(pk__in=allowed)
    extra_role_perm = Permission.objects.filter(group__user=OuterRef("pk")).exclude(pk__in=allowed)
    extra_store = StoreMembership.objects.filter(user_id=OuterRef("pk")).exclude(store_id__in=stores)
    others = staff_visible_to(actor).filter(is_superuser=False).exclude(
        Exists(extra_perm) | Exists(extra_role_perm) | Exists(extra_store)
    )
    if not actor.is_superuser:
        others = others.filter(dealer_group_id=actor.dealer_group_id)
    if not actor.is_staff:
        others = others.filter(is_staff=False)
    return User.objects.filter(Exists(others.filter(pk=OuterRef("pk"))) | Q(pk=actor.pk), is_active=True).prefetch_related(
        "groups", "memberships"
    )


# ---- certifications (SPEC §20): what the workshop's dispatch checks -------------------------------------------------
def certified_user_ids(kind: str, user_ids: list[int], day: Any) -> set[int]:
    """Of ``user_ids``, those holding a certificate of ``kind`` valid on ``day`` (the store's local date), in one
    query. Not scoped: the caller (dispatch) has already scoped the technicians to the job's store."""
    from .models import Certification

    if not kind or not user_ids:
        return set()
    return set(
        Certification.objects.filter(
            user_id__in=user_ids, kind=kind, withdrawn_at__isnull=True, valid_from__lte=day, valid_until__gte=day
        ).values_list("user_id", flat=True)
    )
