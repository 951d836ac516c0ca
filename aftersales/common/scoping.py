"""Every query is scoped to what the acting user may see (ARCHITECTURE habit 3).

Staff see the stores they belong to; a role holding ``stores.view_all_stores`` (group admin) sees every store
of its dealer group. Selectors start from these helpers; detail lookups outside the scope are 404s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from .errors import NotFound

#: The rows scoping reads, provided at start by the apps that own them (issue 19: common imports no app above it):
#: the stores (``StoresConfig.ready``: all of them, unfiltered) and the customer-store links (``CustomersConfig.ready``).
_ROWS: dict[str, Callable[[], QuerySet]] = {}


def provide_stores(rows: Callable[[], QuerySet]) -> None:
    """``rows()`` → every store (``Store.objects.all()``)."""
    _ROWS["stores"] = rows


def provide_customer_store_links(rows: Callable[[], QuerySet]) -> None:
    """``rows()`` → every link between a customer and a store (``CustomerStore.objects.all()``)."""
    _ROWS["customer_stores"] = rows


def _rows(kind: str) -> QuerySet:
    if kind not in _ROWS:
        raise RuntimeError(f"scoping: no {kind} provided (the owning app provides them in its AppConfig.ready())")
    return _ROWS[kind]()


def spans_group(user: Any) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.has_perm("stores.view_all_stores")))


def visible_store_ids(user: Any) -> list[int]:
    """Ids of the stores this user may see (on the user object for the request; in the shared cache between
    requests, version-stamped: see ``authcache``)."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_visible_store_ids", None)
    if cached is not None:
        return cached
    from . import authcache

    cached = authcache.get_for_user(user, "stores")
    if cached is not None:
        user._visible_store_ids = cached
        return cached

    if user.is_superuser:
        ids = list(_rows("stores").values_list("id", flat=True))
    elif spans_group(user):
        ids = list(_rows("stores").filter(group_id=user.dealer_group_id).values_list("id", flat=True))
    else:
        ids = list(user.memberships.values_list("store_id", flat=True))
    user._visible_store_ids = ids
    authcache.set_for_user(user, "stores", ids)
    return ids


def restrict_to_stores(qs: QuerySet, user: Any, field: str = "store_id") -> QuerySet:
    return qs.filter(**{f"{field}__in": visible_store_ids(user)})


def restrict_customers(qs: QuerySet, user: Any, customer_field: str = "") -> QuerySet:
    """Customers (or rows hanging off a customer) known at one of the user's stores."""
    prefix = f"{customer_field}__" if customer_field else ""
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_superuser:
        return qs
    qs = qs.filter(**{f"{prefix}group_id": user.dealer_group_id})
    if spans_group(user):
        return qs
    outer = f"{customer_field}_id" if customer_field else "pk"
    link = _rows("customer_stores").filter(customer_id=OuterRef(outer), store_id__in=visible_store_ids(user))
    return qs.filter(Exists(link))


def get_or_404(qs: QuerySet, **lookup: Any) -> Any:
    obj = qs.filter(**lookup).first()
    if obj is None:
        raise NotFound("not_found", _("Not found, or not visible to you."), None)
    return obj


def get_locked_or_404(qs: QuerySet, **lookup: Any) -> Any:
    """:func:`get_or_404` with the row locked (``SELECT … FOR UPDATE OF`` the row itself, never a joined one) and held
    for the rest of the service transaction (common/db.py ``hold``): the request's scoped read is its lock, and the
    service it is handed to neither locks nor reads it again (issue 19). Call inside ``service_atomic()``."""
    from .db import hold

    return hold(get_or_404(qs.select_for_update(of=("self",)), **lookup))


def default_store(user: Any, store_id: int | None = None) -> Any:
    """The store an action happens at: the one asked for (if visible), else the user's primary store."""
    if store_id is not None:
        return get_or_404(_rows("stores").filter(pk__in=visible_store_ids(user)), pk=store_id)
    membership = user.memberships.select_related("store").order_by("-is_primary", "id").first()
    if membership is not None:
        return membership.store
    return get_or_404(_rows("stores").filter(pk__in=visible_store_ids(user)).order_by("id"))
