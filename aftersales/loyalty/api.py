"""Loyalty API: a customer's points balance and ledger, vouchers (list, issue, redeem-check), referrals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.errors import ValidationFailed
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store, get_or_404

from . import selectors, services

router = Router(tags=["loyalty"])


class ExpiringOut(Schema):
    on: dt.date
    points: int


class BalanceOut(Schema):
    customer_id: int
    balance: int
    expiring: list[ExpiringOut]


class EntryOut(Schema):
    id: int
    at: dt.datetime
    kind: str
    source: str
    points: int
    balance_after: int
    remaining: int
    expires_on: dt.date | None
    store_id: int
    invoice_id: int | None
    cny_value: Decimal | None
    reverses_id: int | None
    note: str


class VoucherOut(Schema):
    id: int
    code: str
    customer_id: int
    store_id: int
    template_id: int
    template_code: str
    name: str
    kind: str
    status: str
    valid_from: dt.date
    valid_until: dt.date
    reason: str
    issued_at: dt.datetime
    redeemed_at: dt.datetime | None
    invoice_id: int | None
    discount: Decimal | None

    @staticmethod
    def resolve_template_code(obj: Any) -> str:
        return str(obj.template.code)

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.template.name)

    @staticmethod
    def resolve_kind(obj: Any) -> str:
        return str(obj.template.kind)


class VoucherTemplateOut(Schema):
    id: int
    code: str
    name_zh: str
    name_en: str
    kind: str
    amount: Decimal
    percent: Decimal
    max_discount: Decimal | None
    min_spend: Decimal
    job_types: list[str]
    service_codes: list[str]
    validity_days: int
    per_customer_limit: int
    store_id: int | None


class VoucherIssueIn(Schema):
    customer_id: int
    template_id: int
    store_id: int | None = None
    reason: str = ""


class RedeemCheckIn(Schema):
    code: str
    invoice_id: int


class RedeemCheckOut(Schema):
    voucher_id: int
    code: str
    invoice_id: int
    discount: Decimal


class PointsAdjustIn(Schema):
    points: int
    reason: str
    idempotency_key: str
    store_id: int | None = None


class BehaviourIn(Schema):
    behaviour: str
    source_key: str
    store_id: int | None = None
    note: str = ""


class ReferralIn(Schema):
    referrer_id: int
    referred_id: int
    store_id: int | None = None
    staff_id: int | None = None


class ReferralOut(Schema):
    id: int
    referrer_id: int
    referrer_name: str
    referred_id: int
    referred_name: str
    staff_id: int | None
    store_id: int
    status: str
    created_at: dt.datetime
    qualified_at: dt.datetime | None
    invoice_id: int | None
    reward_points: int | None

    @staticmethod
    def resolve_referrer_name(obj: Any) -> str:
        return str(obj.referrer.name)

    @staticmethod
    def resolve_referred_name(obj: Any) -> str:
        return str(obj.referred.name)

    @staticmethod
    def resolve_reward_points(obj: Any) -> int | None:
        return obj.reward_entry.points if obj.reward_entry_id else None


class ReportRow(Schema):
    id: int | None
    name: str
    total: int
    pending: int
    rewarded: int
    points: int


class ReferralReportOut(Schema):
    by_staff: list[ReportRow]
    by_customer: list[ReportRow]


# ---- points -----------------------------------------------------------------------------------------------------
@router.get("/customers/{customer_id}/balance", response={200: BalanceOut, **ERRORS})
def balance(request: Any, customer_id: int) -> Any:
    user = request_user(request)
    require(user, "loyalty.view_pointsentry")
    customer = selectors.customer_for_loyalty(user, customer_id)
    return {
        "customer_id": customer.pk,
        "balance": selectors.balance_of(customer),
        "expiring": [{"on": on, "points": points} for on, points in selectors.expiring_points(customer)],
    }


@router.get("/customers/{customer_id}/ledger", response={200: list[EntryOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def ledger(request: Any, customer_id: int) -> Any:
    user = request_user(request)
    require(user, "loyalty.view_pointsentry")
    return selectors.customer_ledger(user, customer_id)


@router.post("/customers/{customer_id}/adjust", response={201: EntryOut, **ERRORS})
def adjust(request: Any, customer_id: int, payload: PointsAdjustIn) -> Any:
    user = request_user(request)
    require(user, "loyalty.adjust_points")
    customer = selectors.customer_for_loyalty(user, customer_id)
    store = default_store(user, payload.store_id)
    entry = services.points_adjust(actor=user, customer=customer, store=store, points=payload.points,
                                   reason=payload.reason, idempotency_key=payload.idempotency_key)
    return Status(201, entry)


@router.post("/customers/{customer_id}/behaviour", response={201: EntryOut, **ERRORS})
def behaviour(request: Any, customer_id: int, payload: BehaviourIn) -> Any:
    """Points for a check-in, review, referral or sharing; the same ``source_key`` earns once."""
    user = request_user(request)
    require(user, "loyalty.add_pointsentry")
    customer = selectors.customer_for_loyalty(user, customer_id)
    store = default_store(user, payload.store_id)
    entry = services.points_earn_behaviour(actor=user, customer=customer, store=store, behaviour=payload.behaviour,
                                           source_key=payload.source_key, note=payload.note)
    return Status(201, entry)


# ---- vouchers ---------------------------------------------------------------------------------------------------
@router.get("/customers/{customer_id}/vouchers", response={200: list[VoucherOut], **ERRORS})
def customer_vouchers(request: Any, customer_id: int, status: str = "") -> Any:
    user = request_user(request)
    require(user, "loyalty.view_voucher")
    qs = selectors.customer_vouchers(user, customer_id)
    return list(qs.filter(status=status) if status else qs[:200])


@router.get("/templates", response={200: list[VoucherTemplateOut], **ERRORS})
def templates(request: Any, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "loyalty.view_vouchertemplate")
    return list(selectors.templates_for(user, store_id))


@router.post("/vouchers", response={201: VoucherOut, **ERRORS})
def issue(request: Any, payload: VoucherIssueIn) -> Any:
    user = request_user(request)
    require(user, "loyalty.add_voucher")
    customer = selectors.customer_for_loyalty(user, payload.customer_id)
    store = default_store(user, payload.store_id)
    template = selectors.template_get(user, payload.template_id)
    voucher = services.voucher_issue(actor=user, customer=customer, store=store, template=template, reason=payload.reason)
    return Status(201, selectors.voucher_get(user, pk=voucher.pk))


@router.post("/vouchers/redeem-check", response={200: RedeemCheckOut, **ERRORS})
def redeem_check(request: Any, payload: RedeemCheckIn) -> Any:
    """Would this voucher apply to this invoice, and for how much? Writes nothing."""
    user = request_user(request)
    require(user, "loyalty.view_voucher")
    code = payload.code.strip().upper()
    if not code:
        raise ValidationFailed("code_required", _("Enter the voucher code."), "code")
    voucher = selectors.voucher_get(user, code=code)
    invoice = get_or_404(selectors.invoices_visible_to(user), pk=payload.invoice_id)
    discount = services.voucher_check(voucher=voucher, invoice=invoice)
    return {"voucher_id": voucher.pk, "code": voucher.code, "invoice_id": invoice.pk, "discount": discount}


# ---- referrals --------------------------------------------------------------------------------------------------
@router.get("/referrals", response={200: list[ReferralOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def referrals(request: Any, store_id: int | None = None, status: str = "") -> Any:
    user = request_user(request)
    require(user, "loyalty.view_referral")
    qs = selectors.referrals_visible_to(user)
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


@router.post("/referrals", response={201: ReferralOut, **ERRORS})
def create_referral(request: Any, payload: ReferralIn) -> Any:
    user = request_user(request)
    require(user, "loyalty.add_referral")
    store = default_store(user, payload.store_id)
    referrer = selectors.customer_for_loyalty(user, payload.referrer_id)
    referred = selectors.customer_for_loyalty(user, payload.referred_id)
    staff = None
    if payload.staff_id is not None:
        from aftersales.staff.selectors import staff_visible_to

        staff = get_or_404(staff_visible_to(user), pk=payload.staff_id)
    referral = services.referral_create(actor=user, referrer=referrer, referred=referred, store=store, staff=staff)
    return Status(201, selectors.referrals_visible_to(user).get(pk=referral.pk))


@router.get("/referrals/report", response={200: ReferralReportOut, **ERRORS})
def referral_report(request: Any, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "loyalty.view_referral")
    report = selectors.referral_report(user, store_id)
    return {
        "by_staff": [{"id": r["staff_id"], "name": r["staff__display_name"] or r["staff__username"] or "—", "total": r["total"],
                      "pending": r["pending"], "rewarded": r["rewarded"], "points": r["points"]} for r in report["by_staff"]],
        "by_customer": [{"id": r["referrer_id"], "name": r["referrer__name"], "total": r["total"], "pending": r["pending"],
                         "rewarded": r["rewarded"], "points": r["points"]} for r in report["by_customer"]],
    }
