"""The auth context cached in the shared cache: token → user, user → permissions, user → visible store ids.

Every API call used to read the bearer token, the caller's permissions (a DISTINCT join) and their store memberships
from the database: the same three queries on every call (issue 19). They are kept in ``caches["default"]`` (the cache
every process shares: Redis in a multi-machine deployment, a file cache on one machine, memory under pytest) under
keys carrying a **version stamp**. Anything that changes who may do what bumps the stamp, and every cached entry is
then unreachable at once; the next request reads the database again.

Who bumps:
- explicitly, the services that change access: ``staff.services.token_revoke`` / ``token_create``, ``first_install``,
  ``staff.roles.sync_roles`` (``bump()`` runs now and again after the transaction commits, so that a request reading
  the old rows between the two cannot keep them cached);
- as the safe fallback for everything else (the admin site, the demo loader, a shell, tests), model signals on the
  rows the context is made from: users (active, superuser, dealer group), their role groups and own permissions, a
  role's permissions, store memberships, stores (a group admin sees every store of the group) and tokens; see
  ``connect_fallback()``. A bulk ``QuerySet.update()`` sends no signal: code changing access that way must call
  ``bump()`` itself (nothing in the product does);
- and a time limit (``TTL``) on every entry, so that even a change made behind Django's back (raw SQL in the
  database) is picked up within minutes.

A cache that is down or emptied only costs the queries again; nothing is ever decided from a stale entry after a bump.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.cache import caches
from django.db import transaction

TTL = 300  # seconds: the longest a change made behind Django's back (no signal, no bump) stays unseen
_GEN_KEY = "auth:gen"


def _cache() -> Any:
    return caches["default"]


def generation() -> int:
    """The current version stamp (created on first use)."""
    cache = _cache()
    gen = cache.get(_GEN_KEY)
    if gen is None:
        cache.add(_GEN_KEY, 1, timeout=None)
        gen = cache.get(_GEN_KEY) or 1
    return int(gen)


def _bump_now() -> None:
    cache = _cache()
    try:
        cache.incr(_GEN_KEY)
    except ValueError:  # never set (or evicted): any new value orphans the old entries
        import time

        cache.set(_GEN_KEY, int(time.time() * 1000), timeout=None)


def bump() -> None:
    """Forget every cached auth context: now, and again when the surrounding transaction commits."""
    _bump_now()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_bump_now)


def _gen_for(user: Any) -> int:
    # Read the stamp once per request: the user object lives for one request.
    gen = getattr(user, "_auth_gen", None)
    if gen is None:
        gen = generation()
        with contextlib.suppress(AttributeError):  # e.g. AnonymousUser
            user._auth_gen = gen
    return gen


def get_for_user(user: Any, what: str) -> Any:
    if getattr(user, "pk", None) is None:
        return None
    return _cache().get(f"auth:{what}:{user.pk}:{_gen_for(user)}")


def set_for_user(user: Any, what: str, value: Any) -> None:
    if getattr(user, "pk", None) is None:
        return
    _cache().set(f"auth:{what}:{user.pk}:{_gen_for(user)}", value, timeout=TTL)


def get_token(key_hash: str) -> tuple[Any, int]:
    gen = generation()
    entry = _cache().get(f"auth:token:{key_hash}:{gen}")
    return (entry, gen) if entry is not None else (None, gen)


def set_token(key_hash: str, gen: int, entry: Any) -> None:
    _cache().set(f"auth:token:{key_hash}:{gen}", entry, timeout=TTL)


# ---- the fallback: a bump on any save/delete of the rows the context is made from ----------------------------------
def _on_change(**_kwargs: Any) -> None:
    bump()


def _on_m2m(action: str = "", **_kwargs: Any) -> None:
    if action.startswith("post_"):
        bump()


def connect_fallback(*, user_model: Any, group_model: Any, models: tuple[Any, ...]) -> None:
    """Called from the staff app's ready() with the models that make up an auth context (common imports no app)."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    for model in (user_model, group_model, *models):
        uid = f"aftersales.authcache.{model._meta.label_lower}"
        post_save.connect(_on_change, sender=model, dispatch_uid=f"{uid}.save", weak=False)
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"{uid}.delete", weak=False)
    for through in (user_model.groups.through, user_model.user_permissions.through, group_model.permissions.through):
        m2m_changed.connect(_on_m2m, sender=through, dispatch_uid=f"aftersales.authcache.m2m.{through._meta.label_lower}",
                            weak=False)
