"""Customer engagement: RFM tiers (SPEC §10), their history, segments and the history import."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField

from .choices import AdvisorSource, ChangeSource, ImportStatus, Tier, TierReason, ValueClass

TIER_LETTERS = [("", "—"), *Tier.choices]


class TierSettings(models.Model):
    """A store's tier thresholds. The defaults are exactly SPEC §10's; a store without a row uses them."""

    store = models.OneToOneField("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="tier_settings")
    a_recency_months = models.PositiveSmallIntegerField(_("A: last visit within (months)"), default=3)
    a_min_visits = models.PositiveSmallIntegerField(_("A: paid visits in 12 months at least"), default=4)
    a_min_amount = models.DecimalField(_("A: amount paid in 12 months at least (CNY)"), max_digits=12, decimal_places=2,
                                       default=Decimal("15000.00"))
    c_new_months = models.PositiveSmallIntegerField(_("C: first visit within (months)"), default=1)
    d_lapsed_months = models.PositiveSmallIntegerField(_("D: no visit for (months)"), default=6)
    vip_percent = models.PositiveSmallIntegerField(_("VIP: top share by value (%)"), default=10)
    key_percent = models.PositiveSmallIntegerField(_("Key: next share by value (%)"), default=20)
    insurance_days = models.PositiveSmallIntegerField(_("Insurance expiring within (days)"), default=30)

    class Meta:
        verbose_name = _("tier settings")
        verbose_name_plural = _("tier settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(a_recency_months__gte=1, c_new_months__gte=1, d_lapsed_months__gte=1),
                                   name="tiersettings_months_positive"),
            models.CheckConstraint(condition=models.Q(a_min_amount__gte=0), name="tiersettings_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return str(self.store)


class CustomerTier(models.Model):
    """The customer's current tier and the figures behind it (one row per customer, rewritten set-based)."""

    customer = models.OneToOneField("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                    related_name="tier")
    store = models.ForeignKey("stores.Store", verbose_name=_("home store"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    tier = models.CharField(_("tier"), max_length=1, choices=Tier.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=TierReason.choices)
    last_visit = models.DateField(_("last paid visit"), null=True, blank=True)
    r_days = models.IntegerField(_("R (days since last paid visit)"), null=True, blank=True)
    f = models.PositiveIntegerField(_("F (paid visits in 12 months)"), default=0)
    m = models.DecimalField(_("M (paid in 12 months, CNY)"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    visits_total = models.PositiveIntegerField(_("paid visits ever"), default=0)
    value_class = models.CharField(_("customer class"), max_length=5, choices=ValueClass.choices, default=ValueClass.BASIC)
    computed_on = models.DateField(_("computed on"))
    since = models.DateField(_("in this tier since"))

    class Meta:
        verbose_name = _("customer tier")
        verbose_name_plural = _("customer tiers")
        indexes = [models.Index(fields=["store", "tier"], name="custtier_store_tier_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.tier}"


class TierChange(models.Model):
    """Every change of a customer's tier, with the date, old and new tier and the figures behind it."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="tier_changes")
    store = models.ForeignKey("stores.Store", verbose_name=_("home store"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    old_tier = models.CharField(_("old tier"), max_length=1, choices=TIER_LETTERS, blank=True)
    new_tier = models.CharField(_("new tier"), max_length=1, choices=Tier.choices)
    changed_on = models.DateField(_("changed on"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    reason = models.CharField(_("reason"), max_length=20, choices=TierReason.choices)
    last_visit = models.DateField(_("last paid visit"), null=True, blank=True)
    r_days = models.IntegerField(_("R (days)"), null=True, blank=True)
    f = models.PositiveIntegerField(_("F"), default=0)
    m = models.DecimalField(_("M (CNY)"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    source = models.CharField(_("source"), max_length=10, choices=ChangeSource.choices, default=ChangeSource.NIGHTLY)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-changed_on", "-id"]
        indexes = [
            models.Index(fields=["customer", "-changed_on"], name="tierchange_customer_idx"),
            models.Index(fields=["changed_on"], name="tierchange_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.old_tier or '—'}→{self.new_tier} {self.changed_on}"


class DedicatedAdvisor(models.Model):
    """Tier A's dedicated advisor (SPEC §10): assigned by the manager, or the system's suggestion."""

    customer = models.OneToOneField("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                    related_name="dedicated_advisor")
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("advisor"), on_delete=models.CASCADE,
                                related_name="dedicated_customers")
    source = models.CharField(_("source"), max_length=10, choices=AdvisorSource.choices)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assigned by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(_("assigned at"))

    class Meta:
        verbose_name = _("dedicated advisor")
        verbose_name_plural = _("dedicated advisors")

    def __str__(self) -> str:
        return f"{self.customer_id}→{self.advisor_id}"


class ImportJob(models.Model):
    """One history-import file: previewed, then processed in chunks by a task (progress = processed/total)."""

    group = models.ForeignKey("stores.DealerGroup", verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey("stores.Store", verbose_name=_("default store"), on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    file_name = models.CharField(_("file"), max_length=200)
    file_sha256 = models.CharField(max_length=64)
    content = models.BinaryField(editable=False)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    preview_new = models.PositiveIntegerField(_("new visits in the file"), default=0)
    preview_unchanged = models.PositiveIntegerField(_("visits already imported"), default=0)
    preview_error_rows = models.PositiveIntegerField(_("rows with errors in the file"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed"), default=0)
    created_count = models.PositiveIntegerField(_("visits created"), default=0)
    unchanged_count = models.PositiveIntegerField(_("already imported"), default=0)
    error_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    customers_created = models.PositiveIntegerField(_("customers created"), default=0)
    vehicles_created = models.PositiveIntegerField(_("vehicles created"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)  # [{row, field, code, message}]
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("history import")
        verbose_name_plural = _("history imports")
        ordering = ["-created_at", "-id"]
        permissions = [("run_import", _("Can import visit history"))]

    def __str__(self) -> str:
        return self.file_name

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 100


class ImportJobEvent(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=10)
    to_state = models.CharField(max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("history import event")
        verbose_name_plural = _("history import events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.job_id}: {self.from_state}→{self.to_state}"


class ImportedVisit(models.Model):
    """A paid visit from another system's history. Counts as a paid visit everywhere (tiers, tags, segments).

    ``external_key`` (a hash of the row's identifying content) makes a re-import of the same file a no-op.
    """

    group = models.ForeignKey("stores.DealerGroup", on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="imported_visits")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="imported_visits")
    external_key = models.CharField(max_length=64)
    visit_date = models.DateField(_("visit date"))
    mileage = models.PositiveIntegerField(_("mileage (km)"), null=True, blank=True)
    amount_paid = models.DecimalField(_("amount paid"), max_digits=12, decimal_places=2)
    amount_refunded = models.DecimalField(_("refunded"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    items = models.TextField(_("items"), blank=True)
    job = models.ForeignKey(ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="visits")
    row = models.PositiveIntegerField(_("row"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("imported visit")
        verbose_name_plural = _("imported visits")
        ordering = ["-visit_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "external_key"], name="importedvisit_key_unique"),
            models.CheckConstraint(condition=models.Q(amount_paid__gte=0, amount_refunded__gte=0),
                                   name="importedvisit_amounts_not_negative"),
            models.CheckConstraint(condition=models.Q(amount_refunded__lte=models.F("amount_paid")),
                                   name="importedvisit_refund_within_paid"),
        ]
        indexes = [models.Index(fields=["customer", "visit_date"], name="importedvisit_cust_idx")]

    def __str__(self) -> str:
        return f"{self.visit_date} {self.customer_id} {self.amount_paid}"

    @property
    def net_paid(self) -> Decimal:
        return self.amount_paid - self.amount_refunded


class Segment(models.Model):
    """A saved segment: criteria (JSON) evaluated live by selectors.segment_customers."""

    group = models.ForeignKey("stores.DealerGroup", on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE,
                              related_name="+")
    name = models.CharField(_("name"), max_length=80)
    criteria = models.JSONField(_("criteria"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]
        permissions = [("export_segment", _("Can export a segment's customers"))]

    def __str__(self) -> str:
        return self.name
