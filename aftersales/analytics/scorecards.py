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
SIX = Decimal("0.000001")
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


StorePairs = dict[tuple[int, Any], tuple[Decimal, Decimal]]  # (store id, user id or job type) -> (n, d)


def _add(out: StorePairs, key: tuple[int, Any] | None, n: Decimal, d: Decimal) -> None:
    if key is None or key[1] is None:
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


# ---- the day-additive components: per store and person, so that a day's figures can be stored and summed ----------
def _csat(scope: Scope) -> tuple[StorePairs, StorePairs]:
    rows = list(kpis.answered_followups(scope).values_list("order_id", "store_id", "order__advisor_id", "score_overall"))
    advisors: StorePairs = {}
    techs: StorePairs = {}
    shares = _tech_shares({r[0] for r in rows})
    for order_id, store_id, advisor_id, score in rows:
        hit = Decimal(1 if score >= 8 else 0)
        _add(advisors, (store_id, advisor_id), hit, Decimal(1))
        for tech_id, share in shares.get(order_id, {}).items():
            _add(techs, (store_id, tech_id), hit * share, share)
    return advisors, techs


def _referrals(scope: Scope) -> StorePairs:
    """Referrals recorded in the period per person (the denominator is the count too: it is never used)."""
    from aftersales.loyalty.models import Referral

    rows = (Referral.objects.filter(scope.window("created_at"), staff_id__isnull=False).order_by().values("store_id", "staff_id")
            .annotate(n=Count("id")).values_list("store_id", "staff_id", "n"))
    return {(st, sid): (Decimal(n), Decimal(n)) for st, sid, n in rows}


def _advisor_waiting(scope: Scope) -> StorePairs:
    """Advisors' repair efficiency: their orders whose car was in work within the waiting-time target."""
    target = dt.timedelta(minutes=30)
    rows = (kpis.waiting_orders(scope).order_by().values("store_id", "advisor_id")
            .annotate(n=Count("id", filter=Q(wait__lte=target)), d=Count("id")).values_list("store_id", "advisor_id", "n", "d"))
    return {(st, a): (Decimal(n), Decimal(d)) for st, a, n, d in rows if a is not None}


def _tech_efficiency(scope: Scope) -> StorePairs:
    """Technicians: hours sold on the jobs they clocked (split by their share of each job's time) ÷ hours clocked."""
    from aftersales.workshop.models import TimeEntry

    jobs = {j: (st, kpis._dec(sold), kpis._dec(clocked))
            for j, st, sold, clocked in kpis.efficiency_jobs(scope).values_list("pk", "order__store_id", "sold", "clocked")}
    out: StorePairs = {}
    if not jobs:
        return out
    rows = (TimeEntry.objects.filter(job_id__in=list(jobs), ended_at__isnull=False).order_by().values("job_id", "technician_id")
            .annotate(s=Sum(ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())))
            .values_list("job_id", "technician_id", "s"))
    for job_id, tech_id, spent in rows:
        store_id, sold, clocked = jobs[job_id]
        seconds = kpis._dec(spent)
        share = seconds / clocked if clocked else ZERO
        _add(out, (store_id, tech_id), sold * share, seconds / 3600)
    return out


def _service_types(scope: Scope) -> StorePairs:
    """Per service type (the job's type): the efficiency KPI's own jobs (kpis.efficiency_jobs), labour hours sold ÷
    hours clocked."""
    rows = (kpis.efficiency_jobs(scope).order_by().values("order__store_id", "job_type")
            .annotate(n=Sum("sold"), d=Sum("clocked")).values_list("order__store_id", "job_type", "n", "d"))
    return {(st, t): (kpis._dec(n), kpis._dec(d) / 3600) for st, t, n, d in rows}


def _complaints(scope: Scope) -> StorePairs:
    rows = (kpis.due_timers(scope).filter(case__owner_id__isnull=False).order_by().values("case__store_id", "case__owner_id")
            .annotate(n=Count("id", filter=Q(met_at__isnull=False, met_at__lte=F("due_at"))), d=Count("id"))
            .values_list("case__store_id", "case__owner_id", "n", "d"))
    return {(st, o): (Decimal(n), Decimal(d)) for st, o, n, d in rows}


