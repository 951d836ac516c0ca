"""Demo loyalty data, made through the services: a year of points from the demo's paid invoices (replayed in
order, so referrals qualify on the new customer's first visit), check-ins, gifts, vouchers and one store with a
short expiry so that the ledger shows expiry entries."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.utils import timezone

from . import services
from .models import Gift, LoyaltySettings, VoucherTemplate

TEMPLATES = [
    # code, zh, en, kind, amount, percent, max, job types, service codes, days, per customer
    ("service-50", "保养 50 元抵用券", "CNY 50 off a service", "amount_off", "50", "0", None, ["maintenance"], [], 90, 1),
    ("winback-labour-30", "回厂工时 7 折券", "30% off labour (welcome back)", "percent_labour", "0", "30", "300", [], [], 60, 1),
    ("ac-clean-free", "免费空调清洗", "Free A/C cleaning", "free_item", "0", "0", "200", [], ["AC-CLEAN"], 180, 1),
    ("parts-10", "配件 9 折券", "10% off parts", "percent_parts", "0", "10", "500", [], [], 30, 2),
]
GIFTS = [("车载香薰", "Car fragrance", 800, 20), ("精品洗车一次", "Premium car wash", 1500, 50), ("品牌保温杯", "Branded travel mug", 3000, 8)]


def load(*, group: Any, now: dt.datetime | None = None, seed: int = 7) -> dict[str, int]:
    from aftersales.billing.models import Invoice
    from aftersales.customers.models import Customer
    from aftersales.staff.models import User
    from aftersales.stores.models import Store

    rng = random.Random(seed)
    now = now or timezone.now()
    stores = list(Store.objects.filter(group=group).order_by("id"))
    managers = {s.pk: User.objects.filter(memberships__store=s, groups__name="store_manager").order_by("id").first() for s in stores}
    advisors = {s.pk: User.objects.filter(memberships__store=s, groups__name="service_advisor").order_by("id").first() for s in stores}
    if len(stores) > 1:  # the second store keeps points 9 months, so the demo ledger shows expiry
        LoyaltySettings.objects.create(store=stores[1], expiry_months=9, points_per_cny=Decimal("1.5"))
    for store in stores:
        Gift.objects.bulk_create(Gift(store=store, name_zh=zh, name_en=en, points_cost=cost, stock=stock) for zh, en, cost, stock in GIFTS)
    templates = {
        code: VoucherTemplate.objects.create(
            group=group, code=code, name_zh=zh, name_en=en, kind=kind, amount=Decimal(amount), percent=Decimal(pct),
            max_discount=Decimal(cap) if cap else None, job_types=jobs, service_codes=codes, validity_days=days,
            per_customer_limit=limit,
        )
        for code, zh, en, kind, amount, pct, cap, jobs, codes, days, limit in TEMPLATES
    }
    paid = list(Invoice.objects.filter(store__group=group, status="paid").order_by("paid_at", "id"))
    first_paid: dict[int, Invoice] = {}
    for invoice in paid:
        first_paid.setdefault(invoice.customer_id, invoice)
    # referrals: a few customers whose first visit came through an existing customer (recorded a few days before)
    referrals = 0
    candidates = [inv for inv in first_paid.values() if inv.paid_at and inv.paid_at > now - dt.timedelta(days=200)]
    for invoice in candidates[:4]:
        older = [c for c, first in first_paid.items() if first.paid_at and first.paid_at < invoice.paid_at - dt.timedelta(days=30)
                 and c != invoice.customer_id]
        if not older:
            continue
        referrer = Customer.objects.get(pk=rng.choice(older))
        store = invoice.store
        services.referral_create(actor=advisors[store.pk], referrer=referrer, referred=invoice.customer, store=store,
                                 at=invoice.paid_at - dt.timedelta(days=3))
        referrals += 1
    for invoice in paid:  # replay: every paid visit earns (and qualifies a referral on the first one)
        services.points_earn_for_invoice(invoice=invoice)
    # a pending referral: a new customer brought in this week, not yet visited
    never = Customer.objects.filter(group=group).exclude(pk__in=list(first_paid)).exclude(referral__isnull=False).order_by("id").first()
    if never is not None and first_paid:
        store = never.home_store or stores[0]
        services.referral_create(actor=advisors[store.pk], referrer=Customer.objects.get(pk=next(iter(first_paid))),
                                 referred=never, store=store)
        referrals += 1
    rich = list(Customer.objects.filter(group=group, points_balance__gte=3000).order_by("-points_balance", "id")[:12])
    for i, customer in enumerate(rich):
        store = customer.home_store or stores[0]
        services.points_earn_behaviour(actor=advisors[store.pk], customer=customer, store=store, behaviour="checkin",
                                       source_key=f"demo-checkin:{customer.pk}")
        if i % 3 == 0:
            services.points_earn_behaviour(actor=advisors[store.pk], customer=customer, store=store, behaviour="review",
                                           source_key=f"demo-review:{customer.pk}")
        if i % 4 == 1:
            gift = Gift.objects.filter(store=store).order_by("points_cost").first()
            if gift is not None:
                services.gift_redeem(actor=managers[store.pk], customer=customer, gift=gift, idempotency_key=f"demo-gift:{customer.pk}")
    vouchers = 0
    customers = list(Customer.objects.filter(group=group, home_store__isnull=False).order_by("id")[:30])
    for i, customer in enumerate(customers):
        store = customer.home_store
        code = TEMPLATES[i % len(TEMPLATES)][0]
        # a third were issued months ago: some of those have run out (the sweep marks them expired)
        at = now - dt.timedelta(days=100) if i % 3 == 0 else now - dt.timedelta(days=i % 7)
        services.voucher_issue(actor=managers[store.pk], customer=customer, store=store, template=templates[code],
                               reason="会员活动 / member offer", at=at)
        vouchers += 1
    services.expiry_sweep()
    services.voucher_expire_sweep()
    return {"referrals": referrals, "vouchers": vouchers, "earned": len(paid)}
