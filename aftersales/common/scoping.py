"""Every query is scoped to what the acting user may see (ARCHITECTURE habit 3).

Staff see the stores they belong to; a role holding ``stores.view_all_stores`` (group admin) sees every store
of its dealer group. Selectors start from these helpers; detail lookups outside the scope are 404s.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from .errors import NotFound


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
    from aftersales.stores.models import Store

    from . import authcache

    cached = authcache.get_for_user(user, "stores")
    if cached is not None:
        user._visible_store_ids = cached
        return cached

    if user.is_superuser:
        ids = list(Store.objects.values_list("id", flat=True))
    elif spans_group(user):
        ids = list(Store.objects.filter(group_id=user.dealer_group_id).values_list("id", flat=True))
    else:
        ids = list(user.memberships.values_list("store_id", flat=True))
    user._visible_store_ids = ids
    authcache.set_for_user(user, "stores", ids)
    return ids


def restrict_to_stores(qs: QuerySet, user: Any, field: str = "store_id") -> QuerySet:
    return qs.filter(**{f"{field}__in": visible_store_ids(user)})


def restrict_customers(qs: QuerySet, user: Any, customer_field: str = "") -> QuerySet:
    """Customers (or rows hanging off a customer) known at one of the user's stores."""
    from aftersales.customers.models import CustomerStore

    prefix = f"{customer_field}__" if customer_field else ""
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_superuser:
        return qs
    qs = qs.filter(**{f"{prefix}group_id": user.dealer_group_id})
    if spans_group(user):
        return qs
    outer = f"{customer_field}_id" if customer_field else "pk"
    link = CustomerStore.objects.filter(customer_id=OuterRef(outer), store_id__in=visible_store_ids(user))
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
    from aftersales.stores.models import Store

    if store_id is not None:
        return get_or_404(Store.objects.filter(pk__in=visible_store_ids(user)), pk=store_id)
    membership = user.memberships.select_related("store").order_by("-is_primary", "id").first()
    if membership is not None:
        return membership.store
    return get_or_404(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("id"))
