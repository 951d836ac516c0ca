from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit, authcache
from aftersales.common.errors import Forbidden, NotFound, ValidationFailed
from aftersales.common.permissions import require

from .models import ApiToken, Language, StoreMembership, User, hash_token


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
            authcache.bump()  # the very next request with this token is refused
    return token


def token_authenticate(key: str) -> User | None:
    """The token's user, or None. The token and its user come from the shared cache when the auth version stamp is
    unchanged (any revoke or change of role, membership or user bumps it: ``common.authcache``)."""
    if not key:
        return None
    key_hash = hash_token(key)
    entry, gen = authcache.get_token(key_hash)
    now = timezone.now()
    fresh = entry is None
    if fresh:
        token = ApiToken.objects.select_related("user").filter(key_hash=key_hash, revoked_at__isnull=True).first()
        if token is None or not token.user.is_active:
            return None
        entry = {"token_id": token.pk, "last_used_at": token.last_used_at, "user": token.user}
    if entry["last_used_at"] is None or (now - entry["last_used_at"]).total_seconds() > 60:
        ApiToken.objects.filter(pk=entry["token_id"]).update(last_used_at=now)
        entry["last_used_at"] = now
        fresh = True
    if fresh:
        authcache.set_token(key_hash, gen, entry)
    user = entry["user"]
    user._auth_gen = gen
    return user


def user_set_language(*, user: User, language: str) -> User:
    if language not in Language.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": language}, "language")
    user.language = language
    user.save(update_fields=["language"])
    return user


# ---- first install: a real dealer group, its first store and its first administrator (issue 13, item 2) ----------
DEFAULT_TIME_ZONE = "Asia/Shanghai"
DEFAULT_HOURS: dict[str, list[tuple[str, str, str]]] = {  # like the demo's stores, without the evening slot
    "weekday": [("08:30", "18:00", "regular")],
    "weekend": [("09:00", "17:00", "weekend")],
}


def first_install_problems(
    *, group_name: str, store_code: str, store_name: str, time_zone: str, admin_username: str, admin_password: str
) -> list[ValidationFailed]:
    """Every bad field at once (an empty list when the set-up can go ahead)."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_slug

    from aftersales.stores.models import DealerGroup, validate_timezone

    problems: list[ValidationFailed] = []

    def bad(field: str, code: str, message: str) -> None:
        problems.append(ValidationFailed(code, message, field))

    if not group_name:
        bad("group", "required", _("Enter the name of the dealer group."))
    elif len(group_name) > 120:
        bad("group", "too_long", _("The dealer group's name can have at most 120 characters."))
    elif DealerGroup.objects.filter(name=group_name).exists():
        bad("group", "already_set_up", _("The dealer group “%(name)s” is already set up; nothing was changed.")
            % {"name": group_name})
    if not store_code:
        bad("store_code", "required", _("Enter a short code for the store (e.g. gz)."))
    else:
        try:
            validate_slug(store_code)
            if len(store_code) > 20:
                raise ValidationError("too long")
        except ValidationError:
            bad("store_code", "invalid", _("The store code can have at most 20 letters, digits, hyphens or "
                                           "underscores (e.g. gz)."))
    if not store_name:
        bad("store_name", "required", _("Enter the store's name."))
    elif len(store_name) > 120:
        bad("store_name", "too_long", _("The store's name can have at most 120 characters."))
    try:
        validate_timezone(time_zone)
        if not time_zone:
            raise ValidationError("empty")
    except ValidationError:
        bad("time_zone", "invalid", _("Unknown time zone “%(tz)s” (e.g. Asia/Shanghai).") % {"tz": time_zone})
    if not admin_username:
        bad("admin_user", "required", _("Enter the administrator's user name."))
    else:
        try:
            User.username_validator(admin_username)
            if len(admin_username) > 150:
                raise ValidationError("too long")
        except ValidationError:
            bad("admin_user", "invalid", _("The user name can have letters, digits and @ . + - _ only."))
        else:
            if User.objects.filter(username=admin_username).exists():
                bad("admin_user", "taken", _("The user name “%(name)s” is already taken.") % {"name": admin_username})
    if not admin_password:
        bad("admin_password", "required", _("Enter a password for the administrator."))
    else:
        from aftersales.common.demo_login import DEMO_PASSWORD

        try:
            if admin_password == DEMO_PASSWORD:
                raise ValidationError(_("This is the demo's published password."))
            validate_password(admin_password, User(username=admin_username))
        except ValidationError as exc:
            bad("admin_password", "weak_password", " ".join(str(m) for m in exc.messages))
    return problems


@transaction.atomic
def first_install(
    *,
    group_name: str,
    store_code: str,
    store_name: str,
    admin_username: str,
    admin_password: str,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> tuple[Any, Any, User]:
    """Create a dealer group, its first store (with opening hours) and its first administrator (group admin,
    superuser), or nothing: raises the first problem with all of them in ``extra["errors"]``."""
    import datetime as dt

    from django.contrib.auth.models import Group

    from aftersales.staff.roles import Role, sync_roles
    from aftersales.stores.models import DealerGroup, OpeningPeriod, Store

    values = {"group_name": group_name.strip(), "store_code": store_code.strip(), "store_name": store_name.strip(),
              "time_zone": time_zone.strip(), "admin_username": admin_username.strip()}
    problems = first_install_problems(**values, admin_password=admin_password)
    if problems:
        first = problems[0]
        raise ValidationFailed(first.code, first.message, first.field,
                               errors=[{"code": p.code, "message": str(p.message), "field": p.field} for p in problems])
    sync_roles()
    group = DealerGroup.objects.create(name=values["group_name"])
    store = Store.objects.create(group=group, code=values["store_code"], name=values["store_name"],
                                 time_zone=values["time_zone"])
    OpeningPeriod.objects.bulk_create(
        OpeningPeriod(store=store, weekday=weekday, opens=dt.time.fromisoformat(opens),
                      closes=dt.time.fromisoformat(closes), kind=kind)
        for weekday in range(7)
        for opens, closes, kind in DEFAULT_HOURS["weekday" if weekday < 5 else "weekend"]
    )
    user = User(username=values["admin_username"], dealer_group=group, is_staff=True, is_superuser=True)
    user.set_password(admin_password)
    user.save()
    user.groups.add(Group.objects.get(name=Role.GROUP_ADMIN))
    StoreMembership.objects.create(user=user, store=store, is_primary=True)
    authcache.bump()
    audit.record(actor=None, obj=group, action="setup.group_created", reason="aftersales setup")
    audit.record(actor=None, obj=store, action="setup.store_created", store_id=store.pk, reason="aftersales setup")
    audit.record(actor=None, obj=user, action="setup.admin_created", reason="aftersales setup")
    return group, store, user
