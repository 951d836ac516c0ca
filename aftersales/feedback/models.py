"""Follow-ups after delivery, feedback cases (complaints, suggestions, recovery) with SLA timers, routing,
label corrections for the classifier and improvement actions."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField, ReadTimeTextField

from .choices import (
    CaseChannel,
    CaseKind,
    CaseStatus,
    Category,
    EventKind,
    FollowUpMethod,
    FollowUpStatus,
    Reaction,
    TimerKind,
    TimerUnit,
)

SCORE = [MinValueValidator(0), MaxValueValidator(10)]


class FeedbackSettings(models.Model):
    """A store's follow-up and SLA settings (defaults from SPEC §9; a manager may change them)."""

    store = models.OneToOneField("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="feedback_settings")
    followup_due_hours = models.PositiveSmallIntegerField(_("follow-up due after delivery (hours)"), default=24)
    followup_overdue_hours = models.PositiveSmallIntegerField(_("follow-up overdue after delivery (hours)"), default=72)
    retry_days = models.CharField(_("attempts on days after delivery"), max_length=40, default="1,3,7")
    survey_valid_hours = models.PositiveSmallIntegerField(_("survey link valid after the last attempt (hours)"), default=48)
    ack_hours = models.PositiveSmallIntegerField(_("acknowledge within (business hours)"), default=2)
    contact_days = models.PositiveSmallIntegerField(_("complaint: contact within (days of 24 hours)"), default=1)
    resolve_days = models.PositiveSmallIntegerField(_("complaint: resolve within (business days)"), default=5)
    assess_days = models.PositiveSmallIntegerField(_("suggestion: assess within (business days)"), default=3)
    recovery_hours = models.PositiveSmallIntegerField(_("recovery within (business hours)"), default=1)
    warn_percent = models.PositiveSmallIntegerField(_("warn at (percent of the time used)"), default=75, validators=[MaxValueValidator(99)])

    class Meta:
        verbose_name = _("feedback settings")
        verbose_name_plural = _("feedback settings")

    def __str__(self) -> str:
        return str(self.store)

    def retry_day_list(self) -> list[int]:
        days = sorted({int(d) for d in self.retry_days.replace(" ", "").split(",") if d.isdigit()})
        return days or [1]


class FollowUp(models.Model):
    """The follow-up of one delivered repair order (one per order)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    order = models.OneToOneField("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.PROTECT, related_name="followup")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="followups")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="+")
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("advisor"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(_("method"), max_length=10, choices=FollowUpMethod.choices)
    status = models.CharField(_("status"), max_length=12, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    delivered_at = models.DateTimeField(_("delivered at"))
    due_at = models.DateTimeField(_("due at"))
    overdue_at = models.DateTimeField(_("overdue at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("survey link expires at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("answered with"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    score_overall = models.PositiveSmallIntegerField(_("overall satisfaction"), null=True, blank=True, validators=SCORE)
    score_attitude = models.PositiveSmallIntegerField(_("service attitude"), null=True, blank=True, validators=SCORE)
    score_quality = models.PositiveSmallIntegerField(_("repair quality"), null=True, blank=True, validators=SCORE)
    score_waiting = models.PositiveSmallIntegerField(_("waiting time"), null=True, blank=True, validators=SCORE)
    score_price = models.PositiveSmallIntegerField(_("price"), null=True, blank=True, validators=SCORE)
    score_recommend = models.PositiveSmallIntegerField(_("would recommend"), null=True, blank=True, validators=SCORE)
    suggestions = models.TextField(_("suggestions"), blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["store", "status", "due_at"], name="followup_queue_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="followup_sweep_idx"),
            # the cockpit's CSAT/NPS (answered in a period) and follow-up SLA (overdue time in a period), per store
            models.Index(fields=["store", "answered_at"], name="followup_store_answered_idx"),
            models.Index(fields=["store", "overdue_at"], name="followup_store_overdue_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score_recommend__isnull=True) | models.Q(score_recommend__lte=10), name="followup_recommend_0_10"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order}"

    def scores(self) -> dict[str, int | None]:
        return {q: getattr(self, f"score_{q}") for q in ("overall", "attitude", "quality", "waiting", "price", "recommend")}


class FollowUpEvent(models.Model):
    followup = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12)
    to_state = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("follow-up event")
        verbose_name_plural = _("follow-up events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.followup_id}: {self.from_state}→{self.to_state}"


class FeedbackCase(models.Model):
    """A complaint, a suggestion or a recovery task, with its owner, category and SLA timers."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=CaseKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=CaseChannel.choices)
    status = models.CharField(_("status"), max_length=14, choices=CaseStatus.choices, default=CaseStatus.NEW)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True, on_delete=models.PROTECT, related_name="feedback_cases")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    followup = models.ForeignKey(FollowUp, verbose_name=_("follow-up"), null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    contact_name = models.CharField(_("contact name"), max_length=60, blank=True)
    contact_mobile = models.CharField(_("contact mobile"), max_length=20, blank=True)
    #: what the customer typed, or (a case opened from a survey answer) the low scores coded, rendered when read
    text = ReadTimeTextField(_("what the customer said"))
    category = models.CharField(_("category"), max_length=12, choices=Category.choices, default=Category.OTHER)
    category_confidence = models.FloatField(_("confidence"), default=0)
    category_corrected = models.BooleanField(_("category set by staff"), default=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    paused_at = models.DateTimeField(_("timers paused since"), null=True, blank=True)
    adopted = models.BooleanField(_("suggestion adopted"), null=True, blank=True)
    resolution = models.TextField(_("what was done"), blank=True)
    reaction = models.CharField(_("customer's reaction"), max_length=12, choices=Reaction.choices, blank=True)
    created_at = models.DateTimeField(_("received at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("feedback case")
        verbose_name_plural = _("feedback cases")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("pause_sla", _("Can pause a case's SLA timers while waiting on the customer")),
            ("view_feedback_report", _("Can see the monthly feedback report")),
        ]
        indexes = [
            models.Index(fields=["store", "status"], name="case_store_status_idx"),
            models.Index(fields=["customer", "-created_at"], name="case_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


class CasePhoto(models.Model):
    case = models.ForeignKey(FeedbackCase, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to="feedback/%Y/%m/")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return self.image.name


class CaseEvent(models.Model):
    """The case's timeline: status moves (from :func:`common.transitions.move`) and other events."""

    case = models.ForeignKey(FeedbackCase, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=EventKind.choices, default=EventKind.STATUS)
    from_state = models.CharField(max_length=14)
    to_state = models.CharField(max_length=14)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=500, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.kind} {self.from_state}→{self.to_state}"


class SlaTimer(models.Model):
    """One SLA clock of a case, on the store's business calendar. ``due_at``/``warn_at`` move when a pause ends."""

    case = models.ForeignKey(FeedbackCase, on_delete=models.CASCADE, related_name="timers")
    kind = models.CharField(_("timer"), max_length=12, choices=TimerKind.choices)
    amount = models.PositiveSmallIntegerField(_("amount"))
    unit = models.CharField(_("unit"), max_length=6, choices=TimerUnit.choices)
    started_at = models.DateTimeField(_("started at"))
    warn_at = models.DateTimeField(_("warn at"))
    due_at = models.DateTimeField(_("due at"))
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA timer")
        verbose_name_plural = _("SLA timers")
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="sla_timer_once_per_case")]
        indexes = [models.Index(fields=["met_at", "due_at"], name="sla_open_due_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"

    @property
    def on_time(self) -> bool | None:
        if self.met_at is None:
            return None
        return self.met_at <= self.due_at


class RoutingRule(models.Model):
    """Who owns a category's cases at a store (no rule: the store's manager)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["store_id", "category"]
        constraints = [models.UniqueConstraint(fields=["store", "category"], name="routing_once_per_category")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.category} → {self.owner_id}"


class LabelCorrection(models.Model):
    """A category corrected by staff; kept for retraining the classifier."""

    case = models.ForeignKey(FeedbackCase, on_delete=models.CASCADE, related_name="corrections")
    text = models.TextField()
    predicted = models.CharField(max_length=12, choices=Category.choices)
    corrected = models.CharField(max_length=12, choices=Category.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("label correction")
        verbose_name_plural = _("label corrections")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.predicted}→{self.corrected}"


class ImprovementAction(models.Model):
    """An improvement decided from the monthly report, against a category, with an owner and a date."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    title = models.CharField(_("action"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, on_delete=models.SET_NULL, related_name="+")
    start_date = models.DateField(_("from"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return self.title


class RatingChannel(models.TextChoices):
    KIOSK = "kiosk", _("Rating terminal at the delivery desk")
    PHONE = "phone", _("Customer's phone (QR code)")


class DeliveryRating(models.Model):
    """The customer's rating at delivery (服务评价终端, SPEC §20): the visit and the advisor, 1–5 each, with an
    optional comment; one per repair order (the unique order is the final guard against two taps at once). Kept
    apart from the follow-up's scores; the advisor's scorecard counts it as its own component. Written by
    ``feedback.ratings.delivery_rating_record`` (the people app's kiosk and the customer's phone call it)."""

    order = models.OneToOneField(
        "workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="delivery_rating"
    )
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    visit_score = models.PositiveSmallIntegerField(
        _("the visit (1–5)"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    advisor_score = models.PositiveSmallIntegerField(
        _("the advisor (1–5)"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True)
    channel = models.CharField(_("rated on"), max_length=10, choices=RatingChannel.choices)
    terminal = models.CharField(_("terminal"), max_length=60, blank=True)
    at = models.DateTimeField(_("rated at"))

    class Meta:
        verbose_name = _("delivery rating")
        verbose_name_plural = _("delivery ratings")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(visit_score__gte=1, visit_score__lte=5), name="rating_visit_1_5"),
            models.CheckConstraint(condition=models.Q(advisor_score__gte=1, advisor_score__lte=5), name="rating_advisor_1_5"),
        ]
        indexes = [models.Index(fields=["store", "at"], name="rating_store_at_idx"),
                   models.Index(fields=["advisor", "at"], name="rating_advisor_at_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.visit_score}/{self.advisor_score}"
