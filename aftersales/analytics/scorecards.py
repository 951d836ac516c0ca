"""Staff scorecards (绩效, SPEC §18): CSAT 30 %, repurchase 20 %, referrals 15 %, repair efficiency 15 %, complaint
handling 20 %, each scored against its target, and the quarterly service star. An advisor rated at delivery (the
rating terminal or the phone, SPEC §20) also has the delivery rating at 15 %, the weights scaled to its share.

Attribution: a repair order belongs to its **advisor**; a **technician** shares each order by the time they clocked
on it (a follow-up or a returning customer counts for a technician in proportion to their share of the order's
clocked time). Referrals belong to the staff member recorded on the referral; complaint handling to the case owner.

Each component is ``actual ÷ target`` capped at 100 points (for "lower is better" the reverse). A component without
data for the person is left out and the weights of the others are scaled up; a person with no component has no score.
Every component is one or two grouped queries for the whole scope.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from aftersales.engagement.rules import months_before

from . import kpis
from .kpis import ZERO, Scope

WEIGHTS: dict[str, Decimal] = {
    "csat": Decimal("0.30"), "repurchase": Decimal("0.20"), "referrals": Decimal("0.15"), "efficiency": Decimal("0.15"),
    "complaints": Decimal("0.20"),
    # the customer's rating of the advisor at delivery (SPEC §20): counts only for those rated in the period (a
    # component without data is left out and the others scaled), so the five above keep their 100 % otherwise
    "delivery_rating": Decimal("0.15"),
}
LABELS: dict[str, Promise] = {
    "csat": _("CSAT"), "repurchase": _("Repurchase"), "referrals": _("Referrals"), "efficiency": _("Repair efficiency"),
    "complaints": _("Complaint handling"),
    "delivery_rating": _("Delivery rating"),
}
REFERRALS_PER_MONTH = Decimal(2)  # product rule: two referrals a month per person
EFFICIENCY_TARGET = Decimal(100)  # technicians: hours sold ÷ clocked, %
COMPLAINT_TARGET = Decimal(100)  # case timers met on time, %
DELIVERY_RATING_TARGET = Decimal(90)  # delivery ratings giving the advisor 4 or 5 stars, %
STAR_MIN_FOLLOWUPS = 3  # a service star has at least this many follow-ups attributed in the quarter

Pairs = dict[int, tuple[Decimal, Decimal]]


@dataclass
class Component:
    code: str
    actual: Decimal | None
    target: Decimal
    numerator: Decimal
    denominator: Decimal
    unit: str = "%"

    @property
    def label(self) -> Promise:
        return LABELS[self.code]

    @property
    def weight(self) -> Decimal:
        return WEIGHTS[self.code]

    @property
    def points(self) -> Decimal | None:
        if self.actual is None or not self.target:
            return None
        return min(Decimal(100), self.actual / self.target * 100).quantize(Decimal("0.1"))


@dataclass
class Scorecard:
    user: Any
    role: str  # "advisor" or "technician"
    components: list[Component] = field(default_factory=list)
    followups: Decimal = ZERO

    @property
    def total(self) -> Decimal | None:
        scored = [c for c in self.components if c.points is not None]
        weight = sum((c.weight for c in scored), ZERO)
        if not weight:
            return None
        return (sum((c.points * c.weight for c in scored if c.points is not None), ZERO) / weight).quantize(Decimal("0.1"))


def _add(out: Pairs, key: int | None, n: Decimal, d: Decimal) -> None:
    if key is None:
        return
    a, b = out.get(key, (ZERO, ZERO))
    out[key] = (a + n, b + d)


def _tech_shares(order_ids: set[int]) -> dict[int, dict[int, Decimal]]:
    """order id → {technician id → share of the order's clocked time}."""
    from aftersales.workshop.models import TimeEntry

    per: dict[int, dict[int, Decimal]] = defaultdict(dict)
    if not order_ids:
        return per
    rows = (TimeEntry.objects.filter(job__order_id__in=order_ids, ended_at__isnull=False).order_by()
            .values("job__order_id", "technician_id")
            .annotate(s=Sum(ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())))
            .values_list("job__order_id", "technician_id", "s"))
    for order_id, tech_id, spent in rows:
        per[order_id][tech_id] = kpis._dec(spent)
    for order_id, techs in per.items():
        total = sum(techs.values(), ZERO)
        per[order_id] = {t: (v / total if total else ZERO) for t, v in techs.items()}
    return per


