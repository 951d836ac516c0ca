from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class EntryKind(models.TextChoices):
    """Why the balance changed: the five kinds of ledger entry."""

    EARN = "earn", _("Earned")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjusted")
    REVERSE = "reverse", _("Reversed")


class EntrySource(models.TextChoices):
    """What the entry is about (the ledger's reason, next to its kind)."""

    PURCHASE = "purchase", _("Paid invoice")
    CHECKIN = "checkin", _("Check-in")
    REVIEW = "review", _("Review")
    REFERRAL = "referral", _("Referral")
    SHARING = "sharing", _("Sharing")
    INVOICE = "invoice", _("Paid with points on an invoice")
    GIFT = "gift", _("Gift")
    MANUAL = "manual", _("Manual adjustment")
    EXPIRY = "expiry", _("Expiry")


#: behaviour points a store configures (a subset of the sources)
BEHAVIOURS = (EntrySource.CHECKIN, EntrySource.REVIEW, EntrySource.REFERRAL, EntrySource.SHARING)


class VoucherKind(models.TextChoices):
    AMOUNT_OFF = "amount_off", _("Amount off")
    PERCENT_LABOUR = "percent_labour", _("Percent off labour")
    PERCENT_PARTS = "percent_parts", _("Percent off parts")
    FREE_ITEM = "free_item", _("Free service item")


class VoucherStatus(models.TextChoices):
    ISSUED = "issued", pgettext_lazy("voucher status", "Issued")
    REDEEMED = "redeemed", _("Redeemed")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


VOUCHER_TRANSITIONS: dict[str, set[str]] = {
    VoucherStatus.ISSUED: {VoucherStatus.REDEEMED, VoucherStatus.EXPIRED, VoucherStatus.CANCELLED},
    # a refunded voucher payment gives the voucher back: usable again while valid, otherwise it is simply expired
    VoucherStatus.REDEEMED: {VoucherStatus.ISSUED, VoucherStatus.EXPIRED},
    VoucherStatus.EXPIRED: set(),
    VoucherStatus.CANCELLED: set(),
}


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    QUALIFIED = "qualified", _("Qualified")
    REWARDED = "rewarded", _("Rewarded")
    CANCELLED = "cancelled", _("Cancelled")


REFERRAL_TRANSITIONS: dict[str, set[str]] = {
    ReferralStatus.PENDING: {ReferralStatus.QUALIFIED, ReferralStatus.CANCELLED},
    ReferralStatus.QUALIFIED: {ReferralStatus.REWARDED},
    ReferralStatus.REWARDED: set(),
    ReferralStatus.CANCELLED: set(),
}


#: the outbox message kind sent when a voucher is issued (declared in messaging/kinds.py with the same label)
VOUCHER_MESSAGE_KIND = ("loyalty.voucher_issued", _("Voucher issued"))
