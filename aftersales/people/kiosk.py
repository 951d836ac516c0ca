"""The rating terminal at the delivery desk (服务评价终端, SPEC §20) and the same rating on the customer's phone.

* A manager creates a terminal for a store: its pairing link (``/kiosk/pair/<key>/``) is shown once. Opening it on
  the tablet signs any staff member out of that browser and leaves a kiosk cookie holding the key: the tablet can
  then open the rating page (``/kiosk/``) and nothing else (it has no staff session; every staff page asks for a
  sign-in and the API answers 401).
* At delivery the advisor sends the order to the terminal; the customer rates the visit and the advisor (1–5 each)
  and may leave a comment; the terminal is cleared at once and shows "thank you", then waits for the next one.
* The delivery screen also shows a QR code of a signed link (``/rate/<token>/``, 7 days) to rate on the phone.
* One rating per order (``feedback.DeliveryRating.order`` is unique), whichever way it comes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import Conflict, NotFound, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.feedback.models import DeliveryRating, RatingChannel
from aftersales.feedback.ratings import RATEABLE_STATES, delivery_rating_record

from .models import RatingTerminal, hash_key

RATING_SALT = "aftersales.people.rating"
RATING_LINK_DAYS = 7
SEEN_EVERY = dt.timedelta(minutes=5)


# ---- terminals ------------------------------------------------------------------------------------------------------
def terminal_create(*, actor: Any, store: Any, name: str) -> tuple[RatingTerminal, str]:
    """A new terminal and its key (shown once, in the pairing link)."""
    require(actor, "people.add_ratingterminal")
    require_store(actor, store.pk)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed("required", _("Name the terminal, e.g. “Delivery desk 1”."), "name")
    if len(name) > 60:
        raise ValidationFailed("too_long", _("At most %(n)s characters.") % {"n": 60}, "name")
    key = RatingTerminal.generate_key()
    with transaction.atomic():
        terminal = RatingTerminal.objects.create(store=store, name=name, key_hash=hash_key(key), created_by=actor)
        audit.record(actor=actor, obj=terminal, action="rating_terminal.created", store_id=store.pk,
                     changes={"name": [None, name]})
    return terminal, key


def terminal_revoke(*, actor: Any, terminal: RatingTerminal) -> RatingTerminal:
    require(actor, "people.change_ratingterminal")
    require_store(actor, terminal.store_id)
    with transaction.atomic():
        locked = RatingTerminal.objects.select_for_update().get(pk=terminal.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.current_order = None
            locked.save(update_fields=["revoked_at", "current_order"])
            audit.record(actor=actor, obj=locked, action="rating_terminal.revoked", store_id=locked.store_id)
    return locked


def terminal_for_key(key: str | None) -> RatingTerminal | None:
    """The live terminal a kiosk cookie names, or None (unknown or revoked key)."""
    if not key or len(key) > 100:
        return None
    terminal = (
        RatingTerminal.objects.filter(key_hash=hash_key(key), revoked_at__isnull=True)
        .select_related("store", "current_order", "current_order__vehicle", "current_order__advisor",
                        "current_order__customer").first()
    )
    if terminal is not None:
        now = timezone.now()
        if terminal.last_seen_at is None or now - terminal.last_seen_at > SEEN_EVERY:
            RatingTerminal.objects.filter(pk=terminal.pk).update(last_seen_at=now)
    return terminal


def _rateable(order: Any) -> None:
    if order.status not in RATEABLE_STATES:
        raise Conflict("order_not_rateable", _("This visit cannot be rated yet."), "order")
    if DeliveryRating.objects.filter(order_id=order.pk).exists():
        raise Conflict("already_rated", _("This visit has already been rated. Thank you!"), "order")


def terminal_show_order(*, actor: Any, terminal: RatingTerminal, order: Any) -> RatingTerminal:
    """The advisor sends the order being delivered to the desk's terminal (replacing whatever it showed)."""
    require(actor, "people.use_ratingterminal")
    require_store(actor, order.store_id)
    if terminal.store_id != order.store_id or terminal.revoked_at is not None:
        raise ValidationFailed("terminal_unknown", _("Choose a terminal of this store."), "terminal")
    _rateable(order)
    with transaction.atomic():
        locked = RatingTerminal.objects.select_for_update().get(pk=terminal.pk)
        before = locked.current_order_id
        locked.current_order_id = order.pk
        locked.current_since = timezone.now()
        locked.save(update_fields=["current_order", "current_since"])
        audit.record(actor=actor, obj=locked, action="rating_terminal.show_order", store_id=locked.store_id,
                     customer_id=order.customer_id, changes={"order": [before, order.pk]})
    return locked


def kiosk_rate(
    *, terminal: RatingTerminal, order_id: Any, visit_score: Any, advisor_score: Any, comment: str = ""
) -> DeliveryRating:
    """The customer's rating on the terminal: only for the order the terminal shows; the terminal is cleared."""
    with transaction.atomic():
        locked = RatingTerminal.objects.select_for_update().get(pk=terminal.pk)
        if locked.revoked_at is not None or not locked.current_order_id or str(locked.current_order_id) != str(order_id):
            raise Conflict("not_on_terminal", _("This visit is no longer on this terminal."), "order")
        rating = delivery_rating_record(
            order=locked.current_order, visit_score=visit_score, advisor_score=advisor_score, comment=comment,
            channel=RatingChannel.KIOSK, terminal=locked.name,
        )
        locked.current_order = None
        locked.current_since = None
        locked.save(update_fields=["current_order", "current_since"])
    return rating


def kiosk_skip(*, terminal: RatingTerminal) -> None:
    """The customer declines to rate: the terminal is cleared (nothing is recorded)."""
    RatingTerminal.objects.filter(pk=terminal.pk).update(current_order=None, current_since=None)


# ---- the customer's phone: a signed link ---------------------------------------------------------------------------
def rating_token(order: Any) -> str:
    return signing.dumps({"o": order.pk}, salt=RATING_SALT, compress=True)


def rating_url(order: Any) -> str:
    """The customer's rating link at the address customers reach (``AFTERSALES_PUBLIC_URL``), for the QR code."""
    from django.conf import settings

    return f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}/rate/{rating_token(order)}/"


def order_from_rating_token(token: str) -> Any:
    """The order a rating link names; NotFound when the link is forged or older than 7 days."""
    from aftersales.workshop.models import RepairOrder

    try:
        data = signing.loads(token, salt=RATING_SALT, max_age=dt.timedelta(days=RATING_LINK_DAYS))
    except signing.BadSignature as exc:  # includes SignatureExpired
        raise NotFound("link_invalid", _("This link is not valid or has expired."), None) from exc
    order = RepairOrder.objects.select_related("store", "vehicle", "advisor", "customer").filter(pk=data.get("o")).first()
    if order is None:
        raise NotFound("link_invalid", _("This link is not valid or has expired."), None)
    return order


def phone_rate(*, token: str, visit_score: Any, advisor_score: Any, comment: str = "") -> DeliveryRating:
    order = order_from_rating_token(token)
    return delivery_rating_record(
        order=order, visit_score=visit_score, advisor_score=advisor_score, comment=comment, channel=RatingChannel.PHONE,
    )