def _csat(scope: Scope) -> tuple[Pairs, Pairs]:
    rows = list(kpis.answered_followups(scope).values_list("order_id", "order__advisor_id", "score_overall"))
    advisors: Pairs = {}
    techs: Pairs = {}
    shares = _tech_shares({r[0] for r in rows})
    for order_id, advisor_id, score in rows:
        hit = Decimal(1 if score >= 8 else 0)
        _add(advisors, advisor_id, hit, Decimal(1))
        for tech_id, share in shares.get(order_id, {}).items():
            _add(techs, tech_id, hit * share, share)
    return advisors, techs


def _repurchase(scope: Scope) -> tuple[Pairs, Pairs]:
    """Customers served (paid visits in the 12 months before the period) who came back to that store in the period."""
    from aftersales.workshop.models import RepairOrder

    base_q = Q(pk__in=[])
    now_q = Q(pk__in=[])
    for store in scope.stores:
        a = dt.datetime.combine(months_before(scope.period.start, 12), dt.time(0), tzinfo=store.zone)
        b, c = scope.period.bounds(store.zone)
        base_q |= Q(store_id=store.pk, delivered_at__gte=a, delivered_at__lt=b)
        now_q |= Q(store_id=store.pk, delivered_at__gte=b, delivered_at__lt=c)
    returned = RepairOrder.objects.filter(kpis._paid_order(), now_q, customer_id=OuterRef("customer_id"), store_id=OuterRef("store_id"))
    rows = list(RepairOrder.objects.filter(kpis._paid_order(), base_q).annotate(hit=Exists(returned))
                .values_list("pk", "advisor_id", "customer_id", "hit"))
    shares = _tech_shares({r[0] for r in rows})
    adv_customers: dict[int, dict[int, bool]] = defaultdict(dict)
    tech_customers: dict[int, dict[int, bool]] = defaultdict(dict)
    for order_id, advisor_id, customer_id, hit in rows:
        if advisor_id is not None:
            adv_customers[advisor_id][customer_id] = hit
        for tech_id in shares.get(order_id, {}):
            tech_customers[tech_id][customer_id] = hit
    to_pairs = lambda d: {k: (Decimal(sum(v.values())), Decimal(len(v))) for k, v in d.items()}  # noqa: E731
    return to_pairs(adv_customers), to_pairs(tech_customers)


def _referrals(scope: Scope) -> Pairs:
    from aftersales.loyalty.models import Referral

    rows = (Referral.objects.filter(scope.window("created_at"), staff_id__isnull=False).order_by().values("staff_id")
            .annotate(n=Count("id")).values_list("staff_id", "n"))
    return {sid: (Decimal(n), Decimal(1)) for sid, n in rows}


def _advisor_waiting(scope: Scope) -> Pairs:
    """Advisors' repair efficiency: their orders whose car was in work within the waiting-time target."""
    target = dt.timedelta(minutes=30)
    rows = (kpis.waiting_orders(scope).order_by().values("advisor_id")
            .annotate(n=Count("id", filter=Q(wait__lte=target)), d=Count("id")).values_list("advisor_id", "n", "d"))
    return {a: (Decimal(n), Decimal(d)) for a, n, d in rows if a is not None}


def _tech_efficiency(scope: Scope) -> Pairs:
    """Technicians: hours sold on the jobs they clocked (split by their share of each job's time) ÷ hours clocked."""
    from aftersales.workshop.models import TimeEntry

    jobs = {j: (kpis._dec(sold), kpis._dec(clocked)) for j, sold, clocked in kpis.efficiency_jobs(scope).values_list("pk", "sold", "clocked")}
    out: Pairs = {}
    if not jobs:
        return out
    rows = (TimeEntry.objects.filter(job_id__in=list(jobs), ended_at__isnull=False).order_by().values("job_id", "technician_id")
            .annotate(s=Sum(ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())))
            .values_list("job_id", "technician_id", "s"))
    for job_id, tech_id, spent in rows:
        sold, clocked = jobs[job_id]
        seconds = kpis._dec(spent)
        share = seconds / clocked if clocked else ZERO
        _add(out, tech_id, sold * share, seconds / 3600)
    return out


