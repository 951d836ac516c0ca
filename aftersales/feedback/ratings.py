"""The customer's rating at delivery (SPEC §20): one write, called by the people app's rating terminal (kiosk) and
by the customer's phone (signed link from the QR code). No staff actor: the customer rates; the caller has already
proved the right to rate this order (a paired terminal showing it, or the signed link)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import Conflict, ValidationFailed

from .models import DeliveryRating, RatingChannel

RATEABLE_STATES = ("ready", "delivered", "closed")
MAX_COMMENT = 500


def _score(value: Any, field: str, problems: list[ValidationFailed]) -> int:
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or not 1 <= int(text) <= 5:
        problems.append(ValidationFailed("score_required", _("Choose from 1 to 5 stars."), field))
        return 0
    return int(text)


def delivery_rating_record(
    *, order: Any, visit_score: Any, advisor_score: Any, comment: str = "", channel: str, terminal: str = "",
    at: dt.datetime | None = None,
) -> DeliveryRating:
    """Record the rating of ``order`` (one per order: a second one, even at the same instant, is refused with 409).
    Both scores are checked at once; the comment is kept as typed (escaped wherever it is shown)."""
    from aftersales.workshop.models import RepairOrder

    problems: list[ValidationFailed] = []
    visit = _score(visit_score, "visit_score", problems)
    advisor = _score(advisor_score, "advisor_score", problems)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        problems.append(ValidationFailed("too_long", _("At most %(n)s characters.") % {"n": MAX_COMMENT}, "comment"))
    if channel not in RatingChannel.values:
        problems.append(ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": channel}, "channel"))
    if problems:
        first = problems[0]
        raise ValidationFailed(first.code, first.message, first.field,
                               errors=[{"code": p.code, "field": p.field, "message": str(p.message)} for p in problems])
    at = at or timezone.now()
    try:
        with transaction.atomic():
            locked = RepairOrder.objects.select_for_update().get(pk=order.pk)
            if locked.status not in RATEABLE_STATES:
                raise Conflict("order_not_rateable", _("This visit cannot be rated yet."), "order")
            if DeliveryRating.objects.filter(order=locked).exists():
                raise Conflict("already_rated", _("This visit has already been rated. Thank you!"), "order")
            rating = DeliveryRating.objects.create(
                order=locked, store_id=locked.store_id, advisor_id=locked.advisor_id, visit_score=visit,
                advisor_score=advisor, comment=comment, channel=channel, terminal=(terminal or "")[:60], at=at,
            )
            audit.record(
                actor=None, obj=locked, action="repair_order.rated", store_id=locked.store_id,
                customer_id=locked.customer_id, changes={"rating": [None, f"{visit}/{advisor}"]}, reason=channel, at=at,
            )
    except IntegrityError as exc:  # rated at the same instant elsewhere (the unique order)
        raise Conflict("already_rated", _("This visit has already been rated. Thank you!"), "order") from exc
    return rating


def rating_for(order: Any) -> DeliveryRating | None:
    return DeliveryRating.objects.filter(order_id=order.pk).first()
