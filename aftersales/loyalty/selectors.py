"""Reads for loyalty, scoped to the acting user (ARCHITECTURE habit 3).

A customer's points, vouchers and referrals are visible to whoever may see the customer (points are one balance
across the group); the per-store lists (ledger search, referrals, gifts) show the user's stores only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from aftersales.common.scoping import get_or_404, restrict_customers, restrict_to_stores, visible_store_ids
from aftersales.customers.selectors import customers_visible_to

from .choices import EntryKind, ReferralStatus, VoucherStatus
from .models import Gift, PointsEntry, Referral, Voucher, VoucherTemplate
from .services import loyalty_settings

LEDGER_ON_360 = 15


@dataclass
class CustomerLoyalty:
    customer: Any
    balance: int
    ledger_balance: int
    entries: list[Any]
    vouchers: list[Any]
    referrals_made: list[Any]
    referred_by: Any
    expiring: list[tuple[dt.date, int]] = field(default_factory=list)
    templates: list[Any] = field(default_factory=list)


def customer_for_loyalty(user: Any, customer_id: int) -> Any:
    return get_or_404(customers_visible_to(user), pk=customer_id)


def balance_of(customer: Any) -> int:
    """The ledger's balance (the truth): the running balance of the customer's last entry."""
    last = PointsEntry.objects.filter(customer_id=customer.pk).order_by("-id").values_list("balance_after", flat=True).first()
    return int(last or 0)


def expiring_points(customer: Any, *, within_days: int | None = None) -> list[tuple[dt.date, int]]:
    """Open lots by expiry date (soonest first): what expires when, if not spent."""
    qs = PointsEntry.objects.filter(customer_id=customer.pk, remaining__gt=0, expires_on__isnull=False)
    if within_days is not None:
        qs = qs.filter(expires_on__lte=timezone.now().date() + dt.timedelta(days=within_days))
    rows = qs.values("expires_on").annotate(points=Sum("remaining")).order_by("expires_on")
    return [(r["expires_on"], int(r["points"])) for r in rows if r["expires_on"] is not None]


def customer_ledger(user: Any, customer_id: int) -> QuerySet[PointsEntry]:
    customer = customer_for_loyalty(user, customer_id)
    return PointsEntry.objects.filter(customer=customer).select_related("store", "actor", "invoice").order_by("-at", "-id")


def customer_vouchers(user: Any, customer_id: int) -> QuerySet[Voucher]:
    customer = customer_for_loyalty(user, customer_id)
    return Voucher.objects.filter(customer=customer).select_related("template", "store", "invoice").order_by("-issued_at", "-id")


def customer_loyalty(user: Any, customer_id: int) -> CustomerLoyalty:
    """The 360 page's points and vouchers section, in a fixed number of queries."""
    customer = customer_for_loyalty(user, customer_id)
    entries = list(
        PointsEntry.objects.filter(customer=customer).select_related("store", "actor", "invoice").order_by("-at", "-id")[:LEDGER_ON_360]
    )
    vouchers = list(Voucher.objects.filter(customer=customer).select_related("template", "store", "invoice").order_by(
        "status", "-issued_at")[:30])
    referrals = list(Referral.objects.filter(referrer=customer).select_related("referred", "staff").order_by("-created_at")[:20])
    referred_by = Referral.objects.filter(referred=customer).select_related("referrer", "staff").first()
    last = PointsEntry.objects.filter(customer=customer).order_by("-id").values_list("balance_after", flat=True).first()
    templates = list(templates_for(user)) if user.has_perm("loyalty.add_voucher") else []
    return CustomerLoyalty(
        customer=customer, balance=customer.points_balance, ledger_balance=int(last or 0), entries=entries,
        vouchers=vouchers, referrals_made=referrals, referred_by=referred_by, expiring=expiring_points(customer)[:3],
        templates=templates,
    )


def templates_for(user: Any, store_id: int | None = None) -> QuerySet[VoucherTemplate]:
    """Active voucher templates of the user's group (group-wide ones and those of the user's stores)."""
    stores = visible_store_ids(user)
    qs = VoucherTemplate.objects.filter(group_id=user.dealer_group_id, is_active=True).filter(
        Q(store__isnull=True) | Q(store_id__in=stores)
    )
    if store_id is not None:
        qs = qs.filter(Q(store__isnull=True) | Q(store_id=store_id))
    return qs.order_by("code")


def template_get(user: Any, template_id: int) -> VoucherTemplate:
    return get_or_404(templates_for(user), pk=template_id)


def vouchers_visible_to(user: Any) -> QuerySet[Voucher]:
    return restrict_customers(Voucher.objects.all(), user, "customer").select_related("template", "customer", "store")


