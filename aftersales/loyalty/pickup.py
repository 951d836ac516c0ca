"""The check of an owner's pickup voucher, provided to mobility at start (``mobility.vouchers.provide_voucher_check``
in ``LoyaltyConfig.ready``; issue 19: mobility does not import loyalty). Read only: the voucher is redeemed at the
till against the pickup fee line."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from .choices import VoucherKind, VoucherStatus
from .models import Voucher


def pickup_voucher_check(
    *, customer_id: int, code: str, service_code: str, store_id: int, on: dt.date
) -> tuple[Any, Literal["", "unknown", "not_covered", "used"]]:
    """(voucher, "") when the customer's voucher ``code`` is a free service item covering ``service_code`` at the
    store, unused and valid ``on`` that day; otherwise (voucher or None, what is wrong: "unknown", "not_covered",
    "used")."""
    voucher = Voucher.objects.select_related("template").filter(code=code, customer_id=customer_id).first()
    if voucher is None:
        return None, "unknown"
    template = voucher.template
    codes = {c.strip().upper() for c in (template.service_codes or [])}
    if template.kind != VoucherKind.FREE_ITEM or service_code not in codes or (template.store_id and template.store_id != store_id):
        return voucher, "not_covered"
    if voucher.status != VoucherStatus.ISSUED or not voucher.valid_from <= on <= voucher.valid_until:
        return voucher, "used"
    return voucher, ""
