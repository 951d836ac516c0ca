"""Reads for engagement: tiers as of any date, summaries for the 360 and reception screens, segments, reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common.scoping import get_or_404, restrict_customers, visible_store_ids

from .choices import Tier, TierReason, ValueClass
from .models import CustomerTier, DedicatedAdvisor, ImportedVisit, ImportJob, Segment, TierChange, TierSettings
from .rules import Thresholds, TierResult, decide


# ---- paid visits and the tier of one customer (the reference implementation) ---------------------------------------
def paid_visits(customer_id: int) -> list[tuple[dt.date, Decimal, int, str]]:
    """(local date, net amount paid, store id, source) of the customer's paid visits, oldest first.

    A paid visit is a delivered (or closed) repair order whose invoice is fully paid, or an imported visit;
    amounts are net of refunds (an imported visit refunded in full does not count).
    """
    from aftersales.billing.choices import InvoiceStatus
    from aftersales.workshop.choices import OrderStatus
    from aftersales.workshop.models import RepairOrder

    out: list[tuple[dt.date, Decimal, int, str]] = []
    orders = (
        RepairOrder.objects.filter(
            customer_id=customer_id, status__in=[OrderStatus.DELIVERED, OrderStatus.CLOSED],
            invoice__status=InvoiceStatus.PAID, invoice__paid_amount__gt=F("invoice__refunded_amount"),
        ).annotate(net=F("invoice__paid_amount") - F("invoice__refunded_amount"))  # M is net of refunds (SPEC §10)
        .values_list("delivered_at", "opened_at", "store__time_zone", "net", "store_id")
    )
    import zoneinfo

    for delivered_at, opened_at, zone, amount, store_id in orders:
        day = timezone.localtime(delivered_at or opened_at, zoneinfo.ZoneInfo(zone)).date()
        out.append((day, Decimal(amount), store_id, "order"))
    for day, paid, refunded, store_id in ImportedVisit.objects.filter(customer_id=customer_id).values_list(
        "visit_date", "amount_paid", "amount_refunded", "store_id"
    ):
        if paid > refunded:
            out.append((day, Decimal(paid - refunded), store_id, "import"))
    out.sort(key=lambda v: v[0])
    return out


def thresholds_for(customer: Any) -> Thresholds:
    store_id = getattr(customer, "home_store_id", None)
    row = TierSettings.objects.filter(store_id=store_id).first() if store_id else None
    return Thresholds.of(row)


def tier_as_of(customer: Any, as_of: dt.date | None = None) -> TierResult:
    """SPEC §10's tier of ``customer`` as of ``as_of`` (default: today), computed from the history."""
    from aftersales.vehicles.models import Vehicle

    as_of = as_of or timezone.localdate()
    visits = [(day, amount) for day, amount, _s, _src in paid_visits(customer.pk)]
    purchases = list(Vehicle.objects.filter(owner_id=customer.pk).values_list("purchase_date", flat=True))
    return decide(as_of=as_of, visits=visits, purchase_dates=purchases, thresholds=thresholds_for(customer))


def customer_for(user: Any, customer_id: int) -> Any:
    from aftersales.customers.models import Customer

    return get_or_404(restrict_customers(Customer.objects.select_related("home_store"), user), pk=customer_id)


def tier_for(user: Any, customer_id: int, as_of: dt.date | None = None) -> tuple[Any, TierResult]:
    customer = customer_for(user, customer_id)
    return customer, tier_as_of(customer, as_of)


def reason_text(reason: str, *, last_visit: dt.date | None, f: int, m: Decimal, r_days: int | None) -> str:
    """Why, in the user's language, with the figures: e.g. “A loyal: recent, frequent and high spend (R 12 d, F 5, M ¥16,000.00)”."""
    label = TierReason(reason).label if reason in TierReason.values else reason
    if last_visit is None:
        return str(label)
    return _("%(why)s (R %(r)s days, F %(f)s, M ¥%(m)s)") % {"why": label, "r": r_days, "f": f, "m": f"{m:,.2f}"}


