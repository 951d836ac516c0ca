"""Incentives (SPEC §20), read from the cockpit's scorecards (aftersales/analytics: this app sits above it):
the quarter's service star per store with its reasons, referrals per staff member (from loyalty's referrals, as the
scorecard counts them), and staff whose complaint rate is above the threshold, each with a proposed training."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

COMPLAINT_RATE_THRESHOLD = Decimal("5.0")  # complaints per 100 delivered visits of the advisor in the quarter
COMPLAINT_TRAINING_TOPIC = gettext_lazy("Complaint handling and plain-language explanation")


@dataclass
class Flag:
    user: Any
    complaints: int
    visits: int
    rate: Decimal
    proposal: str


@dataclass
class Incentives:
    scope: Any
    star: Any
    reasons: list[str] = field(default_factory=list)
    referrals: list[tuple[Any, int]] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    cards: list[Any] = field(default_factory=list)


def star_reasons(card: Any) -> list[str]:
    reasons = [_("Total score %(t)s, the best of the store this quarter.") % {"t": card.total}]
    for c in card.components:
        if c.points is None:
            continue
        reasons.append(_("%(label)s: %(actual)s against a target of %(target)s → %(points)s points (weight %(w)s %%).")
                       % {"label": c.label, "actual": c.actual, "target": c.target, "points": c.points,
                          "w": (c.weight * 100).quantize(Decimal("1"))})
    reasons.append(_("%(n)s follow-ups attributed (at least 3 needed).") % {"n": card.followups.normalize()})
    return reasons


def complaint_flags(scope: Any) -> list[Flag]:
    """Advisors with complaints (feedback cases of kind complaint on their orders, received in the period) above
    ``COMPLAINT_RATE_THRESHOLD`` per 100 visits delivered in the period."""
    from aftersales.feedback.models import FeedbackCase
    from aftersales.staff.models import User
    from aftersales.workshop.models import RepairOrder

    visits = dict(
        RepairOrder.objects.filter(scope.window("delivered_at"), advisor_id__isnull=False).order_by()
        .values("advisor_id").annotate(n=Count("id")).values_list("advisor_id", "n")
    )
    complaints = dict(
        FeedbackCase.objects.filter(scope.window("created_at"), kind="complaint", order__advisor_id__isnull=False)
        .order_by().values("order__advisor_id").annotate(n=Count("id")).values_list("order__advisor_id", "n")
    )
    users = {u.pk: u for u in User.objects.filter(pk__in=list(complaints))}
    out = []
    for advisor_id, n in complaints.items():
        base = visits.get(advisor_id, 0)
        rate = (Decimal(n) * 100 / Decimal(base)).quantize(Decimal("0.1")) if base else Decimal(100)
        if rate > COMPLAINT_RATE_THRESHOLD and advisor_id in users:
            out.append(Flag(users[advisor_id], n, base, rate,
                            _("Proposed: attend the next session on “%(topic)s”.") % {"topic": COMPLAINT_TRAINING_TOPIC}))
    out.sort(key=lambda f: (-f.rate, str(f.user)))
    return out


def incentives_for(*, user: Any, store_id: int | None, day: dt.date | None = None) -> Incentives:
    from aftersales.analytics import scorecards
    from aftersales.analytics.selectors import resolve_scope

    scope = resolve_scope(user=user, store_id=store_id, kind="quarter", day=day)
    cards = scorecards.scorecards(scope)
    star = scorecards.service_star(cards)
    referrals = sorted(
        ((c.user, int(next(x.numerator for x in c.components if x.code == "referrals"))) for c in cards),
        key=lambda r: (-r[1], str(r[0])),
    )
    return Incentives(scope=scope, star=star, reasons=star_reasons(star) if star else [],
                      referrals=[r for r in referrals if r[1] > 0], flags=complaint_flags(scope), cards=cards)
