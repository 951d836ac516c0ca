"""The manager's cockpit: each store's KPI targets (defaults exactly SPEC §18) and the dealership's imported gross
profit (new cars and other business) that the after-sales profit share is measured against."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class KpiSettings(models.Model):
    """A store's targets. A store without a row uses the defaults (SPEC §18); the group figures use the defaults."""

    store = models.OneToOneField("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="kpi_settings")
    csat_target = models.DecimalField(_("CSAT at least (%)"), max_digits=5, decimal_places=1, default=Decimal("90"), validators=PERCENT)
    nps_target = models.DecimalField(_("NPS at least"), max_digits=5, decimal_places=1, default=Decimal("50"),
                                     validators=[MinValueValidator(-100), MaxValueValidator(100)])
    repurchase_target = models.DecimalField(_("repurchase rate at least (%)"), max_digits=5, decimal_places=1, default=Decimal("85"), validators=PERCENT)
    churn_target = models.DecimalField(_("churn rate at most (%)"), max_digits=5, decimal_places=1, default=Decimal("5"), validators=PERCENT)
    winback_target = models.DecimalField(_("win-back rate at least (%)"), max_digits=5, decimal_places=1, default=Decimal("20"), validators=PERCENT)
    first_service_target = models.DecimalField(_("first-service conversion at least (%)"), max_digits=5, decimal_places=1, default=Decimal("100"), validators=PERCENT)
    waiting_target = models.DecimalField(_("waiting time at most (minutes)"), max_digits=6, decimal_places=1, default=Decimal("30"), validators=[MinValueValidator(0)])
    waiting_cut_target = models.DecimalField(_("waiting time change at most (% vs baseline)"), max_digits=5, decimal_places=1, default=Decimal("-30"),
                                             validators=[MinValueValidator(-100), MaxValueValidator(100)])
    waiting_baseline = models.DecimalField(
        _("waiting-time baseline (minutes)"), max_digits=6, decimal_places=1, null=True, blank=True, validators=[MinValueValidator(0)],
        help_text=_("Leave empty to use the average of the store's first full quarter."),
    )
    profit_share_target = models.DecimalField(_("after-sales profit share at least (%)"), max_digits=5, decimal_places=1, default=Decimal("55"), validators=PERCENT)
    accuracy_target = models.DecimalField(_("work-order accuracy at least (%)"), max_digits=5, decimal_places=1, default=Decimal("98"), validators=PERCENT)
    progress_target = models.DecimalField(_("orders updated at least every 30 minutes (%)"), max_digits=5, decimal_places=1, default=Decimal("100"), validators=PERCENT)
    labour_cost_per_hour = models.DecimalField(
        _("labour cost per clocked hour (CNY)"), max_digits=8, decimal_places=2, default=Decimal("80.00"), validators=[MinValueValidator(0)],
        help_text=_("Wages and on-costs per technician hour; used for the after-sales gross profit."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("KPI targets")
        verbose_name_plural = _("KPI targets")
        permissions = [("view_dashboard", _("Can see the manager's dashboard"))]

    def __str__(self) -> str:
        return str(self.store)


class GrossProfitMonth(models.Model):
    """A store's gross profit outside after-sales for one calendar month, imported by the manager (Excel/CSV)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    new_car = models.DecimalField(_("new-car gross profit"), max_digits=14, decimal_places=2)
    other = models.DecimalField(_("other gross profit"), max_digits=14, decimal_places=2, default=Decimal("0"),
                                help_text=_("Finance, insurance, accessories and other non-after-sales business."))
    source = models.CharField(_("source"), max_length=120, blank=True)
    imported_at = models.DateTimeField(_("imported at"))
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("imported by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("dealership gross profit (month)")
        verbose_name_plural = _("dealership gross profit (months)")
        ordering = ["store_id", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["store", "month"], name="gross_profit_once_per_month"),
            models.CheckConstraint(condition=models.Q(month__day=1), name="gross_profit_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.month:%Y-%m}"


class DailyRollup(models.Model):
    """One store's figures for one local day: the numerator and denominator of each day-additive KPI (see
    ``rollups.ROLLUP_CODES``), kept by Celery (``aftersales.analytics.rollup_recent``) and checked nightly by the
    reconcile. The dashboard sums them for past days instead of reading the raw tables."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    values = models.JSONField(_("figures"), default=dict)  # code -> [numerator, denominator] as decimal strings
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("daily KPI rollup")
        verbose_name_plural = _("daily KPI rollups")
        constraints = [models.UniqueConstraint(fields=["store", "day"], name="rollup_once_per_store_day")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day}"


class PeriodRollup(models.Model):
    """Every dashboard figure of one store (``store`` set) or one whole dealer group (``store`` empty) for one period
    (day, week, month, quarter or year): the numerator and denominator of each KPI, the after-sales gross profit's
    parts (revenue, parts cost, labour hours) and the store's own waiting-time baseline. Past days of additive KPIs
    are sums of :class:`DailyRollup`; the KPIs that are not sums of days (repurchase and churn over distinct
    customers, win-back, first-service conversion, accuracy, first-time fix, productivity, parts issued) are computed
    for the period itself, the group's over the group's distinct customers. Kept by Celery: the current periods every
    few minutes, the periods of the last week hourly, the last 35 days' nightly (``rollups.py``)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("stores.DealerGroup", verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("period"), max_length=8)
    start = models.DateField(_("first day"))
    values = models.JSONField(_("figures"), default=dict)  # code -> [numerator, denominator] as decimal strings
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("period KPI rollup")
        verbose_name_plural = _("period KPI rollups")
        constraints = [
            models.UniqueConstraint(fields=["store", "kind", "start"], condition=models.Q(store__isnull=False),
                                    name="period_rollup_once_per_store"),
            models.UniqueConstraint(fields=["group", "kind", "start"], condition=models.Q(store__isnull=True),
                                    name="period_rollup_once_per_group"),
        ]
        indexes = [models.Index(fields=["kind", "start"], name="period_rollup_kind_start")]

    def __str__(self) -> str:
        return f"{self.store_id or 'group'} {self.kind} {self.start}"


class RollupReconcile(models.Model):
    """A nightly reconcile: the days recomputed from the raw tables and every figure that differed from its rollup."""

    started_at = models.DateTimeField(_("started at"))
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    checked = models.PositiveIntegerField(_("store-days checked"), default=0)
    missing = models.PositiveIntegerField(_("store-days without a rollup"), default=0)
    facts_missing = models.PositiveIntegerField(_("store-days without staff facts"), default=0)
    differences = models.JSONField(_("differences"), default=list)  # [{store, day, code, stored, raw}]

    class Meta:
        verbose_name = _("rollup reconcile")
        verbose_name_plural = _("rollup reconciles")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.first_day}–{self.last_day}: {len(self.differences)}"


class ReviewSubscription(models.Model):
    """A manager's choice of the reviews mailed to them: for one store, or the whole group (``store`` empty, group
    admins). Mailed as e-mail through the messaging outbox with signed download links (Excel and PDF)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("manager"), on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              help_text=_("Empty: the whole group."))
    monthly = models.BooleanField(_("monthly review"), default=True)
    quarterly = models.BooleanField(_("quarterly review"), default=True)
    yearly = models.BooleanField(_("yearly review"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("review subscription")
        verbose_name_plural = _("review subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["user", "store"], name="review_subscription_once_per_store"),
            models.UniqueConstraint(fields=["user"], condition=models.Q(store__isnull=True), name="review_subscription_once_for_group"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.store_id or 'group'}"


class StaffDailyFact(models.Model):
    """One store's day-additive scorecard figure for one local day and one member of a dimension: an advisor
    (``advisor``, key = user id), a technician (``technician``, key = user id), anyone credited on a referral or
    owning a case (``staff``, key = user id) or a service type (``service_type``, key = the job type). One row per
    figure (``code``): its numerator and denominator, computed by the scorecard's own functions
    (``scorecards.day_facts``), so a period is one ``SUM ... GROUP BY`` over its days. Every computed store-day also
    has a marker row (dimension ``day``, key and code empty), so a reader can tell "nobody had data" from "not
    computed". Kept by ``facts.refresh_dirty`` (domain events mark the store-days) and checked by the nightly
    reconcile."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    dimension = models.CharField(_("dimension"), max_length=12)
    key = models.CharField(_("key"), max_length=40, blank=True)
    code = models.CharField(_("figure"), max_length=20, blank=True)
    numerator = models.DecimalField(_("numerator"), max_digits=30, decimal_places=12, default=Decimal(0))
    denominator = models.DecimalField(_("denominator"), max_digits=30, decimal_places=12, default=Decimal(0))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("staff daily fact")
        verbose_name_plural = _("staff daily facts")
        constraints = [models.UniqueConstraint(fields=["store", "day", "dimension", "key", "code"], name="staff_fact_once")]
        indexes = [models.Index(fields=["day", "store"], name="staff_fact_day_store")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day} {self.dimension}:{self.key} {self.code}"


class DirtyDay(models.Model):
    """A store-day whose rollups and staff facts a domain event may have changed: recomputed once by
    ``aftersales.analytics.refresh_dirty`` however many events marked it."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    marked_at = models.DateTimeField(_("marked at"))

    class Meta:
        verbose_name = _("store-day to recompute")
        verbose_name_plural = _("store-days to recompute")
        constraints = [models.UniqueConstraint(fields=["store", "day"], name="dirty_day_once")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day}"


class MinLevelSuggestion(models.Model):
    """A suggested reorder minimum for a part at a store, from its forecast issue demand (``parts_demand.py``): the
    next 12 weeks' demand, how it was forecast and back-tested, and the minimum it gives. One open suggestion per
    stock item; recomputing supersedes the open ones; accepting writes the stock item's minimum."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("suggestion", "Open")
        ACCEPTED = "accepted", pgettext_lazy("suggestion", "Accepted")
        SUPERSEDED = "superseded", pgettext_lazy("suggestion", "Superseded")

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    part = models.ForeignKey("parts.Part", verbose_name=_("part"), on_delete=models.CASCADE, related_name="+")
    stock_item = models.ForeignKey("parts.StockItem", on_delete=models.CASCADE, related_name="min_suggestions")
    computed_on = models.DateField(_("computed on"))  # the store's local day; the history ends the day before
    weekly = models.JSONField(default=list)  # forecast demand of each of the next 12 weeks (from tomorrow)
    method = models.CharField(max_length=8)  # "ets" or "naive"
    model_mae = models.FloatField(null=True)
    baseline_mae = models.FloatField(null=True)
    model_mape = models.FloatField(null=True)
    baseline_mape = models.FloatField(null=True)
    history_days = models.PositiveIntegerField(default=0)
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"))
    lead_time_source = models.CharField(max_length=10)  # item, supplier, default
    lead_demand = models.DecimalField(_("demand over lead time"), max_digits=12, decimal_places=2)
    safety_stock = models.DecimalField(_("safety stock"), max_digits=12, decimal_places=2)
    suggested_min = models.DecimalField(_("suggested minimum"), max_digits=12, decimal_places=2)
    current_min = models.DecimalField(_("current minimum"), max_digits=12, decimal_places=2)
    # the order-up-to level: the reorder point + the forecast demand over the review period (null: computed before)
    review_demand = models.DecimalField(_("demand over the review period"), max_digits=12, decimal_places=2, default=0)
    suggested_max = models.DecimalField(_("suggested order-up-to level"), max_digits=12, decimal_places=2, null=True)
    current_max = models.DecimalField(_("current order-up-to level"), max_digits=12, decimal_places=2, null=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("suggested minimum")
        verbose_name_plural = _("suggested minimums")
        constraints = [models.UniqueConstraint(fields=["stock_item"], condition=models.Q(status="open"),
                                               name="one_open_min_suggestion_per_item")]
        indexes = [models.Index(fields=["store", "status"], name="minsugg_store_status_idx")]

    def __str__(self) -> str:
        return f"{self.part_id}@{self.store_id}: {self.suggested_min}"