def voucher_get(user: Any, *, pk: int | None = None, code: str | None = None) -> Voucher:
    if code is not None:
        return get_or_404(vouchers_visible_to(user), code=code.strip().upper())
    return get_or_404(vouchers_visible_to(user), pk=pk)


def ledger_search(
    user: Any,
    *,
    store_id: int | None = None,
    q: str = "",
    kind: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[PointsEntry]:
    """Ledger entries written at the user's stores, newest first; ``q`` matches the customer's name or mobile,
    the invoice number or the note."""
    qs = restrict_to_stores(PointsEntry.objects.all(), user)
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    text = (q or "").strip()
    if text:
        match = Q(customer__name__icontains=text) | Q(invoice__number__iexact=text) | Q(note__icontains=text)
        digits = "".join(ch for ch in text if ch.isdigit())
        if len(digits) >= 4:
            match |= Q(customer__mobile_digits__contains=digits)
        qs = qs.filter(match)
    if kind in EntryKind.values:
        qs = qs.filter(kind=kind)
    if date_from:
        qs = qs.filter(at__date__gte=date_from)
    if date_to:
        qs = qs.filter(at__date__lte=date_to)
    return qs.select_related("customer", "store", "actor", "invoice").order_by("-at", "-id")


def store_summary(user: Any, store: Any) -> dict[str, Any]:
    """Headline figures of one store's loyalty: points earned and redeemed this month, open vouchers, referrals."""
    today = timezone.localtime(timezone.now(), store.zone).date()
    month_start = today.replace(day=1)
    entries = PointsEntry.objects.filter(store=store, at__date__gte=month_start)
    earned = entries.filter(points__gt=0, kind=EntryKind.EARN).aggregate(s=Sum("points"))["s"] or 0
    spent = -(entries.filter(kind=EntryKind.REDEEM).aggregate(s=Sum("points"))["s"] or 0)
    return {
        "earned_month": earned,
        "redeemed_month": spent,
        "open_vouchers": Voucher.objects.filter(store=store, status=VoucherStatus.ISSUED).count(),
        "pending_referrals": Referral.objects.filter(store=store, status=ReferralStatus.PENDING).count(),
        "settings": loyalty_settings(store),
    }


def gifts_for(user: Any, store_id: int | None = None) -> QuerySet[Gift]:
    qs = restrict_to_stores(Gift.objects.filter(is_active=True), user)
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    return qs.select_related("store").order_by("points_cost", "id")


def gift_get(user: Any, gift_id: int) -> Gift:
    return get_or_404(gifts_for(user), pk=gift_id)


def referrals_visible_to(user: Any) -> QuerySet[Referral]:
    return restrict_to_stores(Referral.objects.all(), user).select_related(
        "referrer", "referred", "staff", "store", "reward_entry"
    )


def referral_report(user: Any, store_id: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """Referrals per staff member and per referring customer at the user's stores: total, pending, rewarded."""
    qs = restrict_to_stores(Referral.objects.all(), user)
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    counts = {
        "total": Count("id"),
        "pending": Count("id", filter=Q(status=ReferralStatus.PENDING)),
        "rewarded": Count("id", filter=Q(status=ReferralStatus.REWARDED)),
        "points": Sum("reward_entry__points"),
    }
    by_staff = list(qs.values("staff_id", "staff__display_name", "staff__username").annotate(**counts).order_by("-total", "staff_id"))
    by_customer = list(qs.values("referrer_id", "referrer__name").annotate(**counts).order_by("-total", "referrer_id"))
    for row in by_staff + by_customer:
        row["points"] = int(row["points"] or 0)
    return {"by_staff": by_staff, "by_customer": by_customer}


def invoices_visible_to(user: Any) -> QuerySet[Any]:
    """Invoices of the user's stores (the billing app owns them; loyalty only reads them to price vouchers and points)."""
    from aftersales.billing.models import Invoice

    return restrict_to_stores(Invoice.objects.all(), user).select_related("store", "order", "customer")


def customer_by_reference(user: Any, text: str, field: str = "customer") -> Any:
    """A customer the user may see, by mobile number (any format) or customer number; a clear error otherwise."""
    from django.utils.translation import gettext as _

    from aftersales.common.errors import ValidationFailed
    from aftersales.common.validators import normalize_mobile

    raw = (text or "").strip()
    found = None
    digits = "".join(ch for ch in raw if ch.isdigit())
    if raw.startswith("+") or len(digits) >= 11:
        try:
            mobile = normalize_mobile(raw, field)
        except ValidationFailed:
            mobile = ""
        if mobile:
            found = customers_visible_to(user).filter(mobile=mobile).first()
    elif digits and digits == raw:
        found = customers_visible_to(user).filter(pk=int(digits)).first()
    if found is None:
        raise ValidationFailed("customer_unknown", _("No customer with this mobile or number at your stores."), field)
    return found
