"""The authentication backend: Django's ModelBackend, with a user's permissions (their own and their roles') read
in one query instead of two, and kept in the shared cache (``common.authcache``, version-stamped); every API request checks permissions, so this is one round trip less per request.

A demo account signing in with the published demo password from another machine is refused (issue 13, item 2):
the request is marked so that the sign-in page can say why."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from aftersales.common import authcache
from aftersales.common.demo_login import REFUSED_ATTR, demo_login_allowed


class StaffBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and not demo_login_allowed(request, user, password):
            if request is not None:
                setattr(request, REFUSED_ATTR, True)
            raise PermissionDenied  # authenticate() stops here and returns None (no other backend tried)
        return user

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            cached = authcache.get_for_user(user_obj, "perms")
            if cached is not None:
                user_obj._perm_cache = cached
                return cached
            if user_obj.is_superuser:
                perms = Permission.objects.all()
            else:
                perms = Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
            user_obj._perm_cache = {
                f"{app}.{codename}"
                for app, codename in perms.values_list("content_type__app_label", "codename").distinct()
            }
            authcache.set_for_user(user_obj, "perms", user_obj._perm_cache)
        return user_obj._perm_cache