def customer_tier_summary(customer: Any) -> dict[str, Any]:
    """Tier, R/F/M and why, for the 360 page and the reception screen: one query for the stored tier and the
    dedicated advisor; a customer without a stored tier yet (new since the last run) is computed live (2 queries)."""
    from aftersales.customers.models import Customer

    from . import tiersql

    row = (Customer.objects.filter(pk=customer.pk).select_related("tier", "dedicated_advisor__advisor")
           .only("pk", "tier", "dedicated_advisor").first())
    stored = getattr(row, "tier", None) if row is not None else None
    try:
        advisor = row.dedicated_advisor if row is not None else None
    except DedicatedAdvisor.DoesNotExist:
        advisor = None
    today = timezone.localdate()
    if stored is not None:
        tier, reason, last_visit, f, m = stored.tier, stored.reason, stored.last_visit, stored.f, stored.m
        value_class, computed_on, since = stored.value_class, stored.computed_on, stored.since
    else:
        (live,) = tiersql.compute_rows(today, [customer.pk], [customer.home_store_id] if customer.home_store_id else [])
        tier, reason, f, m = live["tier"], live["reason"], int(live["f"]), Decimal(str(live["m"])).quantize(Decimal("0.01"))
        last_visit = live["last_visit"]
        if isinstance(last_visit, str):
            last_visit = dt.date.fromisoformat(last_visit)
        value_class, computed_on, since = ValueClass.BASIC, today, None
    r_days = (today - last_visit).days if last_visit is not None else None
    return {
        "tier": tier,
        "tier_label": Tier(tier).label,
        "reason": reason,
        "why": reason_text(reason, last_visit=last_visit, f=f, m=m, r_days=r_days),
        "last_visit": last_visit,
        "r_days": r_days,
        "f": f,
        "m": m,
        "value_class": value_class,
        "value_class_label": ValueClass(value_class).label,
        "computed_on": computed_on,
        "since": since,
        "priority": tier == Tier.A,
        "dedicated_advisor": advisor.advisor if advisor else None,
        "dedicated_advisor_source": advisor.get_source_display() if advisor else "",
    }


def is_priority_customer(customer: Any) -> bool:
    """Tier A customers go to the priority lane (SPEC §3, §10)."""
    tier = CustomerTier.objects.filter(customer_id=customer.pk).values_list("tier", flat=True).first()
    if tier is None:
        tier = tier_as_of(customer).tier
    return tier == Tier.A


def is_tier_a(customer: Any, *, stored_only: bool) -> bool:
    """The answer engagement provides to the apps below it (``customers.tiers``): the stored tier only
    (``stored_only``: mobility's free pickup), or as ``is_priority_customer`` (the priority lane)."""
    if stored_only:
        return CustomerTier.objects.filter(customer_id=customer.pk, tier=Tier.A).exists()
    return is_priority_customer(customer)


def suggested_advisor(customer: Any) -> Any:
    """The advisor who handled most of the customer's repair orders (most recent wins a tie), or None."""
    from aftersales.staff.models import User
    from aftersales.workshop.models import RepairOrder

    best = (
        RepairOrder.objects.filter(customer_id=customer.pk, advisor__isnull=False, advisor__is_active=True)
        .values("advisor_id").annotate(n=Count("id")).order_by("-n", "-advisor_id").first()
    )
    return User.objects.filter(pk=best["advisor_id"]).first() if best else None


def tier_history(user: Any, customer_id: int) -> list[TierChange]:
    customer = customer_for(user, customer_id)
    return list(TierChange.objects.filter(customer=customer).order_by("-changed_on", "-id")[:50])


def tier_settings_for(user: Any, store_id: int) -> TierSettings:
    if store_id not in visible_store_ids(user):
        from aftersales.common.errors import NotFound

        raise NotFound("not_found", _("Not found, or not visible to you."), None)
    row = TierSettings.objects.filter(store_id=store_id).first()
    return row if row is not None else TierSettings(store_id=store_id)


# ---- imports -------------------------------------------------------------------------------------------------------
def import_jobs_visible_to(user: Any) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(store_id__in=visible_store_ids(user)).defer("content")


def import_job_get(user: Any, job_id: int) -> ImportJob:
    return get_or_404(import_jobs_visible_to(user).select_related("store", "created_by"), pk=job_id)


# ---- segments ------------------------------------------------------------------------------------------------------
def segments_visible_to(user: Any) -> QuerySet[Segment]:
    if not getattr(user, "is_authenticated", False):
        return Segment.objects.none()
    qs = Segment.objects.filter(group_id=user.dealer_group_id) if not user.is_superuser else Segment.objects.all()
    return qs.filter(Q(store__isnull=True) | Q(store_id__in=visible_store_ids(user)))


