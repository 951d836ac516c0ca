"""Writes for engagement: tier recomputation (one customer, or everyone set-based), settings, dedicated advisors."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import ValidationFailed
from aftersales.common.money import parse_money
from aftersales.common.permissions import require, require_store

from . import tiersql
from .choices import AdvisorSource, ChangeSource, Tier, ValueClass
from .models import CustomerTier, DedicatedAdvisor, TierChange, TierSettings

log = logging.getLogger(__name__)


def tier_recompute_customer(
    *, customer_id: int, as_of: dt.date | None = None, source: str = ChangeSource.VISIT
) -> CustomerTier:
    """Recompute one customer's tier now (after a paid visit); a change is kept as a TierChange row."""
    from aftersales.customers.models import Customer

    from .selectors import tier_as_of

    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        result = tier_as_of(customer, as_of)
        row = CustomerTier.objects.select_for_update().filter(customer_id=customer_id).first()
        old = row.tier if row else ""
        figures = {"reason": result.reason, "last_visit": result.last_visit, "r_days": result.r_days, "f": result.f,
                   "m": result.m}
        if row is None:
            row = CustomerTier(customer_id=customer_id, value_class=ValueClass.BASIC, since=as_of)
        if old != result.tier:
            row.since = as_of
            TierChange.objects.create(
                customer_id=customer_id, store_id=customer.home_store_id, old_tier=old, new_tier=result.tier,
                changed_on=as_of, source=source, **figures,
            )
        for key, value in figures.items():
            setattr(row, key, value)
        row.tier, row.store_id, row.visits_total, row.computed_on = (
            result.tier, customer.home_store_id, result.visits_total, as_of
        )
        row.save()
    return row


def tier_recompute_after_commit(customer_id: int) -> None:
    """Called by billing/workshop inside their transaction: recompute once it has committed. Never breaks the
    caller (the nightly sweep catches anything missed)."""

    def run() -> None:
        try:
            tier_recompute_customer(customer_id=customer_id)
        except DatabaseError:  # pragma: no cover - a failure here must not undo a payment; the sweep repairs it
            log.exception("tier recompute after paid visit failed for customer %s", customer_id)

    transaction.on_commit(run)


def tier_recompute_all(*, as_of: dt.date | None = None, source: str = ChangeSource.NIGHTLY) -> dict[str, int]:
    """Everyone's tier, set-based (tiersql.recompute_all): a few INSERT … SELECT / UPDATE statements."""
    return tiersql.recompute_all(as_of=as_of or timezone.localdate(), source=source)


TIER_SETTING_FIELDS = ("a_recency_months", "a_min_visits", "a_min_amount", "c_new_months", "d_lapsed_months",
                       "vip_percent", "key_percent", "insurance_days")


def tier_settings_update(*, actor: Any, store: Any, **data: Any) -> TierSettings:
    require(actor, "engagement.change_tiersettings")
    require_store(actor, store.pk)
    clean: dict[str, Any] = {}
    for key in TIER_SETTING_FIELDS:
        if key not in data:
            continue
        if key == "a_min_amount":
            clean[key] = parse_money(data[key], key)
            continue
        try:
            value = int(str(data[key]).strip())
        except (TypeError, ValueError) as exc:
            raise ValidationFailed("number_format", _("Enter a whole number."), key) from exc
        low, high = (0, 100) if key.endswith("percent") else (1, 120) if key.endswith("months") else (0, 1000)
        if not low <= value <= high:
            raise ValidationFailed("number_range", _("Enter a number from %(a)s to %(b)s.") % {"a": low, "b": high}, key)
        clean[key] = value
    with transaction.atomic():
        row, _created = TierSettings.objects.select_for_update().get_or_create(store=store)
        before = audit.snapshot(row, TIER_SETTING_FIELDS)
        for key, value in clean.items():
            setattr(row, key, value)
        if row.vip_percent + row.key_percent > 100:
            raise ValidationFailed("shares_over_100", _("VIP and key shares together cannot exceed 100%."), "key_percent")
        row.save()
        changes = audit.diff(before, audit.snapshot(row, TIER_SETTING_FIELDS))
        if changes:
            audit.record(actor=actor, obj=row, action="tier_settings.updated", store_id=store.pk, changes=changes)
    return row


def dedicated_advisor_assign(*, actor: Any, customer: Any, advisor: Any, source: str = AdvisorSource.MANAGER) -> DedicatedAdvisor:
    """Give a (tier A) customer a dedicated advisor: the manager's choice, or the system's suggestion accepted."""
    require(actor, "engagement.change_dedicatedadvisor")
    from aftersales.staff.selectors import staff_visible_to

    if advisor is None or not staff_visible_to(actor).filter(pk=getattr(advisor, "pk", advisor), is_active=True).exists():
        raise ValidationFailed("advisor_unknown", _("Unknown advisor."), "advisor")
    if source not in AdvisorSource.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": source}, "source")
    with transaction.atomic():
        row = DedicatedAdvisor.objects.select_for_update().filter(customer=customer).first()
        old = row.advisor_id if row else None
        if row is None:
            row = DedicatedAdvisor(customer=customer)
        row.advisor_id, row.source, row.assigned_at = getattr(advisor, "pk", advisor), source, timezone.now()
        row.assigned_by = actor if getattr(actor, "pk", None) else None
        row.save()
        audit.record(actor=actor, obj=customer, action="customer.dedicated_advisor", store_id=customer.home_store_id,
                     customer_id=customer.pk, changes={"dedicated_advisor": [old, row.advisor_id]}, reason=source)
    return row


def dedicated_advisor_suggest_all(*, as_of: dt.date | None = None) -> int:
    """Nightly: tier A customers without a dedicated advisor get the system's suggestion (the advisor with most of
    their visits). Manager assignments are never overwritten. Returns how many were assigned."""
    from .selectors import suggested_advisor

    count = 0
    missing = CustomerTier.objects.filter(tier=Tier.A, customer__dedicated_advisor__isnull=True).select_related("customer")
    for row in missing.iterator(chunk_size=500):  # tier A is a small share of customers
        advisor = suggested_advisor(row.customer)
        if advisor is None:
            continue
        _obj, created = DedicatedAdvisor.objects.get_or_create(
            customer=row.customer,
            defaults={"advisor": advisor, "source": AdvisorSource.SUGGESTED, "assigned_at": timezone.now()},
        )
        count += int(created)
    return count

