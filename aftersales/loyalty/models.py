"""Loyalty (SPEC §12): the points ledger with its lots, gifts, vouchers and referrals.

The ledger is the truth: every change of a customer's points is one :class:`PointsEntry` written under the
customer's row lock, carrying the running balance (never negative: checked in the service and by a constraint).
``Customer.points_balance`` is a copy kept in the same transaction (``loyalty_check`` proves they agree).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField

from .choices import EntryKind, EntrySource, ReferralStatus, VoucherKind, VoucherStatus

MONEY = {"max_digits": 12, "decimal_places": 2}


class LoyaltySettings(models.Model):
    """Earn, redeem and expiry rules of one store (defaults used while a store has no row)."""

    store = models.OneToOneField("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="loyalty_settings")
    points_per_cny = models.DecimalField(_("points per CNY paid"), max_digits=6, decimal_places=2, default=Decimal("1"))
    checkin_points = models.PositiveIntegerField(_("points for a check-in"), default=10)
    review_points = models.PositiveIntegerField(_("points for a review"), default=50)
    referral_points = models.PositiveIntegerField(_("points for a referral"), default=500)
    sharing_points = models.PositiveIntegerField(_("points for sharing"), default=5)
    expiry_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"), default=24,
        help_text=_("Points expire at the end of this month after the month they were earned; 0 = never."),
    )
    points_per_cny_redeemed = models.PositiveIntegerField(_("points for 1 CNY off an invoice"), default=100)
    max_redeem_share = models.DecimalField(
        _("largest share of an invoice payable with points"), max_digits=3, decimal_places=2, default=Decimal("0.50"),
    )

    class Meta:
        verbose_name = _("loyalty settings")
        verbose_name_plural = _("loyalty settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(points_per_cny__gte=0), name="loyalty_rate_not_negative"),
            models.CheckConstraint(condition=models.Q(points_per_cny_redeemed__gte=1), name="loyalty_redeem_rate_positive"),
            models.CheckConstraint(
                condition=models.Q(max_redeem_share__gte=0, max_redeem_share__lte=1), name="loyalty_redeem_share_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.store)


class PointsEntry(models.Model):
    """One change of a customer's points. Positive entries are lots (``remaining`` is what is left of them, spent
    first-in first-out by expiry); negative entries consume lots (see :class:`PointsAllocation`)."""

    group = models.ForeignKey("stores.DealerGroup", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="points_entries")
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=8, choices=EntryKind.choices)
    source = models.CharField(_("reason"), max_length=10, choices=EntrySource.choices)
    points = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance"))
    remaining = models.IntegerField(_("remaining"), default=0)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    #: what makes the entry idempotent: the same key never writes a second entry (e.g. ``invoice:42``)
    source_key = models.CharField(_("source key"), max_length=120, unique=True)
    invoice = models.ForeignKey(
        "billing.Invoice", verbose_name=_("invoice"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    cny_value = models.DecimalField(_("value (CNY)"), null=True, blank=True, **MONEY)
    reverses = models.ForeignKey(
        "self", verbose_name=_("reverses"), null=True, blank=True, on_delete=models.PROTECT, related_name="reversals",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = ReadTimeCharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        ordering = ["-at", "-id"]
        permissions = [
            ("adjust_points", _("Can adjust loyalty points")),
            ("redeem_points", _("Can redeem loyalty points")),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(balance_after__gte=0), name="points_balance_not_negative"),
            models.CheckConstraint(condition=models.Q(remaining__gte=0), name="points_remaining_not_negative"),
            models.CheckConstraint(
                condition=(models.Q(points__gt=0, remaining__lte=models.F("points")) | models.Q(points__lt=0, remaining=0)),
                name="points_lot_consistent",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-at", "-id"], name="points_customer_idx"),
            models.Index(fields=["store", "-at"], name="points_store_idx"),
            models.Index(fields=["expires_on"], name="points_open_lots_idx", condition=models.Q(remaining__gt=0)),
            models.Index(fields=["invoice", "kind"], name="points_invoice_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.points:+d} ({self.kind})"


class PointsAllocation(models.Model):
    """How many points a negative entry took from which lot (FIFO), so that reversals and expiry are exact."""

    debit = models.ForeignKey(PointsEntry, on_delete=models.CASCADE, related_name="allocations")
    lot = models.ForeignKey(PointsEntry, on_delete=models.PROTECT, related_name="uses")
    points = models.PositiveIntegerField(_("points"))

    class Meta:
        verbose_name = _("points allocation")
        verbose_name_plural = _("points allocations")
        constraints = [models.CheckConstraint(condition=models.Q(points__gt=0), name="points_allocation_positive")]

    def __str__(self) -> str:
        return f"{self.debit_id}←{self.lot_id}: {self.points}"


class PointsClawback(models.Model):
    """What one refund or credit note of an invoice took back from the points that invoice earned: the points due
    (in proportion to the money given back) and the points actually taken (never more than the balance held).

    One row per refund or credit note, also when nothing was due or nothing was left to take, so that the sweep
    knows the event was handled and never takes twice (a shortfall the customer had already spent stays a shortfall).
    """

    invoice = models.ForeignKey("billing.Invoice", verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="+")
    refund = models.OneToOneField(
        "billing.Refund", verbose_name=_("refund"), null=True, blank=True, on_delete=models.PROTECT, related_name="points_clawback",
    )
    credit_note = models.OneToOneField(
        "billing.CreditNote", verbose_name=_("credit note"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="points_clawback",
    )
    due = models.PositiveIntegerField(_("points due back"))
    taken = models.PositiveIntegerField(_("points taken back"))
    entry = models.OneToOneField(
        PointsEntry, verbose_name=_("points entry"), null=True, blank=True, on_delete=models.PROTECT, related_name="clawback",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("points taken back")
        verbose_name_plural = _("points taken back")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(refund__isnull=False, credit_note__isnull=True)
                           | models.Q(refund__isnull=True, credit_note__isnull=False)),
                name="points_clawback_one_event",
            ),
            models.CheckConstraint(condition=models.Q(taken__lte=models.F("due")), name="points_clawback_taken_within_due"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.taken}/{self.due}"


class Gift(models.Model):
    """A gift from the catalogue: its points cost and the stock a store holds."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="loyalty_gifts")
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    points_cost = models.PositiveIntegerField(_("points cost"))
    stock = models.IntegerField(_("in stock"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("gift")
        verbose_name_plural = _("gifts")
        ordering = ["store_id", "points_cost", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="gift_stock_not_negative"),
            models.CheckConstraint(condition=models.Q(points_cost__gt=0), name="gift_cost_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") and self.name_en else self.name_zh


class GiftRedemption(models.Model):
    gift = models.ForeignKey(Gift, verbose_name=_("gift"), on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    entry = models.OneToOneField(PointsEntry, verbose_name=_("points entry"), on_delete=models.PROTECT, related_name="gift_redemption")
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("gift redemption")
        verbose_name_plural = _("gift redemptions")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.gift} → {self.customer_id}"


class VoucherTemplate(models.Model):
    """What a voucher gives and covers. ``store`` empty = valid at every store of the group."""

    group = models.ForeignKey("stores.DealerGroup", on_delete=models.PROTECT, related_name="voucher_templates")
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), null=True, blank=True, on_delete=models.PROTECT, related_name="voucher_templates",
    )
    code = models.SlugField(_("code"), max_length=40)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80)
    kind = models.CharField(_("kind"), max_length=16, choices=VoucherKind.choices)
    amount = models.DecimalField(_("amount off (CNY)"), default=0, **MONEY)
    percent = models.DecimalField(_("percent off"), max_digits=5, decimal_places=2, default=0)
    max_discount = models.DecimalField(_("largest discount (CNY)"), null=True, blank=True, **MONEY)
    min_spend = models.DecimalField(_("minimum spend (CNY)"), default=0, **MONEY)
    #: which repair-order job types the voucher covers (workshop JobType values); empty = all
    job_types = models.JSONField(_("job types covered"), default=list, blank=True)
    #: which service or labour codes it covers (a service type's code, a labour code on the invoice lines); empty = all
    service_codes = models.JSONField(_("service codes covered"), default=list, blank=True)
    validity_days = models.PositiveIntegerField(_("valid for (days)"), default=90)
    per_customer_limit = models.PositiveSmallIntegerField(
        _("vouchers per customer"), default=1, help_text=_("How many of these one customer may hold in total; 0 = no limit."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("voucher template")
        verbose_name_plural = _("voucher templates")
        ordering = ["group_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["group", "code"], name="voucher_template_code_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="voucher_amount_not_negative"),
            models.CheckConstraint(condition=models.Q(percent__gte=0, percent__lte=100), name="voucher_percent_range"),
            models.CheckConstraint(condition=models.Q(validity_days__gte=1), name="voucher_validity_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") and self.name_en else self.name_zh


class Voucher(models.Model):
    """One voucher issued to one customer: a unique code, single use, valid from/until (store-local dates)."""

    template = models.ForeignKey(VoucherTemplate, verbose_name=_("voucher template"), on_delete=models.PROTECT, related_name="vouchers")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="vouchers")
    store = models.ForeignKey("stores.Store", verbose_name=_("issued at"), on_delete=models.PROTECT, related_name="vouchers")
    code = models.CharField(_("code"), max_length=20, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=VoucherStatus.choices, default=VoucherStatus.ISSUED)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    reason = ReadTimeCharField(_("reason"), max_length=200, blank=True)  # typed, or coded (readtime: a playbook's voucher)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("issued by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)
    invoice = models.ForeignKey(
        "billing.Invoice", verbose_name=_("invoice"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    discount = models.DecimalField(_("discount"), null=True, blank=True, **MONEY)
    redeem_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(valid_until__gte=models.F("valid_from")), name="voucher_window_valid"),
            models.CheckConstraint(
                # redeemed on an invoice, or on a courtesy-car booking (services.voucher_redeem_on_courtesy: no invoice)
                condition=~models.Q(status=VoucherStatus.REDEEMED) | models.Q(invoice__isnull=False)
                | models.Q(redeem_key__startswith="courtesy:"), name="voucher_redeemed_has_invoice",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "status"], name="voucher_customer_idx"),
            models.Index(fields=["status", "valid_until"], name="voucher_expiry_idx"),
        ]

    def __str__(self) -> str:
        return self.code


