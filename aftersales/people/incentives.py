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
    assignment: Any = None


@dataclass
class Incentives:
    scope: Any
    star: Any
    reasons: list[str] = field(default_factory=list)
    referrals: list[tuple[Any, int]] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    cards: list[Any] = field(default_factory=list)
    settings: Any = None
    rewards: list[Any] = field(default_factory=list)
    receptions: Any = None


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


def settings_for(store: Any) -> Any:
    """The store's people settings (an unsaved row with the defaults while it has none)."""
    from .models import PeopleSettings

    return PeopleSettings.objects.filter(store=store).select_related("general_manager").first() or PeopleSettings(
        store=store
    )


def complaint_flags(scope: Any, threshold: Decimal = COMPLAINT_RATE_THRESHOLD) -> list[Flag]:
    """Advisors with complaints (feedback cases of kind complaint on their orders, received in the period) above
    the store's threshold per 100 visits delivered in the period, each with the training assigned for the quarter."""
    from aftersales.feedback.models import FeedbackCase
    from aftersales.staff.models import User
    from aftersales.workshop.models import RepairOrder

    from .models import TrainingAssignment

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
        if rate > threshold and advisor_id in users:
            out.append(Flag(users[advisor_id], n, base, rate,
                            _("Proposed: attend the next session on “%(topic)s”.") % {"topic": COMPLAINT_TRAINING_TOPIC}))
    out.sort(key=lambda f: (-f.rate, str(f.user)))
    assigned = {
        a.person_id: a for a in TrainingAssignment.objects.filter(
            person_id__in=[f.user.pk for f in out], source="complaints", period_start=scope.period.start
        )
    }
    for flag in out:
        flag.assignment = assigned.get(flag.user.pk)
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
    rules = settings_for(scope.stores[0])
    return Incentives(scope=scope, star=star, reasons=star_reasons(star) if star else [],
                      referrals=[r for r in referrals if r[1] > 0],
                      flags=complaint_flags(scope, rules.complaint_rate_threshold), cards=cards, settings=rules,
                      rewards=referral_rewards(scope, scope.stores[0], rules.referral_reward))


@dataclass
class RewardRow:
    user: Any
    qualified: int  # referrals of the period whose new customer paid a first visit
    unpaid: int  # all qualified referrals not yet paid
    due: Decimal  # unpaid × the store's amount
    paid: Decimal  # paid in the period


def referral_rewards(scope: Any, store: Any, amount: Decimal) -> list[RewardRow]:
    """Per member of staff at the store: referrals qualified in the period, those not yet paid and what they are owed
    at the store's amount, and what was paid in the period."""
    from django.db.models import Q, Sum

    from aftersales.loyalty.choices import ReferralStatus
    from aftersales.loyalty.models import Referral
    from aftersales.staff.models import User

    from .models import ReferralReward

    done = (ReferralStatus.QUALIFIED, ReferralStatus.REWARDED)
    base = Referral.objects.filter(store=store, staff_id__isnull=False, status__in=done).order_by()
    qualified = dict(base.filter(scope.window("qualified_at")).values("staff_id").annotate(n=Count("id"))
                     .values_list("staff_id", "n"))
    unpaid = dict(base.filter(staff_reward__isnull=True).values("staff_id").annotate(n=Count("id"))
                  .values_list("staff_id", "n"))
    paid = dict(ReferralReward.objects.filter(Q(store=store), scope.window("paid_at")).order_by().values("staff_id")
                .annotate(s=Sum("amount")).values_list("staff_id", "s"))
    ids = set(qualified) | set(unpaid) | set(paid)
    users = {u.pk: u for u in User.objects.filter(pk__in=ids)}
    rows = [
        RewardRow(users[i], qualified.get(i, 0), unpaid.get(i, 0), (amount * unpaid.get(i, 0)).quantize(Decimal("0.01")),
                  Decimal(paid.get(i) or 0).quantize(Decimal("0.01")))
        for i in ids if i in users
    ]
    rows.sort(key=lambda r: (-r.due, -r.qualified, str(r.user)))
    return rows
