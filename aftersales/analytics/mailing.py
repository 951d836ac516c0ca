"""The reviews mailed on schedule (SPEC §18, issue 18): each manager who subscribes gets, once each review period
has ended, an e-mail through the messaging outbox (kind ``analytics.review``) with two signed links, Excel and PDF.

A link names the manager, the scope, the review and the period, is signed (``django.core.signing``, its own salt) and
works for :data:`LINK_DAYS` days without signing in; it is served as that manager, so it shows only what they may see
*now* (a manager who left the store, or lost the permission, gets a 404/403, never the review). The daily task queues
each due review once per manager, scope and period (the outbox's dedup key), so running it twice sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings as django_settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import DomainError

from .periods import Period
from .reviews import REVIEWS

LINK_SALT = "aftersales.analytics.review-link"
LINK_DAYS = 14


def review_token(*, user_id: int, store_id: int | None, name: str, day: dt.date, fmt: str) -> str:
    return signing.dumps({"u": user_id, "s": store_id, "n": name, "d": day.isoformat(), "f": fmt}, salt=LINK_SALT, compress=True)


def review_link(**kwargs: Any) -> str:
    path = reverse("analytics:review_link", args=[review_token(**kwargs)])
    return f"{django_settings.AFTERSALES_PUBLIC_URL.rstrip('/')}{path}"


def read_token(token: str) -> dict[str, Any]:
    """The link's contents; DomainError ``link_expired`` / ``link_invalid`` otherwise."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=dt.timedelta(days=LINK_DAYS))
    except signing.SignatureExpired as exc:
        raise DomainError("link_expired", _("This link has expired. Download the review from the cockpit."), "token") from exc
    except signing.BadSignature as exc:
        raise DomainError("link_invalid", _("This link is not valid."), "token") from exc
    return {"user_id": int(data["u"]), "store_id": data["s"], "name": str(data["n"]),
            "day": dt.date.fromisoformat(data["d"]), "fmt": str(data["f"])}


def last_ended(name: str, today: dt.date) -> Period:
    """The review's most recent period that has ended by ``today``."""
    return Period.containing(REVIEWS[name][0], today).previous()


def subscription_save(*, actor: Any, store: Any | None, monthly: bool, quarterly: bool, yearly: bool) -> Any:
    """The actor's own subscription for a store they may see (or the group, for a group-wide role)."""
    from aftersales.common.permissions import require
    from aftersales.common.scoping import spans_group, visible_store_ids

    from .models import ReviewSubscription

    require(actor, "analytics.view_dashboard")
    if store is None and not spans_group(actor):
        raise DomainError("store_required", _("Choose a store: only a group-wide role can subscribe for the whole group."), "store")
    if store is not None and store.pk not in set(visible_store_ids(actor)):
        raise DomainError("store_not_allowed", _("You do not work at this store."), "store")
    with transaction.atomic():
        sub, _created = ReviewSubscription.objects.update_or_create(
            user=actor, store=store, defaults={"monthly": monthly, "quarterly": quarterly, "yearly": yearly})
        audit.record(actor=actor, obj=sub, action="analytics.review_subscription", store_id=store.pk if store else None,
                     changes={"monthly": [None, monthly], "quarterly": [None, quarterly], "yearly": [None, yearly]})
    return sub


def mail_due_reviews(*, now: dt.datetime | None = None) -> int:
    """Queue every review whose period has ended to each subscriber (once: dedup key per manager, scope, review and
    period). A subscriber who may no longer see the scope, or has no e-mail address, is skipped. Returns how many
    messages were queued or found already queued."""
    from aftersales.common.scoping import spans_group, visible_store_ids
    from aftersales.messaging.services import OutgoingMessage, in_language_of, message_enqueue_many

    from .models import ReviewSubscription

    now = now or timezone.now()
    items: list[OutgoingMessage] = []
    subs = ReviewSubscription.objects.select_related("user", "store", "store__group").filter(user__is_active=True).order_by("pk")
    for sub in subs:
        user = sub.user
        if not user.email or not user.has_perm("analytics.view_dashboard"):
            continue
        visible = set(visible_store_ids(user))
        if sub.store_id is not None and sub.store_id not in visible:
            continue
        if sub.store is None and not spans_group(user):
            continue
        store = sub.store or _home_store(user, visible)
        if store is None:
            continue
        today = now.astimezone(store.zone).date()
        for name in ("monthly", "quarterly", "yearly"):
            if not getattr(sub, name):
                continue
            period = last_ended(name, today)
            with in_language_of(staff_user=user):
                label = str(REVIEWS[name][2])
                scope_name = sub.store.name if sub.store else _("Whole group")
            link_args = {"user_id": user.pk, "store_id": sub.store_id, "name": name, "day": period.start}
            items.append(OutgoingMessage(
                kind="analytics.review", store=store, staff_user=user, channel="email",
                variables={"review": label, "period": period.label, "scope_name": scope_name,
                           "xlsx_link": review_link(fmt="xlsx", **link_args), "pdf_link": review_link(fmt="pdf", **link_args),
                           "days": str(LINK_DAYS)},
                dedup_key=f"analytics.review:{user.pk}:{sub.store_id or 'group'}:{name}:{period.label}",
            ))
    if not items:
        return 0
    with transaction.atomic():
        results = message_enqueue_many(items=items, skip_invalid=True)
    return sum(1 for r in results if not isinstance(r, DomainError))


def _home_store(user: Any, visible: set[int]) -> Any:
    from aftersales.stores.models import Store

    return Store.objects.filter(pk__in=visible).order_by("code").first()