class VoucherEvent(models.Model):
    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=10)
    to_state = models.CharField(max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("voucher event")
        verbose_name_plural = _("voucher events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.voucher_id}: {self.from_state}→{self.to_state}"


class Referral(models.Model):
    """A new customer brought by an existing one (and the staff member who recorded it)."""

    group = models.ForeignKey("stores.DealerGroup", on_delete=models.PROTECT, related_name="+")
    referrer = models.ForeignKey("customers.Customer", verbose_name=_("referred by"), on_delete=models.PROTECT, related_name="referrals_made")
    referred = models.OneToOneField(
        "customers.Customer", verbose_name=_("new customer"), on_delete=models.PROTECT, related_name="referral",
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff member"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.PENDING)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    qualified_at = models.DateTimeField(_("qualified at"), null=True, blank=True)
    invoice = models.ForeignKey(
        "billing.Invoice", verbose_name=_("first paid invoice"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    reward_entry = models.OneToOneField(
        PointsEntry, verbose_name=_("reward"), null=True, blank=True, on_delete=models.PROTECT, related_name="referral",
    )

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(referrer=models.F("referred")), name="referral_not_self"),
        ]
        indexes = [models.Index(fields=["store", "status"], name="referral_store_idx")]

    def __str__(self) -> str:
        return f"{self.referrer_id} → {self.referred_id}"


class ReferralEvent(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=10)
    to_state = models.CharField(max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("referral event")
        verbose_name_plural = _("referral events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.from_state}→{self.to_state}"


__all__ = [
    "EntryKind", "EntrySource", "Gift", "GiftRedemption", "LoyaltySettings", "PointsAllocation", "PointsClawback",
    "PointsEntry",
    "Referral", "ReferralEvent", "ReferralStatus", "Voucher", "VoucherEvent", "VoucherKind", "VoucherStatus",
    "VoucherTemplate",
]