def _delivery_ratings(scope: Scope) -> StorePairs:
    """Advisors: the customer's ratings at delivery (terminal or phone) giving them 4 or 5 stars, of all their
    ratings in the period. Kept apart from the follow-up's CSAT (its own component)."""
    from aftersales.feedback.models import DeliveryRating

    rows = (DeliveryRating.objects.filter(scope.window("at"), advisor_id__isnull=False).order_by().values("store_id", "advisor_id")
            .annotate(n=Count("id", filter=Q(advisor_score__gte=4)), d=Count("id")).values_list("store_id", "advisor_id", "n", "d"))
    return {(st, a): (Decimal(n), Decimal(d)) for st, a, n, d in rows}


#: (dimension, code) of every stored day fact, and the function that computes it for a scope (one or two queries)
FACTS: tuple[tuple[str, str], ...] = (
    ("advisor", "csat"), ("technician", "csat"), ("advisor", "waiting"), ("technician", "efficiency"),
    ("staff", "referrals"), ("staff", "complaints"), ("advisor", "delivery_rating"), ("service_type", "efficiency"),
)


def day_facts(scope: Scope) -> dict[tuple[str, str], StorePairs]:
    """Every day-additive scorecard figure of the scope, per store and member of its dimension: what is stored per
    store and day (``facts.py``) and what the raw computation sums over the period. The same functions both ways."""
    csat_adv, csat_tech = _csat(scope)
    return {
        ("advisor", "csat"): csat_adv, ("technician", "csat"): csat_tech,
        ("advisor", "waiting"): _advisor_waiting(scope), ("technician", "efficiency"): _tech_efficiency(scope),
        ("staff", "referrals"): _referrals(scope), ("staff", "complaints"): _complaints(scope),
        ("advisor", "delivery_rating"): _delivery_ratings(scope), ("service_type", "efficiency"): _service_types(scope),
    }


def by_member(pairs: StorePairs) -> dict[Any, tuple[Decimal, Decimal]]:
    """The stores summed: member (user id or job type) -> (n, d)."""
    out: dict[Any, tuple[Decimal, Decimal]] = {}
    for (_store, member), (n, d) in pairs.items():
        a, b = out.get(member, (ZERO, ZERO))
        out[member] = (a + n, b + d)
    return out


def _repurchase(scope: Scope) -> tuple[Pairs, Pairs]:
    """Customers served (paid visits in the 12 months before the period) who came back to that store in the period.
    Not a sum of days (distinct customers): always from the raw tables."""
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


def period_facts(scope: Scope, *, use_facts: bool = True) -> dict[tuple[str, str], dict[Any, tuple[Decimal, Decimal]]]:
    """The day-additive components over the scope's period, per member: the stored day facts of its past days
    (when every store has every past day computed) plus today's from the raw tables; else the raw tables for the
    whole period."""
    from . import facts

    if use_facts:
        stored = facts.period_sums(scope)
        if stored is not None:
            return stored
    return {k: by_member(v) for k, v in day_facts(scope).items()}


def scorecards(scope: Scope, *, people: list[tuple[Any, str]] | None = None, use_facts: bool = True) -> list[Scorecard]:
    """Every advisor's and technician's scorecard for the scope's period, best first."""
    people = staff_of(scope) if people is None else people
    summed = period_facts(scope, use_facts=use_facts)
    csat_adv, csat_tech = summed[("advisor", "csat")], summed[("technician", "csat")]
    rep_adv, rep_tech = _repurchase(scope)
    referrals = {k: (n, Decimal(1)) for k, (n, _d) in summed[("staff", "referrals")].items()}
    wait_adv = summed[("advisor", "waiting")]
    eff_tech = summed[("technician", "efficiency")]
    complaints = summed[("staff", "complaints")]
    ratings = summed[("advisor", "delivery_rating")]
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
            # to 6 places first: the facts keep 12 decimals (a technician's share of 1/3), so a ratio on a half
            # (36.25 %) must round the same whichever way it was summed
            return (p[0] / p[1] * 100).quantize(SIX).quantize(Decimal("0.1")) if p[1] else None

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