def segment_get(user: Any, segment_id: int) -> Segment:
    return get_or_404(segments_visible_to(user).select_related("store"), pk=segment_id)


def segment_customers(segment: Segment | dict[str, Any], *, group_id: int | None = None) -> QuerySet[Any]:
    """The customers of a segment (a saved Segment, or criteria as a dict with ``group_id``): a Customer queryset.

    Criteria keys (all optional, combined with AND): tiers [letters], tags [names, all required], any_tags
    [names, any], store (id: customers known at that store), make, model, last_visit_from / last_visit_to
    (dates), mileage_min / mileage_max (km, any vehicle), spend_min / spend_max (M, CNY, 12 months),
    value_classes [basic/key/vip], marketing_consent (true: only customers whose latest marketing consent on
    any channel is a yes).
    """
    from aftersales.customers.models import Consent, Customer
    from aftersales.customers.selectors import store_customers
    from aftersales.vehicles.models import Vehicle

    if isinstance(segment, Segment):
        criteria, group_id = dict(segment.criteria or {}), segment.group_id
        if segment.store_id and not criteria.get("store"):
            criteria["store"] = segment.store_id
    else:
        criteria = dict(segment)
        group_id = group_id or criteria.get("group_id")
    qs = Customer.objects.filter(group_id=group_id, anonymised_at__isnull=True)
    tiers = [t for t in criteria.get("tiers") or [] if t in Tier.values]
    if tiers:
        qs = qs.filter(tier__tier__in=tiers)
    classes = [c for c in criteria.get("value_classes") or [] if c in ValueClass.values]
    if classes:
        qs = qs.filter(tier__value_class__in=classes)
    for name in criteria.get("tags") or []:
        qs = qs.filter(tags__name=name)
    if criteria.get("any_tags"):
        qs = qs.filter(tags__name__in=criteria["any_tags"])
    if criteria.get("store"):  # the store's customers: one definition with the tier report (customers.selectors)
        qs = qs.filter(pk__in=store_customers([int(criteria["store"])]).values("pk"))
    vehicle_q = Q()
    if criteria.get("make"):
        vehicle_q &= Q(make__iexact=criteria["make"])
    if criteria.get("model"):
        vehicle_q &= Q(model__iexact=criteria["model"])
    if criteria.get("mileage_min") not in (None, ""):
        vehicle_q &= Q(current_mileage__gte=int(criteria["mileage_min"]))
    if criteria.get("mileage_max") not in (None, ""):
        vehicle_q &= Q(current_mileage__lte=int(criteria["mileage_max"]))
    if vehicle_q:
        qs = qs.filter(Exists(Vehicle.objects.filter(vehicle_q, owner_id=OuterRef("pk"))))
    if criteria.get("last_visit_from"):
        qs = qs.filter(tier__last_visit__gte=criteria["last_visit_from"])
    if criteria.get("last_visit_to"):
        qs = qs.filter(tier__last_visit__lte=criteria["last_visit_to"])
    if criteria.get("spend_min") not in (None, ""):
        qs = qs.filter(tier__m__gte=Decimal(str(criteria["spend_min"])))
    if criteria.get("spend_max") not in (None, ""):
        qs = qs.filter(tier__m__lte=Decimal(str(criteria["spend_max"])))
    if criteria.get("marketing_consent"):
        latest = Consent.objects.filter(customer_id=OuterRef("customer_id"), channel=OuterRef("channel"),
                                        purpose="marketing").order_by("-at", "-id").values("id")[:1]
        granted = Consent.objects.filter(customer_id=OuterRef("pk"), purpose="marketing", granted=True,
                                         id=Subquery(latest))
        qs = qs.filter(Exists(granted))
    return qs.distinct().order_by("id") if (criteria.get("tags") or criteria.get("any_tags")) else qs.order_by("id")


def segment_customers_for(user: Any, segment: Segment | dict[str, Any]) -> QuerySet[Any]:
    """A segment's customers restricted to those the user may see."""
    group_id = user.dealer_group_id if isinstance(segment, dict) else None
    return restrict_customers(segment_customers(segment, group_id=group_id), user)