def _complaints(scope: Scope) -> Pairs:
    rows = (kpis.due_timers(scope).filter(case__owner_id__isnull=False).order_by().values("case__owner_id")
            .annotate(n=Count("id", filter=Q(met_at__isnull=False, met_at__lte=F("due_at"))), d=Count("id"))
            .values_list("case__owner_id", "n", "d"))
    return {o: (Decimal(n), Decimal(d)) for o, n, d in rows}


def _delivery_ratings(scope: Scope) -> Pairs:
    """Advisors: the customer's ratings at delivery (terminal or phone) giving them 4 or 5 stars, of all their
    ratings in the period. Kept apart from the follow-up's CSAT (its own component)."""
    from aftersales.feedback.models import DeliveryRating

    rows = (DeliveryRating.objects.filter(scope.window("at"), advisor_id__isnull=False).order_by().values("advisor_id")
            .annotate(n=Count("id", filter=Q(advisor_score__gte=4)), d=Count("id")).values_list("advisor_id", "n", "d"))
    return {a: (Decimal(n), Decimal(d)) for a, n, d in rows}


def staff_of(scope: Scope) -> list[tuple[Any, str]]:
    from aftersales.staff.models import User

    people = (User.objects.filter(memberships__store__in=scope.stores, is_active=True,
                                  groups__name__in=("service_advisor", "technician", "foreman"))
              .prefetch_related("groups").distinct().order_by("display_name", "username"))
    out = []
    for user in people:
        names = {g.name for g in user.groups.all()}
        out.append((user, "advisor" if "service_advisor" in names else "technician"))
    return out


def scorecards(scope: Scope, *, people: list[tuple[Any, str]] | None = None) -> list[Scorecard]:
    """Every advisor's and technician's scorecard for the scope's period, best first."""
    people = staff_of(scope) if people is None else people
    csat_adv, csat_tech = _csat(scope)
    rep_adv, rep_tech = _repurchase(scope)
    referrals = _referrals(scope)
    wait_adv = _advisor_waiting(scope)
    eff_tech = _tech_efficiency(scope)
    complaints = _complaints(scope)
    ratings = _delivery_ratings(scope)
    first = scope.settings.get(scope.stores[0].pk) if scope.stores else None
    from .models import KpiSettings

    targets = first or KpiSettings()
    months = Decimal(scope.period.days) / Decimal("30.4375")
    referral_target = (REFERRALS_PER_MONTH * months).quantize(Decimal("0.1"))
    cards = []
    for user, role in people:
        advisor = role == "advisor"
        csat = (csat_adv if advisor else csat_tech).get(user.pk, (ZERO, ZERO))
        rep = (rep_adv if advisor else rep_tech).get(user.pk, (ZERO, ZERO))
        eff = (wait_adv if advisor else eff_tech).get(user.pk, (ZERO, ZERO))
        ref = referrals.get(user.pk, (ZERO, Decimal(1)))
        com = complaints.get(user.pk, (ZERO, ZERO))
        rat = ratings.get(user.pk, (ZERO, ZERO)) if advisor else (ZERO, ZERO)

        def pct(p: tuple[Decimal, Decimal]) -> Decimal | None:
            return (p[0] / p[1] * 100).quantize(Decimal("0.1")) if p[1] else None

        card = Scorecard(user=user, role=role, followups=csat[1])
        card.components = [
            Component("csat", pct(csat), Decimal(targets.csat_target), *csat),
            Component("repurchase", pct(rep), Decimal(targets.repurchase_target), *rep),
            Component("referrals", ref[0], referral_target, ref[0], ref[1], unit="n"),
            Component("efficiency", pct(eff), Decimal(targets.progress_target) if advisor else EFFICIENCY_TARGET, *eff),
            Component("complaints", pct(com), COMPLAINT_TARGET, *com),
            Component("delivery_rating", pct(rat), DELIVERY_RATING_TARGET, *rat),
        ]
        cards.append(card)
    cards.sort(key=lambda c: (c.total is None, -(c.total or 0), str(c.user)))
    return cards


def service_star(cards: list[Scorecard]) -> Scorecard | None:
    """The quarter's service star: the best total among those with at least three follow-ups attributed."""
    eligible = [c for c in cards if c.total is not None and c.followups >= STAR_MIN_FOLLOWUPS]
    return max(eligible, key=lambda c: (c.total, c.followups), default=None)
