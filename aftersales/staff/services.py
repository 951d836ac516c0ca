from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import Forbidden, NotFound, ValidationFailed
from aftersales.common.permissions import require

from .models import ApiToken, Language, User, hash_token


def token_create(*, actor: Any, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the token and its key, which is never shown again."""
    require(actor, "staff.manage_api_tokens")
    from .selectors import staff_actable_by, staff_visible_to

    if user.pk != actor.pk and not staff_visible_to(actor).filter(pk=user.pk).exists():
        raise ValidationFailed("user_unknown", _("Unknown staff member."), "user")
    if not staff_actable_by(actor).filter(pk=user.pk).exists():
        # A token acts as its owner: nobody may mint one for someone who can do more than they can.
        raise Forbidden(
            "owner_not_allowed",
            _("You cannot create a token for a colleague who has permissions or stores that you do not have."),
            "user",
        )
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationFailed("name_required", _("Name is required."), "name")
    key = ApiToken.generate_key()
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name[:100], prefix=key[:8], key_hash=hash_token(key), created_by=actor)
        audit.record(actor=actor, obj=token, action="api_token.created", changes={"user": [None, user.pk]})
    return token, key


def token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk:
        require(actor, "staff.manage_api_tokens")
        from .selectors import tokens_visible_to

        if not tokens_visible_to(actor).filter(pk=token.pk).exists():  # another store's staff
            raise NotFound("not_found", _("Not found, or not visible to you."), None)
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(actor=actor, obj=token, action="api_token.revoked")
    return token


def token_authenticate(key: str) -> User | None:
    if not key:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def user_set_language(*, user: User, language: str) -> User:
    if language not in Language.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": language}, "language")
    user.language = language
    user.save(update_fields=["language"])
    return user