# ---- segmentation report -------------------------------------------------------------------------------------------
def segmentation_report(user: Any, *, store_id: int | None = None, month: dt.date | None = None) -> dict[str, Any]:
    """Counts per tier and per tag by home store, the month's movement matrix between tiers, the churn-risk list.

    Movements: for every customer whose tier changed in the month, from the tier before its first change of the
    month to the tier after its last one (a customer who went B→D→B in the month did not move).
    """
    from aftersales.customers.models import Customer
    from aftersales.customers.selectors import store_customers
    from aftersales.stores.models import Store

    from .rules import months_before

    store_ids = visible_store_ids(user)
    if store_id is not None:
        store_ids = [s for s in store_ids if s == store_id]
    stores = list(Store.objects.filter(pk__in=store_ids).order_by("code"))
    tiers_by_store: dict[int, dict[str, int]] = {s.pk: dict.fromkeys(Tier.values, 0) for s in stores}
    # the store's customers (customers.selectors.store_customers, the segments' definition too), by their tier
    mine = store_customers(store_ids).values("pk")
    for sid, tier, n in (CustomerTier.objects.filter(customer_id__in=mine).values_list("customer__home_store_id", "tier")
                         .annotate(n=Count("id")).order_by()):
        tiers_by_store[sid][tier] = n
    through = Customer.tags.through
    tag_rows = (through.objects.filter(customer_id__in=mine)
                .values_list("tag__name", "customer__home_store_id").annotate(n=Count("id")).order_by("tag__name"))
    tags_by_name: dict[str, dict[int, int]] = {}
    for name, sid, n in tag_rows:
        tags_by_name.setdefault(name, {})[sid] = n
    from .tags import auto_tag_label

    tag_table = [{"name": name, "label": auto_tag_label(name), "counts": [per.get(s.pk, 0) for s in stores],
                  "total": sum(per.values())} for name, per in tags_by_name.items()]
    month = (month or timezone.localdate()).replace(day=1)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    changes = (TierChange.objects.filter(store_id__in=store_ids, changed_on__gte=month, changed_on__lt=next_month)
               .order_by("customer_id", "changed_on", "id").values_list("customer_id", "old_tier", "new_tier"))
    first_last: dict[int, list[str]] = {}
    for customer_id, old, new in changes:
        if customer_id in first_last:
            first_last[customer_id][1] = new
        else:
            first_last[customer_id] = [old, new]
    letters = ["", *Tier.values]
    matrix = {a: dict.fromkeys(Tier.values, 0) for a in letters}
    for old, new in first_last.values():
        if old != new:
            matrix[old][new] += 1
    today = timezone.localdate()
    soon = months_before(today, 5)  # five months without a visit: one month before D
    churn = (CustomerTier.objects.filter(customer_id__in=mine)
             .filter(Q(tier=Tier.D) | Q(tier__in=[Tier.A, Tier.B], last_visit__lte=soon))
             .select_related("customer", "store").order_by("-m", "last_visit")[:100])
    return {
        "stores": stores,
        "tiers": [{"store": s, "counts": tiers_by_store[s.pk], "total": sum(tiers_by_store[s.pk].values())}
                  for s in stores],
        "tier_totals": {t: sum(tiers_by_store[s.pk][t] for s in stores) for t in Tier.values},
        "tags": tag_table,
        "month": month,
        "matrix": [{"from": a or "—", "to": [matrix[a][b] for b in Tier.values]} for a in letters],
        "churn": list(churn),
    }


def store_for(user: Any, store_id: int) -> Any:
    from aftersales.stores.models import Store

    return get_or_404(Store.objects.filter(pk__in=visible_store_ids(user)), pk=store_id)


# ---- imported history on the 360 page ---------------------------------------------------------------------------------
def imported_visits_for(user: Any, customer: Any, limit: int = 50) -> tuple[list[ImportedVisit], dict[str, Any]]:
    """A customer's imported visits at the user's stores (newest first) and their totals (visits, net paid, last
    visit date, visits at the group's other stores): history from the store's previous system counts like ours."""
    from django.db.models import Max, Sum

    store_ids = visible_store_ids(user)
    rows = list(
        ImportedVisit.objects.filter(customer=customer, store_id__in=store_ids).select_related("store", "vehicle")
        .order_by("-visit_date", "-id")[:limit]
    )
    mine = Q(store_id__in=store_ids)
    agg = ImportedVisit.objects.filter(customer=customer).aggregate(
        visits=Count("id", filter=mine), other_store_visits=Count("id", filter=~mine),
        paid_total=Sum(F("amount_paid") - F("amount_refunded"), filter=mine), last_visit=Max("visit_date", filter=mine),
    )
    agg["paid_total"] = agg["paid_total"] or Decimal("0.00")
    return rows, agg
